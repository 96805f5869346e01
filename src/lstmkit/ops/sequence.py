"""The time-loop plumbing every recurrent op shares: layout, input projection, masking.

Variable lengths follow one rule (docs/conventions.md): at a padded step the state is
carried unchanged and the output is 0. Written as
``state_t = where(valid_t, new_t, state_{t-1})`` and ``y_t = where(valid_t, new_t, 0)``,
its backward sends the incoming gradient either into the cell (valid) or straight on
to the previous state (padded); the helpers below do both directions. The forward
helpers work in place on the cache arrays: the time loop allocates nothing, because
fresh memory costs page faults that cost more than the arithmetic at these sizes.
"""

from __future__ import annotations

import numpy as np

from lstmkit.ops.validate import check_shape


def time_major(x: np.ndarray, dtype: np.dtype, mask: np.ndarray | None) -> np.ndarray:
    """Batch-first inputs to a contiguous time-major copy, padding zeroed.

    Zeroing the padding keeps NaN or garbage there out of the weight gradients.

    Parameters
    ----------
    x : (B, T, D)
    dtype : compute dtype
    mask : (T, B, 1) bool, or None

    Returns
    -------
    ndarray, shape (T, B, D)
    """
    xt = np.asarray(x, dtype).transpose(1, 0, 2)
    if mask is not None:
        return np.where(mask, xt, 0).astype(dtype, copy=False)
    return np.ascontiguousarray(xt)


def project_inputs(xt: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Input projections of every time step in one matrix product.

    Parameters
    ----------
    xt : (T, B, D)
    W : (G, D)
    b : (G,)

    Returns
    -------
    ndarray, shape (T, B, G)
        ``W x_t + b`` for every ``t``.
    """
    T, B, D = xt.shape
    out = (xt.reshape(T * B, D) @ W.T).reshape(T, B, W.shape[0])
    out += b
    return out


def batch_first(arr: np.ndarray) -> np.ndarray:
    """Time-major ``(T, B, ...)`` to a contiguous batch-first ``(B, T, ...)`` copy."""
    return np.ascontiguousarray(arr.swapaxes(0, 1))


def finish_step(
    t: int,
    states: np.ndarray,
    outputs: np.ndarray | None,
    mask: np.ndarray | None,
) -> None:
    """Apply the length mask to step ``t`` in place, after the cell wrote ``states[t + 1]``.

    Padded rows of ``states[t + 1]`` get ``states[t]`` back, and ``outputs[t]`` (zeros
    until now) receives the valid rows. Nothing to do without a mask.

    Parameters
    ----------
    t : step index
    states : (T + 1, B, N) states, ``states[0]`` initial, ``states[t + 1]`` the new value
    outputs : (T, B, N) zero-initialised outputs, or None (cell state: no output)
    mask : (T, B, 1) bool, or None
    """
    if mask is None:
        return
    np.copyto(states[t + 1], states[t], where=~mask[t])
    if outputs is not None:
        np.copyto(outputs[t], states[t + 1], where=mask[t])


def freeze_tail(states: np.ndarray, steps: int) -> None:
    """Carry the state through trailing steps where every sequence is padding."""
    states[steps + 1 :] = states[steps]


def split_grad(
    dstate: np.ndarray, dy: np.ndarray | None, mask_t: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Backward of ``store_step`` for one step.

    Parameters
    ----------
    dstate : (B, N) gradient arriving at ``state_t`` from later steps
    dy : (B, N) gradient of the output ``y_t``, or None
    mask_t : (B, 1) bool, or None

    Returns
    -------
    dnew : (B, N)
        Gradient into the cell's new value (0 at padded steps).
    dcarry : (B, N) or None
        Gradient passed straight to ``state_{t-1}`` (padded steps only; None unmasked).
    """
    dnew = dstate if dy is None else dstate + dy
    if mask_t is None:
        return dnew, None
    return np.where(mask_t, dnew, 0), np.where(mask_t, 0, dstate)


def check_grad_args(op: str, args, sizes) -> None:
    """Shape-check optional incoming gradients ``(name, array or None, dims)``."""
    for name, arr, dims in args:
        if arr is not None:
            check_shape(op, name, arr, dims, sizes)


def grad_or_zeros(arr: np.ndarray | None, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A writable copy of an incoming gradient in ``dtype``, or zeros when it is None."""
    return np.zeros(shape, dtype) if arr is None else np.array(arr, dtype)


def time_major_grad(dhs: np.ndarray | None, dtype: np.dtype) -> np.ndarray | None:
    """Batch-first output gradient ``(B, T, N)`` as a time-major view ``(T, B, N)``."""
    return None if dhs is None else np.asarray(dhs, dtype).swapaxes(0, 1)
