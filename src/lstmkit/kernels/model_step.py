"""One streaming step of a whole model in one compiled call: an interpreter over a small
program of layers (lstmkit/layers/stepping.py builds it).

Few arguments on purpose: Numba spends about 0.3 µs unboxing each array argument, more
than an LSTM(48) step's arithmetic, so every layer's weights live in one flat buffer
and every state in another. Each layer's matrices are stored transposed, ``(K, G)`` for
a product ``G × K``, so a product is a sum of rows scaled by the input (``a += Wᵀ[k] ·
x[k]``, contiguous and vectorized) rather than dot products, which LLVM cannot vectorize
without reassociating the sum. The terms are added in the same order as the dot
products of ``kernels.lstm.preactivations`` (bias, then ``k`` ascending), so the numbers
are those of :func:`lstmkit.ops.lstm_step` and :class:`lstmkit.ops.LSTMStream`.

Weights are unscaled: sigmoid rows are halved after the sum, which is exact (a power of
two), so the result equals the ops' halved weights bit for bit.

Program rows (``prog (L, 8)`` int64): ``kind, option, D, H, P, state offset, weight
offset, width``, where ``width`` (the same in every row) is the widest layer input or
output, the size of each of the two vectors at the start of ``scratch``. Kinds and
options:

- ``LSTM``: option bit 0 peepholes, bit 1 projection. Weights ``Wxᵀ (D, 4H)``, ``Whᵀ (P,
  4H)``, ``b (4H)``, then ``p (3H)`` and ``Wrᵀ (H, P)`` when present; state ``h (B, P)``
  then ``c (B, H)``.
- ``GRU``: option 1 reset after the product (PyTorch), 0 before. ``Wxᵀ (D, 3H)``, ``Whᵀ
  (H, 3H)``, ``bx (3H)``, ``bh (3H)``; state ``h (B, H)``.
- ``RNN``: option 1 relu, 0 tanh. ``Wxᵀ (D, H)``, ``Whᵀ (H, H)``, ``b (H)``; state ``h``.
- ``DENSE``: option the activation (``DENSE_ACTIVATIONS``). ``Wᵀ (D, H)``, ``b (H)``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from lstmkit.kernels.mathfn import gate_tanh
from lstmkit.kernels.sequence import OPTS

LSTM, GRU, RNN, DENSE = 1, 2, 3, 4
PEEPHOLE, PROJECTION = 1, 2
#: Dense activations by option number.
DENSE_ACTIVATIONS = (None, "relu", "tanh", "sigmoid", "softmax")


@njit(**OPTS)
def _affine(dst, bias, WT, K, v):
    """``dst (G,) = bias + Σ_k WT[k] · v[k]`` for ``WT`` flat ``(K, G)``."""
    G = dst.size
    for r in range(G):
        dst[r] = bias[r]
    _accumulate(dst, WT, K, v)


@njit(**OPTS)
def _accumulate(dst, WT, K, v):
    """``dst (G,) += Σ_k WT[k] · v[k]``."""
    G = dst.size
    for k in range(K):
        vk = v[k]
        row = WT[k * G : (k + 1) * G]
        for r in range(G):
            dst[r] += row[r] * vk


@njit(**OPTS)
def _lstm(opt, D, H, P, w, h, c, src, dst, a, m):
    G = 4 * H
    half = a.dtype.type(0.5)
    WxT, WhT = w[: D * G], w[D * G : (D + P) * G]
    o = (D + P) * G
    bias = w[o : o + G]
    o += G
    has_p = opt & PEEPHOLE
    p = w[o : o + 3 * H]
    if has_p:
        o += 3 * H
    _affine(a, bias, WxT, D, src)
    _accumulate(a, WhT, P, h)
    for r in range(3 * H):  # sigmoid rows: σ(a) = 0.5·tanh(a/2) + 0.5
        a[r] *= half
    for j in range(H):
        cp = c[j]
        ai, af = a[j], a[H + j]
        if has_p:
            ai += half * p[j] * cp
            af += half * p[H + j] * cp
        i = half * gate_tanh(ai) + half
        f = half * gate_tanh(af) + half
        g = gate_tanh(a[3 * H + j])
        cn = f * cp + i * g
        ao = a[2 * H + j]
        if has_p:
            ao += half * p[2 * H + j] * cn
        og = half * gate_tanh(ao) + half
        c[j] = cn
        m[j] = og * gate_tanh(cn)
    if opt & PROJECTION:
        WrT = w[o : o + H * P]
        for q in range(P):
            dst[q] = 0
        _accumulate(dst[:P], WrT, H, m)
    else:
        for j in range(H):
            dst[j] = m[j]
    for q in range(P):
        h[q] = dst[q]


@njit(**OPTS)
def _gru(reset_after, D, H, w, h, src, dst, ax, ah):
    G = 3 * H
    half = ax.dtype.type(0.5)
    WxT, WhT = w[: D * G], w[D * G : (D + H) * G]
    o = (D + H) * G
    bx, bh = w[o : o + G], w[o + G : o + 2 * G]
    _affine(ax, bx, WxT, D, src)
    if reset_after:
        _affine(ah, bh, WhT, H, h)
    else:  # only the r and z blocks see h itself
        for r in range(G):
            ah[r] = bh[r]
        for k in range(H):
            hk = h[k]
            row = WhT[k * G : k * G + 2 * H]
            for r in range(2 * H):
                ah[r] += row[r] * hk
    for r in range(2 * H):
        ax[r] = half * gate_tanh(half * (ax[r] + ah[r])) + half  # r, z
    if reset_after:
        for j in range(H):
            ax[2 * H + j] = gate_tanh(ax[2 * H + j] + ax[j] * ah[2 * H + j])
    else:
        # Wh_n (r ⊙ h) + bh_n, with r ⊙ h kept in dst until h is updated
        for j in range(H):
            dst[j] = ax[j] * h[j]
        for k in range(H):
            rk = dst[k]
            row = WhT[k * G + 2 * H : (k + 1) * G]
            for j in range(H):
                ah[2 * H + j] += row[j] * rk
        for j in range(H):
            ax[2 * H + j] = gate_tanh(ax[2 * H + j] + ah[2 * H + j])
    for j in range(H):
        n = ax[2 * H + j]
        hn = n + ax[H + j] * (h[j] - n)
        h[j] = hn
        dst[j] = hn


@njit(**OPTS)
def _rnn(relu, D, H, w, h, src, dst, a):
    WxT, WhT = w[: D * H], w[D * H : (D + H) * H]
    o = (D + H) * H
    _affine(a, w[o : o + H], WxT, D, src)
    _accumulate(a, WhT, H, h)
    zero = a.dtype.type(0.0)
    for j in range(H):
        v = a[j]
        v = (v if v > zero else zero) if relu else gate_tanh(v)
        h[j] = v
        dst[j] = v


@njit(**OPTS)
def _dense(activation, D, H, w, src, dst):
    _affine(dst[:H], w[D * H : D * H + H], w[: D * H], D, src)
    half = dst.dtype.type(0.5)
    zero = dst.dtype.type(0.0)
    if activation == 1:
        for j in range(H):
            dst[j] = dst[j] if dst[j] > zero else zero
    elif activation == 2:
        for j in range(H):
            dst[j] = gate_tanh(dst[j])
    elif activation == 3:
        for j in range(H):
            dst[j] = half * gate_tanh(half * dst[j]) + half
    elif activation == 4:
        top = dst[0]
        for j in range(H):
            top = max(top, dst[j])
        total = zero
        for j in range(H):
            dst[j] = math.exp(dst[j] - top)
            total += dst[j]
        for j in range(H):
            dst[j] /= total


@njit(**OPTS)
def run(x, out, prog, weights, state, scratch):
    """Step every layer of ``prog`` for each of the ``B`` rows of ``x (B, D)``, writing
    the last layer's output to ``out (B, K)`` and updating ``state`` in place.
    ``scratch`` holds two vectors of the widest layer and the gate work space.
    Returns False (and computes nothing) when ``x`` holds a NaN or infinity."""
    B, D0 = x.shape
    for b in range(B):
        for k in range(D0):
            if not np.isfinite(x[b, k]):
                return False
    width = prog[0, 7]
    L = prog.shape[0]
    for b in range(B):
        src, dst = scratch[:width], scratch[width : 2 * width]
        work = scratch[2 * width :]
        for k in range(D0):
            src[k] = x[b, k]
        for layer in range(L):
            kind, opt, D = prog[layer, 0], prog[layer, 1], prog[layer, 2]
            H, P, s = prog[layer, 3], prog[layer, 4], prog[layer, 5]
            w = weights[prog[layer, 6] :]
            if kind == LSTM:
                h = state[s + b * P : s + (b + 1) * P]
                c = state[s + B * P + b * H : s + B * P + (b + 1) * H]
                _lstm(opt, D, H, P, w, h, c, src, dst, work[: 4 * H], work[4 * H : 5 * H])
            elif kind == GRU:
                h = state[s + b * H : s + (b + 1) * H]
                _gru(opt, D, H, w, h, src, dst, work[: 3 * H], work[3 * H : 6 * H])
            elif kind == RNN:
                h = state[s + b * H : s + (b + 1) * H]
                _rnn(opt, D, H, w, h, src, dst, work[:H])
            else:
                _dense(opt, D, H, w, src, dst)
            src, dst = dst, src
        K = out.shape[1]
        for k in range(K):
            out[b, k] = src[k]
    return True
