"""Rolling-origin backtests: refit at several origins, score the model beside the baselines.

Fold ``k`` of ``folds`` fits a fresh copy of the forecaster on ``y[:origin_k]`` and scores
its forecast of ``y[origin_k : origin_k + horizon]``; origins step back from the end by
``step`` (default ``horizon``), so the last fold ends at the last value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstmkit.forecast.baselines import all_baselines
from lstmkit.forecast.forecaster import Forecaster
from lstmkit.forecast.metrics import all_metrics


@dataclass(frozen=True)
class Fold:
    """One origin: where it starts and every method's metrics."""

    origin: int
    metrics: dict[str, dict[str, float]]  # method → metric → value


def backtest(forecaster: Forecaster, y, *, folds: int = 3, step: int | None = None,
             engine=None) -> list[Fold]:  # fmt: skip
    """Score ``forecaster`` (refitted per fold, its parameters unchanged) and the baselines.

    Parameters
    ----------
    forecaster : a Forecaster (not modified; each fold fits a copy)
    y : array (N,), one series
    folds : number of origins
    step : steps between origins (default the forecaster's horizon)
    engine : where the folds run, one task each: None (this process), a
        ``dask.distributed.Client``, or an engine of :mod:`lstmkit.forecast.engine`

    Returns
    -------
    list of Fold, earliest origin first; ``metrics["model"]`` and one entry per baseline.
    """
    series = np.asarray(y, dtype=np.float64).reshape(-1)
    H = forecaster.horizon
    step = H if step is None else int(step)
    if folds < 1 or step < 1:
        raise ValueError("backtest: folds and step must be >= 1")
    origins = [series.size - H - step * k for k in range(folds - 1, -1, -1)]
    probe = Forecaster(**forecaster.get_params())
    need = probe.resolved_min_lag() + H
    if origins[0] < need:
        raise ValueError(
            f"backtest: the first of {folds} folds would train on {origins[0]} steps, but the "
            f"forecaster needs at least {need}; use fewer folds or a smaller step"
        )
    from lstmkit.forecast.engine import make_engine

    return make_engine(engine or "local").map(fold, origins, forecaster.get_params(), series)


def fold(origin: int, params: dict, series: np.ndarray) -> Fold:
    """One fold of :func:`backtest`: fit on ``series[:origin]``, score the next horizon."""
    H, m = params["horizon"], params["season"]
    history, truth = series[:origin], series[origin : origin + H]
    model = Forecaster(**params).fit(history)
    methods = {"model": model.predict().mean, **all_baselines(history, H, m)}
    return Fold(origin, {k: all_metrics(truth, f, history, m) for k, f in methods.items()})


def summarize(folds: list[Fold]) -> dict[str, dict[str, float]]:
    """Mean of each metric over the folds, per method."""
    methods = folds[0].metrics
    return {
        name: {k: float(np.mean([f.metrics[name][k] for f in folds])) for k in methods[name]}
        for name in methods
    }
