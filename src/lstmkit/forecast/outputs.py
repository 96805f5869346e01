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


def table_frame(ids, times, histories, table, names, with_bounds, pct, truth=None) -> pd.DataFrame:
    """Rows of forecast.csv (or, with ``truth``, holdout.csv) for these series."""
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


def write_outputs(folder: Path, cfg, parts: list[dict], metrics: dict, forecast_png: bytes,
                  final, early, sidecar: tuple) -> list[str]:  # fmt: skip
    """Write every output into ``folder``; returns the file names written.

    Parameters
    ----------
    parts : per chunk, in order, what :func:`~lstmkit.forecast.jobtasks.finish_chunk`
        returned (its rows of the CSV files), or an iterable yielding them.
    forecast_png : the forecast figure, drawn by its task.
    final : the GlobalFit that forecasts beyond the data; ``early``: the Histories of
        the early-stopping fit that chose its epochs.
    sidecar : ``(series id, preparation dict, values)`` of the series forecaster.json
        describes.
    """
    from lstmkit.forecast.plots import plot_summary, plot_training

    written = []
    with open(folder / "forecast.csv", "w") as fc, open(folder / "holdout.csv", "w") as ho:
        heads = [False, False]
        for part in parts:
            for j, (f, key) in enumerate(((fc, "forecast_csv"), (ho, "holdout_csv"))):
                columns = part["columns"][j]
                if columns is not None and not heads[j]:
                    f.write(",".join(columns) + "\n")
                    heads[j] = True
                f.write(part[key])
        if not heads[1]:  # no series was scored: the header alone
            ho.write("unique_id,ds,y\n")
    written += ["forecast.csv", "holdout.csv"]
    (folder / "metrics.json").write_text(strict_json(metrics))
    written.append("metrics.json")
    (folder / "forecast.png").write_bytes(forecast_png)
    written.append("forecast.png")
    if metrics["series"] > 1:
        plot_summary(folder / "summary.png", metrics["per_series"], metrics["summary"])
        written.append("summary.png")
    plot_training(folder / "training.png", early, final.histories, loss=final.params["loss"])
    written.append("training.png")
    members = []
    for k, model in enumerate(final.models):
        name = "model.safetensors" if k == 0 else f"model_{k}.safetensors"
        save(model, str(folder / name))
        members.append(name)
    written.append("model.safetensors" + (f" (+{len(members) - 1} members)" if k else ""))
    series_id, prep, history = sidecar
    lag = final.resolved[0]
    sidecar_doc = {
        "format": "lstmkit.forecaster",
        "version": 2,
        "params": final.params | {"lag": lag},
        "min_lag": final.resolved[1],
        "members": members,
        "series_id": series_id,
        "prep": prep,
        "history": history,
        "target": metrics["target"],
    }
    (folder / "forecaster.json").write_text(strict_json(sidecar_doc))
    report = analyze(final.models[0], lag)
    note = (
        f"The forecaster averages {len(final.models)} networks like this one: its compute and "
        f"weights are {len(final.models)} times the figures below.\n\n"
        if len(final.models) > 1
        else ""
    )
    (folder / "cost.md").write_text(note + report.markdown() + "\n")
    (folder / "cost.json").write_text(strict_json(report.to_dict()))
    written += ["forecaster.json", "cost.md", "cost.json"]
    return written
