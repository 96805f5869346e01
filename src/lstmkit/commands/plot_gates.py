"""``lstmkit plot-gates``: heatmaps of an LSTM's gates over one window (the "valves")."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

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
    p.add_argument("model_file", metavar="MODEL_FILE")
    p.add_argument("csv", nargs="?", metavar="CSV")
    p.add_argument("--target", metavar="COL")
    p.add_argument("--time", metavar="COL")
    p.add_argument("--lag", type=int, help="window length when there is no forecaster.json")
    p.add_argument("--layer", metavar="NAME", help="which LSTM layer (default: the first)")
    p.add_argument("--out", default="gates.png", metavar="PNG")
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
        values = read_series_csv(args.csv, target=args.target, time=args.time).values
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


def run(args: argparse.Namespace) -> int:
    from lstmkit.forecast.plots import plot_gates
    from lstmkit.layers import LSTM
    from lstmkit.models.io import load

    model = load(args.model_file)
    sidecar_path = Path(args.model_file).with_name("forecaster.json")
    sidecar = json.loads(sidecar_path.read_text()) if sidecar_path.is_file() else None
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
    path = plot_gates(
        args.out, window, gates, f"{lstms[0].name}: gates over the last {window.shape[0]} steps"
    )
    print(f"Wrote {path}")
    return 0
