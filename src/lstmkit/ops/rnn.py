"""Plain (Elman) RNN over a sequence: forward, hand-written backward, streaming step.

Dimensions: ``B`` batch, ``T`` time steps, ``D`` input features, ``H`` hidden units::

    h_t = φ(Wx x_t + Wh h_{t-1} + b),   φ = tanh or relu

Internally time-major ``(T, B, .)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstmkit.ops.sequence import (
    batch_first,
    check_grad_args,
    finish_step,
    freeze_tail,
    grad_or_zeros,
    project_inputs,
    split_grad,
    time_major,
    time_major_grad,
)
from lstmkit.ops.validate import (
    as_arrays,
    check_activation,
    check_lengths,
    check_ndim,
    check_shape,
    common_float_dtype,
    time_mask,
)


@dataclass
class RNNCache:
    """What :func:`rnn_backward` needs from :func:`rnn_forward`; arrays are time-major.

    Attributes
    ----------
    x : (T, B, D) inputs (padding zeroed when ``lengths`` is given).
    out : (T, B, H) each step's activated output ``φ(a_t)`` before masking.
    h : (T + 1, B, H) state before each step and after the last (``h[0] = h0``).
    mask : (T, B, 1) bool or None; steps : time steps holding any valid entry.
    Wx, Wh : weights in the compute dtype; activation : "tanh" or "relu".
    """

    x: np.ndarray
    out: np.ndarray
    h: np.ndarray
    mask: np.ndarray | None
    steps: int
    Wx: np.ndarray
    Wh: np.ndarray
    activation: str


def _sizes(op, x_name, x, h, Wx, Wh, b):
    """Check every argument's shape; returns ``{"B", "D", "H"[, "T"]}``."""
    check_ndim(op, x_name, x, ("B", "T", "D") if x_name == "x" else ("B", "D"))
    check_ndim(op, "Wx", Wx, ("H", "D"))
    sizes = {"B": x.shape[0], "D": Wx.shape[1], "H": Wx.shape[0]}
    if x_name == "x":
        sizes["T"] = x.shape[1]
        check_shape(op, "x", x, ("B", "T", "D"), sizes)
    else:
        check_shape(op, x_name, x, ("B", "D"), sizes)
    check_shape(op, "Wh", Wh, ("H", "H"), sizes)
    check_shape(op, "b", b, ("H",), sizes)
    if h is not None:
        check_shape(op, "h0" if x_name == "x" else "h", h, ("B", "H"), sizes)
    return sizes


def _activate_(a: np.ndarray, activation: str) -> np.ndarray:
    """Apply φ in place and return ``a``."""
    if activation == "tanh":
        return np.tanh(a, out=a)
    return np.maximum(a, 0, out=a)


def rnn_forward(
    x: np.ndarray,
    h0: np.ndarray | None,
    Wx: np.ndarray,
    Wh: np.ndarray,
    b: np.ndarray,
    *,
    activation: str = "tanh",
    lengths: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, RNNCache]:
    """Run a plain RNN over a batch of sequences.

    Parameters
    ----------
    x : ndarray, shape (B, T, D)
    h0 : ndarray, shape (B, H), or None (zeros)
    Wx : ndarray, shape (H, D)
    Wh : ndarray, shape (H, H)
    b : ndarray, shape (H,)
    activation : {"tanh", "relu"}
    lengths : array of int, shape (B,), optional
        Valid steps per sequence, each in ``1..T``.

    Returns
    -------
    hs : ndarray, shape (B, T, H)
        Output at every step (0 past a sequence's length).
    hT : ndarray, shape (B, H)
        Final state.
    cache : RNNCache
    """
    op = "rnn_forward"
    check_activation(op, activation)
    x, h0, Wx, Wh, b = as_arrays(x, h0, Wx, Wh, b)
    dtype = common_float_dtype(op, {"x": x, "h0": h0, "Wx": Wx, "Wh": Wh, "b": b})
    sizes = _sizes(op, "x", x, h0, Wx, Wh, b)
    B, T, H = sizes["B"], sizes["T"], sizes["H"]
    lengths = check_lengths(op, lengths, B, T)
    mask = None if lengths is None else time_mask(lengths, T)
    steps = T if lengths is None else int(lengths.max())

    xt = time_major(x, dtype, mask)
    Wx_, Wh_ = np.asarray(Wx, dtype), np.asarray(Wh, dtype)
    out = project_inputs(xt, Wx_, np.asarray(b, dtype))  # (T, B, H), becomes φ(a)
    h = np.zeros((T + 1, B, H), dtype)
    if h0 is not None:
        h[0] = h0
    hs = h[1:] if mask is None else np.zeros((T, B, H), dtype)
    WhT = np.ascontiguousarray(Wh_.T)
    rec = np.empty((B, H), dtype)
    for t in range(steps):
        a = out[t]
        a += np.matmul(h[t], WhT, out=rec)
        h[t + 1] = _activate_(a, activation)
        finish_step(t, h, hs, mask)
    freeze_tail(h, steps)

    cache = RNNCache(
        x=xt, out=out, h=h, mask=mask, steps=steps, Wx=Wx_, Wh=Wh_, activation=activation
    )
    return batch_first(hs), h[T].copy(), cache


def rnn_backward(
    dhs: np.ndarray | None, dhT: np.ndarray | None, cache: RNNCache
) -> dict[str, np.ndarray]:
    """Backpropagate through time for :func:`rnn_forward`.

    Parameters
    ----------
    dhs : ndarray, shape (B, T, H), or None
    dhT : ndarray, shape (B, H), or None
    cache : RNNCache

    Returns
    -------
    dict of ndarray
        ``"x" (B, T, D)``, ``"h0" (B, H)``, ``"Wx" (H, D)``, ``"Wh" (H, H)``, ``"b" (H,)``.
    """
    op = "rnn_backward"
    T, B, D = cache.x.shape
    H = cache.h.shape[2]
    dtype = cache.x.dtype
    check_grad_args(
        op, (("dhs", dhs, ("B", "T", "H")), ("dhT", dhT, ("B", "H"))), {"B": B, "T": T, "H": H}
    )
    dh = grad_or_zeros(dhT, (B, H), dtype)
    dys = time_major_grad(dhs, dtype)
    da = np.zeros((T, B, H), dtype)
    for t in reversed(range(cache.steps)):
        mask_t = None if cache.mask is None else cache.mask[t]
        dh_new, dh_carry = split_grad(dh, None if dys is None else dys[t], mask_t)
        y = cache.out[t]
        # Forward: y = φ(a); tanh' = 1 − y², relu' = [y > 0]
        if cache.activation == "tanh":
            np.multiply(dh_new, 1 - y * y, out=da[t])
        else:
            np.multiply(dh_new, y > 0, out=da[t])
        # Forward: a = Wx x + Wh h_{t-1} + b
        dh = da[t] @ cache.Wh
        if dh_carry is not None:
            dh += dh_carry

    da2 = da.reshape(T * B, H)
    return {
        "x": batch_first((da2 @ cache.Wx).reshape(T, B, D)),
        "h0": dh,
        "Wx": da2.T @ cache.x.reshape(T * B, D),
        "Wh": da2.T @ cache.h[:-1].reshape(T * B, H),
        "b": da2.sum(axis=0),
    }


def rnn_step(
    x_t: np.ndarray,
    h: np.ndarray,
    Wx: np.ndarray,
    Wh: np.ndarray,
    b: np.ndarray,
    *,
    activation: str = "tanh",
) -> np.ndarray:
    """One RNN time step for streaming inference; same numbers as :func:`rnn_forward`.

    Parameters
    ----------
    x_t : ndarray, shape (B, D)
    h : ndarray, shape (B, H)
    Wx, Wh, b, activation
        As in :func:`rnn_forward`.

    Returns
    -------
    ndarray, shape (B, H)
        The new state (the step's output).
    """
    op = "rnn_step"
    check_activation(op, activation)
    x_t, h, Wx, Wh, b = as_arrays(x_t, h, Wx, Wh, b)
    dtype = common_float_dtype(op, {"x_t": x_t, "h": h, "Wx": Wx, "Wh": Wh, "b": b})
    _sizes(op, "x_t", x_t, h, Wx, Wh, b)
    a = np.asarray(x_t, dtype) @ np.asarray(Wx, dtype).T
    a += np.asarray(b, dtype)
    a += np.asarray(h, dtype) @ np.asarray(Wh, dtype).T
    return _activate_(a, activation)
