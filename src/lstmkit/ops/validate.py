"""Argument checks shared by the ops: dtypes, shapes and sequence lengths.

Every error names the op, the argument, the expected shape (symbolically and in
numbers) and the shape received, so a caller can fix the call without reading code.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

#: Checks already passed, by what they depend on (at most this many kept).
_MEMO_SIZE = 4096


def by_shapes(check: Callable) -> Callable:
    """Remember a check that passed: its result depends only on the shapes and dtypes of
    its array arguments (and its other, hashable, arguments), so a call with the same
    shapes and dtypes returns it without checking again. A failing check raises every
    time. At streaming and small-batch sizes the checks cost more than the arithmetic."""
    memo: dict = {}

    @functools.wraps(check)
    def remembered(*args: Any) -> Any:
        key = tuple([(a.shape, a.dtype) if isinstance(a, np.ndarray) else a for a in args])
        hit = memo.get(key)
        if hit is None:
            hit = check(*args)
            if isinstance(hit, dict):
                hit = MappingProxyType(hit)  # shared between calls: read-only
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            memo[key] = hit
        return hit

    return remembered


_DTYPES: dict = {}


def common_float_dtype(op: str, arrays: Mapping[str, np.ndarray | None]) -> np.dtype:
    """The dtype an op computes in: NumPy's promotion of its float arguments.

    float32 arguments give float32, float64 give float64, a mix gives float64.
    Remembered by the arguments' dtypes (a failing check raises every time).

    Raises
    ------
    TypeError
        If an argument is not float32 or float64 (integers, float16, complex, objects).
    """
    if all(a is None or isinstance(a, np.ndarray) for a in arrays.values()):
        key = (op, *((k, None if a is None else a.dtype) for k, a in arrays.items()))
        hit = _DTYPES.get(key)
        if hit is None:
            hit = _common_float_dtype(op, arrays)
            if len(_DTYPES) >= _MEMO_SIZE:
                _DTYPES.clear()
            _DTYPES[key] = hit
        return hit
    return _common_float_dtype(op, arrays)


def _common_float_dtype(op: str, arrays: Mapping[str, np.ndarray | None]) -> np.dtype:
    for name, arr in arrays.items():
        if arr is not None and np.asarray(arr).dtype not in FLOAT_DTYPES:
            raise TypeError(
                f"{op}: '{name}' must be a float32 or float64 array, got dtype "
                f"{np.asarray(arr).dtype}; convert it with .astype(np.float32)"
            )
    present = [np.asarray(a).dtype for a in arrays.values() if a is not None]
    return np.result_type(*present)


def check_shape(
    op: str,
    name: str,
    arr: np.ndarray,
    dims: tuple[str, ...],
    sizes: Mapping[str, int],
) -> None:
    """Raise ``ValueError`` unless ``arr.shape`` equals ``dims`` looked up in ``sizes``.

    Parameters
    ----------
    op : str
        Name of the calling op, for the message.
    name : str
        Name of the argument, for the message.
    arr : ndarray
        The argument.
    dims : tuple of str
        Symbolic dimensions, e.g. ``("4H", "D")``; each key must be in ``sizes``.
    sizes : mapping of str to int
        Values of the symbols, e.g. ``{"4H": 64, "D": 3}``.
    """
    expected = tuple(sizes[d] for d in dims)
    shape = np.shape(arr)
    if shape != expected:
        symbolic = f"({dims[0]},)" if len(dims) == 1 else f"({', '.join(dims)})"
        raise ValueError(f"{op}: '{name}' must have shape {symbolic} = {expected}, got {shape}")


def check_ndim(op: str, name: str, arr: np.ndarray, dims: tuple[str, ...]) -> None:
    """Raise ``ValueError`` unless ``arr`` has ``len(dims)`` axes; used before sizes are known."""
    if np.ndim(arr) != len(dims):
        raise ValueError(
            f"{op}: '{name}' must have {len(dims)} axes ({', '.join(dims)}), "
            f"got shape {np.shape(arr)}"
        )


def check_lengths(op: str, lengths: np.ndarray | None, B: int, T: int) -> np.ndarray | None:
    """Validate ``lengths (B,)`` and drop it when every sequence is full.

    Returns
    -------
    ndarray of int64, shape (B,), or None
        None when ``lengths`` is None or every entry equals ``T`` (no masking needed).

    Raises
    ------
    ValueError
        Wrong shape, non-integer values, or values outside ``1..T``.
    """
    if lengths is None:
        return None
    arr = np.asarray(lengths)
    if arr.shape != (B,):
        raise ValueError(f"{op}: 'lengths' must have shape (B,) = ({B},), got {arr.shape}")
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind != "f" or not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise ValueError(f"{op}: 'lengths' must hold integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if B and (arr.min() < 1 or arr.max() > T):
        raise ValueError(
            f"{op}: every entry of 'lengths' must lie in 1..T = 1..{T}, "
            f"got min {arr.min()} and max {arr.max()}"
        )
    if np.all(arr == T):
        return None
    return arr


def check_activation(op: str, activation: str) -> None:
    """Raise ``ValueError`` unless ``activation`` is ``"tanh"`` or ``"relu"``."""
    if activation not in ("tanh", "relu"):
        raise ValueError(f"{op}: 'activation' must be 'tanh' or 'relu', got {activation!r}")


def time_mask(lengths: np.ndarray, T: int) -> np.ndarray:
    """Validity mask for the ops' feature-major per-step arrays ``(N, B)``.

    Returns
    -------
    ndarray of bool, shape (T, 1, B)
        ``mask[t, 0, b]`` is True where ``t < lengths[b]``.
    """
    return (np.arange(T)[:, None] < lengths[None, :])[:, None, :]


def kernel_arrays(dtype: np.dtype, *arrays: np.ndarray) -> list[np.ndarray]:
    """Each array in ``dtype`` and C order, as compiled kernels take them (no copy of
    one that already is)."""
    return [
        a if a.dtype is dtype and a.flags.c_contiguous else np.ascontiguousarray(a, dtype)
        for a in arrays
    ]


_NONE: dict = {}


def none_array(dtype: np.dtype, ndim: int) -> np.ndarray:
    """An empty array of ``ndim`` axes in ``dtype``, for a kernel's absent optional
    argument, made once (writable: Numba compiles read-only arrays separately)."""
    key = (np.dtype(dtype), ndim)
    hit = _NONE.get(key)
    if hit is None:
        hit = _NONE[key] = np.zeros((0,) * ndim, dtype)
    return hit


def as_arrays(*args: object) -> list[np.ndarray | None]:
    """``np.asarray`` on every argument that is not None (lists and scalars become arrays)."""
    return [None if a is None else np.asarray(a) for a in args]


def check_grad_args(
    op: str,
    args: tuple[tuple[str, np.ndarray | None, tuple[str, ...]], ...],
    sizes: Mapping[str, int],
) -> None:
    """Shape-check optional incoming gradients ``(name, array or None, dims)``."""
    for name, arr, dims in args:
        if arr is not None:
            check_shape(op, name, arr, dims, sizes)


def check_finite_array(name: str, arr: np.ndarray) -> None:
    """Raise ``ValueError`` naming how many entries of ``arr`` are NaN/inf and the first."""
    bad = ~np.isfinite(arr)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} has {int(bad.sum())} NaN or infinite value(s), the first at index "
            f"{first}; remove or impute them before passing the data"
        )
