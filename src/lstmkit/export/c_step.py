"""C for one scheduled step (:mod:`lstmkit.steps.schedule`): a loop per stored value,
every other value computed inline where it is used, once per element.

What the numbers are is the language's business (:class:`FloatC` here; the integer
arithmetic's C forms are in :mod:`lstmkit.steps.fixed`, side by side with its NumPy
forms); this module only walks the schedule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lstmkit.steps import fixed
from lstmkit.steps.graph import FLOAT_OPS, REPEATS_OPERAND, Node
from lstmkit.steps.schedule import LEAVES, REDUCTIONS, Copy, Loc, Loop, Reduce, Schedule


def index(off: int, var: str = "j") -> str:
    return var if off == 0 else f"{var} + {off}"


@dataclass
class Names:
    """C names: ``spaces`` maps a schedule space (``"x"``, ``"out"``, ``"state:h"``, an
    area) to a pointer expression; ``param(key)`` names a parameter's array."""

    spaces: dict[str, str]
    param: Callable[[str], str]

    def ptr(self, loc: Loc, off: int = 0) -> str:
        base, k = self.spaces[loc.space], loc.off + off
        return base if k == 0 else f"{base} + {k}"

    def at(self, loc: Loc, off: int) -> str:
        return f"{self.spaces[loc.space]}[{index(loc.off + off)}]"


class FloatC:
    """float32: the elementwise forms of :data:`lstmkit.steps.graph.FLOAT_OPS`, affine rows
    as ``dot`` calls in order (one accumulator per product, then the bias)."""

    zero = "0.0f"

    def ctype(self, node: Node) -> str:
        return "float"

    def elementwise(self, node: Node, args: list[tuple[Node, str]]) -> str:
        return FLOAT_OPS[node.op][1].format(*(text for _, text in args))

    def repeats(self, node: Node) -> bool:
        return node.op in REPEATS_OPERAND

    def affine(self, node: Node, row: int, names: Names, vectors: list[tuple[str, int]]) -> str:
        terms = []
        for (W, _), (vec, _) in zip(node.attrs["products"], vectors, strict=True):
            r = index(W.lo + row)
            start = f"{r} * {W.cols}" if r == "j" else f"({r}) * {W.cols}"
            terms.append(f"dot({names.param(W.key)} + {start}, {vec}, {W.cols})")
        bias = node.attrs["bias"]
        if bias is not None:
            terms.append(f"{names.param(bias.key)}[{index(bias.lo + row)}]")
        return terms[0] if len(terms) == 1 else "(" + " + ".join(terms) + ")"

    def const(self, node: Node, off: int, names: Names) -> str:
        p = node.attrs["param"]
        return f"{names.param(p.key)}[{index(p.lo + off)}]"

    def store(self, expr: str, node: Node, width: int) -> str:
        return expr

    def copy(self, dest: str, src: str, n: int) -> str:
        return f"copy({dest}, {src}, {n});"


class IntC:
    """Integers: the C forms of :data:`lstmkit.steps.fixed.INT_OPS`, affine rows as
    ``row16`` (``row32`` for a vector held in int32) with each matrix's multipliers and
    shift, values stored as int16 or int32."""

    zero = "0"

    def ctype(self, node: Node) -> str:
        return fixed.ctype(node)

    def elementwise(self, node: Node, args: list[tuple[Node, str]]) -> str:
        return fixed.INT_OPS[node.op][1](node, args)

    def repeats(self, node: Node) -> bool:
        return node.op in fixed.REPEATS_OPERAND

    def affine(self, node: Node, row: int, names: Names, vectors: list[tuple[str, int]]) -> str:
        terms = []
        for (name, m, lo, _, _), (vec, width) in zip(node.attrs["mats"], vectors, strict=True):
            fn = "row32" if width == 4 else "row16"
            K = m.q.shape[1]
            terms.append(f"{fn}({names.param(name)}, {names.param(name + '_m')}, {m.shift}, "
                         f"{vec}, {index(lo + row)}, {K})")  # fmt: skip
        b = node.attrs.get("bias_const")
        if b is not None:
            terms.append(self.const(b, row, names))
        return terms[0] if len(terms) == 1 else "(" + " + ".join(terms) + ")"

    def const(self, node: Node, off: int, names: Names) -> str:
        return f"{names.param(node.attrs['name'])}[{index(node.attrs['lo'] + off)}]"

    def store(self, expr: str, node: Node, width: int) -> str:
        return f"(int16_t)({expr})" if width == 2 else expr

    def copy(self, dest: str, src: str, n: int) -> str:
        return f"copy16({dest}, {src}, {n});"


class _Statement:
    """The C of one statement: inline expressions with shared values in locals."""

    def __init__(self, sch: Schedule, names: Names, lang, root: Node) -> None:
        self.sch, self.names, self.lang, self.root = sch, names, lang, root
        self.uses: dict[tuple[int, int], int] = {}
        self.locals: list[str] = []
        self.local_of: dict[tuple[int, int], str] = {}
        if root.op in REDUCTIONS:
            self._count(root.args[0], 0)
        else:
            for a in self._operands(root):
                self._count(a, 0)

    def _operands(self, v: Node) -> list[Node]:
        return [] if v.op == "affine" else list(v.args)

    def _inline(self, v: Node) -> bool:
        return v is self.root or not (self.sch.stored(v) or v.op in LEAVES or v.op in REDUCTIONS)

    def _count(self, v: Node, off: int) -> None:
        if v.op == "slice":
            self._count(v.args[0], off + v.attrs["lo"])
            return
        key = (v.id, off)
        self.uses[key] = self.uses.get(key, 0) + 1
        if self.uses[key] == 1 and self._inline(v):
            for a in self._operands(v):
                self._count(a, off)
            if self.lang.repeats(v):
                for a in v.args:  # named twice in the C form: computed once
                    self.uses[(_unslice(a)[0].id, off + _unslice(a)[1])] = 2

    def vector(self, a: Node) -> tuple[str, int]:
        src, lo = _unslice(a)
        return self.names.ptr(self.sch.loc[src.id], lo), self.sch.widths[src.id]

    def expr(self, v: Node, off: int, top: bool = False) -> str:
        if v.op == "slice":
            return self.expr(v.args[0], off + v.attrs["lo"])
        if not top and not self._inline(v):
            if v.op in REDUCTIONS:
                return self.sch.var[v.id]
            if v.op == "const":
                return self.lang.const(v, off, self.names)
            return self.names.at(self.sch.loc[v.id], off)
        key = (v.id, off)
        if key in self.local_of:
            return self.local_of[key]
        if v.op == "affine":
            text = self.lang.affine(v, off, self.names, [self.vector(a) for a in v.args])
        else:
            text = self.lang.elementwise(v, [(a, self.expr(a, off)) for a in v.args])
        if not top and self.uses.get(key, 0) > 1:
            name = f"t{len(self.locals)}"
            self.locals.append(f"const {self.lang.ctype(v)} {name} = {_bare(text)};")
            self.local_of[key] = name
            return name
        return text


def _unslice(v: Node) -> tuple[Node, int]:
    return (v.args[0], v.attrs["lo"]) if v.op == "slice" else (v, 0)


def _bare(text: str) -> str:
    """``text`` without one pair of outer parentheses that enclose all of it."""
    if not (text.startswith("(") and text.endswith(")")):
        return text
    depth = 0
    for k, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and k < len(text) - 1:
            return text
    return text[1:-1]


def _loop(n: int, locals_: list[str], line: str, indent: str = "    ") -> str:
    if not locals_:
        return f"{indent}for (j = 0; j < {n}; ++j)\n{indent}    {line}\n"
    body = "".join(f"{indent}    {s}\n" for s in [*locals_, line])
    return f"{indent}for (j = 0; j < {n}; ++j) {{\n{body}{indent}}}\n"


def step_body(sch: Schedule, names: Names, lang) -> str:
    """The statements of a step function (declarations first), indented for its body."""
    lines, scalars = [], []
    for s in sch.statements:
        if isinstance(s, Copy):
            lines.append(f"    {lang.copy(names.ptr(s.dest), names.ptr(s.src), s.n)}\n")
            continue
        st = _Statement(sch, names, lang, s.node)
        if isinstance(s, Loop):
            value = lang.store(_bare(st.expr(s.node, 0, top=True)), s.node,
                               sch.widths[s.node.id])  # fmt: skip
            lines.append(_loop(s.node.n, st.locals, f"{names.at(s.dest, 0)} = {value};"))
        elif isinstance(s, Reduce):
            arg = s.node.args[0]
            scalars.append(f"{lang.ctype(s.node)} {s.var} = {lang.zero}")
            e = _bare(st.expr(arg, 0, top=st._inline(arg)))
            if s.node.op == "sum":
                lines.append(f"    {s.var} = {lang.zero};\n")
                lines.append(_loop(arg.n, st.locals, f"{s.var} += {e};"))
            else:
                st.locals.append(f"const {lang.ctype(s.node)} v = {e};")
                lines.append(_loop(arg.n, st.locals, f"if (j == 0 || v > {s.var})\n"
                                                      f"            {s.var} = v;"))  # fmt: skip
    decl = "    int j;\n" if any(isinstance(s, (Loop, Reduce)) for s in sch.statements) else ""
    decl += "".join(f"    {d};\n" for d in scalars)
    return decl + "".join(lines)
