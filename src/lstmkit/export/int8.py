"""int8 inference: the formats a model is quantized to, and the Python integer model of
what the exported C computes.

The arithmetic itself is :mod:`lstmkit.steps.fixed`: the cells' one definition traced in
integer arithmetic, every value carrying its format. This module chooses what calibration
must choose, and runs the traced steps over sequences:

- weights: ``int8`` per matrix row, ``q = round(W / s_r)`` with ``s_r = max|W_r| / 127``;
  each row keeps one 32-bit multiplier that folds ``s_r``, the input's scale and the
  output format together (the analyzer's "4 bytes per row");
- pre-activations: ``int32``, ``Q_PRE`` (2^-11); gate outputs: Q15;
- states: ``int16``: the LSTM cell ``c`` in ``Q_CELL`` (Q4.11); ``h`` in Q15 where the
  cell bounds it (LSTM without projection, GRU, tanh RNN), else at a scale from
  calibration (``max|h|`` over every step, times :data:`HEADROOM`, over 32767); the input
  and the outputs of unbounded Dense layers likewise;
- sigmoid, tanh (and exp for a final softmax): tables of 257 (129) ``int16`` points on
  [-8, 8] ([-8, 0]) with linear interpolation between them.

Shifts are arithmetic (floor), as ``>>`` on signed integers is with GCC and Clang. The
float API's outputs are the integer results times their scale.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from lstmkit.export.plan import ExportError, Plan
from lstmkit.steps.define import output_bound, state_names
from lstmkit.steps.fixed import (
    I16,
    Q_ACT,
    Q_CELL,
    FixedPointError,
    FixedStep,
    evaluate_fixed,
    trace_fixed,
)

CELL_MAX = 2.0 ** (15 - Q_CELL)  # the LSTM cell's int16 range in its Q4.11 format


def quantize_input(x: np.ndarray, inv_scale: np.float32) -> np.ndarray:
    """float32 → int16 as the C code does it: scale in float32, saturate, round half away
    from zero."""
    v = np.asarray(x, np.float32) * np.float32(inv_scale)
    v = np.clip(v, np.float32(-I16), np.float32(I16))
    half = np.float32(0.5)
    return np.where(v >= 0, (v + half).astype(np.int64), (v - half).astype(np.int64))


@dataclass
class QLayer:
    """A layer's integer steps (direction → :class:`~lstmkit.steps.fixed.FixedStep`);
    ``in_scale``/``out_scale``: the real scales of its int16 input and output (None for
    the last Dense layer's integer result, whose scale its step gives)."""

    kind: str
    in_scale: float
    out_scale: float | None
    dirs: dict[str | None, FixedStep] = field(default_factory=dict)


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

    def _dense(self, la, ql, x, last: bool, integer: bool = False):
        v, _ = evaluate_fixed(ql.dirs[None], x, {})
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
        names = state_names(la.kind)
        state = dict(zip(names, self.state[(la.index, d)], strict=True))
        out, new = evaluate_fixed(ql.dirs[d], x, state)
        self.state[(la.index, d)] = tuple(new[k] for k in names)
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
        ql = self.layers[-1]
        if self.plan.layers[-1].recurrent:
            return float(ql.out_scale)
        return float(ql.dirs[None].output_scale)

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
        if output_bound(la.kind, la.options) is not None:
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
    """Trace the layer's steps in integer arithmetic: its input at ``in_scale``, its
    state ``h`` (or a Dense output) at ``out_scale``, the LSTM cell in ``Q_CELL``."""
    ql = QLayer(la.kind, in_scale, out_scale)
    states = {"h": out_scale, "c": 2.0**-Q_CELL}
    try:
        for d in la.directions:
            ql.dirs[d] = trace_fixed(la.kind, la.options, la.weights[d], la.in_size,
                                     in_scale, states, out_scale)  # fmt: skip
    except FixedPointError as e:
        raise ExportError(f"{la.name}: int8: {e}") from None
    return ql
