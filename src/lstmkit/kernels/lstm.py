"""Fused LSTM kernels: one step's cell update (forward), its local backward, and a whole
streaming step. Layouts are the ops' feature-major ``(N, B)`` (see ops/lstm.py).

Forward pre-activations arrive scaled (sigmoid rows halved, so ``σ(a) = 0.5·tanh(a/2) +
0.5`` needs one tanh) exactly as in the NumPy reference; the backward works with the
activated gates and unscaled peepholes, as the reference does.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from lstmkit.kernels.mathfn import gate_tanh

OPTS = {"cache": True, "fastmath": True, "error_model": "numpy", "nogil": True}


@njit(**OPTS)
def cell_forward(a, rec, c_prev, p_half, has_p, c_new, tanh_c, m, out, t):
    """In place: ``a + rec`` (both ``(4H, B)``, scaled pre-activations: input part and
    recurrent part) → activated gates ``[i|f|o|g]`` in ``a``; writes ``c_new``,
    ``tanh_c`` and ``m = o ⊙ tanh(c_new)`` (all ``(H, B)``), and, when ``out`` is not
    empty, ``out[b, t, j] = m[j, b]`` (the batch-first output, written here so that no
    transpose is needed after the loop).

    ``p_half (3H,)`` are the halved peepholes (ignored unless ``has_p``); ``rec`` may be
    empty (then ``a`` is already complete).
    """
    H, B = c_prev.shape
    half = a.dtype.type(0.5)
    has_rec = rec.size > 0
    write = out.size > 0
    for j in range(H):
        for b in range(B):
            cp = c_prev[j, b]
            ai = a[j, b]
            af = a[H + j, b]
            ao = a[2 * H + j, b]
            ag = a[3 * H + j, b]
            if has_rec:
                ai += rec[j, b]
                af += rec[H + j, b]
                ao += rec[2 * H + j, b]
                ag += rec[3 * H + j, b]
            if has_p:
                ai += p_half[j] * cp
                af += p_half[H + j] * cp
            i = half * gate_tanh(ai) + half
            f = half * gate_tanh(af) + half
            g = gate_tanh(ag)
            cn = f * cp + i * g
            if has_p:
                ao += p_half[2 * H + j] * cn  # the output gate sees the new cell
            o = half * gate_tanh(ao) + half
            tc = gate_tanh(cn)
            a[j, b] = i
            a[H + j, b] = f
            a[2 * H + j, b] = o
            a[3 * H + j, b] = g
            c_new[j, b] = cn
            tanh_c[j, b] = tc
            m[j, b] = o * tc
    if write:
        for b in range(B):
            for j in range(H):
                out[b, t, j] = m[j, b]


@njit(**OPTS)
def cell_backward(gates, c_prev, tanh_c, dm, dc_in, p, has_p, da, dc_out):
    """One step's local backward.

    Forward: c = f ⊙ c_prev + i ⊙ g and m = o ⊙ tanh(c) (with peepholes a_i, a_f += p ⊙
    c_prev and a_o += p_o ⊙ c). Given ``dm (H, B)`` (gradient of m) and ``dc_in`` (of c
    from later steps), writes ``da (4H, B)`` (of the unscaled pre-activations) and
    ``dc_out (H, B)`` (of c_prev).
    """
    H, B = c_prev.shape
    one = gates.dtype.type(1.0)
    for j in range(H):
        for b in range(B):
            i = gates[j, b]
            f = gates[H + j, b]
            o = gates[2 * H + j, b]
            g = gates[3 * H + j, b]
            tc = tanh_c[j, b]
            cp = c_prev[j, b]
            d = dm[j, b]
            da_o = d * tc * (o - o * o)
            dc = d * o * (one - tc * tc) + dc_in[j, b]
            if has_p:
                dc += da_o * p[2 * H + j]
            da_i = dc * g * (i - i * i)
            da_f = dc * cp * (f - f * f)
            da[j, b] = da_i
            da[H + j, b] = da_f
            da[2 * H + j, b] = da_o
            da[3 * H + j, b] = dc * i * (one - g * g)
            dcp = dc * f
            if has_p:
                dcp += da_i * p[j] + da_f * p[H + j]
            dc_out[j, b] = dcp


@njit(**OPTS)
def preactivations(x, h, Wx_s, Wh_s, b_s, a):
    """``a (G, B) = Wx_s x + Wh_s h + b_s`` for batch-first ``x (B, D)``, ``h (B, P)``."""
    G, D = Wx_s.shape
    P = Wh_s.shape[1]
    for r in range(G):
        for b in range(x.shape[0]):
            acc = b_s[r]
            for k in range(D):
                acc += Wx_s[r, k] * x[b, k]
            for k in range(P):
                acc += Wh_s[r, k] * h[b, k]
            a[r, b] = acc


@njit(**OPTS)
def step(x, h, c, Wx_s, Wh_s, b_s, p_half, has_p, a, h_out, c_out, tanh_c):
    """A whole streaming step for ``B`` sequences, matrix products included (no BLAS:
    for the small sizes of streaming a compiled loop beats a library call).

    ``x (B, D)``, ``h (B, P)``, ``c (B, H)`` batch-first as the API; scaled weights;
    ``a (4H, B)``, ``h_out (H, B)`` (before any projection), ``c_out``, ``tanh_c``
    ``(H, B)`` are work buffers the caller provides.
    """
    preactivations(x, h, Wx_s, Wh_s, b_s, a)
    none = np.empty((0, 0, 0), a.dtype)
    cell_forward(a, a[:0], c.T, p_half, has_p, c_out, tanh_c, h_out, none, 0)


@njit(**OPTS)
def stream_step(x, h, c, Wx_s, Wh_s, b_s, p_half, has_p, Wr, has_r, a, m):
    """A streaming step that updates the state in place: ``h (B, P)``, ``c (B, H)``
    batch-first as the caller keeps them; ``a (4H, B)`` and ``m (H, B)`` are work
    buffers; ``Wr (P, H)`` is used when ``has_r``."""
    P = Wh_s.shape[1]
    H = Wx_s.shape[0] // 4
    Bn = x.shape[0]
    half = a.dtype.type(0.5)
    preactivations(x, h, Wx_s, Wh_s, b_s, a)
    for b in range(Bn):
        for j in range(H):
            cp = c[b, j]
            ai = a[j, b]
            af = a[H + j, b]
            if has_p:
                ai += p_half[j] * cp
                af += p_half[H + j] * cp
            i = half * gate_tanh(ai) + half
            f = half * gate_tanh(af) + half
            g = gate_tanh(a[3 * H + j, b])
            cn = f * cp + i * g
            ao = a[2 * H + j, b]
            if has_p:
                ao += p_half[2 * H + j] * cn
            o = half * gate_tanh(ao) + half
            c[b, j] = cn
            m[j, b] = o * gate_tanh(cn)
    for b in range(Bn):
        if has_r:
            for q in range(P):
                acc = a.dtype.type(0.0)
                for j in range(H):
                    acc += Wr[q, j] * m[j, b]
                h[b, q] = acc
        else:
            for j in range(H):
                h[b, j] = m[j, b]


@njit(**OPTS)
def infer_cell(a, b_s, c, z, D, p_half, has_p, lengths, t, out):
    """Inference step after the product ``a (4H, B) = [Wx_s | Wh_s] z``: adds the
    (scaled) bias, updates the cell ``c (H, B)`` in place and writes ``m = o ⊙ tanh(c)``
    into the state rows ``z[D:] (H, B)``, which feed the next step's product, and into
    the batch-first output ``out[b, t, :]``. Sequences with ``t >= lengths[b]`` keep
    their state and output 0 (``lengths`` empty: every sequence is valid)."""
    H, B = c.shape
    half = a.dtype.type(0.5)
    zero = a.dtype.type(0.0)
    masked = lengths.size > 0
    if masked:  # keep the state of finished sequences to put it back after the pass
        keep_c = c.copy()
        keep_h = z[D:].copy()
    for j in range(H):  # one branch-free pass, vectorized over the batch
        ai, af, ao, ag = a[j], a[H + j], a[2 * H + j], a[3 * H + j]
        cj, mj = c[j], z[D + j]
        bi, bf, bo, bg = b_s[j], b_s[H + j], b_s[2 * H + j], b_s[3 * H + j]
        pi, pf, po = zero, zero, zero
        if has_p:
            pi, pf, po = p_half[j], p_half[H + j], p_half[2 * H + j]
        for b in range(B):
            cp = cj[b]
            i = half * gate_tanh(ai[b] + bi + pi * cp) + half
            f = half * gate_tanh(af[b] + bf + pf * cp) + half
            g = gate_tanh(ag[b] + bg)
            cn = f * cp + i * g
            o = half * gate_tanh(ao[b] + bo + po * cn) + half  # peephole sees the new cell
            cj[b] = cn
            mj[b] = o * gate_tanh(cn)
    for b in range(B):
        valid = not masked or t < lengths[b]
        for j in range(H):
            if valid:
                out[b, t, j] = z[D + j, b]
            else:
                out[b, t, j] = zero
                c[j, b] = keep_c[j, b]
                z[D + j, b] = keep_h[j, b]
