"""Scoring a panel: every method's metrics per series, and the summary the M
competitions report (mean MASE and sMAPE, mean rank, wins against seasonal naive).

Undefined metrics (MAPE with a zero in the truth, MASE of a constant history) are None
with the reason beside, so metrics.json stays strict JSON.
"""

from __future__ import annotations

import math

import numpy as np

from lstmkit.forecast.metrics import mae, mape, rmse, smape
from lstmkit.forecast.prep import mase_scale

METRICS = ("MAE", "RMSE", "sMAPE", "MASE", "MAPE")
REFERENCE = "seasonal_naive"


def _finite(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def series_metrics(truth, forecast, history, season: int) -> dict[str, float | None]:
    """MAE, RMSE, sMAPE, MASE and MAPE of one forecast ``(H,)`` (None when undefined)."""
    y, f, h = (np.asarray(a, dtype=np.float64) for a in (truth, forecast, history))
    m = season if season > 1 and h.size > season else 1
    scale = float(np.mean(np.abs(h[m:] - h[:-m]))) if h.size > m else 0.0
    return {
        "MAE": _finite(mae(y, f)),
        "RMSE": _finite(rmse(y, f)),
        "sMAPE": _finite(smape(y, f)),
        "MASE": _finite(mae(y, f) / scale) if scale > 0 else None,
        "MAPE": _finite(mape(y, f)),
    }


def undefined_reasons(truth, history, season: int) -> dict[str, str]:
    """Why a metric is None for this series, keyed by metric."""
    out = {}
    if np.any(np.asarray(truth) == 0):
        out["MAPE"] = "the held-out values contain a zero"
    h = np.asarray(history, dtype=np.float64)
    m = season if season > 1 and h.size > season else 1
    if h.size <= m or np.all(h[m:] == h[:-m]):
        out["MASE"] = "the history's seasonal-naive error is zero (a constant series)"
    return out


def score_panel(
    truths: list[np.ndarray],
    histories: list[np.ndarray],
    forecasts: dict[str, np.ndarray],
    season: int,
) -> tuple[list[dict[str, dict[str, float | None]]], dict[str, dict[str, float | None]]]:
    """Per-series metrics of every method, and the summary.

    Parameters
    ----------
    truths, histories : per series, the held-out values ``(H,)`` and what came before
    forecasts : method → ``(S, H)`` point forecasts (rows of NaN: not forecast)
    season : the MASE season

    Returns
    -------
    per_series : list (S) of method → metric → value
    summary : method → ``MASE``, ``sMAPE`` (means over the series every method
        forecast), ``rank`` (mean rank by MASE, 1 best), ``wins_vs_seasonal_naive``
        (series with a lower MASE) and ``series`` (how many were scored)
    """
    names = list(forecasts)
    per_series = score_series(truths, histories, forecasts, season)
    return per_series, summarize(per_series, names)


def score_series(truths, histories, forecasts: dict[str, np.ndarray], season: int) -> list[dict]:
    """The per-series half of :func:`score_panel`: list (S) of method → metric → value,
    methods without a finite forecast of the series left out."""
    names = list(forecasts)
    return [
        {
            n: series_metrics(y, forecasts[n][k], h, season)
            for n in names
            if np.all(np.isfinite(forecasts[n][k]))
        }
        for k, (y, h) in enumerate(zip(truths, histories, strict=True))
    ]


def summarize(per_series: list[dict], names: list[str]) -> dict[str, dict[str, float | None]]:
    """The summary half of :func:`score_panel`, from every series' metrics (in any
    number of parts put together, in order)."""
    common = [r for r in per_series if len(r) == len(names)]
    summary: dict[str, dict[str, float | None]] = {}
    mase = np.array([[r[n]["MASE"] for n in names] for r in common], dtype=float).reshape(
        -1, len(names)
    )
    usable = np.all(np.isfinite(mase), axis=1)
    ranks = _ranks(mase[usable]) if usable.any() else np.full((0, len(names)), np.nan)
    for j, n in enumerate(names):
        smapes = [r[n]["sMAPE"] for r in common if r[n]["sMAPE"] is not None]
        wins = None
        if REFERENCE in names and n != REFERENCE:
            wins = int(np.sum(mase[usable, j] < mase[usable, names.index(REFERENCE)]))
        summary[n] = {
            "MASE": _finite(float(np.mean(mase[usable, j]))) if usable.any() else None,
            "sMAPE": _finite(float(np.mean(smapes))) if smapes else None,
            "rank": _finite(float(np.mean(ranks[:, j]))) if usable.any() else None,
            "wins_vs_seasonal_naive": wins,
            "series": int(usable.sum()),
        }
    return summary


def _ranks(values: np.ndarray) -> np.ndarray:
    """Row-wise ranks (1 best) with ties sharing their mean rank."""
    out = np.empty_like(values)
    for i, row in enumerate(values):
        order = np.argsort(row, kind="stable")
        r = np.empty(row.size)
        r[order] = np.arange(1, row.size + 1)
        for v in np.unique(row):
            tie = row == v
            r[tie] = r[tie].mean()
        out[i] = r
    return out


def mase_scales(histories: list[np.ndarray], season: int) -> np.ndarray:
    """Each history's MASE denominator ``(S,)`` (1 where it would be 0)."""
    return np.array([mase_scale(np.asarray(h, dtype=np.float64), season) for h in histories])
