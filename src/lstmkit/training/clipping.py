"""Gradient clipping by global norm (Pascanu et al. 2013), the usual guard against
exploding gradients in recurrent networks."""

from __future__ import annotations

import numpy as np


def global_norm(grads: list[np.ndarray]) -> float:
    """``sqrt(Σ_k ‖grads[k]‖²)`` over every array, computed in float64."""
    return float(np.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads)))


def clip_by_global_norm(grads: list[np.ndarray], max_norm: float | None) -> float:
    """Scale every gradient in place so their global norm is at most ``max_norm``.

    Returns
    -------
    float
        The global norm before clipping (NaN or inf when a gradient is not finite; then
        nothing is scaled).
    """
    norm = global_norm(grads)
    if max_norm is not None and np.isfinite(norm) and norm > max_norm:
        scale = max_norm / norm
        for g in grads:
            g *= g.dtype.type(scale)
    return norm
