"""int8 inference: how a model is quantized, and a Python model of the exact integer
arithmetic that the exported C code performs (the two are tested bit-exact).

Number formats (real value = integer × scale):

- weights: ``int8`` per matrix row, ``q = round(W / s_r)`` with ``s_r = max|W_r| / 127``;
  each row keeps one 32-bit fixed-point multiplier that folds ``s_r``, the input's scale
  and the output format together (the analyzer's "4 bytes per row"); one shift per
  matrix is a constant in the code;
- biases and peepholes: ``int32`` (pre-activation format, and 2^-15 for peepholes);
- pre-activations: ``int32`` with scale 2^-11 (``Q_PRE``), from each product
  ``(acc · m_r + 2^(n−1)) >> n`` with ``int32`` accumulators ``acc = Σ q_W · q_x``;
- gate outputs and bounded states (LSTM ``h`` without projection, GRU ``h``, tanh
  RNN ``h``): ``int16`` with scale 2^-15; the LSTM cell ``c``: ``int16``, 2^-11;
- other tensors between layers (the input, a projected LSTM output, a relu RNN, Dense
  layers): ``int16`` with a scale from calibration data, ``max|v| / 32767``;
- sigmoid, tanh (and exp for a final softmax): tables of 257 (129) ``int16`` points on
  [-8, 8] ([-8, 0]) with linear interpolation between them.

Shifts are arithmetic (floor), as ``>>`` on signed integers is with GCC and Clang.
Outputs leave as float32: the last layer's integer result times its scale (exact).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from lstmkit.export.plan import ExportError, Plan

Q_PRE = 11
Q_ACT = 15
Q_CELL = 11
ONE_ACT = 1 << Q_ACT
CELL_MAX = 2.0 ** (15 - Q_CELL)  # the LSTM cell's int16 range in its Q4.11 format
LUT_BITS = 7  # table step: 2^7 units of Q_PRE = 1/16
LUT_LO = -8 << Q_PRE  # -16384
LUT_HI = (8 << Q_PRE) - 1
I16 = 32767


def _table(fn, lo: float, n: int) -> np.ndarray:
    x = lo + np.arange(n) / 16.0
    return np.clip(np.round(fn(x) * ONE_ACT), -I16, I16).astype(np.int64)


SIGMOID = _table(lambda x: 0.5 * np.tanh(0.5 * x) + 0.5, -8.0, 257)
TANH = _table(np.tanh, -8.0, 257)
EXP = _table(np.exp, -8.0, 129)  # exp on [-8, 0]


def lut(table: np.ndarray, a: np.ndarray, lo: int = LUT_LO) -> np.ndarray:
    """Interpolated table lookup of ``Q_PRE`` inputs → ``int16`` Q15 outputs."""
    hi = lo + ((len(table) - 1) << LUT_BITS) - 1
    u = np.clip(np.asarray(a, np.int64), lo, hi) - lo
    i, frac = u >> LUT_BITS, u & ((1 << LUT_BITS) - 1)
    return table[i] + (((table[i + 1] - table[i]) * frac + (1 << (LUT_BITS - 1))) >> LUT_BITS)


def sat16(v: np.ndarray) -> np.ndarray:
    return np.clip(v, -I16, I16)


def rshift_round(v, n: int):
    """``(v + 2^(n−1)) >> n``: rounding right shift (half up), as the C code does."""
    return (v + (1 << (n - 1))) >> n


@dataclass
class QMatrix:
    """An int8 matrix with per-row multipliers: ``requant(acc)`` maps its int32 products
    to the output format."""

    q: np.ndarray  # (R, K) int8 values (held as int64)
    mult: np.ndarray  # (R,) int32 multipliers
    shift: int

    def product(self, v: np.ndarray) -> np.ndarray:
        """``(R,)`` requantized ``q @ v`` for an int16 vector ``v (K,)``."""
        acc = self.q @ np.asarray(v, np.int64)
        if np.any(np.abs(acc) > 2**31 - 1):  # pragma: no cover - excluded at export
            raise OverflowError("int32 accumulator overflow")
        return (acc * self.mult + (1 << (self.shift - 1))) >> self.shift


def quantize_matrix(W: np.ndarray, in_scale: float, out_scale: float) -> QMatrix:
    """Row-wise int8 ``W (R, K)`` for inputs of scale ``in_scale`` and outputs of scale
    ``out_scale``."""
    W = np.asarray(W, np.float64)
    amax = np.abs(W).max(axis=1)
    s = np.where(amax > 0, amax / 127.0, 1.0)
    q = np.clip(np.round(W / s[:, None]), -127, 127).astype(np.int64)
    real = s * in_scale / out_scale  # the multiplier's real value per row
    top = float(real.max())
    # The largest multiplier gets 31 bits: shift = 30 - floor(log2(top)).
    shift = int(30 - np.floor(np.log2(top))) if top > 0 else 31
    mult = np.round(real * 2.0**shift).astype(np.int64)
    if mult.max() > 2**31 - 1:  # rounding up to 2^31
        shift -= 1
        mult = np.round(real * 2.0**shift).astype(np.int64)
    if not 1 <= shift <= 62:
        raise ExportError(f"int8: a weight scale is out of range (shift {shift})")
    return QMatrix(q, mult, shift)


def scalar_requant(real: float) -> tuple[int, int]:
    """``(m, n)`` with ``m · 2^-n ≈ real`` and ``m < 2^31``: a scale change in integers."""
    shift = int(30 - np.floor(np.log2(real)))
    m = round(real * 2.0**shift)
    if m > 2**31 - 1:
        shift -= 1
        m = round(real * 2.0**shift)
    return int(m), shift


def quantize_input(x: np.ndarray, inv_scale: np.float32) -> np.ndarray:
    """float32 → int16 as the C code does it: scale in float32, saturate, round half away
    from zero."""
    v = np.asarray(x, np.float32) * np.float32(inv_scale)
    v = np.clip(v, np.float32(-I16), np.float32(I16))
    half = np.float32(0.5)
    return np.where(v >= 0, (v + half).astype(np.int64), (v - half).astype(np.int64))


@dataclass
class QLayer:
    """A layer's integer parameters; ``in_scale``/``out_scale`` are the real scales of its
    int16 input and output vectors (None for the last layer's float output)."""

    kind: str
    in_scale: float
    out_scale: float | None
    dirs: dict = field(default_factory=dict)  # direction → {name: QMatrix or int array}
    extra: dict = field(default_factory=dict)


def _bounded(la) -> bool:
    """Whether the layer's output is in (-1, 1) by construction (fixed 2^-15 scale)."""
    if la.kind == "lstm":
        return not la.options["proj"]
    if la.kind == "gru":
        return True
    if la.kind == "rnn":
        return la.options["activation"] == "tanh"
    return la.options["activation"] in ("sigmoid", "tanh")


def _ranges(model, x: np.ndarray) -> list[float]:
    """max |value| of every non-Dropout layer's int16 output over every step of every
    calibration sequence: a recurrent layer's state ``h`` is quantized at every step,
    so its scale comes from all of them, not from the last step it returns."""
    from lstmkit.layers.dropout import Dropout
    from lstmkit.layers.recurrent import Recurrent

    out, maxima = np.asarray(x, np.float64), []
    for layer in model.layers:
        if isinstance(layer, Recurrent):
            out, traces = layer.trace(out)
            maxima.append(max(float(np.nanmax(np.abs(t["h"]))) for t in traces.values()))
            cell = [float(np.nanmax(np.abs(t["c"]))) for t in traces.values() if "c" in t]
            if cell and max(cell) > CELL_MAX:
                warnings.warn(
                    f"{layer.name}: the cell state reaches {max(cell):.3g} on the calibration "
                    f"data, and int8 export holds it in ±{CELL_MAX:g} (Q{15 - Q_CELL}.{Q_CELL}); "
                    "larger values saturate",
                    ExportWarning,
                    stacklevel=3,
                )
            continue
        out = layer.forward(out)
        if not isinstance(layer, Dropout):
            maxima.append(float(np.abs(out).max()))
    return maxima


class ExportWarning(UserWarning):
    """An export that works but loses accuracy the user should know about."""


# Calibrated int16 ranges get 50% more than the calibration data reached: data beyond it
# (a longer stream, a larger input) then does not saturate, at a cost of 0.6 of the 15
# bits, far below the int8 weights' error of 1/254 of a row's range.
HEADROOM = 1.5


@dataclass
class QModel:
    """A model in the integer formats above; :meth:`run` and :meth:`step` compute what
    the exported C computes, bit for bit."""

    plan: Plan
    input_scale: float
    input_inv: np.float32
    layers: list[QLayer]
    state: dict = field(default_factory=dict)

    # -- cells, one step, integer vectors (np.int64 holding int16/int32 values) --------
    def _lstm(self, la, ql, d, x, state):
        p, H = ql.dirs[d], la.options["H"]
        h, c = state
        a = p["Wx"].product(x) + p["Wh"].product(h) + p["b"]
        if p.get("p") is not None:
            pp = p["p"]
            a[:H] += rshift_round(pp[:H] * c, Q_ACT)
            a[H : 2 * H] += rshift_round(pp[H : 2 * H] * c, Q_ACT)
        i, f = lut(SIGMOID, a[:H]), lut(SIGMOID, a[H : 2 * H])
        g = lut(TANH, a[3 * H :])
        c_new = sat16(rshift_round(f * c, Q_ACT) + rshift_round(i * g, 2 * Q_ACT - Q_CELL))
        a_o = a[2 * H : 3 * H]
        if p.get("p") is not None:
            a_o = a_o + rshift_round(p["p"][2 * H :] * c_new, Q_ACT)
        o = lut(SIGMOID, a_o)
        m = sat16(rshift_round(o * lut(TANH, c_new << (Q_PRE - Q_CELL)), Q_ACT))
        h_new = sat16(p["Wr"].product(m)) if la.options["proj"] else m
        return h_new, (h_new, c_new)

    def _gru(self, la, ql, d, x, state):
        p, H = ql.dirs[d], la.options["H"]
        (h,) = state
        ax, ah = p["Wx"].product(x) + p["bx"], None
        r_z = ax[: 2 * H] + p["Wh_rz"].product(h) + p["bh"][: 2 * H]
        r, z = lut(SIGMOID, r_z[:H]), lut(SIGMOID, r_z[H:])
        if la.options["reset_after"]:
            ah = p["Wh_n"].product(h) + p["bh"][2 * H :]
            n = lut(TANH, ax[2 * H :] + rshift_round(r * ah, Q_ACT))
        else:
            rh = sat16(rshift_round(r * h, Q_ACT))
            n = lut(TANH, ax[2 * H :] + p["Wh_n"].product(rh) + p["bh"][2 * H :])
        h_new = sat16(n + rshift_round(z * (h - n), Q_ACT))
        return h_new, (h_new,)

    def _rnn(self, la, ql, d, x, state):
        p = ql.dirs[d]
        (h,) = state
        a = p["Wx"].product(x) + p["Wh"].product(h) + p["b"]
        if la.options["activation"] == "tanh":
            h_new = lut(TANH, a)
        else:
            m, n = ql.extra["out"]
            h_new = sat16(rshift_round(np.maximum(a, 0) * m, n))
        return h_new, (h_new,)

    def _dense(self, la, ql, x, last: bool, integer: bool = False):
        a = ql.dirs[None]["W"].product(x) + ql.dirs[None]["b"]
        act = la.options["activation"]
        if act in ("sigmoid", "tanh"):
            v = lut(SIGMOID if act == "sigmoid" else TANH, a)
        elif act == "softmax":  # probabilities in Q15, rounded half up
            e = lut(EXP, a - a.max(), lo=LUT_LO)
            v = (e * ONE_ACT + e.sum() // 2) // e.sum()
        else:
            v = np.maximum(a, 0) if act == "relu" else a
            if not last:
                m, n = ql.extra["out"]
                return sat16(rshift_round(v * m, n))
        # The float API is the integer one, scaled: one code path for both.
        return v if integer or not last else v.astype(np.float32) * np.float32(self.output_scale)

    # -- whole model -------------------------------------------------------------------
    def reset(self) -> None:
        self.state = {}
        for la in self.plan.layers:
            if la.recurrent:
                for d in la.directions:
                    self.state[(la.index, d)] = tuple(np.zeros(n, np.int64) for n in la.state_sizes)

    def _cell(self, la, ql, d, x):
        fn = {"lstm": self._lstm, "gru": self._gru, "rnn": self._rnn}[la.kind]
        out, self.state[(la.index, d)] = fn(la, ql, d, x, self.state[(la.index, d)])
        return out

    def step(self, x_t: np.ndarray) -> np.ndarray:
        """One streaming step (unidirectional models): float ``x_t (D,)`` → float32."""
        return self._step(quantize_input(x_t, self.input_inv), integer=False)

    def step_int(self, xq: np.ndarray) -> np.ndarray:
        """The same from int16 inputs ``xq (D,)`` (real value ``xq · input_scale``) to
        integers (real value ``· output_scale``), as the C ``step_int``."""
        return self._step(np.asarray(xq, np.int64), integer=True)

    @property
    def output_scale(self) -> float:
        """Real value of one unit of the integer outputs (``step_int``, ``run_int``)."""
        la = self.plan.layers[-1]
        if la.recurrent:
            return float(self.layers[-1].out_scale)
        act = la.options["activation"]
        return 2.0**-Q_ACT if act in ("sigmoid", "tanh", "softmax") else 2.0**-Q_PRE

    def _step(self, v, integer: bool):
        if not self.state:
            self.reset()
        last = len(self.plan.layers) - 1
        for k, (la, ql) in enumerate(zip(self.plan.layers, self.layers, strict=True)):
            if la.recurrent:
                v = self._cell(la, ql, "forward", v)
            else:
                v = self._dense(la, ql, v, k == last, integer)
        return np.asarray(v, np.int64) if integer else self._to_float(v)

    def _to_float(self, v) -> np.ndarray:
        """The last layer's result as float32: a recurrent layer's int16 state times its
        scale (a Dense layer has converted already)."""
        if self.plan.layers[-1].recurrent:
            return np.asarray(v, np.float32) * np.float32(self.layers[-1].out_scale)
        return np.asarray(v, np.float32)

    def run(self, x: np.ndarray) -> np.ndarray:
        """A whole sequence from zero state: float ``x (T, D)`` → float32 outputs, the
        shape the C ``run`` writes (``(T, K)`` or ``(K,)``)."""
        return self._run([quantize_input(x_t, self.input_inv) for x_t in np.asarray(x)], False)

    def run_int(self, xq: np.ndarray) -> np.ndarray:
        """The same from int16 inputs ``xq (T, D)`` to integer outputs (``run_int``)."""
        return self._run([np.asarray(v, np.int64) for v in np.asarray(xq)], True)

    def _run(self, seq: list, integer: bool) -> np.ndarray:
        self.reset()
        last = len(self.plan.layers) - 1
        for k, (la, ql) in enumerate(zip(self.plan.layers, self.layers, strict=True)):
            if la.recurrent:
                outs = []
                for d in la.directions:
                    order = range(len(seq)) if d == "forward" else range(len(seq) - 1, -1, -1)
                    hs = [None] * len(seq)
                    for t in order:
                        hs[t] = self._cell(la, ql, d, seq[t])
                    outs.append(hs if la.sequence_out else [hs[order[-1]]])
                seq = [np.concatenate(parts) for parts in zip(*outs, strict=True)]
            elif la.sequence_in:
                seq = [self._dense(la, ql, v, k == last, integer) for v in seq]
            else:
                seq = [self._dense(la, ql, seq[0], k == last, integer)]
        convert = (lambda v: np.asarray(v, np.int64)) if integer else self._to_float
        out = np.stack([convert(v) for v in seq])
        return out if self.plan.output_sequence else out[0]


def quantize(plan: Plan, model, calibration: np.ndarray) -> QModel:
    """Quantize the planned model, with scales from ``calibration (B, T, D)`` inputs."""
    x = np.asarray(calibration, np.float64)
    if x.ndim != 3 or x.shape[-1] != plan.input_size or x.size == 0:
        raise ExportError(
            f"calibration data must have shape (B, T, {plan.input_size}) with B, T >= 1, "
            f"got {x.shape}"
        )
    if not np.all(np.isfinite(x)):
        raise ExportError("calibration data must be finite")
    ranges = _ranges(model, x)
    in_max = float(np.abs(x).max()) * HEADROOM or 1.0
    in_scale = in_max / I16
    layers, scale = [], in_scale
    last = len(plan.layers) - 1
    for k, la in enumerate(plan.layers):
        if la.kind == "dense" and la.options["activation"] == "softmax" and k != last:
            raise ExportError(f"{la.name}: int8 export supports softmax on the last layer only")
        if _bounded(la):
            out = 2.0**-Q_ACT
        elif la.recurrent or k != last:  # a recurrent state needs a scale even at the end
            out = (ranges[k] * HEADROOM or 1.0) / I16
        else:
            out = None  # the last Dense layer's result leaves as float
        layers.append(_quantize_layer(la, scale, out))
        scale = out
    for la in plan.layers:
        K = max(la.in_size, la.options.get("P", 0) or 0, la.options.get("H", 0) or 0)
        if 127 * I16 * K > 2**31 - 1:
            raise ExportError(
                f"{la.name}: int8 products over {K} inputs could overflow a 32-bit "
                "accumulator (at most 516 inputs per row)"
            )
    return QModel(plan, in_scale, np.float32(1.0 / in_scale), layers)


def _quantize_layer(la, in_scale: float, out_scale: float | None) -> QLayer:
    pre = 2.0**-Q_PRE
    ql = QLayer(la.kind, in_scale, out_scale)
    if la.kind == "dense":
        w = la.weights[None]
        ql.dirs[None] = {"W": quantize_matrix(w["W"], in_scale, pre),
                         "b": _int(w["b"], Q_PRE)}  # fmt: skip
    for d in la.directions if la.recurrent else ():
        w = la.weights[d]
        H = la.options["H"]
        state_scale = out_scale  # a recurrent layer's output is its state h
        entry = {"Wx": quantize_matrix(w["Wx"], in_scale, pre)}
        if la.kind == "gru":
            entry["Wh_rz"] = quantize_matrix(w["Wh"][: 2 * H], state_scale, pre)
            entry["Wh_n"] = quantize_matrix(w["Wh"][2 * H :], state_scale, pre)
            entry["bx"], entry["bh"] = _int(w["bx"], Q_PRE), _int(w["bh"], Q_PRE)
        else:
            entry["Wh"] = quantize_matrix(w["Wh"], state_scale, pre)
            entry["b"] = _int(w["b"], Q_PRE)
        if la.kind == "lstm":
            entry["p"] = _int(w["peepholes"], Q_ACT) if la.options["peephole"] else None
            if la.options["proj"]:
                entry["Wr"] = quantize_matrix(w["Wr"], 2.0**-Q_ACT, state_scale)
        ql.dirs[d] = entry
    if (la.kind == "rnn" and la.options["activation"] == "relu") or (
        la.kind == "dense" and la.options["activation"] in (None, "relu") and out_scale
    ):
        ql.extra["out"] = scalar_requant(pre / out_scale)
    return ql


def _int(v: np.ndarray, bits: int) -> np.ndarray:
    q = np.round(np.asarray(v, np.float64) * 2.0**bits)
    if np.any(np.abs(q) > 2**31 - 1):
        raise ExportError(f"int8: a bias or peephole is too large for 32 bits ({np.abs(v).max()})")
    return q.astype(np.int64)
