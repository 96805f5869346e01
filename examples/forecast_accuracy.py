"""Accuracy of the default forecaster on the bundled series, over several seeds.

    python examples/forecast_accuracy.py [--seeds 10] [--json docs/data/forecast_accuracy.json]

Each seed fits exactly what `lstmkit forecast` fits for its test-window table (the
job's defaults, that seed), on everything but the last `horizon` steps, and scores the
forecast of those steps beside the baselines and statsforecast's anchors.
docs/forecasting.md records the output.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from lstmkit.datasets import series_path
from lstmkit.forecast import all_baselines, all_metrics
from lstmkit.forecast.anchors import anchor_forecasts
from lstmkit.forecast.csvdata import read_series_csv
from lstmkit.forecast.job import JobConfig, make_forecaster

CASES = {"airline": 12, "nile": 10}  # series → held-out horizon


def evaluate(name: str, horizon: int, seeds: int) -> dict:
    data = read_series_csv(series_path(name))
    y, m = data.values, data.season
    train, truth = y[:-horizon], y[-horizon:]
    model = []
    for seed in range(seeds):
        cfg = JobConfig(horizon=horizon, seed=seed, verbose=0)
        forecast = make_forecaster(cfg, m).fit(train).predict()
        model.append(all_metrics(truth, forecast.mean, train, m))
    baselines = {
        k: all_metrics(truth, f, train, m) for k, f in all_baselines(train, horizon, m).items()
    }
    for k, f in anchor_forecasts([train], horizon, m, methods=("auto_ets", "auto_theta")).items():
        baselines[k] = all_metrics(truth, f.mean[0], train, m)
    keys = model[0]
    return {
        "series": name,
        "horizon": horizon,
        "season": m,
        "per_seed": model,
        "model_mean": {k: float(np.mean([r[k] for r in model])) for k in keys},
        "model_std": {k: float(np.std([r[k] for r in model])) for k in keys},
        "baselines": baselines,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = [evaluate(name, h, args.seeds) for name, h in CASES.items()]
    for r in results:
        print(f"\n{r['series']} (last {r['horizon']} held out, season {r['season']}):")
        print(f"{'method':<16}{'MAE':>9}{'RMSE':>9}{'MAPE':>8}{'MASE':>8}")
        rows = {f"model ({args.seeds} seeds)": r["model_mean"], **r["baselines"]}
        for name, s in rows.items():
            print(f"{name:<16}{s['MAE']:>9.2f}{s['RMSE']:>9.2f}{s['MAPE']:>8.2f}{s['MASE']:>8.3f}")
        per_seed = ", ".join(f"{s['MAPE']:.2f}" for s in r["per_seed"])
        print(f"model MAPE per seed: {per_seed}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
