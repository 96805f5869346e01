"""``lstmkit forecast``: the main job (``make run``)."""

from __future__ import annotations

import argparse

from lstmkit.cli_types import nonnegative_int, positive_int
from lstmkit.forecast.chunks import CHUNK_SERIES, MIN_CHUNK
from lstmkit.forecast.job import JobConfig, run_job

EPILOG = """examples:
  lstmkit forecast                                  # the bundled airline series
  lstmkit forecast sales.csv --target units --time week --horizon 8
  lstmkit forecast panel.csv --horizon 18           # long format: unique_id, ds, y
  lstmkit forecast panel.csv --id store --time date --target sales --arima

Each series' last HORIZON steps are held out: one global LSTM (trained across all
series) and statsforecast's naive, seasonal naive, AutoETS and AutoTheta (plus combo,
the mean of LSTM, AutoETS and AutoTheta) forecast them, and the table compares them.
The recommended method is the best on the HORIZON steps before those, never on them.
Then everything is refitted on all the data and forecasts beyond it."""


def register(sub: argparse._SubParsersAction) -> None:
    d = JobConfig()
    p = sub.add_parser(
        "forecast",
        help="forecast one series or a panel from a CSV beside the statistical anchors",
        description="Train one global recurrent forecaster on every series of a CSV (long "
        "format, or one series), compare it with statsforecast's anchors on the held-out "
        "end, forecast beyond the data, and write forecast.csv, holdout.csv, metrics.json, "
        "plots, the model and its cost report.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("csv", nargs="?", metavar="CSV", help="a CSV file (default: bundled airline)")
    p.add_argument("--id", metavar="COL", help="series id column (default: unique_id if present)")
    p.add_argument("--time", metavar="COL", help="time column (default: ds, or the first if dates)")
    p.add_argument("--target", metavar="COL", help="value column (default: y, or the last column)")
    p.add_argument("--lag", type=positive_int, help="most input steps (default 1.25·max(H, m))")
    p.add_argument(
        "--horizon",
        type=positive_int,
        default=d.horizon,
        help=f"steps to forecast and to hold out (default {d.horizon})",
    )
    p.add_argument("--cell", choices=("lstm", "gru", "rnn"), default=d.cell,
                   help="recurrent cell (default lstm)")  # fmt: skip
    p.add_argument(
        "--hidden",
        type=positive_int,
        default=d.hidden,
        help=f"units (default {d.hidden}; at most 10 million parameters per network)",
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
        help=f"networks averaged, each with its own seed (default {d.ensemble}, at most 100)",
    )
    p.add_argument(
        "--season",
        type=positive_int,
        help="season length for the model and the anchors (default: from the time column's "
        "frequency, e.g. 12 monthly, 24 hourly)",
    )
    p.add_argument("--seed", type=nonnegative_int, default=d.seed,
                   help="seed of the ensemble (same seed, same numbers; default 0)")  # fmt: skip
    p.add_argument("--arima", action="store_true", help="add statsforecast's AutoARIMA (slow)")
    p.add_argument(
        "--fill",
        choices=("ffill", "interpolate"),
        help="fill missing values, and the steps a gap in the time column skips, instead of "
        "stopping",
    )
    p.add_argument(
        "--freq",
        metavar="F",
        help="put every timestamp on the step of this pandas frequency it falls in (e.g. h, D, "
        "W-SUN, MS) when they are irregular; gaps then need --fill",
    )
    p.add_argument("--sep", metavar="CHAR", help="column separator (default: detected)")
    p.add_argument("--decimal", choices=(".", ","), help="decimal mark (default: detected)")
    p.add_argument("--out", default=d.out, metavar="DIR", help=f"output folder (default {d.out}/)")
    p.add_argument(
        "--engine",
        choices=("local", "dask"),
        default=d.engine,
        help="where the work runs: this machine (local, default) or a Dask cluster (dask: a "
        "local cluster of --workers processes, or the cluster at --scheduler); the same seed "
        "gives the same numbers on either",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        help="worker processes of the local Dask cluster (default: the cores, at most 4)",
    )
    p.add_argument("--scheduler", metavar="ADDR",
                   help="a running Dask scheduler, e.g. tcp://10.0.0.5:8786 (its workers must "
                   "see the CSV file at the same path)")  # fmt: skip
    p.add_argument(
        "--chunk-series",
        type=positive_int,
        metavar="N",
        help=f"series read and prepared per task (default {CHUNK_SERIES}, fewer for a small "
        f"panel: about 16 chunks of at least {MIN_CHUNK})",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cfg = JobConfig(
        csv=args.csv,
        id=args.id,
        time=args.time,
        target=args.target,
        lag=args.lag,
        horizon=args.horizon,
        cell=args.cell,
        hidden=args.hidden,
        epochs=args.epochs,
        ensemble=args.ensemble,
        seed=args.seed,
        season=args.season,
        arima=args.arima,
        out=args.out,
        fill=args.fill,
        freq=args.freq,
        sep=args.sep,
        decimal=args.decimal,
        verbose=0 if args.quiet else 1,
        engine=args.engine,
        workers=args.workers,
        scheduler=args.scheduler,
        chunk_series=args.chunk_series,
    )
    run_job(cfg)
    return 0
