"""The main job (``lstmkit forecast``, ``make run``): hold out the last ``horizon`` steps,
fit, compare with every baseline, forecast beyond the data, write the results.

Every input is checked before anything is written; results are written to a temporary
folder beside ``out`` and moved in only when all of them exist, so a failure never
leaves partial files.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lstmkit.cost import analyze
from lstmkit.datasets.series import series_path
from lstmkit.forecast.baselines import all_baselines
from lstmkit.forecast.csvdata import SeriesData, read_series_csv
from lstmkit.forecast.forecaster import Forecaster, ForecastWarning
from lstmkit.forecast.metrics import all_metrics
from lstmkit.forecast.plots import plot_forecast, plot_training
from lstmkit.models.io import save

SHOWN = ("MAE", "RMSE", "MAPE", "MASE")


@dataclass
class JobConfig:
    """Settings of the job (the command line's options, with the same defaults)."""

    csv: str | None = None
    target: str | None = None
    time: str | None = None
    lag: int = 24
    horizon: int = 12
    cell: str = "lstm"
    hidden: int = 16
    epochs: int = 300
    ensemble: int = 5
    seed: int = 0
    season: int | None = None
    out: str = "lstmkit-out"
    fill: str | None = None
    verbose: int = 1


def load_data(cfg: JobConfig) -> SeriesData:
    path = series_path("airline") if cfg.csv is None else Path(cfg.csv)
    return read_series_csv(path, target=cfg.target, time=cfg.time, fill=cfg.fill)


def make_forecaster(cfg: JobConfig, season: int) -> Forecaster:
    return Forecaster(
        lag=cfg.lag,
        horizon=cfg.horizon,
        cell=cfg.cell,
        hidden_size=cfg.hidden,
        ensemble=cfg.ensemble,
        season=season,
        epochs=cfg.epochs,
        seed=cfg.seed,
        verbose=cfg.verbose,
    )


def _table(rows: dict[str, dict[str, float]]) -> str:
    width = max(len(k) for k in rows)
    head = f"{'method':<{width}}" + "".join(f"{m:>10}" for m in SHOWN)
    lines = [head, "─" * len(head)]
    for name, metrics in rows.items():
        lines.append(f"{name:<{width}}" + "".join(f"{metrics[m]:>10.3f}" for m in SHOWN))
    return "\n".join(lines)


def _atomic_move(staging: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for item in staging.iterdir():
        os.replace(item, out / item.name)


def run_job(cfg: JobConfig, print_fn=print) -> dict[str, Any]:
    """Run the job; returns the metrics dict written to ``metrics.json``."""
    data = load_data(cfg)
    season = cfg.season or data.season
    y, H = data.values, cfg.horizon
    forecaster = make_forecaster(cfg, season)
    forecaster.check_params()
    need = forecaster.min_length() + H
    if y.size < need:
        raise ValueError(
            f"the series has {y.size} values; lag {cfg.lag} + horizon {H} + validation "
            f"{forecaster.validation_steps} + differencing {forecaster.differencing_steps} + "
            f"the {H} held-out steps need at least {need} (lower --lag or --horizon)"
        )
    if season > y.size - H:
        raise ValueError(
            f"season {season} is longer than the {y.size - H} training steps; give --season 1 "
            "or a longer series"
        )
    source = "bundled airline passengers" if cfg.csv is None else cfg.csv
    print_fn(
        f"lstmkit forecast: {source}, column {data.target!r}, {y.size} steps"
        + (f" ({data.filled} filled)" if data.filled else "")
        + f"; season {season}; lag {cfg.lag}, horizon {H}; {cfg.cell.upper()}({cfg.hidden}) "
        f"× {cfg.ensemble}"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ForecastWarning)
        train, truth = y[:-H], y[-H:]
        print_fn(f"Training on the first {train.size} steps; the last {H} are held out.")
        held = forecaster.fit(train).predict()
        print_fn("Training on all the data for the forecast beyond it.")
        final = make_forecaster(cfg, season).fit(y)
        future = final.predict()
    for w in caught:
        if issubclass(w.category, ForecastWarning):
            print_fn(f"warning: {w.message}")

    methods = {"model": held.mean, **all_baselines(train, H, season)}
    scores = {k: all_metrics(truth, f, train, season) for k, f in methods.items()}
    print_fn("")
    print_fn(
        f"Held-out last {H} steps (MAPE in %, MASE against the in-sample "
        f"{'seasonal ' if season > 1 else ''}naive):"
    )
    print_fn(_table(scores))
    best_baseline = min((k for k in scores if k != "model"), key=lambda k: scores[k]["MAE"])
    verdict = "beats" if scores["model"]["MAE"] < scores[best_baseline]["MAE"] else "does NOT beat"
    print_fn(f"The model {verdict} the best baseline ({best_baseline}) on MAE.")

    future_time = data.future_time(H)
    print_fn("")
    print_fn(f"Forecast beyond the data ({round(100 * future.level)}% interval):")
    for t, m, lo, hi in zip(future_time, future.mean, future.lower, future.upper, strict=True):
        label = t.strftime("%Y-%m-%d") if hasattr(t, "strftime") else str(t)
        print_fn(f"  {label}  {m:10.2f}   [{lo:.2f}, {hi:.2f}]")

    out = Path(cfg.out)
    metrics = {
        "source": source,
        "target": data.target,
        "held_out_steps": H,
        "season": season,
        "settings": asdict(cfg) | {"out": str(out)},
        "metrics": scores,
        "best_baseline": best_baseline,
        "model_beats_best_baseline": verdict == "beats",
        "interval": {
            "level": future.level,
            "method": "empirical quantiles of validation residuals per step ahead",
        },
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".lstmkit-", dir=out.parent))
    try:
        _write_outputs(staging, cfg, data, held, future, future_time, final, metrics)
        _atomic_move(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print_fn("")
    print_fn(
        f"Wrote forecast.csv, metrics.json, forecast.png, training.png, model.safetensors, "
        f"cost.md and cost.json to {out}/"
    )
    return metrics


def _labels(index) -> list[str]:
    return [t.strftime("%Y-%m-%d") if hasattr(t, "strftime") else str(t) for t in index]


def _write_outputs(folder, cfg, data, held, future, future_time, final, metrics) -> None:
    H = cfg.horizon
    rows = pd.DataFrame(
        {
            data.time_name or "step": _labels(data.time[-H:]) + _labels(future_time),
            "part": ["held_out"] * H + ["future"] * H,
            "actual": np.concatenate([data.values[-H:], np.full(H, np.nan)]),
            "forecast": np.concatenate([held.mean, future.mean]),
            "lower": np.concatenate([held.lower, future.lower]),
            "upper": np.concatenate([held.upper, future.upper]),
        }
    )
    rows.to_csv(folder / "forecast.csv", index=False, float_format="%.10g")
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str) + "\n")
    plot_forecast(
        folder / "forecast.png",
        time=data.time,
        values=data.values,
        holdout_time=data.time[-H:],
        holdout={"mean": held.mean, "lower": held.lower, "upper": held.upper},
        future_time=future_time,
        future={"mean": future.mean, "lower": future.lower, "upper": future.upper},
        title=f"{data.target}: {cfg.cell.upper()} forecaster, last {H} steps held out",
        level=future.level,
    )
    plot_training(
        folder / "training.png",
        final.histories_,
        f"{data.target}: loss per epoch (early-stopping runs of the final fit)",
    )
    for k, model in enumerate(final.models_):
        save(model, str(folder / ("model.safetensors" if k == 0 else f"model_{k}.safetensors")))
    t = final.transforms_[0]
    members = [f"model_{k}.safetensors" for k in range(1, len(final.models_))]
    sidecar = {
        "format": "lstmkit.forecaster",
        "params": final.get_params(),
        "members": ["model.safetensors", *members],
        "transform": {
            "log": t.log,
            "seasonal_period": t.seasonal_period,
            "difference": t.difference,
            "scaling": t.scaling,
            "center": t.center_,
            "scale": t.scale_,
        },
        "history_tail": data.values[-(final.lag + t.offset) :].tolist(),
        "target": data.target,
    }
    (folder / "forecaster.json").write_text(json.dumps(sidecar, indent=2) + "\n")
    report = analyze(final.models_[0], final.lag)
    note = (
        f"The forecaster averages {len(final.models_)} networks like this one: its compute and "
        f"weights are {len(final.models_)} times the figures below.\n\n"
        if len(final.models_) > 1
        else ""
    )
    (folder / "cost.md").write_text(note + report.markdown() + "\n")
    (folder / "cost.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n")
