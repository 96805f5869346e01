"""The files the job writes: forecast.csv, holdout.csv, metrics.json, the figures, the
ensemble's model files, forecaster.json and the cost report.

Column names follow statsforecast: ``unique_id, ds``, one column per method, and
``<method>-lo-<level>`` / ``<method>-hi-<level>`` for the LSTM and the recommended method.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lstmkit.cost import analyze
from lstmkit.jsonio import strict_json
from lstmkit.models.io import save


def time_labels(index, history=None) -> list[str]:
    """Labels of a time index at the data's own resolution: dates alone when every
    timestamp of ``history`` (default: ``index``) falls on midnight, else date and time."""
    ref = index if history is None else history
    if not isinstance(index, pd.DatetimeIndex):
        return [str(t) for t in index]
    with_time = isinstance(ref, pd.DatetimeIndex) and bool((ref != ref.normalize()).any())
    return [t.isoformat(sep=" ") if with_time else t.strftime("%Y-%m-%d") for t in index]


def _frame(ids, times, histories, table, names, with_bounds, pct, truth=None) -> pd.DataFrame:
    cols: dict[str, list | np.ndarray] = {
        "unique_id": np.repeat(ids, [len(t) for t in times]),
        "ds": [lab for t, h in zip(times, histories, strict=True) for lab in time_labels(t, h)],
    }
    if truth is not None:
        cols["y"] = np.concatenate(truth)
    for n in names:
        cols[n] = table[n].reshape(-1)
    for n in with_bounds:
        cols[f"{n}-lo-{pct}"] = table[f"{n}-lo"].reshape(-1)
        cols[f"{n}-hi-{pct}"] = table[f"{n}-hi"].reshape(-1)
    return pd.DataFrame(cols)


def write_outputs(folder: Path, cfg, panel, scored, held, future, final, recommended,
                  metrics, early=()) -> list[str]:  # fmt: skip
    """Write every output into ``folder``; returns the file names written. ``early``: the
    Histories of the early-stopping fit that chose the epochs of ``final``'s members."""
    from lstmkit.forecast.plots import plot_panel, plot_summary, plot_training

    H, pct = cfg.horizon, round(100 * cfg.level)
    names = [k for k in future if not k.endswith(("-lo", "-hi"))]
    bounds = ["lstm"] + ([recommended] if recommended != "lstm" else [])
    written = []
    future_times = [panel.future_times(k, H) for k in range(len(panel))]
    _frame(panel.ids, future_times, panel.times, future, names, bounds, pct).to_csv(
        folder / "forecast.csv", index=False, float_format="%.10g"
    )
    ids = [panel.ids[k] for k in scored]
    test_times = [panel.times[k][-H:] for k in scored]
    truth = [panel.values[k][-H:] for k in scored]
    histories = [panel.times[k] for k in scored]
    _frame(ids, test_times, histories, held, names, bounds, pct, truth).to_csv(
        folder / "holdout.csv", index=False, float_format="%.10g"
    )
    written += ["forecast.csv", "holdout.csv"]
    (folder / "metrics.json").write_text(strict_json(metrics))
    written.append("metrics.json")

    mase = {panel.ids[k]: metrics["per_series"][panel.ids[k]]["metrics"].get("lstm", {})
            .get("MASE") for k in scored}  # fmt: skip
    plot_panel(folder / "forecast.png", panel, scored, held, future, future_times, mase,
               level=cfg.level, recommended=recommended)  # fmt: skip
    written.append("forecast.png")
    if len(panel) > 1:
        plot_summary(folder / "summary.png", metrics["per_series"], metrics["summary"])
        written.append("summary.png")
    plot_training(folder / "training.png", early, final.histories_, loss=final.loss)
    written.append("training.png")
    members = []
    for k, model in enumerate(final.models_):
        name = "model.safetensors" if k == 0 else f"model_{k}.safetensors"
        save(model, str(folder / name))
        members.append(name)
    written.append("model.safetensors" + (f" (+{len(members) - 1} members)" if k else ""))
    first = next(iter(set(range(len(panel))) - set(final.skipped_)), 0)
    sidecar = {
        "format": "lstmkit.forecaster",
        "version": 2,
        "params": final.get_params() | {"lag": final.lag_},
        "min_lag": final.min_lag_,
        "members": members,
        "series_id": panel.ids[first],
        "prep": final.preps_[first].to_dict(),
        "history": panel.values[first].tolist(),
        "target": panel.target,
    }
    (folder / "forecaster.json").write_text(strict_json(sidecar))
    report = analyze(final.models_[0], final.lag_)
    note = (
        f"The forecaster averages {len(final.models_)} networks like this one: its compute and "
        f"weights are {len(final.models_)} times the figures below.\n\n"
        if len(final.models_) > 1
        else ""
    )
    (folder / "cost.md").write_text(note + report.markdown() + "\n")
    (folder / "cost.json").write_text(strict_json(report.to_dict()))
    written += ["forecaster.json", "cost.md", "cost.json"]
    return written
