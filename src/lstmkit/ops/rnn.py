"""Plain (Elman) RNN over a sequence: forward, hand-written backward, streaming step.

Dimensions: ``B`` batch, ``T`` time steps, ``D`` input features, ``H`` hidden units::

    h_t = φ(Wx x_t + Wh h_{t-1} + b),   φ = tanh or relu

Inside, each step's arrays are feature-major ``(H, B)``, stacked over time as
``(T, H, B)`` (see sequence.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstmkit.backend import get_backend
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
    check_activation,
    check_grad_args,
    check_ndim,
    check_shape,
    common_float_dtype,
    kernel_arrays,
)


@dataclass
class RNNCache:
    """What :func:`rnn_backward` needs from :func:`rnn_forward`.

    Attributes
    ----------
    x : (T, B, D) inputs, time-major (padding zeroed when ``lengths`` is given).
    out : (T, H, B) each step's activated output ``φ(a_t)`` before masking.
    h : (T + 1, H, B) state before each step and after the last (``h[0] = h0``).
    mask : (T, 1, B) bool or None; steps : time steps holding any valid entry.
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


@by_shapes
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


@splits_batch(2, cached=True)
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
    mask, steps = length_mask(op, lengths, B, T)

    xt = time_major(x, dtype, mask)
    Wx_, Wh_ = np.asarray(Wx, dtype), np.asarray(Wh, dtype)
    out = project_inputs(xt, Wx_, np.asarray(b, dtype))  # (T, H, B), becomes φ(a)
    h = states_array(h0, T, H, B, dtype)  # (T + 1, H, B)
    hs = h[1:] if mask is None else np.zeros((T, H, B), dtype)
    if get_backend() == "numba":
        from lstmkit.kernels import rnn as kernels

        kernels.seq_forward(out, Wh_, activation == "relu", h, hs, kernel_lengths(mask), steps)
    else:
        rec = np.empty((H, B), dtype)
        for t in range(steps):
            a = out[t]
            a += np.matmul(Wh_, h[t], out=rec)
            h[t + 1] = _activate_(a, activation)
            finish_step(t, h, hs, mask)
    freeze_tail(h, steps)

    cache = RNNCache(
        x=xt, out=out, h=h, mask=mask, steps=steps, Wx=Wx_, Wh=Wh_, activation=activation
    )
    return batch_first(hs), np.ascontiguousarray(h[T].T), cache


@joins_backward(2, ("x", "h0"))
def rnn_backward(
    dhs: np.ndarray | None, dhT: np.ndarray | None, cache: RNNCache, *, input_grad: bool = True
) -> dict[str, np.ndarray]:
    """Backpropagate through time for :func:`rnn_forward`.

    Parameters
    ----------
    dhs : ndarray, shape (B, T, H), or None
    dhT : ndarray, shape (B, H), or None
    cache : RNNCache
    input_grad : bool
        False skips ``dx`` (``"x"`` is None): a first layer in training needs none.

    Returns
    -------
    dict of ndarray
        ``"x" (B, T, D)``, ``"h0" (B, H)``, ``"Wx" (H, D)``, ``"Wh" (H, H)``, ``"b" (H,)``.
    """
    op = "rnn_backward"
    T, B, _ = cache.x.shape
    H = cache.h.shape[1]
    dtype = cache.x.dtype
    check_grad_args(
        op, (("dhs", dhs, ("B", "T", "H")), ("dhT", dhT, ("B", "H"))), {"B": B, "T": T, "H": H}
    )
    dh = state_grad(dhT, H, B, dtype)  # (H, B)
    dys = output_grad(dhs, dtype)  # (T, H, B)
    da = np.zeros((T, H, B), dtype)
    if get_backend() == "numba":
        from lstmkit.kernels import rnn as kernels

        none3 = np.zeros((0, 0, 0), dtype)
        kernels.seq_backward(cache.out, none3 if dys is None else dys, dys is not None,
                             cache.Wh, cache.activation == "relu", kernel_lengths(cache.mask),
                             cache.steps, dh, da)  # fmt: skip
    else:
        _backward_loop(cache, dys, dh, da)
    steps = cache.steps
    return {
        "x": grad_wrt_inputs(da, cache.Wx, steps) if input_grad else None,
        "h0": np.ascontiguousarray(dh.T),
        "Wx": input_weight_grad(da, cache.x, steps),
        "Wh": weight_grad(da, cache.h[:-1], steps),
        "b": bias_grad(da, steps),
    }


def _backward_loop(cache: RNNCache, dys, dh, da) -> None:
    """The NumPy backward time loop: fills ``da (T, H, B)``, leaves ``dh (H, B)`` the
    initial-state gradient."""
    WhT = np.ascontiguousarray(cache.Wh.T)
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
        np.matmul(WhT, da[t], out=dh)
        if dh_carry is not None:
            dh += dh_carry


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
    args = as_arrays(x_t, h, Wx, Wh, b)
    dtype = _step_check(op, *args)
    if get_backend() == "numba":
        from lstmkit.kernels import model_step

        return model_step.rnn_step(activation == "relu", *kernel_arrays(dtype, *args))
    x_t, h, Wx, Wh, b = args
    # The same products as the sequence forward, in its feature-major layout.
    a = np.asarray(Wx, dtype) @ np.asarray(x_t, dtype).T
    a += np.asarray(b, dtype)[:, None]
    a += np.asarray(Wh, dtype) @ np.asarray(h, dtype).T
    return np.ascontiguousarray(_activate_(a, activation).T)


@by_shapes
def _step_check(op, x_t, h, Wx, Wh, b) -> np.dtype:
    """Every check of :func:`rnn_step`; returns the compute dtype."""
    dtype = common_float_dtype(op, {"x_t": x_t, "h": h, "Wx": Wx, "Wh": Wh, "b": b})
    _sizes(op, "x_t", x_t, h, Wx, Wh, b)
    return dtype
