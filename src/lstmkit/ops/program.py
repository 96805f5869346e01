"""Weights and states packed for the compiled whole-model step
(``kernels.model_step.run``): one program row per layer, every layer's weights in one
buffer (matrices transposed) and every state in another. Built by
:class:`lstmkit.layers.stepping.StepPlan` for a model's layers and by
:class:`lstmkit.ops.LSTMStream` for one LSTM given as arrays.
"""

from __future__ import annotations

import numpy as np

from lstmkit.ops.validate import check_finite_array


def transposed(*arrays: np.ndarray) -> list[np.ndarray]:
    """Each ``(G, K)`` matrix as its transpose ``(K, G)``, flat."""
    return [np.ascontiguousarray(a.T).ravel() for a in arrays]


def lstm_row(D: int, Wx, Wh, b, peepholes=None, Wr=None) -> tuple[list[int], list, list[int]]:
    """An LSTM's program row ``kind, option, D, H, P``, its weight pieces in the kernel's
    order, and its state sizes ``[P, H]`` (kernels/model_step.py)."""
    from lstmkit.kernels import model_step as k

    H = Wx.shape[0] // 4
    P = H if Wr is None else Wr.shape[0]
    option = (k.PEEPHOLE if peepholes is not None else 0) | (k.PROJECTION if Wr is not None else 0)
    pieces = [*transposed(Wx, Wh), b]
    if peepholes is not None:
        pieces.append(peepholes)
    if Wr is not None:
        pieces += transposed(Wr)
    return [k.LSTM, option, D, H, P], pieces, [P, H]


class Program:
    """Program rows packed for ``kernels.model_step.run`` for a batch of ``B``: ``prog``,
    the weights buffer, the state buffer (zeros) with ``views[i]``, the state arrays
    ``(B, n)`` of the i-th row that has a state, and the scratch. ``D`` is the input
    size of the first row."""

    def __init__(self, D, B, dtype, rows, pieces, state_sizes) -> None:
        self.B, self.dtype = B, np.dtype(dtype)
        width = max([D] + [r[3] for r in rows] + [r[4] for r in rows])
        prog = np.zeros((len(rows), 8), np.int64)
        offset, state_offset, self.views, flat = 0, 0, [], []
        state = np.zeros(B * sum(sum(s) for s in state_sizes), self.dtype)
        for i, (row, piece, sizes) in enumerate(zip(rows, pieces, state_sizes, strict=True)):
            prog[i, :5] = row
            prog[i, 5], prog[i, 6], prog[i, 7] = state_offset, offset, width
            flat += [np.asarray(a, self.dtype).ravel() for a in piece]
            offset += sum(a.size for a in piece)
            arrays = []
            for n in sizes:
                arrays.append(state[state_offset : state_offset + B * n].reshape(B, n))
                state_offset += B * n
            if sizes:
                self.views.append(tuple(arrays))
        self.prog, self.state = prog, state
        self.weights = np.concatenate(flat)
        self.scratch = np.zeros(2 * width + 6 * max(r[3] for r in rows), self.dtype)
        self.out_size = rows[-1][4]

    def run(self, x_t: np.ndarray) -> np.ndarray:
        """``x_t (B, D)`` in the program's dtype, C-contiguous → output ``(B, K)``; a NaN
        or infinity in ``x_t`` is a ValueError and changes no state."""
        from lstmkit.kernels import model_step

        out = np.empty((self.B, self.out_size), self.dtype)
        if not model_step.run(x_t, out, self.prog, self.weights, self.state, self.scratch):
            check_finite_array("x_t", x_t)  # raises, naming what is wrong
        return out
