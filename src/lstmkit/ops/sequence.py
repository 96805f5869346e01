"""The time-loop plumbing every recurrent op shares: layout, input projection, masking.

Layout. Public arrays are batch-first, ``(B, T, N)``. Inside the ops every per-step
array is *feature-major*, ``(N, B)``, stacked over time as ``(T, N, B)``: the recurrent
product becomes ``Wh @ h`` with the batch as the short inner axis, which OpenBLAS runs up
to twice as fast as ``h @ Wh.T`` for the batch sizes of recurrent nets, and every gate
block ``a[k*H:(k+1)*H]`` is a contiguous slice.

Variable lengths follow one rule (docs/conventions.md): at a padded step the state is
carried unchanged and the output is 0. Written as
``state_t = where(valid_t, new_t, state_{t-1})`` and ``y_t = where(valid_t, new_t, 0)``,
its backward sends the incoming gradient either into the cell (valid) or straight on
to the previous state (padded). The forward helpers work in place on the cache arrays:
the time loop allocates nothing, because fresh memory costs page faults that cost more
than the arithmetic at these sizes.
"""

from __future__ import annotations

import numpy as np

from lstmkit.backend import get_backend
from lstmkit.ops.batch_split import in_part
from lstmkit.ops.validate import check_lengths, time_mask


def length_mask(
    op: str, lengths: np.ndarray | None, B: int, T: int
) -> tuple[np.ndarray | None, int]:
    """Validate ``lengths (B,)`` and turn it into the ops' mask.

    Returns
    -------
    mask : (T, 1, B) bool, or None when every sequence is full
    steps : number of leading time steps that hold any valid entry (``max(lengths)``);
        later steps are all padding and are not computed.
    """
    lengths = check_lengths(op, lengths, B, T)
    if lengths is None:
        return None, T
    return time_mask(lengths, T), int(lengths.max())


def kernel_lengths(mask: np.ndarray | None) -> np.ndarray:
    """The mask ``(T, 1, B)`` as compiled kernels take it: lengths ``int64 (B,)``, empty
    when there is no mask."""
    if mask is None:
        return np.zeros(0, np.int64)
    return mask[:, 0, :].sum(axis=0).astype(np.int64)


def time_major(x: np.ndarray, dtype: np.dtype, mask: np.ndarray | None) -> np.ndarray:
    """Batch-first inputs to a contiguous time-major copy, padding zeroed.

    Zeroing the padding keeps NaN or garbage there out of the weight gradients.

    Parameters
    ----------
    x : (B, T, D)
    dtype : compute dtype
    mask : (T, 1, B) bool, or None

    Returns
    -------
    ndarray, shape (T, B, D)
    """
    xt = np.asarray(x, dtype).transpose(1, 0, 2)
    if mask is not None:
        return np.where(mask.transpose(0, 2, 1), xt, 0).astype(dtype, copy=False)
    return np.ascontiguousarray(xt)


def project_inputs(xt: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Input projections of every time step in one matrix product, feature-major.

    Parameters
    ----------
    xt : (T, B, D)
    W : (G, D)
    b : (G,)

    Returns
    -------
    ndarray, shape (T, G, B)
        ``W x_t + b`` for every ``t``.
    """
    kernels = _compiled()
    if kernels is not None:
        T, B, _ = xt.shape
        out = np.empty((T, W.shape[0], B), xt.dtype)
        kernels.project_inputs(np.ascontiguousarray(W), _rows_contiguous(xt), b, out)
        return out
    # One batched product straight into the feature-major layout: transposing a
    # (T, B, G) result instead costs several times the product itself.
    out = np.matmul(W, np.ascontiguousarray(xt.transpose(0, 2, 1)))  # (T, G, B)
    out += b[:, None]
    return out


def states_array(init: np.ndarray | None, T: int, N: int, B: int, dtype) -> np.ndarray:
    """``(T + 1, N, B)`` for each step's state; ``[0]`` is ``init (B, N)`` (zeros when
    None). The rest is left unset, not zero-filled: the time loop writes every step and
    :func:`freeze_tail` the steps after the last valid one."""
    states = np.empty((T + 1, N, B), dtype)
    states[0] = 0 if init is None else init.T
    return states


def batch_first(arr: np.ndarray) -> np.ndarray:
    """Feature-major ``(T, N, B)`` to a contiguous batch-first ``(B, T, N)`` copy; inside
    a batch-split part, a transposed view, which the join copies once into the whole
    batch's output (ops/batch_split.py) instead of copying it twice."""
    view = arr.transpose(2, 0, 1)
    return view if in_part() else np.ascontiguousarray(view)


def finish_step(
    t: int,
    states: np.ndarray,
    outputs: np.ndarray | None,
    mask: np.ndarray | None,
) -> None:
    """Apply the length mask to step ``t`` in place, after the cell wrote ``states[t + 1]``.

    Padded columns of ``states[t + 1]`` get ``states[t]`` back, and ``outputs[t]`` (zeros
    until now) receives the valid columns. Nothing to do without a mask.

    Parameters
    ----------
    t : step index
    states : (T + 1, N, B) states, ``states[0]`` initial, ``states[t + 1]`` the new value
    outputs : (T, N, B) zero-initialised outputs, or None (cell state: no output)
    mask : (T, 1, B) bool, or None
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
    """Backward of the length mask for one step.

    Parameters
    ----------
    dstate : (N, B) gradient arriving at ``state_t`` from later steps
    dy : (N, B) gradient of the output ``y_t``, or None
    mask_t : (1, B) bool, or None

    Returns
    -------
    dnew : (N, B)
        Gradient into the cell's new value (0 at padded steps).
    dcarry : (N, B) or None
        Gradient passed straight to ``state_{t-1}`` (padded steps only; None unmasked).
    """
    dnew = dstate if dy is None else dstate + dy
    if mask_t is None:
        return dnew, None
    return np.where(mask_t, dnew, 0), np.where(mask_t, 0, dstate)


def state_grad(arr: np.ndarray | None, N: int, B: int, dtype: np.dtype) -> np.ndarray:
    """An incoming state gradient ``(B, N)`` as a writable feature-major ``(N, B)`` copy."""
    return np.zeros((N, B), dtype) if arr is None else np.array(np.asarray(arr, dtype).T, order="C")


def output_grad(dhs: np.ndarray | None, dtype: np.dtype) -> np.ndarray | None:
    """Batch-first output gradient ``(B, T, N)`` as a contiguous ``(T, N, B)`` copy."""
    return None if dhs is None else np.ascontiguousarray(np.asarray(dhs, dtype).transpose(1, 2, 0))


def _compiled():
    """The compiled gradient helpers when the backend is ``numba``, else None."""
    if get_backend() != "numba":
        return None
    from lstmkit.kernels import sequence as kernels

    return kernels


def grad_wrt_inputs(da: np.ndarray, W: np.ndarray, steps: int | None = None) -> np.ndarray:
    """``dx`` batch-first ``(B, T, D)`` from pre-activation gradients ``da (T, G, B)`` and
    the input weights ``W (G, D)``; ``da`` is 0 from step ``steps`` on, if given."""
    T, _, B = da.shape
    steps = T if steps is None else steps
    kernels = _compiled()
    if kernels is None:
        return np.ascontiguousarray(np.tensordot(da, W, axes=([1], [0])).transpose(1, 0, 2))
    dx = np.zeros((B, T, W.shape[1]), da.dtype)
    kernels.input_grad(da, np.ascontiguousarray(W, da.dtype), steps, dx)
    return dx


def weight_grad(da: np.ndarray, inputs: np.ndarray, steps: int | None = None) -> np.ndarray:
    """``Σ_t da_t · in_tᵀ``: ``da (T, G, B)``, ``inputs (T, K, B)`` → ``(G, K)``."""
    kernels = _compiled()
    if kernels is None:
        return np.tensordot(da, inputs, axes=([0, 2], [0, 2]))
    out = np.empty((da.shape[1], inputs.shape[1]), da.dtype)
    kernels.weight_grad(da, _rows_contiguous(inputs), True, _steps(da, steps), out)
    return out


def input_weight_grad(da: np.ndarray, xt: np.ndarray, steps: int | None = None) -> np.ndarray:
    """``dWx = Σ_t da_t · x_t``: ``da (T, G, B)``, ``xt (T, B, D)`` → ``(G, D)``."""
    kernels = _compiled()
    if kernels is None:
        return np.tensordot(da, xt, axes=([0, 2], [0, 1]))
    out = np.empty((da.shape[1], xt.shape[2]), da.dtype)
    kernels.weight_grad(da, _rows_contiguous(xt), False, _steps(da, steps), out)
    return out


def bias_grad(da: np.ndarray, steps: int | None = None) -> np.ndarray:
    """``Σ_{t, b} da[t, :, b]``: ``da (T, G, B)`` → ``(G,)``."""
    kernels = _compiled()
    if kernels is None:
        return da.sum(axis=(0, 2))
    out = np.empty(da.shape[1], da.dtype)
    kernels.bias_grad(da, _steps(da, steps), out)
    return out


def _steps(da: np.ndarray, steps: int | None) -> int:
    return da.shape[0] if steps is None else steps


def _rows_contiguous(arr: np.ndarray) -> np.ndarray:
    """``arr`` itself when its last axis has unit stride (what BLAS needs), else a copy."""
    return arr if arr.strides[-1] == arr.itemsize else np.ascontiguousarray(arr)
