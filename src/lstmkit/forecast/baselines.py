"""The honest baselines every forecast is shown beside. Each maps a history ``(N,)`` to
the next ``horizon`` values ``(H,)``."""

from __future__ import annotations

import numpy as np


def _history(y) -> np.ndarray:
    h = np.asarray(y, dtype=np.float64)
    if h.ndim != 1 or h.size == 0:
        raise ValueError(f"baselines: expected a non-empty 1-D history, got shape {h.shape}")
    return h


def naive(y, horizon: int) -> np.ndarray:
    """Every future step equals the last value."""
    return np.full(horizon, _history(y)[-1])


def seasonal_naive(y, horizon: int, m: int) -> np.ndarray:
    """Step ``k`` equals the value one season before it: ``y[N − m + (k mod m)]``."""
    h = _history(y)
    m = max(int(m), 1)
    if h.size < m:
        raise ValueError(f"seasonal_naive: need at least one season ({m} values), got {h.size}")
    return h[h.size - m + np.arange(horizon) % m]


def drift(y, horizon: int) -> np.ndarray:
    """The line through the first and last values, continued: ``y_N + k·(y_N − y_1)/(N − 1)``."""
    h = _history(y)
    slope = (h[-1] - h[0]) / (h.size - 1) if h.size > 1 else 0.0
    return h[-1] + slope * np.arange(1, horizon + 1)


def mean(y, horizon: int) -> np.ndarray:
    """Every future step equals the mean of the history."""
    return np.full(horizon, _history(y).mean())


def all_baselines(y, horizon: int, m: int = 1) -> dict[str, np.ndarray]:
    """Forecasts of every baseline (seasonal naive only when ``m > 1``)."""
    out = {"naive": naive(y, horizon)}
    if m > 1:
        out["seasonal naive"] = seasonal_naive(y, horizon, m)
    out["drift"] = drift(y, horizon)
    out["mean"] = mean(y, horizon)
    return out
