"""Forecast accuracy metrics. ``y`` is the truth and ``f`` the forecast, both ``(H,)``.

MAPE and sMAPE are in percent. MASE divides the MAE by the in-sample MAE of the
seasonal naive forecast (``m = 1``: the naive one) on the training history, so MASE < 1
means better than that baseline was in sample (Hyndman & Koehler 2006).
"""

from __future__ import annotations

import numpy as np


def _pair(y, f) -> tuple[np.ndarray, np.ndarray]:
    y, f = np.asarray(y, dtype=np.float64), np.asarray(f, dtype=np.float64)
    if y.shape != f.shape or y.size == 0:
        raise ValueError(
            f"metrics: truth and forecast must have the same non-empty shape, "
            f"got {y.shape} and {f.shape}"
        )
    return y, f


def mae(y, f) -> float:
    y, f = _pair(y, f)
    return float(np.mean(np.abs(y - f)))


def rmse(y, f) -> float:
    y, f = _pair(y, f)
    return float(np.sqrt(np.mean((y - f) ** 2)))


def mape(y, f) -> float:
    """Mean absolute percentage error; NaN when the truth contains a zero."""
    y, f = _pair(y, f)
    if np.any(y == 0):
        return float("nan")
    return float(100 * np.mean(np.abs((y - f) / y)))


def smape(y, f) -> float:
    """Symmetric MAPE, ``200·|y − f| / (|y| + |f|)``, 0 where both are 0."""
    y, f = _pair(y, f)
    denom = np.abs(y) + np.abs(f)
    terms = np.divide(2 * np.abs(y - f), denom, out=np.zeros_like(y), where=denom > 0)
    return float(100 * np.mean(terms))


def mase(y, f, history, m: int = 1) -> float:
    """MAE scaled by the in-sample seasonal-naive MAE of ``history`` (NaN if that is 0)."""
    y, f = _pair(y, f)
    h = np.asarray(history, dtype=np.float64)
    m = max(int(m), 1)
    if h.size <= m:
        raise ValueError(f"mase: need more than m = {m} history values, got {h.size}")
    scale = float(np.mean(np.abs(h[m:] - h[:-m])))
    return float(np.mean(np.abs(y - f)) / scale) if scale > 0 else float("nan")


def all_metrics(y, f, history, m: int = 1) -> dict[str, float]:
    """Every metric at once: ``MAE, RMSE, MAPE, sMAPE, MASE``."""
    return {
        "MAE": mae(y, f),
        "RMSE": rmse(y, f),
        "MAPE": mape(y, f),
        "sMAPE": smape(y, f),
        "MASE": mase(y, f, history, m),
    }
