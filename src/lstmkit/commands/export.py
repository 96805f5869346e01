"""``lstmkit export MODEL --to c --out DIR``: dependency-free C99 inference code."""

from __future__ import annotations

import argparse
from pathlib import Path

from lstmkit.cli_types import positive_int

EPILOG = """examples:
  lstmkit export model.safetensors --to c --out firmware/ --name sensor
  lstmkit export bi.safetensors --to c --out c/ --max-steps 128
  lstmkit export model.safetensors --to c --out c/ --dtype int8 --calibrate inputs.csv

Writes <name>.h and <name>.c (C99, <math.h> only, no allocation): <name>_reset,
<name>_step (unidirectional models: one streaming step) and <name>_run (a whole
sequence, as predict). The model file may be any format 'lstmkit convert' reads.
See docs/embedded.md."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export a model as dependency-free C99 for microcontrollers",
        description="Generate C99 inference code for a trained model: static buffers sized "
        "at export time, const weights, no allocation; its outputs equal predict's.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL_FILE", help="any model file lstmkit convert reads")
    p.add_argument("--to", choices=("c",), required=True, help="target language")
    p.add_argument("--out", metavar="DIR", required=True, help="output folder (created)")
    p.add_argument("--name", default="model", help="C prefix and file name (default: model)")
    p.add_argument(
        "--dtype",
        choices=("float32", "int8"),
        default="float32",
        help="arithmetic: float32, or int8 weights with int16 states (needs --calibrate)",
    )
    p.add_argument(
        "--calibrate",
        metavar="FILE",
        help="int8: typical inputs: a CSV with one row per time step and the model's input "
        "columns (numeric columns are used; a header row is detected), or an .npy array "
        "(N, T, D) of N windows",
    )
    p.add_argument(
        "--calibrate-window",
        type=positive_int,
        metavar="T",
        help="cut the calibration CSV into windows of T rows, each run from a zero state as "
        "the model will be (default: the whole CSV is one sequence, as a stream)",
    )
    p.add_argument(
        "--max-steps",
        type=positive_int,
        help="longest sequence <name>_run accepts (required for bidirectional models)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lstmkit.export import to_c
    from lstmkit.export.plan import check_name
    from lstmkit.interop.files import read_model

    check_name(args.name)  # before reading a possibly large model file
    if args.calibrate is not None and args.dtype != "int8":
        raise ValueError(
            f"--calibrate picks int8 scales, and --dtype is {args.dtype}; add --dtype int8 or "
            "leave --calibrate out"
        )
    model = read_model(args.model)
    calibration = None
    if args.calibrate_window is not None and args.calibrate is None:
        raise ValueError("--calibrate-window cuts the --calibrate CSV; give --calibrate too")
    if args.calibrate is not None:
        calibration = read_calibration(args.calibrate, model.input_size, args.calibrate_window)
    elif args.dtype == "int8":
        raise ValueError("--dtype int8 needs --calibrate CSV: typical inputs to pick scales")
    if args.max_steps is not None and not any(
        "reverse" in getattr(la, "directions", ()) for la in model.layers
    ):
        raise ValueError(
            "--max-steps sizes a bidirectional model's sequence buffers, and this model is "
            "unidirectional (it streams sequences of any length); leave it out"
        )
    files = to_c(model, args.out, name=args.name, dtype=args.dtype, max_steps=args.max_steps,
                 calibration=calibration)  # fmt: skip
    print(f"Wrote {', '.join(str(f) for f in files)}")
    return 0


def read_calibration(path: str, input_size: int, window: int | None = None):
    """Calibration inputs ``(N, T, D)``: an ``.npy`` array of that shape (read without
    pickle), or a CSV with one row per time step and one numeric column per input (a
    header row is detected, not assumed), one sequence or cut into windows of
    ``window`` consecutive rows."""
    import numpy as np

    from lstmkit.forecast.csvdata import sniff_csv

    p = Path(path)
    if not p.is_file():
        raise ValueError(f"no calibration file at {path!r}")
    if p.suffix.lower() == ".npy":
        if window is not None:
            raise ValueError("--calibrate-window cuts a CSV; an .npy holds its windows already")
        try:
            x = np.load(p, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise ValueError(f"{path!r} is not a readable .npy array ({exc})") from None
        if x.ndim != 3 or x.shape[-1] != input_size or x.size == 0:
            raise ValueError(
                f"{path!r} holds an array of shape {x.shape}; calibration windows are "
                f"(N, T, {input_size}): N sequences of T steps of the model's inputs"
            )
        if not np.issubdtype(x.dtype, np.number):
            raise ValueError(f"{path!r} holds {x.dtype} values, not numbers")
        return np.asarray(x, np.float64)
    rows = _csv_rows(p, sniff_csv(p)[0])
    if rows.shape[1] != input_size or len(rows) == 0:
        raise ValueError(
            f"{path!r}: the model reads {input_size} input column(s), the CSV has "
            f"{rows.shape[1]} numeric column(s) and {len(rows)} row(s); give one "
            "numeric column per input feature"
        )
    if window is None:
        return rows[None]
    if window > len(rows):
        raise ValueError(
            f"--calibrate-window {window} is longer than the {len(rows)} rows of {path!r}"
        )
    n = len(rows) // window
    return rows[: n * window].reshape(n, window, input_size)


def _csv_rows(path, sep: str):
    """The numeric columns of a CSV as float64 ``(N, K)``; the first line is a header
    when any of its fields is not a number, and a data row otherwise."""
    import numpy as np
    import pandas as pd

    try:
        frame = pd.read_csv(path, sep=sep, header=None, dtype=str, skip_blank_lines=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"{str(path)!r}: not a readable CSV ({exc})") from None
    first = pd.to_numeric(frame.iloc[0], errors="coerce")
    if first.isna().any():  # a header: its names, then the data
        frame = frame.iloc[1:]
    values = frame.apply(pd.to_numeric, errors="coerce")
    numeric = [c for c in values.columns if values[c].notna().all()]
    text = [c for c in values.columns if c not in numeric and frame[c].notna().any()]
    if text and not numeric:
        raise ValueError(f"{str(path)!r} has no numeric column")
    return values[numeric].to_numpy(np.float64)
