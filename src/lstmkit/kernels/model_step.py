"""Streaming steps: one step of a whole model in one compiled call, an interpreter over a
small program of layers (lstmkit/layers/stepping.py builds it), and the pure step
functions of the ops (``lstm_step``, ``gru_step``, ``rnn_step``) on the same cells.

Few arguments on purpose: Numba spends about 0.3 µs unboxing each array argument, more
than an LSTM(48) step's arithmetic, so every layer's weights live in one flat buffer
and every state in another. Each layer's matrices are stored transposed, ``(K, G)`` for
a product ``G × K``, so a product is a sum of rows scaled by the input (``a += Wᵀ[k] ·
x[k]``, contiguous and vectorized) rather than dot products, which LLVM cannot vectorize
without reassociating the sum. The pure step functions take the caller's ``(G, K)``
matrices as they are and compute dot products; both add each sum's terms in the same
order (bias, then ``k`` ascending), so :func:`lstmkit.ops.lstm_step`,
:class:`lstmkit.ops.LSTMStream` and ``Sequential.step`` give the same bits.

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
def _affine(dst, bias, W, G, r0, K, v, wt):
    """``dst (n,) = bias (n,) + W[r0 : r0 + n] v``: rows ``r0..r0+n`` of a ``(G, K)``
    matrix ``W`` (see :func:`_accumulate`) times ``v (K,)``."""
    for r in range(dst.size):
        dst[r] = bias[r]
    _accumulate(dst, W, G, r0, K, v, wt)


@njit(**OPTS)
def _accumulate(dst, W, G, r0, K, v, wt):
    """``dst (n,) += W[r0 : r0 + n] v`` for a ``(G, K)`` matrix held flat in ``W``:
    transposed, ``(K, G)``, when ``wt`` (a plan's layout: rows scaled by ``v[k]`` and
    added, vectorized), else as given, ``(G, K)`` (the pure step functions: dot
    products). Both add the terms of each ``dst[r]`` in the order ``k = 0..K-1``, so
    they give the same bits."""
    n = dst.size
    if wt:
        for k in range(K):
            vk = v[k]
            row = W[k * G + r0 : k * G + r0 + n]
            for r in range(n):
                dst[r] += row[r] * vk
    else:
        # Four rows at a time: four independent sums hide the adder's latency, which a
        # single dot product waits on at every term.
        r = 0
        while r + 4 <= n:
            o = (r0 + r) * K
            s0, s1, s2, s3 = dst[r], dst[r + 1], dst[r + 2], dst[r + 3]
            for k in range(K):
                vk = v[k]
                s0 += W[o + k] * vk
                s1 += W[o + K + k] * vk
                s2 += W[o + 2 * K + k] * vk
                s3 += W[o + 3 * K + k] * vk
            dst[r], dst[r + 1], dst[r + 2], dst[r + 3] = s0, s1, s2, s3
            r += 4
        for q in range(r, n):
            acc = dst[q]
            o = (r0 + q) * K
            for k in range(K):
                acc += W[o + k] * v[k]
            dst[q] = acc


@njit(**OPTS)
def _lstm(opt, D, H, P, Wx, Wh, bias, p, Wr, wt, h, c, src, dst, a, m):
    """One LSTM step of one sequence: ``h (P,)``, ``c (H,)`` updated in place from ``src
    (D,)``, the output also written to ``dst``; ``a (4H,)``, ``m (H,)`` scratch.
    ``Wx (4H, D)``, ``Wh (4H, P)``, ``Wr (P, H)`` flat in the layout ``wt`` says
    (:func:`_accumulate`), ``bias (4H,)``, ``p (3H,)`` (when ``opt`` has PEEPHOLE)."""
    G = 4 * H
    half = a.dtype.type(0.5)
    has_p = opt & PEEPHOLE
    _affine(a, bias, Wx, G, 0, D, src, wt)
    _accumulate(a, Wh, G, 0, P, h, wt)
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
        for q in range(P):
            dst[q] = 0
        _accumulate(dst[:P], Wr, P, 0, H, m, wt)
    else:
        for j in range(H):
            dst[j] = m[j]
    for q in range(P):
        h[q] = dst[q]


@njit(**OPTS)
def _gru(reset_after, D, H, Wx, Wh, bx, bh, wt, h, src, dst, ax, ah):
    """One GRU step of one sequence: ``h (H,)`` updated in place from ``src (D,)``, also
    written to ``dst``; ``ax``, ``ah (3H,)`` scratch. ``Wx (3H, D)``, ``Wh (3H, H)`` flat
    in the layout ``wt`` says, ``bx``, ``bh (3H,)``."""
    G = 3 * H
    half = ax.dtype.type(0.5)
    _affine(ax, bx, Wx, G, 0, D, src, wt)
    if reset_after:
        _affine(ah, bh, Wh, G, 0, H, h, wt)
    else:  # only the r and z blocks see h itself
        for r in range(G):
            ah[r] = bh[r]
        _accumulate(ah[: 2 * H], Wh, G, 0, H, h, wt)
    for r in range(2 * H):
        ax[r] = half * gate_tanh(half * (ax[r] + ah[r])) + half  # r, z
    if reset_after:
        for j in range(H):
            ax[2 * H + j] = gate_tanh(ax[2 * H + j] + ax[j] * ah[2 * H + j])
    else:
        # Wh_n (r ⊙ h) + bh_n, with r ⊙ h kept in dst until h is updated
        for j in range(H):
            dst[j] = ax[j] * h[j]
        _accumulate(ah[2 * H :], Wh, G, 2 * H, H, dst, wt)
        for j in range(H):
            ax[2 * H + j] = gate_tanh(ax[2 * H + j] + ah[2 * H + j])
    for j in range(H):
        n = ax[2 * H + j]
        hn = n + ax[H + j] * (h[j] - n)
        h[j] = hn
        dst[j] = hn


@njit(**OPTS)
def _rnn(relu, D, H, Wx, Wh, b, wt, h, src, dst, a):
    """One RNN step of one sequence: ``h (H,)`` updated in place from ``src (D,)``, also
    written to ``dst``; ``a (H,)`` scratch. ``Wx (H, D)``, ``Wh (H, H)`` flat in the
    layout ``wt`` says, ``b (H,)``."""
    _affine(a, b, Wx, H, 0, D, src, wt)
    _accumulate(a, Wh, H, 0, H, h, wt)
    zero = a.dtype.type(0.0)
    for j in range(H):
        v = a[j]
        v = (v if v > zero else zero) if relu else gate_tanh(v)
        h[j] = v
        dst[j] = v


@njit(**OPTS)
def _dense(activation, D, H, w, src, dst):
    _affine(dst[:H], w[D * H : D * H + H], w[: D * H], H, 0, D, src, True)
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
                G = 4 * H
                o = (D + P) * G
                o_p = o + G
                o_r = o_p + (3 * H if opt & PEEPHOLE else 0)
                _lstm(opt, D, H, P, w[: D * G], w[D * G : o], w[o:o_p], w[o_p:o_r],
                      w[o_r : o_r + H * P], True, h, c, src, dst, work[: 4 * H],
                      work[4 * H : 5 * H])  # fmt: skip
            elif kind == GRU:
                h = state[s + b * H : s + (b + 1) * H]
                G = 3 * H
                o = (D + H) * G
                _gru(opt, D, H, w[: D * G], w[D * G : o], w[o : o + G], w[o + G : o + 2 * G],
                     True, h, src, dst, work[:G], work[G : 2 * G])  # fmt: skip
            elif kind == RNN:
                h = state[s + b * H : s + (b + 1) * H]
                o = (D + H) * H
                _rnn(opt, D, H, w[: D * H], w[D * H : o], w[o : o + H], True, h, src, dst,
                     work[:H])  # fmt: skip
            else:
                _dense(opt, D, H, w, src, dst)
            src, dst = dst, src
        K = out.shape[1]
        for k in range(K):
            out[b, k] = src[k]
    return True


# The pure step functions of lstmkit.ops (lstm_step, gru_step, rnn_step) under the
# compiled backend: the cells above on the caller's arrays as they are (``(G, K)``
# matrices, so ``wt`` is False), with new state arrays returned. Nothing is prepared
# between calls, so each call costs its arithmetic plus unboxing its arguments.


@njit(**OPTS)
def lstm_step(opt, x, h, c, Wx, Wh, b, p, Wr):
    """``x (B, D)``, ``h (B, P)``, ``c (B, H)``, the weights as ``lstm_forward`` takes
    them (``p`` and ``Wr`` as ``opt`` says; anything otherwise) → new ``h (B, P)``, ``c
    (B, H)``."""
    B, D = x.shape
    H, P = c.shape[1], h.shape[1]
    h_new, c_new = h.copy(), c.copy()
    a = np.empty(4 * H, x.dtype)
    m = np.empty(H, x.dtype)
    dst = np.empty(max(H, P), x.dtype)
    Wx_, Wh_, Wr_ = Wx.ravel(), Wh.ravel(), Wr.ravel()
    for r in range(B):
        _lstm(opt, D, H, P, Wx_, Wh_, b, p, Wr_, False, h_new[r], c_new[r], x[r], dst, a, m)
    return h_new, c_new


@njit(**OPTS)
def gru_step(reset_after, x, h, Wx, Wh, bx, bh):
    """``x (B, D)``, ``h (B, H)`` and the weights as ``gru_forward`` takes them → new
    ``h (B, H)``."""
    B, D = x.shape
    H = h.shape[1]
    h_new = h.copy()
    ax, ah = np.empty(3 * H, x.dtype), np.empty(3 * H, x.dtype)
    dst = np.empty(H, x.dtype)
    Wx_, Wh_ = Wx.ravel(), Wh.ravel()
    for r in range(B):
        _gru(reset_after, D, H, Wx_, Wh_, bx, bh, False, h_new[r], x[r], dst, ax, ah)
    return h_new


@njit(**OPTS)
def rnn_step(relu, x, h, Wx, Wh, b):
    """``x (B, D)``, ``h (B, H)`` and the weights as ``rnn_forward`` takes them → new
    ``h (B, H)``."""
    B, D = x.shape
    H = h.shape[1]
    h_new = h.copy()
    a, dst = np.empty(H, x.dtype), np.empty(H, x.dtype)
    Wx_, Wh_ = Wx.ravel(), Wh.ravel()
    for r in range(B):
        _rnn(relu, D, H, Wx_, Wh_, b, False, h_new[r], x[r], dst, a)
    return h_new
