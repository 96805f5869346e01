"""A counting run: execute a model with arithmetic that tallies every operation.

This is the proof behind :func:`lstmkit.analyze`. :func:`count_forward` runs the model
one sequence, one layer, one direction and one valid time step at a time, the way the
exported C code does (docs/conventions.md equations, zero initial states). Every
number it computes goes through a :class:`Counter` primitive that both computes the
result with NumPy and adds its work to the current row's tally; nothing else does
arithmetic here. Its outputs must equal ``model.predict`` (so every counted operation
was needed and none was skipped), and its tallies must equal the analyzer's figures:
the tests hold both to exactness on random models.

Dimensions: ``B`` batch, ``T`` time steps, ``D`` input features, ``H`` hidden units.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from lstmkit.cost.formulas import param_shapes
from lstmkit.cost.tally import Ops, total
from lstmkit.layers.dense import Dense
from lstmkit.layers.dropout import Dropout
from lstmkit.layers.recurrent import Recurrent
from lstmkit.ops.validate import check_lengths
from lstmkit.steps.define import STEPS, cell_options, dense_apply

Key = tuple[str, str | None]


class Counter:
    """Counted arithmetic on 1-D float64 vectors; tallies go to the row :attr:`key`."""

    def __init__(self) -> None:
        self.key: Key = ("", None)
        self.counts: dict[Key, dict[str, int]] = defaultdict(lambda: dict.fromkeys(Ops.NAMES, 0))

    def _tally(self, name: str, n: int) -> None:
        self.counts[self.key][name] += int(n)

    # -- matrix-vector products --------------------------------------------------------
    def affine(self, products: list[tuple[np.ndarray, np.ndarray]], bias=None) -> np.ndarray:
        """``Σ W_k v_k (+ bias)``: one accumulator per output row, as a C loop keeps it.

        Each ``W (N, K)`` adds ``N·K`` MACC (accumulating into the shared sum is part of
        the MACC); the bias add is ``N`` elementwise ops.
        """
        acc = None
        for W, v in products:
            self._tally("macc", W.size)
            acc = W @ v if acc is None else acc + W @ v
        if bias is not None:
            acc = self.add(acc, bias)
        return acc

    # -- elementwise -------------------------------------------------------------------
    def _binary(self, fn, a, b) -> np.ndarray:
        out = fn(a, b)
        self._tally("elementwise", out.size)
        return out

    def add(self, a, b) -> np.ndarray:
        return self._binary(np.add, a, b)

    def sub(self, a, b) -> np.ndarray:
        return self._binary(np.subtract, a, b)

    def mul(self, a, b) -> np.ndarray:
        return self._binary(np.multiply, a, b)

    def div(self, a, b) -> np.ndarray:
        return self._binary(np.divide, a, b)

    def max(self, a: np.ndarray) -> float:
        """Running maximum: one comparison per element."""
        self._tally("elementwise", a.size)
        return float(np.max(a))

    def sum(self, a: np.ndarray) -> float:
        """Running sum from zero: one add per element."""
        self._tally("elementwise", a.size)
        return float(np.sum(a))

    # -- nonlinearities ----------------------------------------------------------------
    def sigmoid(self, a: np.ndarray) -> np.ndarray:
        self._tally("sigmoid", a.size)
        return 0.5 * np.tanh(0.5 * a) + 0.5  # exact σ, no overflow

    def tanh(self, a: np.ndarray) -> np.ndarray:
        self._tally("tanh", a.size)
        return np.tanh(a)

    def relu(self, a: np.ndarray) -> np.ndarray:
        self._tally("relu", a.size)
        return np.maximum(a, 0.0)

    def exp(self, a: np.ndarray) -> np.ndarray:
        self._tally("exp", a.size)
        return np.exp(a)

    def keep(self, a: np.ndarray, name: str) -> np.ndarray:
        """A state carried to the next step: stored as computed (float64)."""
        return a

    def tallies(self) -> dict[Key, Ops]:
        return {k: Ops(**v) for k, v in self.counts.items()}


def _run_recurrent(layer: Recurrent, xs: np.ndarray, C: Counter) -> np.ndarray:
    """``xs (L, D)`` valid steps of one sequence → ``(L, dirs·P)`` or ``(dirs·P,)``."""
    kind, options = cell_options(layer.cell)
    step = STEPS[kind]
    outs = []
    for d in layer.directions:
        C.key = (layer.name, d)
        p = {
            k: np.asarray(layer.params[k + layer.suffix(d)], np.float64)
            for k, _ in param_shapes(layer)
        }
        state = tuple(np.zeros(n) for n in layer.cell.state_sizes())
        hs = []
        for x_t in xs if d == "forward" else xs[::-1]:
            h, state = step(options, p, x_t, state, C)
            hs.append(h)
        if layer.return_sequences:
            outs.append(np.array(hs if d == "forward" else hs[::-1]))
        else:
            outs.append(state[0])
    return np.concatenate(outs, axis=-1)


def _dense(layer: Dense, v: np.ndarray, C: Counter) -> np.ndarray:
    p = {k: np.asarray(a, np.float64) for k, a in layer.params.items()}
    return dense_apply({"activation": layer.activation}, p, v, C)


@dataclass(frozen=True)
class CountedRun:
    """What :func:`count_forward` returns.

    Attributes
    ----------
    output : ndarray, the shape of ``model.predict(x)``: ``(B, K)`` or ``(B, T, K)``.
    rows : (layer name, direction or None) → the operations that row executed.
    """

    output: np.ndarray
    rows: dict[Key, Ops]

    @property
    def total(self) -> Ops:
        return total(list(self.rows.values()))


def count_forward(model: Any, x: Any, lengths: Any = None) -> CountedRun:
    """Run ``model`` on ``x`` with counted arithmetic (float64), from zero states.

    Parameters
    ----------
    model : Sequential
    x : array, shape (B, T, D)
    lengths : array of int, shape (B,), optional; valid steps per sequence.

    Returns
    -------
    CountedRun
        The outputs (equal to ``model.predict(x, lengths)`` up to rounding) and the
        operations each layer and direction executed.
    """
    x = np.asarray(x, np.float64)
    if x.ndim != 3 or x.shape[-1] != model.input_size:
        raise ValueError(
            f"count_forward: x must have shape (B, T, {model.input_size}), got {x.shape}"
        )
    B, T, _ = x.shape
    lengths = check_lengths("count_forward", lengths, B, T)
    C = Counter()
    for layer in model.layers:  # every row appears, even one that does no arithmetic
        for d in layer.directions if isinstance(layer, Recurrent) else (None,):
            C.counts.setdefault((layer.name, d), dict.fromkeys(Ops.NAMES, 0))
    outputs = []
    for b in range(B):
        L = T if lengths is None else int(lengths[b])
        h, sequence = x[b, :L], True
        for layer in model.layers:
            if isinstance(layer, Recurrent):
                h = _run_recurrent(layer, h, C)
            elif isinstance(layer, Dense):
                C.key = (layer.name, None)
                h = np.array([_dense(layer, v, C) for v in h]) if sequence else _dense(layer, h, C)
            elif not isinstance(layer, Dropout):  # dropout is the identity at inference
                raise TypeError(f"count_forward: no counted form of {type(layer).__name__}")
            sequence = layer.output_is_sequence(sequence)
        if sequence:  # padded steps output 0, as the model's do
            h = np.concatenate([h, np.zeros((T - L, h.shape[-1]))])
        outputs.append(h)
    return CountedRun(output=np.stack(outputs), rows=C.tallies())
