"""Fused GRU kernels (reset_after=True, PyTorch's variant): one step's gate update and
its local backward. Layouts are the ops' feature-major ``(N, B)`` (see ops/gru.py);
forward pre-activations arrive scaled (r and z rows halved) as in the reference.
"""

from __future__ import annotations

from numba import njit

from lstmkit.kernels.mathfn import gate_tanh

OPTS = {"cache": True, "fastmath": True, "error_model": "numpy", "nogil": True}


@njit(**OPTS)
def cell_forward(a, rec, bh_s, h, h_new, hn):
    """In place: ``a (3H, B)`` scaled ``Wx x + bx`` → activated ``[r | z | n]``, given
    ``rec (3H, B) = Wh_s h``; writes ``hn = Wh_n h + bh_n`` and
    ``h_new = n + z ⊙ (h − n)`` (``(H, B)``)."""
    H, B = h.shape
    half = a.dtype.type(0.5)
    for j in range(H):
        ar, az, an = a[j], a[H + j], a[2 * H + j]
        rr, rz, rn = rec[j], rec[H + j], rec[2 * H + j]
        br, bz, bn = bh_s[j], bh_s[H + j], bh_s[2 * H + j]
        hj, hnj, outj = h[j], hn[j], h_new[j]
        for b in range(B):
            r = half * gate_tanh(ar[b] + rr[b] + br) + half
            z = half * gate_tanh(az[b] + rz[b] + bz) + half
            hnv = rn[b] + bn
            n = gate_tanh(an[b] + r * hnv)
            hp = hj[b]
            ar[b] = r
            az[b] = z
            an[b] = n
            hnj[b] = hnv
            outj[b] = n + z * (hp - n)


@njit(**OPTS)
def cell_backward(gates, hn, h_prev, dh_new, da, dhp, dh_out):
    """One step's local backward (reset_after=True).

    Forward: h_t = n + z ⊙ (h_prev − n), n = tanh(Wx_n x + bx_n + r ⊙ hn),
    hn = Wh_n h_prev + bh_n. Writes ``da (3H, B)`` (of ``Wx x + bx`` per gate),
    ``dhp (3H, B)`` (of ``Wh h + bh`` per gate) and ``dh_out = dh_new ⊙ z`` (the direct
    part of the gradient of h_prev; the caller adds ``Wh^T dhp``).
    """
    H, B = h_prev.shape
    one = gates.dtype.type(1.0)
    for j in range(H):
        for b in range(B):
            r = gates[j, b]
            z = gates[H + j, b]
            n = gates[2 * H + j, b]
            d = dh_new[j, b]
            dz = d * (h_prev[j, b] - n) * z * (one - z)
            dn = d * (one - z) * (one - n * n)
            dr = dn * hn[j, b] * r * (one - r)
            da[j, b] = dr
            da[H + j, b] = dz
            da[2 * H + j, b] = dn
            dhp[j, b] = dr
            dhp[H + j, b] = dz
            dhp[2 * H + j, b] = dn * r
            dh_out[j, b] = d * z
