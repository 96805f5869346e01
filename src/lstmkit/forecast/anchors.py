"""The statistical anchors printed beside every forecast, from statsforecast (never
written here): Naive, SeasonalNaive, AutoETS, AutoTheta and, on request (it is slow),
AutoARIMA, each with its own 90 % (or ``level``) interval.

Each series is fitted on its own; a model that fails on a series (too short for its
season, say) falls back to the naive forecast for that series, and the fallback is
reported, never hidden.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Method names as they appear in forecast.csv and metrics.json.
ANCHORS = ("naive", "seasonal_naive", "auto_ets", "auto_theta")
OPTIONAL = ("auto_arima",)


@dataclass
class MethodForecast:
    """Forecasts of one method over a panel: ``mean``, ``lower``, ``upper`` ``(S, H)``."""

    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    fallbacks: dict[int, str] = field(default_factory=dict)  # series → why naive was used


def _model(name: str, season: int):
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta, Naive, SeasonalNaive

    if name == "naive":
        return Naive()
    if name == "seasonal_naive":
        return SeasonalNaive(season_length=max(season, 1))
    if name == "auto_ets":
        return AutoETS(season_length=max(season, 1))
    if name == "auto_theta":
        return AutoTheta(season_length=max(season, 1))
    if name == "auto_arima":
        return AutoARIMA(season_length=max(season, 1))
    raise ValueError(f"unknown anchor {name!r}; choose from {', '.join(ANCHORS + OPTIONAL)}")


def _one(model, y: np.ndarray, horizon: int, level: float) -> tuple[np.ndarray, ...]:
    pct = round(100 * level)
    out = model.forecast(y=y, h=horizon, level=[pct])
    mean = np.asarray(out["mean"], dtype=np.float64)
    lo = np.asarray(out[f"lo-{pct}"], dtype=np.float64)
    hi = np.asarray(out[f"hi-{pct}"], dtype=np.float64)
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        raise FloatingPointError("non-finite forecast")
    return mean, lo, hi


def anchor_forecasts(
    series: list[np.ndarray],
    horizon: int,
    season: int,
    *,
    methods: tuple[str, ...] = ANCHORS,
    level: float = 0.9,
    progress=None,
) -> dict[str, MethodForecast]:
    """Every method's forecast of the ``horizon`` steps after each series.

    Parameters
    ----------
    series : list of arrays (N_k,)
    horizon, season : steps ahead and season length (1: none)
    methods : names from ``ANCHORS`` and ``OPTIONAL``
    level : interval coverage
    progress : called with 1 after each series (a tqdm bar's ``update``), optional

    Returns
    -------
    dict method → MethodForecast with ``(S, horizon)`` arrays.
    """
    import warnings

    S = len(series)
    models = {name: _model(name, season) for name in methods}
    naive = models.get("naive") or _model("naive", 1)
    out = {name: MethodForecast(*(np.empty((S, horizon)) for _ in range(3))) for name in methods}
    for k, y in enumerate(series):
        y = np.asarray(y, dtype=np.float64)
        for name, model in models.items():
            res = out[name]
            try:
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    m, lo, hi = _one(model, y, horizon, level)
            except Exception as exc:  # statsforecast raises many types; naive stands in
                res.fallbacks[k] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
                try:
                    m, lo, hi = _one(naive, y, horizon, level)
                except FloatingPointError:
                    raise ValueError(
                        f"series {k + 1}: even the naive forecast is not finite (values up "
                        f"to {np.max(np.abs(y)):.3g}); rescale the series"
                    ) from None
            res.mean[k], res.lower[k], res.upper[k] = m, lo, hi
        if progress is not None:
            progress(1)
    return out
