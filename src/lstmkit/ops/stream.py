"""Prepared streaming: check and transpose the weights once, then step with almost no
overhead.

:func:`lstmkit.ops.lstm_step` is a pure function: every call checks its arguments (the
checks are remembered by shapes and dtypes) and reads the weights in the caller's
``(4H, K)`` layout with dot products. ``LSTMStream`` does that work once and keeps the
state, so each call is one compiled kernel (backend ``numba``: the one-layer program of
kernels/model_step.py, the kernel ``Sequential.step`` runs, on weights transposed once)
or the reference cell (backend ``numpy``), with the same numbers as ``lstm_step``.
"""

from __future__ import annotations

import numpy as np

from lstmkit.backend import get_backend
from lstmkit.ops.lstm import _cell, _scaled_params, _sizes
from lstmkit.ops.program import Program, lstm_row
from lstmkit.ops.validate import as_arrays, check_finite_array, common_float_dtype


class LSTMStream:
    """Streaming LSTM inference for ``batch`` sequences, one time step per call.

    Parameters
    ----------
    Wx (4H, D), Wh (4H, P), b (4H,), peepholes (3H,) optional, Wr (P, H) optional
        As :func:`lstmkit.ops.lstm_forward`; copied, so later changes to the arrays do
        not reach the stream.
    batch : sequences stepped together ``B``.
    h0 (B, P), c0 (B, H) : initial state (zeros when None).

    Call it with ``x_t (B, D)``; it returns ``h_t (B, P)`` (a new array) and keeps the
    state (``h``, ``c``, updated in place). A NaN or infinity in ``x_t`` is a ValueError
    and leaves the state as it was. :meth:`reset` goes back to the initial state.
    """

    def __init__(self, Wx, Wh, b, *, peepholes=None, Wr=None, batch: int = 1, h0=None, c0=None):
        Wx, Wh, b, peepholes, Wr = as_arrays(Wx, Wh, b, peepholes, Wr)
        dtype = common_float_dtype(
            "LSTMStream", {"Wx": Wx, "Wh": Wh, "b": b, "peepholes": peepholes, "Wr": Wr}
        )
        probe = np.zeros((int(batch), Wx.shape[1]), dtype)
        sizes = _sizes("LSTMStream", "x_t", probe, Wx, Wh, b, peepholes, Wr, h0, c0)
        self.B, self.D, self.H, self.P = int(batch), sizes["D"], sizes["H"], sizes["P"]
        self.dtype = dtype
        self.Wx_s, self.Wh_s, self.b_s, p_s = _scaled_params(Wx, Wh, b, peepholes, dtype)
        self.p_s = p_s
        self.Wr = None if Wr is None else np.array(Wr, dtype)
        self._a = np.empty((4 * self.H, self.B), dtype)
        self._m, self._c, self._tc = (np.empty((self.H, self.B), dtype) for _ in range(3))
        self._h0 = None if h0 is None else np.array(h0, dtype)
        self._c0 = None if c0 is None else np.array(c0, dtype)
        self._program = None
        if get_backend() == "numba":
            row, pieces, sizes = lstm_row(self.D, Wx, Wh, b, peepholes, Wr)
            self._program = Program(self.D, self.B, dtype, [row], [pieces], [sizes])
        self.reset()

    def reset(self) -> None:
        """Back to the initial state."""
        if self._program is not None:  # the state lives in the program, updated in place
            self.h, self.c = self._program.views[0]
            self.h[...] = 0 if self._h0 is None else self._h0
            self.c[...] = 0 if self._c0 is None else self._c0
            return
        zeros_h = np.zeros((self.B, self.P), self.dtype)
        zeros_c = np.zeros((self.B, self.H), self.dtype)
        self.h = zeros_h if self._h0 is None else self._h0.copy()
        self.c = zeros_c if self._c0 is None else self._c0.copy()

    def __call__(self, x_t: np.ndarray) -> np.ndarray:
        x_t = np.asarray(x_t, self.dtype)
        if x_t.shape != (self.B, self.D):
            raise ValueError(
                f"LSTMStream: x_t must have shape (B, D) = ({self.B}, {self.D}), got {x_t.shape}"
            )
        if self._program is not None:
            return self._program.run(np.ascontiguousarray(x_t))
        check_finite_array("x_t", x_t)
        a = self._a
        np.matmul(self.Wx_s, x_t.T, out=a)
        a += self.b_s[:, None]
        a += self.Wh_s @ self.h.T
        _cell(a, self.c.T, self.p_s, self._c, self._tc, self._m)
        self.c = np.ascontiguousarray(self._c.T)
        m = self._m if self.Wr is None else self.Wr @ self._m
        self.h = np.ascontiguousarray(m.T)
        return self.h.copy()
