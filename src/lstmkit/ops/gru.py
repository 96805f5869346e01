"""GRU over a sequence: forward, hand-written backward through time, streaming step.

Dimensions: ``B`` batch, ``T`` time steps, ``D`` input features, ``H`` hidden units.
Gate order ``[r | z | n]``, two biases ``bx (3H,)`` and ``bh (3H,)`` (docs/conventions.md)::

    r = σ(Wx_r x + bx_r + Wh_r h + bh_r)
    z = σ(Wx_z x + bx_z + Wh_z h + bh_z)
    reset_after=True:   n = tanh(Wx_n x + bx_n + r ⊙ (Wh_n h + bh_n))
    reset_after=False:  n = tanh(Wx_n x + bx_n + Wh_n (r ⊙ h) + bh_n)
    h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}        computed as n + z ⊙ (h_{t-1} − n)

Inside, each step's arrays are feature-major ``(N, B)``, stacked over time as
``(T, N, B)`` (see sequence.py). The r and z rows of the weights are pre-halved so that
``σ(a) = 0.5·tanh(a/2) + 0.5`` needs a single ``tanh`` (exact scaling).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstmkit.backend import get_backend
from lstmkit.ops.activations import gate_scale, sigmoid_from_tanh_
from lstmkit.ops.batch_split import joins_backward, splits_batch
from lstmkit.ops.sequence import (
    batch_first,
    bias_grad,
    finish_step,
    freeze_tail,
    grad_wrt_inputs,
    input_weight_grad,
    kernel_lengths,
    length_mask,
    output_grad,
    project_inputs,
    split_grad,
    state_grad,
    states_array,
    time_major,
    weight_grad,
)
from lstmkit.ops.validate import (
    as_arrays,
    by_shapes,
    check_grad_args,
    check_ndim,
    check_shape,
    common_float_dtype,
    kernel_arrays,
)


@dataclass
class GRUCache:
    """What :func:`gru_backward` needs from :func:`gru_forward`.

    Attributes
    ----------
    x : (T, B, D) inputs, time-major (padding zeroed when ``lengths`` is given).
    gates : (T, 3H, B) activated gates ``[r | z | n]``.
    hn : (T, H, B) ``Wh_n h_{t-1} + bh_n`` (reset_after=True only, else None).
    h : (T + 1, H, B) state before each step and after the last (``h[0] = h0``).
    mask : (T, 1, B) bool or None; steps : time steps holding any valid entry.
    Wx, Wh : the weights in the compute dtype (unscaled); reset_after : the variant.
    """

    x: np.ndarray
    gates: np.ndarray
    hn: np.ndarray | None
    h: np.ndarray
    mask: np.ndarray | None
    steps: int
    Wx: np.ndarray
    Wh: np.ndarray
    reset_after: bool


@by_shapes
def _sizes(op, x_name, x, h, Wx, Wh, bx, bh):
    """Check every argument's shape; returns ``{"B", "D", "H", "3H"[, "T"]}``."""
    check_ndim(op, x_name, x, ("B", "T", "D") if x_name == "x" else ("B", "D"))
    check_ndim(op, "Wx", Wx, ("3H", "D"))
    if Wx.shape[0] % 3:
        raise ValueError(
            f"{op}: 'Wx' must have shape (3H, D) with a first axis divisible by 3, got {Wx.shape}"
        )
    H = Wx.shape[0] // 3
    sizes = {"B": x.shape[0], "D": Wx.shape[1], "H": H, "3H": 3 * H}
    if x_name == "x":
        sizes["T"] = x.shape[1]
        check_shape(op, "x", x, ("B", "T", "D"), sizes)
    else:
        check_shape(op, x_name, x, ("B", "D"), sizes)
    check_shape(op, "Wh", Wh, ("3H", "H"), sizes)
    check_shape(op, "bx", bx, ("3H",), sizes)
    check_shape(op, "bh", bh, ("3H",), sizes)
    if h is not None:
        check_shape(op, "h0" if x_name == "x" else "h", h, ("B", "H"), sizes)
    return sizes


def _scaled_params(Wx, Wh, bx, bh, dtype):
    """Parameters in ``dtype`` with the r and z rows halved (exact)."""
    H = Wx.shape[0] // 3
    scale = gate_scale(2 * H, H, dtype)
    return (
        np.asarray(Wx, dtype) * scale[:, None],
        np.asarray(Wh, dtype) * scale[:, None],
        np.asarray(bx, dtype) * scale,
        np.asarray(bh, dtype) * scale,
    )


def _recurrent_weights(Wh_s: np.ndarray, reset_after: bool) -> tuple[np.ndarray, ...]:
    """The recurrent weights in the pieces :func:`_cell` multiplies by.

    reset_after=True: one ``(3H, H)`` block. False: ``(2H, H)`` for r, z and ``(H, H)``
    for n, because n's recurrent product reads ``r ⊙ h``, known only after r.
    """
    H = Wh_s.shape[1]
    if reset_after:
        return (Wh_s,)
    return Wh_s[: 2 * H], Wh_s[2 * H :]


def _cell(
    a: np.ndarray,
    h: np.ndarray,
    Wh: tuple[np.ndarray, ...],
    bh_s: np.ndarray,
    reset_after: bool,
    h_new: np.ndarray,
    hn: np.ndarray,
    rec: np.ndarray,
) -> None:
    """One GRU update, in place, writing into the given buffers.

    Parameters
    ----------
    a : (3H, B) scaled ``Wx x + bx`` for this step; overwritten with ``[r | z | n]``.
    h : (H, B) previous state.
    Wh : pieces from :func:`_recurrent_weights`; bh_s : (3H, 1) scaled recurrent bias.
    reset_after : the variant.
    h_new : (H, B) receives the new state.
    hn : (H, B) receives ``Wh_n h + bh_n`` (reset_after=True); scratch otherwise.
    rec : (3H, B) scratch.
    """
    H = h.shape[0]
    rz, n = a[: 2 * H], a[2 * H :]
    if reset_after:
        np.matmul(Wh[0], h, out=rec)
        rec += bh_s
        rz += rec[: 2 * H]
        np.tanh(rz, out=rz)
        sigmoid_from_tanh_(rz)
        hn[...] = rec[2 * H :]
        np.multiply(rz[:H], hn, out=h_new)  # r ⊙ (Wh_n h + bh_n), h_new as scratch
        n += h_new
    else:
        rz += np.matmul(Wh[0], h, out=rec[: 2 * H])
        rz += bh_s[: 2 * H]
        np.tanh(rz, out=rz)
        sigmoid_from_tanh_(rz)
        np.multiply(rz[:H], h, out=hn)  # r ⊙ h
        n += np.matmul(Wh[1], hn, out=rec[2 * H :])
        n += bh_s[2 * H :]
    np.tanh(n, out=n)
    np.subtract(h, n, out=h_new)
    h_new *= rz[H:]
    h_new += n


@splits_batch(2, cached=True)
def gru_forward(
    x: np.ndarray,
    h0: np.ndarray | None,
    Wx: np.ndarray,
    Wh: np.ndarray,
    bx: np.ndarray,
    bh: np.ndarray,
    *,
    reset_after: bool = True,
    lengths: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, GRUCache]:
    """Run a GRU over a batch of sequences.

    Parameters
    ----------
    x : ndarray, shape (B, T, D)
        Input sequences, batch-first.
    h0 : ndarray, shape (B, H), or None
        Initial state (zeros when None).
    Wx : ndarray, shape (3H, D)
        Input weights, gate blocks ``[r | z | n]``.
    Wh : ndarray, shape (3H, H)
        Recurrent weights, same blocks.
    bx, bh : ndarray, shape (3H,)
        Input and recurrent biases (they differ only in where ``r`` applies).
    reset_after : bool
        True: PyTorch / Keras default / ONNX ``linear_before_reset=1``.
        False: Keras ``reset_after=False`` / ONNX default.
    lengths : array of int, shape (B,), optional
        Valid steps per sequence, each in ``1..T``.

    Returns
    -------
    hs : ndarray, shape (B, T, H)
        Output at every step (0 past a sequence's length).
    hT : ndarray, shape (B, H)
        Final state (after each sequence's last valid step).
    cache : GRUCache
    """
    op = "gru_forward"
    x, h0, Wx, Wh, bx, bh = as_arrays(x, h0, Wx, Wh, bx, bh)
    dtype = common_float_dtype(op, {"x": x, "h0": h0, "Wx": Wx, "Wh": Wh, "bx": bx, "bh": bh})
    sizes = _sizes(op, "x", x, h0, Wx, Wh, bx, bh)
    B, T, H = sizes["B"], sizes["T"], sizes["H"]
    mask, steps = length_mask(op, lengths, B, T)

    xt = time_major(x, dtype, mask)  # (T, B, D)
    Wx_s, Wh_s, bx_s, bh_s = _scaled_params(Wx, Wh, bx, bh, dtype)
    gates = project_inputs(xt, Wx_s, bx_s)  # (T, 3H, B), becomes [r | z | n]
    hn = np.zeros((T, H, B), dtype) if reset_after else None
    h = states_array(h0, T, H, B, dtype)  # (T + 1, H, B)
    hs = h[1:] if mask is None else np.zeros((T, H, B), dtype)
    if get_backend() == "numba":
        from lstmkit.kernels import gru as kernels

        bh_full = np.ascontiguousarray(np.broadcast_to(bh_s[:, None], (3 * H, B)))
        hn_arr = hn if reset_after else np.zeros((0, 0, 0), dtype)
        kernels.seq_forward(gates, Wh_s, bh_full, reset_after, h, hn_arr, hs,
                            kernel_lengths(mask), steps)  # fmt: skip
    else:
        Wh_pieces = _recurrent_weights(Wh_s, reset_after)
        bh_col = bh_s[:, None]
        rec = np.empty((3 * H, B), dtype)
        scratch = None if reset_after else np.empty((H, B), dtype)
        for t in range(steps):
            hn_t = hn[t] if reset_after else scratch
            _cell(gates[t], h[t], Wh_pieces, bh_col, reset_after, h[t + 1], hn_t, rec)
            finish_step(t, h, hs, mask)
    freeze_tail(h, steps)

    cache = GRUCache(
        x=xt,
        gates=gates,
        hn=hn,
        h=h,
        mask=mask,
        steps=steps,
        Wx=np.asarray(Wx, dtype),
        Wh=np.asarray(Wh, dtype),
        reset_after=reset_after,
    )
    return batch_first(hs), np.ascontiguousarray(h[T].T), cache


@joins_backward(2, ("x", "h0"))
def gru_backward(
    dhs: np.ndarray | None, dhT: np.ndarray | None, cache: GRUCache, *, input_grad: bool = True
) -> dict[str, np.ndarray]:
    """Backpropagate through time for :func:`gru_forward`.

    Parameters
    ----------
    dhs : ndarray, shape (B, T, H), or None
        Gradient with respect to ``hs`` (None: zero).
    dhT : ndarray, shape (B, H), or None
        Gradient with respect to the final state (None: zero).
    cache : GRUCache
    input_grad : bool
        False skips ``dx`` (``"x"`` is None): a first layer in training needs none.

    Returns
    -------
    dict of ndarray
        ``"x" (B, T, D)``, ``"h0" (B, H)``, ``"Wx" (3H, D)``, ``"Wh" (3H, H)``,
        ``"bx" (3H,)``, ``"bh" (3H,)``.
    """
    op = "gru_backward"
    T, B, _ = cache.x.shape
    H = cache.h.shape[1]
    dtype = cache.x.dtype
    check_grad_args(
        op, (("dhs", dhs, ("B", "T", "H")), ("dhT", dhT, ("B", "H"))), {"B": B, "T": T, "H": H}
    )
    gates, h, Wh, mask = cache.gates, cache.h, cache.Wh, cache.mask
    dh = state_grad(dhT, H, B, dtype)  # (H, B)
    dys = output_grad(dhs, dtype)  # (T, H, B)
    da = np.zeros((T, 3 * H, B), dtype)  # gradient of [Wx x + bx] per gate (unscaled)
    # Gradient of [Wh h + bh] per gate: equal to da except in the n block (reset_after),
    # so it is only kept separately for that variant.
    dhp = np.zeros((T, 3 * H, B), dtype) if cache.reset_after else None
    if get_backend() == "numba":
        from lstmkit.kernels import gru as kernels

        none3 = np.zeros((0, 0, 0), dtype)
        kernels.seq_backward(gates, cache.hn if cache.reset_after else none3, h,
                             none3 if dys is None else dys, dys is not None, Wh,
                             cache.reset_after, kernel_lengths(mask), cache.steps, dh, da,
                             none3 if dhp is None else dhp)  # fmt: skip
        return _grads(cache, da, dhp, dh, input_grad)

    WhT = np.ascontiguousarray(Wh.T)  # (H, 3H)
    Wh_nT = np.ascontiguousarray(Wh[2 * H :].T)  # (H, H)
    Wh_rzT = np.ascontiguousarray(Wh[: 2 * H].T)  # (H, 2H)
    for t in reversed(range(cache.steps)):
        mask_t = None if mask is None else mask[t]
        dh_new, dh_carry = split_grad(dh, None if dys is None else dys[t], mask_t)
        r, z, n = gates[t, :H], gates[t, H : 2 * H], gates[t, 2 * H :]
        h_prev = h[t]
        da_t = da[t]
        # Forward: h_t = n + z ⊙ (h_{t-1} − n)
        da_t[H : 2 * H] = dh_new * (h_prev - n) * z * (1 - z)
        dn = dh_new * (1 - z) * (1 - n * n)  # through tanh
        da_t[2 * H :] = dn
        dh = dh_new * z
        if cache.reset_after:
            # Forward: a_n = Wx_n x + bx_n + r ⊙ hn, hn = Wh_n h + bh_n
            da_t[:H] = dn * cache.hn[t] * r * (1 - r)
            dhp_t = dhp[t]
            dhp_t[: 2 * H] = da_t[: 2 * H]
            np.multiply(dn, r, out=dhp_t[2 * H :])
            dh += WhT @ dhp_t
        else:
            # Forward: a_n = Wx_n x + bx_n + Wh_n (r ⊙ h) + bh_n
            drh = Wh_nT @ dn
            da_t[:H] = drh * h_prev * r * (1 - r)
            dh += Wh_rzT @ da_t[: 2 * H]
            dh += drh * r
        if dh_carry is not None:
            dh += dh_carry
    return _grads(cache, da, dhp, dh, input_grad)


def _grads(cache: GRUCache, da, dhp, dh, input_grad) -> dict[str, np.ndarray]:
    """Input, weight and initial-state gradients from every step's ``da (T, 3H, B)``,
    ``dhp`` (reset_after) and ``dh (H, B)``."""
    H, h, steps = cache.h.shape[1], cache.h, cache.steps
    # Weight gradients: sums over all (t, b) of products, not per-step updates.
    grads = {
        "x": grad_wrt_inputs(da, cache.Wx, steps) if input_grad else None,
        "h0": np.ascontiguousarray(dh.T),
        "Wx": input_weight_grad(da, cache.x, steps),
        "bx": bias_grad(da, steps),
    }
    if cache.reset_after:
        grads["Wh"] = weight_grad(dhp, h[:-1], steps)
        grads["bh"] = bias_grad(dhp, steps)
    else:
        rh = cache.gates[:, :H] * h[:-1]
        grads["Wh"] = np.concatenate(
            [weight_grad(da[:, : 2 * H], h[:-1], steps), weight_grad(da[:, 2 * H :], rh, steps)]
        )
        grads["bh"] = grads["bx"].copy()
    return grads


def gru_step(
    x_t: np.ndarray,
    h: np.ndarray,
    Wx: np.ndarray,
    Wh: np.ndarray,
    bx: np.ndarray,
    bh: np.ndarray,
    *,
    reset_after: bool = True,
) -> np.ndarray:
    """One GRU time step for streaming inference; same numbers as :func:`gru_forward`.

    Parameters
    ----------
    x_t : ndarray, shape (B, D)
    h : ndarray, shape (B, H)
    Wx, Wh, bx, bh, reset_after
        As in :func:`gru_forward`.

    Returns
    -------
    ndarray, shape (B, H)
        The new state (the step's output).
    """
    op = "gru_step"
    args = as_arrays(x_t, h, Wx, Wh, bx, bh)
    dtype = _step_check(op, *args)
    if get_backend() == "numba":
        from lstmkit.kernels import model_step

        return model_step.gru_step(bool(reset_after), *kernel_arrays(dtype, *args))
    x_t, h, Wx, Wh, bx, bh = args
    Wx_s, Wh_s, bx_s, bh_s = _scaled_params(Wx, Wh, bx, bh, dtype)
    # The same products as the sequence forward, in its feature-major layout.
    a = Wx_s @ np.asarray(x_t, dtype).T
    a += bx_s[:, None]
    h_prev = np.asarray(h, dtype).T
    h_new, hn = np.empty_like(h_prev), np.empty_like(h_prev)
    rec = np.empty_like(a)
    Wh_pieces = _recurrent_weights(Wh_s, reset_after)
    _cell(a, h_prev, Wh_pieces, bh_s[:, None], reset_after, h_new, hn, rec)
    return np.ascontiguousarray(h_new.T)


@by_shapes
def _step_check(op, x_t, h, Wx, Wh, bx, bh) -> np.dtype:
    """Every check of :func:`gru_step`; returns the compute dtype."""
    dtype = common_float_dtype(op, {"x_t": x_t, "h": h, "Wx": Wx, "Wh": Wh, "bx": bx, "bh": bh})
    _sizes(op, "x_t", x_t, h, Wx, Wh, bx, bh)
    return dtype
