"""``lstmkit plot-gates``: heatmaps of an LSTM's gates over one window (the "valves")."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from lstmkit.cli_types import positive_int

MAX_SIDECAR_BYTES = 256 * 2**20  # the history of one series and a few settings

EPILOG = """examples:
  lstmkit plot-gates lstmkit-out/model.safetensors             # the job's last window
  lstmkit plot-gates model.safetensors data.csv --target load --out gates.png

The window is the last LAG steps of the CSV's target column (LAG from the
forecaster.json written beside the model by 'lstmkit forecast', else --lag), put
through the same preparation as in training (log, deseasonalization, scale, relative
to the last level) when forecaster.json is there. Without a CSV it is the end of the
first series the forecaster was trained on."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plot-gates",
        help="heatmaps of an LSTM's input, forget and output gates, candidate and cell state",
        description="Run a saved model's first LSTM layer over one window and draw its gates "
        "i, f, o, the candidate g and the cell state c over time as a PNG.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model_file", metavar="MODEL_FILE", help="a .safetensors model file")
    p.add_argument("csv", nargs="?", metavar="CSV", help="series to take the window from")
    p.add_argument("--target", metavar="COL", help="value column (default: the last column)")
    p.add_argument("--time", metavar="COL", help="time column (default: the first of dates)")
    p.add_argument("--fill", choices=("ffill", "interpolate"),
                   help="fill missing values and gaps (as in lstmkit forecast)")  # fmt: skip
    p.add_argument("--freq", metavar="F", help="put timestamps on this frequency's steps")
    p.add_argument("--sep", metavar="CHAR", help="column separator (default: detected)")
    p.add_argument("--decimal", choices=(".", ","), help="decimal mark (default: detected)")
    p.add_argument("--lag", type=positive_int,
                   help="window length when there is no forecaster.json")  # fmt: skip
    p.add_argument("--layer", metavar="NAME", help="which LSTM layer (default: the first)")
    p.add_argument(
        "--out",
        default="gates.png",
        metavar="PNG",
        help="the picture to write, a .png file or a folder (default gates.png)",
    )
    p.set_defaults(func=run)


def _window(args, model, sidecar):
    from lstmkit.forecast.csvdata import read_series_csv

    lag = args.lag or (sidecar["params"]["lag"] if sidecar else None)
    if args.csv is None and sidecar is None:
        raise ValueError(
            "give a CSV (there is no forecaster.json beside the model to take "
            "the training window from)"
        )
    if lag is None:
        raise ValueError("give --lag (there is no forecaster.json beside the model)")
    if model.input_size != 1:
        raise ValueError(
            f"the model reads {model.input_size} features per step; plot-gates "
            "draws single-series models"
        )
    if args.csv is not None:
        values = read_series_csv(
            args.csv,
            target=args.target,
            time=args.time,
            fill=args.fill,
            sep=args.sep,
            decimal=args.decimal,
            freq=args.freq,
        ).values
    else:
        values = np.asarray(sidecar["history"], dtype=np.float64)
    if sidecar:
        from lstmkit.forecast.prep import SeriesPrep
        from lstmkit.forecast.windows import origin_windows

        u = SeriesPrep.from_dict(sidecar["prep"]).transform(values)[:, None]
        X, lengths, _ = origin_windows(u, np.array([u.shape[0]]), lag, 1, targets=False)
        return X[0, : lengths[0]]
    z = (values - values.mean()) / (values.std() or 1.0)
    if z.size < lag:
        raise ValueError(f"the series has {z.size} steps; the window needs {lag}")
    return z[-lag:, None]


def read_sidecar(path: Path) -> dict | None:
    """The forecaster.json beside a model (None when there is none), checked: a file
    that is not one names itself and says how to get a good one."""
    if not path.is_file():
        return None
    from lstmkit.forecast.prep import SeriesPrep
    from lstmkit.jsonio import read_json_file

    fix = "delete it, or run lstmkit forecast again to rewrite it"
    doc = read_json_file(path, MAX_SIDECAR_BYTES, fix)
    try:
        if not isinstance(doc, dict) or doc.get("format") != "lstmkit.forecaster":
            raise ValueError("it is not an lstmkit forecaster.json")
        if doc.get("version") != 2:
            raise ValueError(f"its version {doc.get('version')!r} is not 2")
        lag = doc["params"]["lag"]
        if not isinstance(lag, int) or isinstance(lag, bool) or lag < 1:
            raise ValueError(f"params.lag is {lag!r}, not a positive whole number")
        SeriesPrep.from_dict(doc["prep"])
        history = np.asarray(doc["history"], dtype=np.float64)
        if history.ndim != 1 or not np.all(np.isfinite(history)):
            raise ValueError("its history is not a list of finite numbers")
    except (KeyError, TypeError, ValueError) as exc:
        what = f"it has no {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ValueError(f"{str(path)!r} is not a usable forecaster.json: {what}; {fix}") from None
    return doc


def _picture(out: str) -> Path:
    """``--out``: a .png file (its folder must exist), or a folder to write gates.png in."""
    path = Path(out)
    if path.is_dir():
        return path / "gates.png"
    if path.suffix.lower() != ".png":
        raise ValueError(f"--out {out!r} must name a .png file or an existing folder")
    if not path.parent.is_dir():
        raise ValueError(f"--out {out!r}: the folder {str(path.parent)!r} does not exist")
    return path


def run(args: argparse.Namespace) -> int:
    from lstmkit.forecast.plots import plot_gates
    from lstmkit.layers import LSTM
    from lstmkit.models.io import load

    out = _picture(args.out)
    model = load(args.model_file)
    sidecar = read_sidecar(Path(args.model_file).with_name("forecaster.json"))
    lstms = [la for la in model.layers if isinstance(la, LSTM)]
    if args.layer:
        lstms = [la for la in lstms if la.name == args.layer]
    if not lstms:
        raise ValueError(
            f"the model has no LSTM layer{' named ' + repr(args.layer) if args.layer else ''}"
        )
    window = _window(args, model, sidecar)
    traces = model.trace(window[None])[lstms[0].name]["forward"]
    gates = {k: traces[k][0] for k in ("i", "f", "o", "g", "c")}
    prepared = "input\n(prepared as in training)" if sidecar else "input\n(standardized)"
    title = f"{lstms[0].name}: gates over the last {window.shape[0]} steps"
    path = plot_gates(out, window, gates, title, prepared)
    print(f"Wrote {path}")
    return 0
