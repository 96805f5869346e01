"""Compiled plain-RNN kernels: the whole forward and backward time loops of
:func:`lstmkit.ops.rnn_forward` / :func:`lstmkit.ops.rnn_backward`, matrix products
through ``kernels.blas``. Layouts are the ops' ``(T, N, B)``; ``relu`` selects
``max(a, 0)``, otherwise ``tanh`` (the C library's, as the reference: an RNN has one
activation per unit, so the cheaper approximation would buy little).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from lstmkit.kernels.blas import gemm
from lstmkit.kernels.sequence import OPTS, add_, copy_, mask_step, split_grad


@njit(**OPTS)
def seq_forward(out, Wh, relu, h, hs, lengths, steps):
    """``out (T, H, B)`` holds ``Wx x + b`` and receives ``φ(a)``; ``h (T + 1, H, B)``
    holds ``h0`` at ``[0]`` and receives every state; ``hs`` as in
    ``kernels.lstm.seq_forward``."""
    one = out.dtype.type(1.0)
    zero = out.dtype.type(0.0)
    masked = lengths.size > 0
    for t in range(steps):
        gemm(False, False, one, Wh, h[t], one, out[t])
        a = out[t].ravel()
        if relu:
            for k in range(a.size):
                a[k] = max(a[k], zero)
        else:
            for k in range(a.size):
                a[k] = math.tanh(a[k])
        copy_(h[t + 1], out[t])
        if masked:
            mask_step(h, hs, True, lengths, t)


@njit(**OPTS)
def seq_backward(out, dys, has_dy, Wh, relu, lengths, steps, dh, da):
    """``dh (H, B)`` arrives as the final-state gradient and leaves as the initial one;
    ``da (T, H, B)`` zeros receives the pre-activation gradients."""
    one = da.dtype.type(1.0)
    zero = da.dtype.type(0.0)
    masked = lengths.size > 0
    d2 = np.empty_like(dh)
    carry = np.empty_like(dh)
    for t in range(steps - 1, -1, -1):
        split_grad(dh, dys[t] if has_dy else dh, has_dy, lengths, t, d2, carry)
        d, y, dat = d2.ravel(), out[t].ravel(), da[t].ravel()
        # Forward: y = φ(a); tanh' = 1 − y², relu' = [y > 0]
        if relu:
            for k in range(y.size):
                dat[k] = d[k] if y[k] > zero else zero
        else:
            for k in range(y.size):
                dat[k] = d[k] * (one - y[k] * y[k])
        gemm(True, False, one, Wh, da[t], zero, dh)
        if masked:
            add_(dh, carry)
