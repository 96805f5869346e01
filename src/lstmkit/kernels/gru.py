"""Compiled GRU kernels, both variants: the whole forward and backward time loops of
:func:`lstmkit.ops.gru_forward` / :func:`lstmkit.ops.gru_backward`, with the matrix
products through ``kernels.blas``. Layouts are the ops' ``(T, N, B)``; forward
pre-activations arrive scaled (r and z rows halved) as in the reference. Loops follow
the rules in kernels/sequence.py (flat views, one array written per loop).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from lstmkit.kernels.blas import gemm
from lstmkit.kernels.mathfn import gate_tanh
from lstmkit.kernels.sequence import OPTS, add_, copy_, mask_step, split_grad


@njit(**OPTS)
def _sigmoid_sum_(a, r):
    """``a = σ(a + r)`` in place (scaled: ``σ = 0.5·tanh + 0.5``), flat."""
    half = a.dtype.type(0.5)
    for k in range(a.size):
        a[k] = half * gate_tanh(a[k] + r[k]) + half


@njit(**OPTS)
def seq_forward(gates, Wh_s, bh_full, reset_after, h, hn, hs, lengths, steps):
    """Forward time loop. ``gates (T, 3H, B)`` holds scaled ``Wx x + bx`` and receives
    ``[r | z | n]``; ``h (T + 1, H, B)`` holds ``h0`` at ``[0]``; ``bh_full (3H, B)`` is
    the scaled recurrent bias repeated over the batch (it seeds each step's product);
    ``hn (T, H, B)`` receives ``Wh_n h + bh_n`` (reset_after) ; ``hs`` as in
    ``kernels.lstm.seq_forward``.
    """
    H, B = h.shape[1], h.shape[2]
    HB = H * B
    one = gates.dtype.type(1.0)
    masked = lengths.size > 0
    rec = np.empty((3 * H, B), gates.dtype)
    rh = np.empty((H, B), gates.dtype)
    for t in range(steps):
        a = gates[t].ravel()
        ar, az, an = a[:HB], a[HB : 2 * HB], a[2 * HB :]
        hp, hnew = h[t].ravel(), h[t + 1].ravel()
        copy_(rec, bh_full)
        recf = rec.ravel()
        rr, rz, rn = recf[:HB], recf[HB : 2 * HB], recf[2 * HB :]
        if reset_after:
            gemm(False, False, one, Wh_s, h[t], one, rec)
        else:
            gemm(False, False, one, Wh_s[: 2 * H], h[t], one, rec[: 2 * H])
        _sigmoid_sum_(ar, rr)
        _sigmoid_sum_(az, rz)
        if reset_after:
            copy_(hn[t], rec[2 * H :])
            for k in range(HB):
                an[k] = gate_tanh(an[k] + ar[k] * rn[k])
        else:
            rhf = rh.ravel()
            for k in range(HB):
                rhf[k] = ar[k] * hp[k]
            gemm(False, False, one, Wh_s[2 * H :], rh, one, rec[2 * H :])
            for k in range(HB):
                an[k] = gate_tanh(an[k] + rn[k])
        for k in range(HB):
            hnew[k] = an[k] + az[k] * (hp[k] - an[k])
        if masked:
            mask_step(h, hs, True, lengths, t)


@njit(**OPTS)
def seq_backward(gates, hn, h, dys, has_dy, Wh, reset_after, lengths, steps, dh, da, dhp):
    """Backward time loop. ``dh (H, B)`` arrives as the final-state gradient and leaves
    as the initial one; ``da (T, 3H, B)`` zeros receives the gradients of ``Wx x + bx``
    per gate and, for reset_after, ``dhp (T, 3H, B)`` those of ``Wh h + bh``. ``Wh``
    unscaled.
    """
    H, B = dh.shape
    HB = H * B
    one = da.dtype.type(1.0)
    zero = da.dtype.type(0.0)
    masked = lengths.size > 0
    d2 = np.empty((H, B), da.dtype)
    carry = np.empty((H, B), da.dtype)
    drh = np.empty((H, B), da.dtype)
    for t in range(steps - 1, -1, -1):
        split_grad(dh, dys[t] if has_dy else dh, has_dy, lengths, t, d2, carry)
        d = d2.ravel()
        g = gates[t].ravel()
        r, z, n = g[:HB], g[HB : 2 * HB], g[2 * HB :]
        hp = h[t].ravel()
        daf = da[t].ravel()
        da_r, da_z, da_n = daf[:HB], daf[HB : 2 * HB], daf[2 * HB :]
        dhf = dh.ravel()
        # Forward: h_t = n + z ⊙ (h_{t-1} − n), n = tanh(a_n)
        for k in range(HB):
            zk = z[k]
            da_z[k] = d[k] * (hp[k] - n[k]) * zk * (one - zk)
        for k in range(HB):
            nk = n[k]
            da_n[k] = d[k] * (one - z[k]) * (one - nk * nk)
        for k in range(HB):
            dhf[k] = d[k] * z[k]
        if reset_after:
            # Forward: a_n = Wx_n x + bx_n + r ⊙ hn, hn = Wh_n h + bh_n
            hnf = hn[t].ravel()
            for k in range(HB):
                rk = r[k]
                da_r[k] = da_n[k] * hnf[k] * rk * (one - rk)
            dpf = dhp[t].ravel()
            for k in range(2 * HB):
                dpf[k] = daf[k]
            dp_n = dpf[2 * HB :]
            for k in range(HB):
                dp_n[k] = da_n[k] * r[k]
            gemm(True, False, one, Wh, dhp[t], one, dh)
        else:
            # Forward: a_n = Wx_n x + bx_n + Wh_n (r ⊙ h) + bh_n
            gemm(True, False, one, Wh[2 * H :], da[t][2 * H :], zero, drh)
            drhf = drh.ravel()
            for k in range(HB):
                rk = r[k]
                da_r[k] = drhf[k] * hp[k] * rk * (one - rk)
            for k in range(HB):
                dhf[k] += drhf[k] * r[k]
            gemm(True, False, one, Wh[: 2 * H], da[t][: 2 * H], one, dh)
        if masked:
            add_(dh, carry)
