"""``lstmkit convert IN OUT``: between lstmkit, PyTorch, Keras and ONNX files."""

from __future__ import annotations

import argparse

from lstmkit.cli_types import positive_int

EPILOG = """formats, by extension: .safetensors (lstmkit), .pt/.pth (PyTorch state dict),
.keras (Keras 3), .onnx (ONNX).

examples:
  lstmkit convert model.safetensors model.onnx --lengths
  lstmkit convert model.keras model.safetensors
  lstmkit convert lstm.pt model.safetensors                 # a bare nn.LSTM/GRU state dict
  lstmkit convert net.pt model.safetensors --input-size 8 --layers lstm:64,dense:1

Writing .pt also writes <file>.json with the architecture; reading .pt uses it, or
--input-size with --layers, or infers a bare nn.LSTM/GRU/RNN from its weights.
Anything that cannot be converted stops with an error naming it."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "convert",
        help="convert a model between lstmkit, PyTorch (.pt), Keras (.keras) and ONNX (.onnx)",
        description="Read a model in one format and write it in another; weights are mapped "
        "exactly (gate orders, biases and layouts in docs/interop.md).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", metavar="IN", help="the model file to read")
    p.add_argument("output", metavar="OUT", help="the model file to write (format by extension)")
    p.add_argument("--input-size", type=positive_int, help="architecture of a .pt file")
    p.add_argument(
        "--layers", metavar="SPEC", help="architecture of a .pt file, e.g. lstm:64,dense:1"
    )
    p.add_argument(
        "--rnn-activation",
        choices=("tanh", "relu"),
        help="nonlinearity of a bare nn.RNN state dict (default tanh)",
    )
    p.add_argument(
        "--lengths",
        action="store_true",
        help="ONNX output: add an int32 'lengths' input for variable-length batches",
    )
    p.set_defaults(func=run)


def _check_flags(args: argparse.Namespace) -> None:
    """Flags that do nothing for these formats are errors, not silently ignored."""
    from pathlib import Path

    src, dst = Path(args.input).suffix.lower(), Path(args.output).suffix.lower()
    if args.lengths and dst != ".onnx":
        raise ValueError(
            f"--lengths applies to .onnx outputs, not {dst or 'a file without extension'}; "
            "leave it out (lstmkit, Keras and PyTorch models take lengths when they are run)"
        )
    for flag, value in (("--input-size", args.input_size), ("--layers", args.layers),
                        ("--rnn-activation", args.rnn_activation)):  # fmt: skip
        if value is not None and src not in (".pt", ".pth"):
            raise ValueError(
                f"{flag} describes a .pt input, and {args.input!r} is not one; leave it out"
            )


def run(args: argparse.Namespace) -> int:
    from lstmkit.interop.files import read_model, write_model

    _check_flags(args)
    model = read_model(
        args.input,
        input_size=args.input_size,
        layers=args.layers,
        rnn_activation=args.rnn_activation or "tanh",
    )
    out = write_model(model, args.output, lengths=args.lengths)
    print(f"Wrote {out}: {len(model.layers)} layers, {model.count_params():,} parameters")
    return 0
