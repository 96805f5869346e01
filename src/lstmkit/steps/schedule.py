"""From a traced step to loops over memory: which values are stored, where, and when.

A value is *stored* (a root) when it must exist in memory: the step's output, a kept
state, a vector a matrix multiplies, a value evaluated by two loops (or twice at
overlapping elements), or matrix products two loops read (even at different rows: one
row loop is less code than dot products in each). Every other value is computed inside
the loop that needs it (an affine row as its dot products, a gate as its expression),
once per element, into a local when a loop needs it twice. Roots become loops in the
order they were traced; ``max`` and ``sum`` become reductions into scalars.

Stored values are placed in the layer's memory *areas* (its scratch: gate
accumulators, input and output slots) first-fit, sharing bytes with values whose lives
do not overlap. A loop may overwrite what it reads only element by element at the same
address (``c[j] = f * c[j] + ...``): that is the one overlap allowed. A kept state is
written into its own state vector when nothing reads the old value afterwards; the
output goes to the output slot; a state that is also the output is copied from it at
the end. :func:`schedule` raises if the areas are too small, so the scratch the analyzer
reports is what the code needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

from lstmkit.steps.graph import Graph, Node, vector_args

LEAVES = ("input", "state", "const")
REDUCTIONS = ("max", "sum")
FOREVER = 1 << 30


class ScheduleError(RuntimeError):
    """The step does not fit the memory it was given (an exporter bug, not user error)."""


@dataclass(frozen=True)
class Area:
    """A region of memory values may be placed in: ``size`` elements of ``width`` bytes."""

    name: str
    size: int
    width: int


@dataclass
class Memory:
    """Where a step's memory is. ``areas``: first-fit order. ``x`` and ``out``: the
    (area, offset) the input and output slots occupy, or ``None`` when they are outside
    every area."""

    areas: list[Area]
    x: tuple[str, int] | None = None
    out: tuple[str, int] | None = None
    out_width: int = 4


@dataclass
class Loc:
    """A stored vector: ``space`` is an area, ``"x"``, ``"out"`` or ``"state:<name>"``;
    ``off`` its first element there."""

    space: str
    off: int = 0


@dataclass
class Loop:
    """``for j < n: dest[j] = node(j)``."""

    node: Node
    dest: Loc


@dataclass
class Reduce:
    """``var = max_j`` (or ``sum_j``) of ``node``'s argument."""

    node: Node
    var: str


@dataclass
class Copy:
    """``dest[j] = src[j]`` for ``j < n``."""

    dest: Loc
    src: Loc
    n: int


@dataclass
class Schedule:
    graph: Graph
    statements: list = field(default_factory=list)
    loc: dict[int, Loc] = field(default_factory=dict)  # stored node id → place
    var: dict[int, str] = field(default_factory=dict)  # reduction node id → scalar name
    widths: dict[int, int] = field(default_factory=dict)  # stored node id → bytes/element

    def stored(self, node: Node) -> bool:
        return node.id in self.loc


def _operands(v: Node) -> list[Node]:
    """What a node's own computation reads, with an affine's vectors excluded (they are
    read whole from memory, never inlined)."""
    if v.op == "affine":
        return []
    return list(v.args)


def _walk(v: Node, off: int, stored: set[int], seen: list) -> None:
    """Record ``(node, offset)`` for every inlined node an element of ``v`` computes."""
    if v.op == "slice":
        _walk(v.args[0], off + v.attrs["lo"], stored, seen)
        return
    seen.append((v, off))
    if v.id in stored or v.op in LEAVES or v.op in REDUCTIONS:
        return
    for a in _operands(v):
        _walk(a, off, stored, seen)


def _expand(root: Node, stored: set[int], reduce_ids: set[int]) -> list[tuple[Node, int]]:
    """Everything a statement computing ``root`` evaluates inline, from ``root`` itself."""
    seen: list = [(root, 0)]
    if root.op in REDUCTIONS:
        _walk(root.args[0], 0, stored, seen)
    else:
        for a in _operands(root):
            _walk(a, 0, stored, seen)
    return seen


def roots_of(graph: Graph) -> set[int]:
    """Ids of the nodes that must be stored (see the module's docstring)."""
    stored = {graph.output.id} | {v.id for v in graph.keeps.values()}
    for v in graph.nodes:
        if v.op == "affine":
            for a in vector_args(v):
                src = a.args[0] if a.op == "slice" else a
                if src.op not in LEAVES:
                    stored.add(src.id)
    reduce_ids = {v.id for v in graph.nodes if v.op in REDUCTIONS}
    while True:
        where: dict[int, set] = {}
        for r in sorted(stored | reduce_ids):
            root = graph.nodes[r]
            length = root.args[0].n if root.op in REDUCTIONS else root.n
            for v, off in _expand(root, stored, reduce_ids)[1:]:
                if v.id not in stored and v.op not in LEAVES and v.op not in REDUCTIONS:
                    where.setdefault(v.id, set()).add((off, length, r))
        # Elements computed twice (two loops, or one loop at overlapping offsets): store
        # the value. The latest such node first: storing it may relieve those it reads.
        twice = [vid for vid, uses in where.items() if _overlap(sorted(uses))]
        # An affine read by two loops is stored too (one row loop, into the gate scratch
        # the step has anyway): inlined in each, its dot products would be code twice.
        twice += [vid for vid, uses in where.items()
                  if graph.nodes[vid].op == "affine"
                  and len({r for *_, r in uses}) > 1]  # fmt: skip
        if not twice:
            return stored
        stored.add(max(twice))


def _overlap(uses: list[tuple[int, int, int]]) -> bool:
    """Whether two uses ``(offset, length, statement)`` compute one element twice (the
    same offset in the same statement is one computation, shared)."""
    return any(a + n > b for (a, n, _), (b, _, _) in pairwise(uses))


@dataclass
class _Buf:
    space: str
    start: int
    size: int
    first: int
    last: int


def schedule(graph: Graph, memory: Memory, width=lambda v: 4) -> Schedule:
    """Group ``graph`` into statements and place every stored vector in ``memory``.

    ``width(node)``: bytes per element a stored node needs (an area must be at least as
    wide).
    """
    stored_ids = roots_of(graph)
    reduce_ids = {v.id for v in graph.nodes if v.op in REDUCTIONS}
    sch = Schedule(graph)
    order = sorted(stored_ids | reduce_ids)
    for k, vid in enumerate(sorted(reduce_ids)):
        sch.var[vid] = f"s{k}"
    # Reads of every statement: (node read from memory, offset in it, elements, whole?)
    reads: list[list] = []
    for vid in order:
        root = graph.nodes[vid]
        rs = []
        for v, off in _expand(root, stored_ids, reduce_ids)[1:]:
            if v.op in ("input", "state") or v.id in stored_ids:
                n = root.args[0].n if root.op in REDUCTIONS else root.n
                rs.append((v, off, n, False))
        for v, _ in _expand(root, stored_ids, reduce_ids):
            if v.op == "affine":
                for a in vector_args(v):
                    src, lo = (a.args[0], a.attrs["lo"]) if a.op == "slice" else (a, 0)
                    rs.append((src, lo, a.n, True))
        reads.append(rs)
    last: dict[int, int] = {}
    for k, rs in enumerate(reads):
        for v, *_ in rs:
            last[v.id] = k

    bufs: dict[int, _Buf] = {}
    # Leaves in memory: the input (in its slot), each state's old value.
    for v in graph.nodes:
        if v.op == "input":
            space, start = memory.x if memory.x else ("x", 0)
            bufs[v.id] = _Buf(space, start, v.n, -1, last.get(v.id, -1))
            sch.loc[v.id], sch.widths[v.id] = Loc("x", 0), width(v)
        elif v.op == "state":
            space = f"state:{v.attrs['name']}"
            bufs[v.id] = _Buf(space, 0, v.n, -1, last.get(v.id, -1))
            sch.loc[v.id], sch.widths[v.id] = Loc(space, 0), width(v)

    def safe(k: int, written: _Buf, read_buf: _Buf, read_id: int) -> bool:
        """Whether statement ``k``, writing ``written``, reads ``read_buf`` only where
        it does not overwrite, or element by element at the same address."""
        for v, off, n, whole in reads[k]:
            if v.id != read_id:
                continue
            lo = read_buf.start + off
            disjoint = lo + n <= written.start or written.start + written.size <= lo
            if not disjoint and (whole or lo != written.start):
                return False
        return True

    def fits(new: _Buf, new_id: int) -> bool:
        for pid, p in bufs.items():
            if p.space != new.space or p.start + p.size <= new.start or \
                    new.start + new.size <= p.start:  # fmt: skip
                continue
            if p.last < new.first or new.last < p.first:
                continue
            if p.last == new.first and safe(new.first, new, p, pid):
                continue
            if new.last == p.first and safe(p.first, p, new, new_id):
                continue
            return False
        return True

    out_id, copies = graph.output.id, []
    k_of = {vid: k for k, vid in enumerate(order)}
    # The output's place is fixed: reserve it before anything is placed around it.
    if memory.out:
        o_space, o_start = memory.out
    else:
        o_space, o_start = "out", 0
    out_buf = _Buf(o_space, o_start, graph.output.n, k_of[out_id], FOREVER)
    if not fits(out_buf, out_id):
        raise ScheduleError("the output slot is in use when the output is written")
    bufs[out_id] = out_buf
    sch.loc[out_id] = Loc("out", 0)
    sch.widths[out_id] = memory.out_width
    keep_of = {v.id: name for name, v in graph.keeps.items()}
    for k, vid in enumerate(order):
        node = graph.nodes[vid]
        if vid in reduce_ids:
            sch.statements.append(Reduce(node, sch.var[vid]))
            continue
        if vid == out_id:
            sch.statements.append(Loop(node, sch.loc[vid]))
            if vid in keep_of:
                copies.append(Copy(Loc(f"state:{keep_of[vid]}"), sch.loc[vid], node.n))
            continue
        w = width(node)
        end = last.get(vid, k)
        if vid in keep_of:
            space = f"state:{keep_of[vid]}"
            cand = _Buf(space, 0, node.n, k, FOREVER)
            if fits(cand, vid):
                bufs[vid], sch.loc[vid], sch.widths[vid] = cand, Loc(space), w
                sch.statements.append(Loop(node, sch.loc[vid]))
                continue
            copies.append(Copy(Loc(space), None, node.n))  # from wherever it lands
        placed = False
        for area in memory.areas:
            if area.width < w:
                continue
            for start in range(area.size - node.n + 1):
                cand = _Buf(area.name, start, node.n, k, end)
                if fits(cand, vid):
                    bufs[vid], sch.loc[vid] = cand, Loc(area.name, start)
                    sch.widths[vid] = area.width
                    placed = True
                    break
            if placed:
                break
        if not placed:
            raise ScheduleError(f"no room for {node} ({node.n} x {w} bytes) in "
                                f"{[(a.name, a.size) for a in memory.areas]}")  # fmt: skip
        sch.statements.append(Loop(node, sch.loc[vid]))
        if copies and copies[-1].src is None:
            copies[-1].src = sch.loc[vid]
    sch.statements += copies
    return sch
