"""``lstmkit forecast``: the main job (``make run``)."""

from __future__ import annotations

import argparse

from lstmkit.cli_types import positive_int
from lstmkit.forecast.job import JobConfig, run_job

EPILOG = """examples:
  lstmkit forecast                                  # the bundled airline series
  lstmkit forecast sales.csv --target units --time week --horizon 8
  lstmkit forecast nile.csv --horizon 10 --cell gru --out results/

The last HORIZON steps are held out: the model and the baselines (naive, seasonal
naive, drift, mean) forecast them and the table compares them; then the model is
refitted on everything and forecasts the HORIZON steps after the data."""


def register(sub: argparse._SubParsersAction) -> None:
    d = JobConfig()
    p = sub.add_parser(
        "forecast",
        help="forecast a series from a CSV (or the bundled airline data) beside honest baselines",
        description="Train a recurrent forecaster on a series, compare it with the naive, "
        "seasonal naive, drift and mean forecasts on the held-out end, forecast beyond the "
        "data, and write forecast.csv, metrics.json, plots, the model and its cost report.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("csv", nargs="?", metavar="CSV", help="a CSV file (default: bundled airline)")
    p.add_argument("--target", metavar="COL", help="value column (default: the last column)")
    p.add_argument("--time", metavar="COL", help="time column (default: the first, if dates)")
    p.add_argument("--lag", type=positive_int, default=d.lag, help=f"input steps (default {d.lag})")
    p.add_argument(
        "--horizon",
        type=positive_int,
        default=d.horizon,
        help=f"steps to forecast and to hold out (default {d.horizon})",
    )
    p.add_argument("--cell", choices=("lstm", "gru", "rnn"), default=d.cell)
    p.add_argument(
        "--hidden", type=positive_int, default=d.hidden, help=f"units (default {d.hidden})"
    )
    p.add_argument(
        "--epochs",
        type=positive_int,
        default=d.epochs,
        help=f"most epochs; early stopping picks fewer (default {d.epochs})",
    )
    p.add_argument(
        "--ensemble",
        type=positive_int,
        default=d.ensemble,
        help=f"networks averaged (default {d.ensemble})",
    )
    p.add_argument(
        "--season",
        type=positive_int,
        help="season length (default: from the time column, 12 for monthly)",
    )
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument(
        "--fill", choices=("ffill", "interpolate"), help="fill missing values instead of stopping"
    )
    p.add_argument("--out", default=d.out, metavar="DIR", help=f"output folder (default {d.out}/)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cfg = JobConfig(
        csv=args.csv,
        target=args.target,
        time=args.time,
        lag=args.lag,
        horizon=args.horizon,
        cell=args.cell,
        hidden=args.hidden,
        epochs=args.epochs,
        ensemble=args.ensemble,
        seed=args.seed,
        season=args.season,
        out=args.out,
        fill=args.fill,
        verbose=0 if args.quiet else 1,
    )
    run_job(cfg)
    return 0
