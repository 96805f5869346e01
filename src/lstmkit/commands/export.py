"""``lstmkit export MODEL --to c --out DIR``: dependency-free C99 inference code."""

from __future__ import annotations

import argparse

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
        metavar="CSV",
        help="int8: typical inputs, one row per time step with the model's input columns "
        "(numeric columns are used, a header row is allowed)",
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
    if args.calibrate is not None:
        calibration = read_calibration(args.calibrate, model.input_size)
    elif args.dtype == "int8":
        raise ValueError("--dtype int8 needs --calibrate CSV: typical inputs to pick scales")
    if args.max_steps is not None and not any(
        getattr(la, "bidirectional", False) for la in model.layers
    ):
        raise ValueError(
            "--max-steps sizes a bidirectional model's sequence buffers, and this model is "
            "unidirectional (it streams sequences of any length); leave it out"
        )
    files = to_c(model, args.out, name=args.name, dtype=args.dtype, max_steps=args.max_steps,
                 calibration=calibration)  # fmt: skip
    print(f"Wrote {', '.join(str(f) for f in files)}")
    return 0


def read_calibration(path: str, input_size: int):
    """A CSV of inputs, one row per time step, as one sequence ``(1, N, D)``."""
    import numpy as np
    import pandas as pd

    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise ValueError(f"no file at {path!r}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable CSV ({exc})") from None
    numeric = frame.select_dtypes("number")
    if numeric.shape[1] != input_size or len(numeric) == 0:
        raise ValueError(
            f"{path}: the model reads {input_size} input column(s), the CSV has "
            f"{numeric.shape[1]} numeric column(s) and {len(numeric)} row(s); give one "
            "numeric column per input feature"
        )
    return numeric.to_numpy(np.float64)[None]
