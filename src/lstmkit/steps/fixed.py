"""The step definitions in fixed-point arithmetic: every value carries its format.

A value's format is its ``scale`` (the real value of one integer unit; a power of two
``2^-q`` for a Q format, or a calibrated scale) and its ``ibound``, a bound on the
integer's magnitude that is proved, not assumed: sums add bounds, products multiply
them, a table's output is at most 32767. Every conversion is derived from the formats
on either side: a power-of-two ratio is a shift (exact to the left, rounding half up to
the right), any other ratio a 32-bit multiplier and a shift; the C type of each
intermediate is ``int32_t`` when its bound fits and ``int64_t`` when it does not, and a
value is saturated only where its bound says it could leave the range it goes into.

What the arithmetic decides (the rest follows from the formats):

- matrix products: int8 rows with one multiplier each, in a format the first consumer
  asks for: a table or a sum takes the pre-activation format ``Q_PRE``; a kept state
  takes the state's format (a projected LSTM ``h`` directly, with one rounding);
- tables (sigmoid, tanh, exp) read ``Q_PRE`` and give ``Q_ACT``;
- a vector a matrix multiplies is int16: narrowed by the fewest right shifts its bound
  allows;
- parameter vectors: in a sum, the other operand's format; in a product, the finest Q
  format that keeps them within 16 bits;
- kept states are stored int16 in the formats the exporter gives (``h``: Q15 when the
  cell bounds it, else calibrated; the LSTM cell ``c``: ``Q_CELL``).

:data:`INT_OPS` gives each integer operation's NumPy and C forms side by side;
:func:`evaluate_fixed` is the Python integer model, and :mod:`lstmkit.export.c_step`
prints the same graph as C, so the two compute the same bits by construction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lstmkit.steps.graph import Graph, Node, Param, Tracer, evaluate

Q_PRE = 11
Q_ACT = 15
Q_CELL = 11
I16 = 32767
I32 = 2**31 - 1
PRE = 2.0**-Q_PRE
ACT = 2.0**-Q_ACT
LUT_BITS = 7  # table step: 2^7 units of Q_PRE = 1/16
LUT_LO = -8 << Q_PRE  # -16384


class FixedPointError(ValueError):
    """A model whose numbers do not fit the integer formats (the message says which)."""


def _table(fn, lo: float, n: int) -> np.ndarray:
    x = lo + np.arange(n) / 16.0
    return np.clip(np.round(fn(x) * 2**Q_ACT), -I16, I16).astype(np.int64)


#: sigmoid and tanh on [-8, 8], exp on [-8, 0]: int16 Q15 points 1/16 apart.
TABLES = {
    "sigmoid": _table(lambda x: 0.5 * np.tanh(0.5 * x) + 0.5, -8.0, 257),
    "tanh": _table(np.tanh, -8.0, 257),
    "exp": _table(np.exp, -8.0, 129),
}


def lut(table: np.ndarray, a: np.ndarray, lo: int = LUT_LO) -> np.ndarray:
    """Interpolated table lookup of ``Q_PRE`` inputs → ``Q_ACT`` outputs."""
    hi = lo + ((len(table) - 1) << LUT_BITS) - 1
    u = np.clip(np.asarray(a, np.int64), lo, hi) - lo
    i, frac = u >> LUT_BITS, u & ((1 << LUT_BITS) - 1)
    return table[i] + (((table[i + 1] - table[i]) * frac + (1 << (LUT_BITS - 1))) >> LUT_BITS)


def rshift_round(v, n: int):
    """``(v + 2^(n−1)) >> n``: rounding right shift (half up), as the C code does."""
    return (v + (1 << (n - 1))) >> n


def scalar_requant(real: float) -> tuple[int, int]:
    """``(m, n)`` with ``m · 2^-n ≈ real`` and ``m < 2^31``: a scale change in integers."""
    shift = int(30 - np.floor(np.log2(real)))
    m = round(real * 2.0**shift)
    if m > I32:
        shift -= 1
        m = round(real * 2.0**shift)
    if not 1 <= shift <= 62:
        raise FixedPointError(f"a scale ratio of {real:g} is out of range for 32-bit integers")
    return int(m), shift


@dataclass
class QMatrix:
    """An int8 matrix with per-row multipliers: :meth:`product` maps its int32 products
    to the output format."""

    q: np.ndarray  # (R, K) int8 values (held as int64)
    mult: np.ndarray  # (R,) int32 multipliers
    shift: int

    def product(self, v: np.ndarray, lo: int = 0, hi: int | None = None) -> np.ndarray:
        """Rows ``[lo, hi)`` of the requantized ``q @ v`` for an int16 vector ``v (K,)``."""
        acc = self.q[lo:hi] @ np.asarray(v, np.int64)
        if np.any(np.abs(acc) > I32):  # pragma: no cover - excluded at export
            raise OverflowError("int32 accumulator overflow")
        return (acc * self.mult[lo:hi] + (1 << (self.shift - 1))) >> self.shift

    def bound(self, v_bound: int, lo: int, hi: int) -> int:
        """The largest ``|product|`` of rows ``[lo, hi)`` for ``|v| <= v_bound``."""
        acc = np.abs(self.q[lo:hi]).sum(axis=1) * v_bound
        return int(((acc * self.mult[lo:hi]) >> self.shift).max(initial=0)) + 1


def quantize_matrix(W: np.ndarray, in_scale: float, out_scale: float) -> QMatrix:
    """Row-wise int8 ``W (R, K)`` for inputs of scale ``in_scale`` and outputs of scale
    ``out_scale``: ``q = round(W / s_r)`` with ``s_r = max|W_r| / 127``."""
    W = np.asarray(W, np.float64)
    amax = np.abs(W).max(axis=1)
    s = np.where(amax > 0, amax / 127.0, 1.0)
    q = np.clip(np.round(W / s[:, None]), -127, 127).astype(np.int64)
    real = s * in_scale / out_scale  # the multiplier's real value per row
    top = float(real.max())
    # The largest multiplier gets 31 bits: shift = 30 - floor(log2(top)).
    shift = int(30 - np.floor(np.log2(top))) if top > 0 else 31
    mult = np.round(real * 2.0**shift).astype(np.int64)
    if mult.max() > I32:  # rounding up to 2^31
        shift -= 1
        mult = np.round(real * 2.0**shift).astype(np.int64)
    if not 1 <= shift <= 62:
        raise FixedPointError(f"a weight scale is out of range (shift {shift})")
    return QMatrix(q, mult, shift)


def _pow2(r: float) -> int | None:
    """``k`` with ``r == 2^k``, or None."""
    m, e = math.frexp(r)
    return e - 1 if m == 0.5 else None


def ctype(v: Node) -> str:
    """The C type an integer value needs."""
    return "int64_t" if v.ibound > I32 else "int32_t"


# -- the integer operations: NumPy and C forms side by side -----------------------------
def _cast(arg: tuple[Node, str], to: str) -> str:
    node, text = arg
    return text if ctype(node) == to else f"({to}){text}"


def _binary(sym: str):
    def c(node, args):
        t = ctype(node)
        return f"({_cast(args[0], t)} {sym} {_cast(args[1], t)})"

    return c


def _c_rq(node, args, k):
    a = args[0][0]
    wide = "int64_t" if a.ibound + (1 << (k - 1)) > I32 else "int32_t"
    expr = f"(({_cast(args[0], wide)} + {1 << (k - 1)}) >> {k})"
    return expr if wide == ctype(node) else f"({ctype(node)}){expr}"


def _c_shl(node, args, k):
    return f"({_cast(args[0], ctype(node))} * {1 << k})"


def _c_sat16(node, args):
    a, text = args[0]
    return f"{'sat16w' if ctype(a) == 'int64_t' else 'sat16'}({text})"


def _c_requant(m: int, k: int, text: str) -> str:
    return f"(int32_t)(((int64_t){text} * {m} + {1 << (k - 1)}) >> {k})"


def _c_lut(table: str, text: str) -> str:
    return f"lut(lut_{table}, {len(TABLES[table])}, {LUT_LO}, {text})"


def _np_ratio(a, b, **_):
    return (a * 2**Q_ACT + b // 2) // b


#: name → (NumPy form, C form). NumPy works on int64 arrays (exact); the C form gets
#: ``(node, [(operand node, operand C), ...])`` and returns C of type ``ctype(node)``.
INT_OPS: dict[str, tuple] = {
    "add": (lambda a, b, **_: a + b, _binary("+")),
    "sub": (lambda a, b, **_: a - b, _binary("-")),
    "mul": (lambda a, b, **_: a * b, _binary("*")),
    "shl": (lambda a, k, **_: a * (1 << k), lambda v, x: _c_shl(v, x, v.attrs["k"])),
    "rq": (lambda a, k, **_: rshift_round(a, k), lambda v, x: _c_rq(v, x, v.attrs["k"])),
    "requant": (
        lambda a, m, k, **_: (a * m + (1 << (k - 1))) >> k,
        lambda v, x: _c_requant(v.attrs["m"], v.attrs["k"], x[0][1]),
    ),
    "sat16": (lambda a, **_: np.clip(a, -I16, I16), _c_sat16),
    "sat32": (lambda a, **_: np.clip(a, -I32, I32), lambda v, x: f"sat32({x[0][1]})"),
    "relu": (lambda a, **_: np.maximum(a, 0), lambda v, x: f"({x[0][1]} > 0 ? {x[0][1]} : 0)"),
    "lut": (
        lambda a, table, **_: lut(TABLES[table], a),
        lambda v, x: _c_lut(v.attrs["table"], x[0][1]),
    ),
    "ratio": (
        _np_ratio,
        lambda v, x: f"(int32_t)(((int64_t){x[0][1]} * {1 << Q_ACT} + {x[1][1]} / 2) / {x[1][1]})",
    ),
}
REPEATS_OPERAND = {"relu", "ratio"}


@dataclass
class Stored:
    """The integer parameters a step uses, by C name suffix: int8 matrices (QMatrix) and
    int32 vectors, in the order they were made."""

    arrays: dict[str, Any] = field(default_factory=dict)
    _keys: dict[tuple, str] = field(default_factory=dict)

    def name(self, key: tuple, base: str, make) -> str:
        if key not in self._keys:
            name = base if base not in self.arrays else f"{base}_{len(self.arrays)}"
            self.arrays[name] = make()
            self._keys[key] = name
        return self._keys[key]


class FixedTracer(Tracer):
    """Integer arithmetic that records; ``in_scale`` is the input's scale, ``states``
    each state's scale (see the module's docstring)."""

    def __init__(self, in_scale: float, states: dict[str, float]) -> None:
        super().__init__()
        self.in_scale, self.states = in_scale, states
        self.stored = Stored()

    def _node(self, op: str, args: tuple, n: int, scale: float, ibound: int, **attrs) -> Node:
        v = Node(self.g, op, args, n, **attrs)
        v.scale, v.ibound = scale, int(ibound)
        return v

    # -- leaves ------------------------------------------------------------------------
    def input(self, n: int) -> Node:
        return self._node("input", (), n, self.in_scale, I16)

    def state(self, name: str, n: int) -> Node:
        return self._node("state", (), n, self.states[name], I16, name=name)

    def _const(self, p: Param, scale: float) -> Node:
        def make():
            q = np.round(np.asarray(p.array, np.float64) / scale)
            if np.any(np.abs(q) > I32):
                raise FixedPointError(
                    f"{p.key}: a value of {np.abs(p.array).max():.3g} does not fit 32 bits "
                    f"at scale {scale:g}"
                )
            return q.astype(np.int64)

        name = self.stored.name((p.key, scale), p.key, make)
        values = self.stored.arrays[name][p.lo : p.hi]
        return self._node("const", (), p.rows, scale, int(np.abs(values).max(initial=0)),
                          name=name, lo=p.lo, values=values)  # fmt: skip

    # -- formats -----------------------------------------------------------------------
    @staticmethod
    def _src(v: Node) -> Node:
        return v.args[0] if v.op == "slice" else v

    def _ready(self, v: Node, scale: float = PRE) -> Node:
        """``v`` with its format decided: an affine's is decided by its first consumer."""
        src = self._src(v)
        if src.op == "affine" and src.scale is None:
            self._decide(src, scale)
        if v is not src:
            v.scale, v.ibound = src.scale, src.ibound
        return v

    def _decide(self, node: Node, scale: float) -> None:
        node.scale, bound, mats = scale, 0, []
        for W, x in node.attrs["products"]:
            key = (W.key, x.scale, scale)
            make = lambda W=W, x=x: quantize_matrix(W.array, x.scale, scale)  # noqa: E731
            name = self.stored.name(key, W.key, make)
            m = self.stored.arrays[name]
            mats.append((name, m, W.lo, W.hi, x))
            bound += m.bound(x.ibound, W.lo, W.hi)
        node.attrs["mats"] = mats
        bias = node.attrs["bias"]
        if bias is not None:
            node.attrs["bias_const"] = b = self._const(bias, scale)
            bound += b.ibound
        if bound > I32:
            raise FixedPointError(
                f"pre-activations reach {bound * scale:.3g}, beyond 32-bit integers at scale "
                f"{scale:g}"
            )
        node.ibound = bound

    def _to(self, v: Node, scale: float) -> Node:
        """``v`` converted to ``scale``: a shift for a power-of-two ratio, else a
        multiplier."""
        v = self._ready(v, scale)
        r = v.scale / scale
        if r == 1:
            return v
        k = _pow2(r)
        if k is not None and k > 0:  # to a finer format: exact
            return self._node("shl", (v,), v.n, scale, v.ibound << k, k=k)
        if k is not None:
            return self._node("rq", (v,), v.n, scale, (v.ibound + (1 << (-k - 1))) >> -k, k=-k)
        m, n = scalar_requant(r)
        return self._node("requant", (v,), v.n, scale,
                          ((v.ibound * m + (1 << (n - 1))) >> n) + 1, m=m, k=n)  # fmt: skip

    def _narrow16(self, v: Node, scale: float) -> Node:
        w = self._to(v, scale)
        if w.ibound > I16:
            w = self._node("sat16", (w,), w.n, scale, I16)
        return w

    def _int16(self, v: Node) -> Node:
        """``v`` as an int16 vector (what a matrix multiplies): the fewest right shifts."""
        v = self._ready(v)
        if v.ibound <= I16:
            return v
        return self._narrow16(v, v.scale * 2.0 ** max(0, v.ibound.bit_length() - 15))

    # -- the interface -----------------------------------------------------------------
    def affine(self, products: list, bias: Param | None = None) -> Node:
        products = [(W, self._int16(v)) for W, v in products]
        node = super().affine(products, bias)
        node.scale, node.ibound = None, None
        return node

    def _pair(self, a, b, param_scale) -> tuple[Node, Node]:
        if isinstance(a, Param):
            a, b = b, a
        a = self._ready(a)
        if isinstance(b, Param):
            b = self._const(b, param_scale(a, b))
        return a, self._ready(b)

    def _align(self, op: str, a, b) -> Node:
        a, b = self._pair(a, b, lambda other, _p: other.scale)
        fine = min(a.scale, b.scale)  # exact when the ratio is a power of two
        a, b = self._to(a, fine), self._to(b, fine)
        return self._node(op, (a, b), max(a.n, b.n), fine, a.ibound + b.ibound)

    def add(self, a, b):
        return self._align("add", a, b)

    def sub(self, a, b):
        return self._align("sub", a, b)

    def mul(self, a, b):
        def param_scale(_other, p: Param):  # from the whole parameter: one array
            top = float(np.abs(p.array).max())
            return 2.0 ** -(14 - math.floor(math.log2(top))) if top > 0 else ACT

        a, b = self._pair(a, b, param_scale)
        return self._node("mul", (a, b), max(a.n, b.n), a.scale * b.scale, a.ibound * b.ibound)

    def _table(self, name: str, a) -> Node:
        x = self._to(a, PRE)
        if x.ibound > I32:
            x = self._node("sat32", (x,), x.n, PRE, I32)
        return self._node("lut", (x,), x.n, ACT, I16, table=name)

    def sigmoid(self, a):
        return self._table("sigmoid", a)

    def tanh(self, a):
        return self._table("tanh", a)

    def exp(self, a):
        return self._table("exp", a)

    def relu(self, a):
        a = self._ready(a)
        return self._node("relu", (a,), a.n, a.scale, a.ibound)

    def max(self, a):
        a = self._ready(a)
        return self._node("max", (a,), 0, a.scale, a.ibound)

    def sum(self, a):
        a = self._ready(a)
        return self._node("sum", (a,), 0, a.scale, a.ibound * a.n)

    def div(self, a, b):
        a, b = self._ready(a), self._ready(b)
        if a.scale != b.scale:
            raise FixedPointError("div: operands of different scales")
        return self._node("ratio", (a, b), a.n, ACT, 1 << Q_ACT)

    def keep(self, a, name: str) -> Node:
        v = self._narrow16(a, self.states[name])
        self.g.keeps[name] = v
        return v

    def finish(self, out_scale: float | None) -> Graph:
        """Put the output in ``out_scale`` (int16), or leave it in its own format as
        int32 (``None``: the last layer's integer result)."""
        out = self.g.output
        if out_scale is not None:
            out = self._narrow16(out, out_scale)
        else:
            out = self._ready(out)
            if out.ibound > I32:
                out = self._node("sat32", (out,), out.n, out.scale, I32)
        self.g.output = out
        return self.g


@dataclass
class FixedStep:
    """A traced integer step: its graph and the integer parameters it uses."""

    graph: Graph
    stored: Stored

    @property
    def output_scale(self) -> float:
        return self.graph.output.scale


def trace_fixed(kind: str, options: dict, weights: dict, in_size: int, in_scale: float,
                states: dict[str, float], out_scale: float | None) -> FixedStep:  # fmt: skip
    """Record one integer step (see :func:`lstmkit.steps.graph.trace_step`); ``out_scale``
    is the output's int16 scale (a Dense layer's; a recurrent one outputs its state)."""
    from lstmkit.steps.graph import trace_step

    t = FixedTracer(in_scale, states)
    trace_step(kind, options, weights, in_size, t)
    return FixedStep(t.finish(out_scale if kind == "dense" else None), t.stored)


def evaluate_fixed(step: FixedStep, x: np.ndarray, state: dict,
                   values: dict | None = None) -> tuple[np.ndarray, dict]:  # fmt: skip
    """The Python integer model of one step: int64 arrays holding the C's values."""

    def affine(node, vectors):
        acc = sum(m.product(v, lo, hi) for (_, m, lo, hi, _), v in
                  zip(node.attrs["mats"], vectors, strict=True))  # fmt: skip
        b = node.attrs.get("bias_const")
        return acc if b is None else acc + b.attrs["values"]

    return evaluate(step.graph, np.asarray(x, np.int64), state, INT_OPS, affine,
                    lambda v: v.attrs["values"], values)  # fmt: skip
