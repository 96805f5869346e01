"""Split-conformal prediction intervals from validation residuals.

Residuals are scaled per series (by the in-sample seasonal-naive MAE, the MASE unit) so
that the errors of a whole panel can be pooled, per step ahead. The interval of a
forecast ``f`` at step ``h`` is ``f ± q_h · scale``, where ``q_h`` is the
``⌈(n + 1)·level⌉``-th smallest of the ``n`` absolute scaled residuals at that step
(Vovk et al. 2005; Angelopoulos & Bates 2023): symmetric, so the point forecast always
lies inside its interval.
"""

from __future__ import annotations

import numpy as np


def conformal_quantiles(scaled_residuals: np.ndarray, level: float) -> np.ndarray:
    """``q (H,)`` from ``scaled_residuals (n, H)`` (NaN rows ignored per column).

    With fewer residuals than the level needs (``⌈(n + 1)·level⌉ > n``) the largest one
    is used, and the interval is then narrower than the finite-sample guarantee; a step
    with no residual at all gets NaN (no interval can be calibrated).
    """
    r = np.abs(np.asarray(scaled_residuals, dtype=np.float64))
    if r.ndim != 2:
        raise ValueError(f"conformal_quantiles: expected (n, H) residuals, got {r.shape}")
    q = np.full(r.shape[1], np.nan)
    for h in range(r.shape[1]):
        col = np.sort(r[np.isfinite(r[:, h]), h])
        if col.size == 0:
            continue
        k = min(int(np.ceil((col.size + 1) * level)), col.size)
        q[h] = col[k - 1]
    return q


def coverage(truth: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of ``truth`` inside ``[lower, upper]`` (all the same shape)."""
    t = np.asarray(truth, dtype=np.float64)
    return float(np.mean((t >= lower) & (t <= upper)))
