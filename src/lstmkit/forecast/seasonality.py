"""Season lengths and classical deseasonalization.

- :func:`season_from_freq`: the season length of a pandas frequency (``"MS"`` → 12,
  ``"30min"`` → 48, ``"h"`` → 24, ...), or None when the frequency is unknown.
- :func:`is_seasonal`: the 90 % autocorrelation test the M4 benchmarks and the Theta
  method use to decide whether a series is seasonal at lag ``m``.
- :func:`seasonal_indices`: classical additive decomposition (a centred moving average
  of order ``m``, ``2×m`` for even ``m``, then the mean detrended value per position in
  the season). On logs this is the classical multiplicative decomposition.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Seasons per frequency group: a year for monthly and coarser, a week for daily,
#: a day for sub-daily data (the usual choices of statsforecast and the M4 data).
_PER_YEAR = {"Y": 1, "A": 1, "Q": 4, "M": 12, "W": 52}
_SECONDS_PER_DAY = 86_400


def season_from_freq(freq: str | pd.DateOffset | None) -> int | None:
    """Season length ``m`` of a pandas frequency, or None when it is not recognised.

    Years give 1, quarters 4, months 12, weeks 52, days 7, business days 5; sub-daily
    frequencies give the steps per day (``"h"`` 24, ``"30min"`` 48, ``"15min"`` 96).
    A multiple of a coarse unit divides the season (``"2MS"`` → 6) when it can.
    """
    if freq is None:
        return None
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except (ValueError, TypeError):
        return None
    name = offset.name.split("-")[0].lstrip("0123456789")
    n = max(int(getattr(offset, "n", 1)), 1)
    base = name.rstrip("SE") or name  # MS/ME → M, QS/QE → Q, YS/YE → Y
    if base in ("B", "C"):
        per = 5
    elif base == "D":
        per = 7
    elif base in _PER_YEAR:
        per = _PER_YEAR[base]
    else:
        try:
            seconds = pd.Timedelta(offset).total_seconds()
        except (ValueError, TypeError):
            return None
        if seconds <= 0 or _SECONDS_PER_DAY % seconds:
            return None
        return int(_SECONDS_PER_DAY // seconds)
    return per // n if per % n == 0 else 1


def _acf(x: np.ndarray, lag: int) -> float:
    d = x - x.mean()
    denom = float(d @ d)
    return float(d[lag:] @ d[:-lag]) / denom if denom > 0 else 0.0


def is_seasonal(y, m: int) -> bool:
    """Whether ``y (N,)`` is seasonal at lag ``m``: ``|acf(m)|`` beyond the 90 % limit
    ``1.645·sqrt((1 + 2·Σ_{k<m} acf(k)²) / N)``. Needs ``N >= 3m``; shorter series and
    ``m < 2`` are not seasonal."""
    x = np.asarray(y, dtype=np.float64)
    if m < 2 or x.size < 3 * m:
        return False
    s = sum(_acf(x, k) ** 2 for k in range(1, m))
    limit = 1.645 * np.sqrt((1 + 2 * s) / x.size)
    return abs(_acf(x, m)) > limit


def seasonal_indices(u, m: int) -> np.ndarray:
    """Additive seasonal indices ``(m,)`` of ``u (N,)`` (mean 0); index ``j`` belongs to
    the steps ``t`` with ``t mod m == j``, counting from the first step of ``u``.

    Needs ``N >= 2m``: the centred moving average loses ``m/2`` steps at each end.
    """
    x = np.asarray(u, dtype=np.float64)
    if m < 2 or x.size < 2 * m:
        raise ValueError(f"seasonal_indices: need at least 2 seasons ({2 * m} steps), got {x.size}")
    if m % 2:
        weights = np.full(m, 1.0 / m)
    else:
        weights = np.r_[0.5, np.ones(m - 1), 0.5] / m
    trend = np.convolve(x, weights, mode="valid")  # trend[i] is centred on step i + half
    half = len(weights) // 2
    detrended = x[half : half + trend.size] - trend
    positions = (np.arange(trend.size) + half) % m
    sums = np.bincount(positions, weights=detrended, minlength=m)
    counts = np.bincount(positions, minlength=m)
    idx = sums / np.maximum(counts, 1)
    return idx - idx.mean()
