"""Compiled LSTM kernels: the cell update and its local backward, the whole forward,
backward and inference time loops built on them (matrix products through
``kernels.blas``); the streaming steps are in kernels/model_step.py. Layouts are the
ops' feature-major ``(N, B)`` per step, ``(T, N, B)`` over time (see ops/lstm.py); see
kernels/sequence.py for why the loops are written the way they are.

Forward pre-activations arrive scaled (sigmoid rows halved, so ``σ(a) = 0.5·tanh(a/2) +
0.5`` needs one tanh) exactly as in the NumPy reference; the backward works with the
activated gates and unscaled peepholes, as the reference does.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from lstmkit.kernels.blas import gemm
from lstmkit.kernels.mathfn import gate_tanh
from lstmkit.kernels.sequence import OPTS, add_, copy_, copy_t_, mask_step, split_grad


@njit(**OPTS)
def cell_forward(a, c_prev, p_half, has_p, c_new, tanh_c, m):
    """One step's cell update on flat views (``k = j·B + b``).

    ``a (4H·B)``: scaled pre-activations ``[i|f|o|g]`` (sigmoid rows halved), complete
    (input and recurrent products and bias); overwritten with the activated gates.
    ``c_prev``, ``c_new``, ``tanh_c``, ``m`` are ``(H·B)`` and must not overlap (an
    in-place update defeats LLVM's alias check and runs scalar). Writes
    ``c_new = f ⊙ c_prev + i ⊙ g``, ``tanh(c_new)`` and ``m = o ⊙ tanh(c_new)``.
    ``p_half (3H,)`` are the halved peepholes (``has_p``).
    """
    HB = c_prev.size
    ai, af, ao, ag = a[:HB], a[HB : 2 * HB], a[2 * HB : 3 * HB], a[3 * HB :]
    half = a.dtype.type(0.5)
    H = p_half.size // 3
    if has_p:  # a_i, a_f look at the previous cell
        _add_rowwise(ai, p_half[:H], c_prev)
        _add_rowwise(af, p_half[H : 2 * H], c_prev)
    sf = a[: 2 * HB]
    for k in range(2 * HB):
        sf[k] = half * gate_tanh(sf[k]) + half
    for k in range(HB):
        ag[k] = gate_tanh(ag[k])
    for k in range(HB):
        c_new[k] = af[k] * c_prev[k] + ai[k] * ag[k]
    if has_p:  # the output gate sees the new cell (Gers & Schmidhuber 2000)
        _add_rowwise(ao, p_half[2 * H :], c_new)
    for k in range(HB):
        ao[k] = half * gate_tanh(ao[k]) + half
    for k in range(HB):
        tanh_c[k] = gate_tanh(c_new[k])
    for k in range(HB):
        m[k] = ao[k] * tanh_c[k]


@njit(**OPTS)
def _add_rowwise(dst, w, v):
    """``dst[j·B + b] += w[j] · v[j·B + b]`` for flat ``dst``, ``v`` ``(H·B)``, ``w (H,)``."""
    H = w.size
    B = dst.size // H
    for j in range(H):
        wj = w[j]
        row, vrow = dst[j * B : (j + 1) * B], v[j * B : (j + 1) * B]
        for b in range(B):
            row[b] += wj * vrow[b]


@njit(**OPTS)
def cell_backward(gates, c_prev, tanh_c, dm, dc_in, p, has_p, da, dc_new, dc_out):
    """One step's local backward on flat views (``k = j·B + b``).

    Forward: c = f ⊙ c_prev + i ⊙ g and m = o ⊙ tanh(c) (with peepholes a_i, a_f += p ⊙
    c_prev and a_o += p_o ⊙ c). Given ``dm (H·B)`` (gradient of m) and ``dc_in`` (of c
    from later steps), writes ``da (4H·B)`` (of the unscaled pre-activations), uses
    ``dc_new (H·B)`` as scratch (the total gradient of c) and writes ``dc_out`` (of
    c_prev). ``p (3H,)`` are the unscaled peepholes (``has_p``).
    """
    HB = c_prev.size
    H = p.size // 3 if has_p else 0
    B = HB // H if has_p else 0
    one = gates.dtype.type(1.0)
    for k in range(HB):
        o = gates[2 * HB + k]
        da[2 * HB + k] = dm[k] * tanh_c[k] * (o - o * o)
    for k in range(HB):
        tc = tanh_c[k]
        dc_new[k] = dm[k] * gates[2 * HB + k] * (one - tc * tc) + dc_in[k]
    if has_p:
        for j in range(H):
            po = p[2 * H + j]
            for b in range(B):
                dc_new[j * B + b] += po * da[2 * HB + j * B + b]
    for k in range(HB):
        i = gates[k]
        da[k] = dc_new[k] * gates[3 * HB + k] * (i - i * i)
    for k in range(HB):
        f = gates[HB + k]
        da[HB + k] = dc_new[k] * c_prev[k] * (f - f * f)
    for k in range(HB):
        g = gates[3 * HB + k]
        da[3 * HB + k] = dc_new[k] * gates[k] * (one - g * g)
    for k in range(HB):
        dc_out[k] = dc_new[k] * gates[HB + k]
    if has_p:
        for j in range(H):
            pi, pf = p[j], p[H + j]
            for b in range(B):
                dc_out[j * B + b] += pi * da[j * B + b] + pf * da[HB + j * B + b]


@njit(**OPTS)
def seq_forward(gates, W, fold, xt, z, Wr, has_r, p_half, has_p, h, c, tanh_c, m, hs, lengths,
                steps):  # fmt: skip
    """The whole forward time loop of :func:`lstmkit.ops.lstm_forward`, in one call.

    Each step's scaled pre-activations come from one product or two. With ``fold``,
    ``gates[t] = W z`` for ``W = [Wx_s | Wh_s | b_s] (4H, D + P + 1)`` and ``z = [x_t;
    h_{t-1}; 1] (D + P + 1, B)`` (a buffer whose last row holds ones), ``x_t`` from
    time-major ``xt (T, B, D)``. Else ``W = Wh_s (4H, P)`` and ``gates`` arrives holding
    the input projections plus bias (``project_inputs``), to which ``W h_{t-1}`` is added.
    ``gates (T, 4H, B)`` receives the activated gates; ``h (T + 1, P, B)``, ``c (T + 1,
    H, B)`` hold the initial states at ``[0]`` and receive every step's; ``tanh_c (T, H,
    B)``; ``m (T, H, B)`` receives ``o ⊙ tanh(c)`` when there is a projection ``Wr (P,
    H)`` (``has_r``); ``hs (T, P, B)`` zeros receives the masked outputs when ``lengths``
    is not empty.
    """
    one = gates.dtype.type(1.0)
    zero = gates.dtype.type(0.0)
    masked = lengths.size > 0
    D, P = xt.shape[2], h.shape[1]
    for t in range(steps):
        a = gates[t]
        if fold:
            copy_t_(z[:D], xt[t])
            copy_(z[D : D + P], h[t])
            gemm(False, False, one, W, z, zero, a)
        else:
            gemm(False, False, one, W, h[t], one, a)  # a += Wh_s h_{t-1}
        m_t = m[t] if has_r else h[t + 1]
        cell_forward(a.ravel(), c[t].ravel(), p_half, has_p, c[t + 1].ravel(),
                     tanh_c[t].ravel(), m_t.ravel())  # fmt: skip
        if has_r:
            gemm(False, False, one, Wr, m_t, zero, h[t + 1])
        if masked:
            mask_step(c, c, False, lengths, t)
            mask_step(h, hs, True, lengths, t)


@njit(**OPTS)
def seq_backward(gates, c, tanh_c, dys, has_dy, Wh, Wr, has_r, p, has_p, lengths, steps,
                 dh, dc, da, dh_out):  # fmt: skip
    """The whole backward time loop of :func:`lstmkit.ops.lstm_backward`, in one call.

    ``dys (T, P, B)`` output gradients (``has_dy``); ``dh (P, B)``, ``dc (H, B)`` arrive
    as the final-state gradients and leave as the initial-state ones; ``da (T, 4H, B)``
    zeros receives the pre-activation gradients; ``dh_out (T, P, B)`` receives the
    gradients of the projected outputs (``has_r``). ``Wh``, ``Wr``, ``p`` unscaled.
    """
    H, B = dc.shape
    P = dh.shape[0]
    one = da.dtype.type(1.0)
    zero = da.dtype.type(0.0)
    masked = lengths.size > 0
    dh_new = np.empty((P, B), da.dtype)
    dh_carry = np.empty((P, B), da.dtype)
    dc_in = np.empty((H, B), da.dtype)
    dc_carry = np.empty((H, B), da.dtype)
    dc_new = np.empty(H * B, da.dtype)
    dm = np.empty((H, B), da.dtype)
    for t in range(steps - 1, -1, -1):
        split_grad(dh, dys[t] if has_dy else dh, has_dy, lengths, t, dh_new, dh_carry)
        split_grad(dc, dc, False, lengths, t, dc_in, dc_carry)
        if has_r:
            # Forward: h = Wr m, so dm = Wrᵀ dh; dWr is summed after the loop.
            copy_(dh_out[t], dh_new)
            gemm(True, False, one, Wr, dh_new, zero, dm)
        dm_t = dm if has_r else dh_new
        cell_backward(gates[t].ravel(), c[t].ravel(), tanh_c[t].ravel(), dm_t.ravel(),
                      dc_in.ravel(), p, has_p, da[t].ravel(), dc_new, dc.ravel())  # fmt: skip
        # Forward: a = Wx x + Wh h_{t-1} + b
        gemm(True, False, one, Wh, da[t], zero, dh)
        if masked:
            add_(dh, dh_carry)
            add_(dc, dc_carry)


@njit(**OPTS)
def seq_infer(xT, W, p_half, has_p, lengths, steps, z, c, a, tanh_c, out):
    """Inference without a cache: per step one product ``a = W z`` with
    ``W = [Wx_s | Wh_s | b_s] (4H, D + H + 1)`` and ``z = [x_t; h_{t-1}; 1] (D + H + 1, B)``
    (so the bias comes with the product), then the cell. ``c (2, H, B)`` holds the cell
    state in ``c[0]`` and leaves the final one in ``c[steps % 2]`` (the two alternate:
    see :func:`cell_forward`); the state rows of ``z`` hold ``h``. ``xT (T, D, B)``;
    ``a (4H, B)``, ``tanh_c (H, B)`` scratch; ``out (B, T, H)`` receives the outputs
    batch-first (0 past a sequence's length), written while they are in cache: a
    transpose after the loop costs a tenth of the whole call.
    """
    D = xT.shape[1]
    H, B = c.shape[1], c.shape[2]
    one = a.dtype.type(1.0)
    zero = a.dtype.type(0.0)
    masked = lengths.size > 0
    keep_h = np.empty((H, B), a.dtype)
    h = z[D : D + H]
    for t in range(steps):
        c_prev, c_new = c[t % 2], c[(t + 1) % 2]
        copy_(z[:D], xT[t])
        gemm(False, False, one, W, z, zero, a)
        if masked:  # finished sequences keep their state
            copy_(keep_h, h)
        cell_forward(a.ravel(), c_prev.ravel(), p_half, has_p, c_new.ravel(), tanh_c.ravel(),
                     h.ravel())  # fmt: skip
        if masked:
            for j in range(H):
                for b in range(B):
                    if t >= lengths[b]:
                        c_new[j, b] = c_prev[j, b]
                        h[j, b] = keep_h[j, b]
        for b in range(B):
            row = out[b, t]
            if masked and t >= lengths[b]:
                row[:] = zero
            else:
                for j in range(H):
                    row[j] = h[j, b]
