"""A traced step: the graph of operations one definition (:mod:`.define`) performs.

:class:`Tracer` is an arithmetic for the definitions that computes nothing: each call
adds a :class:`Node` to a :class:`Graph` (vectors know their length; slices are views).
The float graph it records is printed as C by :mod:`lstmkit.export.c_step` after
:mod:`.schedule` has grouped it into loops; :func:`evaluate` runs any graph with NumPy,
which the tests hold to the counting run. :mod:`.fixed` records the same definitions in
integer arithmetic into the same kind of graph.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class Shape:
    """A parameter's shape standing in for its array: tracing needs only the shapes, so
    counting a model's operations allocates nothing, however large the model."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = tuple(shape)

    def __len__(self) -> int:
        return self.shape[0]


class Param:
    """A parameter of the step (``array (R, K)`` or ``(R,)``), or a range of its rows.

    ``key`` names it among the layer's parameters (``"Wx"``, ``"b"``, ...).
    """

    def __init__(self, key: str, array: np.ndarray, lo: int = 0, hi: int | None = None):
        self.key, self.array, self.lo = key, array, lo
        self.hi = len(array) if hi is None else hi

    def __getitem__(self, s: slice) -> Param:
        lo, hi, step = s.indices(self.rows)
        if step != 1:
            raise ValueError("parameters slice by contiguous row ranges only")
        return Param(self.key, self.array, self.lo + lo, self.lo + hi)

    @property
    def rows(self) -> int:
        return self.hi - self.lo

    @property
    def cols(self) -> int:
        return int(self.array.shape[1])

    def values(self) -> np.ndarray:
        return self.array[self.lo : self.hi]


class Node:
    """One operation. ``n`` is the vector length (0: a scalar). ``args`` are the nodes it
    reads; ``attrs`` the rest (an affine's ``products``/``bias``, a slice's ``lo``, a
    parameter, a shift, ...). Fixed-point graphs also set ``scale`` and ``ibound``."""

    def __init__(self, graph: Graph, op: str, args: tuple = (), n: int = 0, **attrs: Any):
        self.graph, self.op, self.args, self.n = graph, op, tuple(args), n
        self.attrs = attrs
        self.id = len(graph.nodes)
        graph.nodes.append(self)

    def __getitem__(self, s: slice) -> Node:
        lo, hi, step = s.indices(self.n)
        if step != 1:
            raise ValueError("vectors slice by contiguous ranges only")
        if lo == 0 and hi == self.n:
            return self
        src, base = (self.args[0], self.attrs["lo"]) if self.op == "slice" else (self, 0)
        return self.graph.slice(src, base + lo, hi - lo)

    def __repr__(self) -> str:
        return f"<{self.op}#{self.id} n={self.n}>"


@dataclass
class Graph:
    """A traced step: ``nodes`` in the order they were made (an order that computes
    every node after what it reads), the step's ``output``, and ``keeps``: state name →
    the node it becomes."""

    nodes: list[Node] = field(default_factory=list)
    output: Node | None = None
    keeps: dict[str, Node] = field(default_factory=dict)

    def slice(self, src: Node, lo: int, n: int) -> Node:
        node = Node(self, "slice", (src,), n, lo=lo)
        for name in ("scale", "ibound"):  # a view has its source's number format
            if hasattr(src, name):
                setattr(node, name, getattr(src, name))
        return node

    def leaves(self, op: str) -> list[Node]:
        return [v for v in self.nodes if v.op == op]


def vector_args(node: Node) -> list[Node]:
    """The vectors an affine node multiplies (read whole, for every row)."""
    return [v for _, v in node.attrs["products"]]


#: Elementwise float operations: NumPy and C forms side by side. Every binary form is
#: parenthesized, so C evaluates (and rounds) in the traced order.
FLOAT_OPS: dict[str, tuple[Callable, str]] = {
    "add": (np.add, "({0} + {1})"),
    "sub": (np.subtract, "({0} - {1})"),
    "mul": (np.multiply, "({0} * {1})"),
    "div": (np.divide, "({0} / {1})"),
    "sigmoid": (lambda a: 0.5 * np.tanh(0.5 * a) + 0.5, "sigm({0})"),  # exact σ, no overflow
    "tanh": (np.tanh, "tanhf({0})"),
    "exp": (np.exp, "expf({0})"),
    "relu": (lambda a: np.maximum(a, 0.0), "({0} > 0.0f ? {0} : 0.0f)"),
}
#: Operations whose C form names an operand twice: that operand is computed once, into a
#: local variable.
REPEATS_OPERAND = {"relu"}


class Tracer:
    """Float arithmetic that records (see :mod:`.define` for the interface)."""

    def __init__(self) -> None:
        self.g = Graph()

    # -- leaves ----------------------------------------------------------------------
    def input(self, n: int) -> Node:
        return Node(self.g, "input", n=n)

    def state(self, name: str, n: int) -> Node:
        return Node(self.g, "state", n=n, name=name)

    def _vec(self, v: Any) -> Node:
        if isinstance(v, Param):
            return Node(self.g, "const", n=v.rows, param=v)
        return v

    # -- the interface ---------------------------------------------------------------
    def affine(self, products: list, bias: Param | None = None) -> Node:
        rows = {W.rows for W, _ in products}
        if len(rows) != 1 or (bias is not None and bias.rows not in rows):
            raise ValueError(f"affine: row counts differ ({rows})")
        for W, v in products:
            if W.cols != v.n:
                raise ValueError(f"affine: {W.key} has {W.cols} columns for a vector of {v.n}")
        return Node(self.g, "affine", tuple(v for _, v in products), rows.pop(),
                    products=list(products), bias=bias)  # fmt: skip

    def _elementwise(self, op: str, *xs: Any) -> Node:
        xs = tuple(self._vec(x) for x in xs)
        n = max(x.n for x in xs)
        if any(x.n not in (0, n) for x in xs):
            raise ValueError(f"{op}: lengths differ ({[x.n for x in xs]})")
        return Node(self.g, op, xs, n)

    def add(self, a, b):
        return self._elementwise("add", a, b)

    def sub(self, a, b):
        return self._elementwise("sub", a, b)

    def mul(self, a, b):
        return self._elementwise("mul", a, b)

    def div(self, a, b):
        return self._elementwise("div", a, b)

    def sigmoid(self, a):
        return self._elementwise("sigmoid", a)

    def tanh(self, a):
        return self._elementwise("tanh", a)

    def relu(self, a):
        return self._elementwise("relu", a)

    def exp(self, a):
        return self._elementwise("exp", a)

    def max(self, a):
        return Node(self.g, "max", (a,), 0)

    def sum(self, a):
        return Node(self.g, "sum", (a,), 0)

    def keep(self, a: Node, name: str) -> Node:
        self.g.keeps[name] = a
        return a


def trace_step(kind: str, options: dict, weights: dict, in_size: int, tracer: Any) -> Graph:
    """Record one step of ``kind`` (or one Dense application) with ``tracer``.

    Parameters
    ----------
    kind : ``"lstm"``, ``"gru"``, ``"rnn"`` or ``"dense"``.
    options : the cell's options (:func:`.define.cell_options`) or Dense's ``activation``.
    weights : parameter name → array (canonical layouts), or :class:`Shape`.
    in_size : input features ``D``.
    """
    from lstmkit.steps.define import STEPS, dense_apply, state_names

    p = {k: Param(k, v if isinstance(v, Shape) else np.asarray(v)) for k, v in weights.items()}
    x = tracer.input(in_size)
    if kind == "dense":
        tracer.g.output = dense_apply(options, p, x, tracer)
        return tracer.g
    sizes = {"h": options["P"], "c": options["H"]}
    state = tuple(tracer.state(k, sizes[k]) for k in state_names(kind))
    out, _ = STEPS[kind](options, p, x, state, tracer)
    tracer.g.output = out
    return tracer.g


#: How the analyzer counts each operation of a traced step (docs/conventions.md).
ELEMENTWISE = ("add", "sub", "mul", "div", "max", "sum")
NONLINEAR = ("sigmoid", "tanh", "relu", "exp")


def operation_counts(graph: Graph) -> dict[str, int]:
    """The operations a float step executes, in the analyzer's categories: a MACC per
    weight an affine reads, an elementwise op per element of a bias add, a sum, a
    difference, a product, a quotient, a comparison or a running sum, and one
    evaluation per element of each nonlinearity."""
    out = dict.fromkeys(("macc", "elementwise", *NONLINEAR), 0)
    for v in graph.nodes:
        if v.op == "affine":
            out["macc"] += sum(W.rows * W.cols for W, _ in v.attrs["products"])
            out["elementwise"] += v.n if v.attrs["bias"] is not None else 0
        elif v.op in ELEMENTWISE:
            out["elementwise"] += v.args[0].n if v.op in ("max", "sum") else v.n
        elif v.op in NONLINEAR:
            out[v.op] += v.n
    return out


def evaluate(graph: Graph, x: np.ndarray, state: dict, ops: dict, affine: Callable,
             const: Callable, values: dict | None = None) -> tuple[np.ndarray, dict]:  # fmt: skip
    """Run ``graph`` with NumPy: ``x (D,)``, ``state`` name → vector. ``ops`` maps an
    operation to ``(numpy function, ...)``; ``affine(node, vectors)`` and
    ``const(node)`` give those nodes' values; ``values``, if given, receives every
    node's (node id → array). Returns the output and the new state."""
    val: dict[int, Any] = {} if values is None else values
    for v in graph.nodes:
        if v.op == "input":
            out = x
        elif v.op == "state":
            out = state[v.attrs["name"]]
        elif v.op == "const":
            out = const(v)
        elif v.op == "slice":
            lo = v.attrs["lo"]
            out = val[v.args[0].id][lo : lo + v.n]
        elif v.op == "affine":
            out = affine(v, [val[a.id] for a in v.args])
        elif v.op in ("max", "sum"):
            out = (np.max if v.op == "max" else np.sum)(val[v.args[0].id])
        else:
            out = ops[v.op][0](*(val[a.id] for a in v.args), **v.attrs)
        val[v.id] = out
    return val[graph.output.id], {k: val[node.id] for k, node in graph.keeps.items()}


def evaluate_float(graph: Graph, x: np.ndarray, state: dict,
                   values: dict | None = None) -> tuple[np.ndarray, dict]:  # fmt: skip
    """:func:`evaluate` for a :class:`Tracer` graph, in float64."""

    def affine(node, vectors):
        acc = None
        for (W, _), v in zip(node.attrs["products"], vectors, strict=True):
            acc = W.values() @ v if acc is None else acc + W.values() @ v
        bias = node.attrs["bias"]
        return acc if bias is None else acc + bias.values()

    ops = {k: (lambda *a, _f=f, **_: _f(*a), c) for k, (f, c) in FLOAT_OPS.items()}
    return evaluate(graph, x, state, ops, affine, lambda v: v.attrs["param"].values(), values)
