"""Centred finite differences, for checking hand-written gradients.

The ops' gradients are tested with these; the demo uses them to verify what it prints.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: order → (steps in units of ε, their weights, denominator in units of ε).
STENCILS = {2: ((1, -1), (1, -1), 2), 4: ((2, 1, -1, -2), (-1, 8, -8, 1), 12)}


def numerical_grad(
    loss: Callable[[], float],
    arr: np.ndarray,
    eps: float = 1e-6,
    indices: np.ndarray | None = None,
    order: int = 2,
) -> np.ndarray:
    """``d loss / d arr`` by centred differences, perturbing ``arr`` in place.

    Parameters
    ----------
    loss : callable returning a float; it must read ``arr`` each time it is called.
    arr : ndarray of float64, any shape; every entry is restored on return.
    eps : step of the centred difference.
    indices : array of int, optional
        Flat indices to differentiate; all entries when None.
    order : 2 or 4
        Accuracy order: 2 is ``(f(+ε) − f(−ε)) / 2ε``; 4 is the five-point stencil
        ``(−f(+2ε) + 8f(+ε) − 8f(−ε) + f(−2ε)) / 12ε``, whose truncation error is
        ``O(ε⁴)``, so a larger ``ε`` keeps rounding small where gradients are tiny.

    Returns
    -------
    ndarray
        Same shape as ``arr`` when ``indices`` is None, else shape ``(len(indices),)``.

    Raises
    ------
    TypeError
        ``arr`` is not float64 (differences in float32 are dominated by rounding).
    """
    if arr.dtype != np.float64:
        raise TypeError(f"numerical_grad: 'arr' must be float64, got {arr.dtype}")
    flat = arr.reshape(-1)
    if not np.shares_memory(flat, arr):
        raise ValueError("numerical_grad: 'arr' must be contiguous so it can be perturbed")
    if order not in STENCILS:
        raise ValueError(f"numerical_grad: order must be 2 or 4, got {order!r}")
    steps, weights, scale = STENCILS[order]
    picks = np.arange(flat.size) if indices is None else np.asarray(indices)
    grad = np.empty(picks.size)
    for n, k in enumerate(picks):
        old = flat[k]
        acc = 0.0
        for step, weight in zip(steps, weights, strict=True):
            flat[k] = old + step * eps
            acc += weight * loss()
        flat[k] = old
        grad[n] = acc / (scale * eps)
    return grad.reshape(arr.shape) if indices is None else grad


def rel_error(ours: np.ndarray, ref: np.ndarray) -> float:
    """``‖ours − ref‖ / max(‖ours‖, ‖ref‖)`` (0 when both are exactly 0).

    Norm-based rather than elementwise so that entries near 0, where a finite
    difference's own rounding (~1e-10) dominates, do not make the check meaningless.
    """
    denom = max(np.linalg.norm(ours), np.linalg.norm(ref))
    if denom == 0.0:
        return 0.0
    return float(np.linalg.norm(ours - ref) / denom)
