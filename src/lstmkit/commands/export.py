"""``lstmkit export MODEL --to c --out DIR``: dependency-free C99 inference code."""

from __future__ import annotations

import argparse

from lstmkit.cli_types import positive_int

EPILOG = """examples:
  lstmkit export model.safetensors --to c --out firmware/ --name sensor
  lstmkit export bi.safetensors --to c --out c/ --max-steps 128

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
    p.add_argument("model", metavar="MODEL_FILE")
    p.add_argument("--to", choices=("c",), required=True, help="target language")
    p.add_argument("--out", metavar="DIR", required=True, help="output folder (created)")
    p.add_argument("--name", default="model", help="C prefix and file name (default: model)")
    p.add_argument("--dtype", choices=("float32",), default="float32", help="arithmetic")
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
    model = read_model(args.model)
    files = to_c(model, args.out, name=args.name, dtype=args.dtype, max_steps=args.max_steps)
    print(f"Wrote {', '.join(str(f) for f in files)}")
    return 0
