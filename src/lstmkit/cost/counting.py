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
from lstmkit.layers.cells import GRUCell, LSTMCell, RNNCell
from lstmkit.layers.dense import Dense
from lstmkit.layers.dropout import Dropout
from lstmkit.layers.recurrent import Recurrent
from lstmkit.ops.validate import check_lengths

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

    def tallies(self) -> dict[Key, Ops]:
        return {k: Ops(**v) for k, v in self.counts.items()}


# -- one time step of each cell, in the equations' order --------------------------------
def _lstm_step(cell: LSTMCell, p, x, state, C: Counter):
    h, c = state
    H = cell.H
    a = C.affine([(p["Wx"], x), (p["Wh"], h)], p["b"])
    a_i, a_f, a_o, a_g = a[:H], a[H : 2 * H], a[2 * H : 3 * H], a[3 * H :]
    if cell.peephole:
        p_i, p_f, p_o = np.split(p["peepholes"], 3)
        a_i = C.add(a_i, C.mul(p_i, c))
        a_f = C.add(a_f, C.mul(p_f, c))
    i, f, g = C.sigmoid(a_i), C.sigmoid(a_f), C.tanh(a_g)
    c_new = C.add(C.mul(f, c), C.mul(i, g))
    if cell.peephole:
        a_o = C.add(a_o, C.mul(p_o, c_new))  # the output gate sees the new cell
    m = C.mul(C.sigmoid(a_o), C.tanh(c_new))
    h_new = C.affine([(p["Wr"], m)]) if cell.P else m
    return h_new, (h_new, c_new)


def _gru_step(cell: GRUCell, p, x, state, C: Counter):
    (h,) = state
    H = cell.H
    Wx, Wh, bx, bh = p["Wx"], p["Wh"], p["bx"], p["bh"]
    rz = C.add(C.affine([(Wx[: 2 * H], x), (Wh[: 2 * H], h)], bx[: 2 * H]), bh[: 2 * H])
    r, z = C.sigmoid(rz[:H]), C.sigmoid(rz[H:])
    xn = C.affine([(Wx[2 * H :], x)], bx[2 * H :])
    if cell.reset_after:
        hn = C.affine([(Wh[2 * H :], h)], bh[2 * H :])
        n = C.tanh(C.add(xn, C.mul(r, hn)))
    else:
        hn = C.affine([(Wh[2 * H :], C.mul(r, h))], bh[2 * H :])
        n = C.tanh(C.add(xn, hn))
    h_new = C.add(n, C.mul(z, C.sub(h, n)))  # (1 − z) ⊙ n + z ⊙ h
    return h_new, (h_new,)


def _rnn_step(cell: RNNCell, p, x, state, C: Counter):
    (h,) = state
    a = C.affine([(p["Wx"], x), (p["Wh"], h)], p["b"])
    h_new = C.tanh(a) if cell.activation == "tanh" else C.relu(a)
    return h_new, (h_new,)


_STEPS = {LSTMCell: _lstm_step, GRUCell: _gru_step, RNNCell: _rnn_step}


def _run_recurrent(layer: Recurrent, xs: np.ndarray, C: Counter) -> np.ndarray:
    """``xs (L, D)`` valid steps of one sequence → ``(L, dirs·P)`` or ``(dirs·P,)``."""
    step = _STEPS[type(layer.cell)]
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
            h, state = step(layer.cell, p, x_t, state, C)
            hs.append(h)
        if layer.return_sequences:
            outs.append(np.array(hs if d == "forward" else hs[::-1]))
        else:
            outs.append(state[0])
    return np.concatenate(outs, axis=-1)


def _dense(layer: Dense, v: np.ndarray, C: Counter) -> np.ndarray:
    W = np.asarray(layer.params["W"], np.float64)
    b = np.asarray(layer.params["b"], np.float64)
    z = C.affine([(W, v)], b)
    act = layer.activation
    if act == "softmax":
        e = C.exp(C.sub(z, C.max(z)))
        return C.div(e, C.sum(e))
    return {None: lambda a: a, "sigmoid": C.sigmoid, "tanh": C.tanh, "relu": C.relu}[act](z)


def step_ops(kind: str, options: dict, weights: dict, in_size: int) -> Ops:
    """The operations of one step of one direction (recurrent ``kind``) or of one
    application (``"dense"``), by running the cell's definition above with tallied
    arithmetic on zeros: the C exporter writes its COUNT lines from this, so the counts
    come from the one definition of each cell.

    Parameters
    ----------
    kind : ``"lstm"``, ``"gru"``, ``"rnn"`` or ``"dense"``.
    options : ``H``, ``P``, ``peephole``, ``reset_after``, ``activation``.
    weights : parameter name → array, canonical layouts.
    in_size : input features of the step.
    """
    from types import SimpleNamespace

    C = Counter()
    p = {k: np.asarray(v, np.float64) for k, v in weights.items()}
    x = np.zeros(in_size)
    if kind == "dense":
        _dense(SimpleNamespace(params=p, activation=options["activation"]), x, C)
    else:
        o = options
        cell = SimpleNamespace(H=o["H"], P=o["P"] if o.get("proj") else 0,
                               peephole=o.get("peephole", False),
                               reset_after=o.get("reset_after", True),
                               activation=o.get("activation", "tanh"))  # fmt: skip
        state = (np.zeros(o["P"]), np.zeros(o["H"])) if kind == "lstm" else (np.zeros(o["H"]),)
        {"lstm": _lstm_step, "gru": _gru_step, "rnn": _rnn_step}[kind](cell, p, x, state, C)
    return next(iter(C.tallies().values()))


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
