"""Prepared streaming: a stack of layers stepped in one compiled call.

:meth:`lstmkit.Sequential.step` and :meth:`Recurrent.step` check their input and walk
the layers in Python, which costs far more than a streaming step's arithmetic. A
:class:`StepPlan` does the checks and preparation once: it packs every layer's weights
(transposed, kernels/model_step.py says why) into one buffer and the layers' states
into another, and each step is then one call of ``kernels.model_step.run``.

The plan stays valid while nothing changed: the same batch size, the weights' generation
(:data:`lstmkit.layers.base.WEIGHTS`, bumped by every lstmkit change to weights) and the
layers' carried states. The states live in the plan's buffer, and ``layer.state_``
holds views of it, so the layers see every step; a state set from outside (another
call, :meth:`reset_states`) is copied in on the next step. Only the compiled backend
plans; the NumPy backend steps layer by layer through the reference ops.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lstmkit.backend import get_backend
from lstmkit.layers.base import WEIGHTS, Layer
from lstmkit.layers.dense import Dense
from lstmkit.layers.dropout import Dropout
from lstmkit.layers.recurrent import Recurrent
from lstmkit.ops.program import Program, lstm_row, transposed

_DENSE = {None: 0, "relu": 1, "tanh": 2, "sigmoid": 3, "softmax": 4}


def _program_row(layer: Layer, D: int) -> tuple[list[int], list[np.ndarray], list[int]] | None:
    """One layer's ``kind, option, D, H, P``, weight pieces in the kernel's order and
    state sizes; None if the kernel cannot step it."""
    from lstmkit.kernels import model_step as k

    p = layer.params
    if isinstance(layer, Dense):
        row = [k.DENSE, _DENSE[layer.activation], D, layer.units, layer.units]
        return row, [*transposed(p["W"]), p["b"]], []
    if not isinstance(layer, Recurrent) or layer.directions != ("forward",):
        return None
    H = layer.cell.H
    if layer.kind == "lstm":
        return lstm_row(D, p["Wx"], p["Wh"], p["b"], p.get("peepholes"), p.get("Wr"))
    if layer.kind == "gru":
        pieces = [*transposed(p["Wx"], p["Wh"]), p["bx"], p["bh"]]
        return [k.GRU, int(layer.cell.reset_after), D, H, H], pieces, [H]
    if layer.kind == "rnn":
        pieces = [*transposed(p["Wx"], p["Wh"]), p["b"]]
        return [k.RNN, int(layer.cell.activation == "relu"), D, H, H], pieces, [H]
    return None


def step_plan(owner: Any, layers: list[Layer], D: int, B: int, dtype: Any) -> StepPlan | None:
    """The plan ``owner`` (a model or a layer) keeps for stepping ``layers``: the one it
    has while it is current, else a new one; None when they cannot be planned (also
    remembered until the weights, the batch size or the backend change)."""
    key = (B, WEIGHTS["generation"], get_backend())
    kept = owner.__dict__.get("_step_plan")
    if kept is None or kept[0] != key:
        kept = owner._step_plan = (key, StepPlan.make(layers, D, B, dtype))
    return kept[1]


class StepPlan:
    """``layers`` (built, in ``dtype``, for input size ``D``) stepped together for a
    batch of ``B`` sequences. Build it with :meth:`make`, which returns None when some
    layer cannot be planned (the caller then steps layer by layer)."""

    def __init__(self, layers, D, B, dtype, rows, pieces, state_sizes) -> None:
        self.layers, self.B = layers, B
        self.program = Program(D, B, dtype, rows, pieces, state_sizes)
        self.recurrent = [la for la in layers if isinstance(la, Recurrent)]
        # What each layer's state_ was last bound to; a fresh object, never a state.
        self.bound: list[Any] = [object() for _ in self.recurrent]

    @classmethod
    def make(cls, layers: list[Layer], D: int, B: int, dtype: Any) -> StepPlan | None:
        if get_backend() != "numba":
            return None
        rows, pieces, state_sizes = [], [], []
        D0 = D
        for layer in layers:
            if isinstance(layer, Dropout):  # the identity outside training
                continue
            if any(getattr(v, "dtype", None) != np.dtype(dtype) or not isinstance(v, np.ndarray)
                   for v in layer.params.values()):  # fmt: skip
                return None
            made = _program_row(layer, D)
            if made is None:
                return None
            row, piece, sizes = made
            rows.append(row)
            pieces.append(piece)
            state_sizes.append(sizes)
            D = row[4]
        if not rows:
            return None
        return cls(layers, D0, B, dtype, rows, pieces, state_sizes)

    def _bind_states(self) -> None:
        """Make each recurrent layer's carried state the plan's views, copying in a
        state set from outside (zeros after a reset)."""
        for i, layer in enumerate(self.recurrent):
            if layer.state_ is self.bound[i]:
                continue
            carried = layer._carried(self.B)[0]  # the layer's own batch-size check
            views = self.program.views[i]
            for view, value in zip(views, carried or (None,) * len(views), strict=True):
                view[...] = 0 if value is None else value
            layer.state_ = self.bound[i] = [views]

    def step(self, x_t: np.ndarray) -> np.ndarray:
        """``x_t (B, D)`` in the plan's dtype, C-contiguous → output ``(B, K)``."""
        self._bind_states()
        return self.program.run(x_t)
