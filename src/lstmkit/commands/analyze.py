"""``lstmkit analyze``: the cost report of a saved model or of a compact spec."""

from __future__ import annotations

import argparse
from dataclasses import replace

from lstmkit.cli_types import positive_float, positive_int
from lstmkit.cost import TARGETS, Target, analyze, get_target
from lstmkit.jsonio import strict_json
from lstmkit.models.spec import EXAMPLE

EPILOG = f"""examples:
  lstmkit analyze model.safetensors --seq-len 100 --target cortex-m4 --weights int8
  lstmkit analyze --input-size 8 --layers {EXAMPLE} --seq-len 100
  lstmkit analyze --input-size 3 --layers lstm:50:bi,dense:1 --seq-len 24 --json

layer spec: KIND:SIZE[:OPTION...] joined by commas; kinds lstm (options bi, seq,
peephole, proj=P), gru (bi, seq, reset_before), rnn (bi, seq, relu), dense (relu,
tanh, sigmoid, softmax), dropout:RATE.
targets: {", ".join(TARGETS)}; --target-file reads a JSON profile (a "base" name plus
the fields to change, or every field); see docs/cost.md."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "analyze",
        help="exact parameters, MACC, activations, memory and microcontroller fit of a model",
        description="Print the cost of running a model: parameters, MACC, elementwise ops, "
        "sigmoid/tanh evaluations, weights/state/scratch/feature-map bytes and, with "
        "--target, whether it fits a microcontroller (estimated latency).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model_file", nargs="?", metavar="MODEL_FILE", help="a saved lstmkit model")
    p.add_argument("--input-size", type=positive_int, help="input features (with --layers)")
    p.add_argument("--layers", metavar="SPEC", help=f"compact architecture, e.g. {EXAMPLE}")
    p.add_argument("--seq-len", type=positive_int, required=True, help="time steps T")
    p.add_argument("--batch", type=positive_int, help="sequences B (default 1)")
    p.add_argument(
        "--lengths", metavar="L1,L2,...", help="valid steps per sequence (sets the batch)"
    )
    p.add_argument("--weights", choices=("float32", "int8"), default="float32",
                   help="weight storage the flash figures assume (default float32)")  # fmt: skip
    p.add_argument(
        "--state",
        choices=("float32", "int16"),
        default="float32",
        help="state and activation storage the RAM figures assume (default float32)",
    )
    p.add_argument("--target", metavar="NAME", help=f"one of {', '.join(TARGETS)}")
    p.add_argument("--target-file", metavar="JSON", help="a microcontroller profile in JSON")
    p.add_argument("--clock-mhz", type=positive_float, help="override the target's clock")
    p.add_argument("--ram-kib", type=positive_float, help="override the target's RAM")
    p.add_argument("--flash-kib", type=positive_float, help="override the target's flash")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the report as JSON")
    out.add_argument("--markdown", action="store_true", help="print the report as Markdown")
    p.set_defaults(func=run)


def _model(args: argparse.Namespace):
    if args.model_file and (args.layers or args.input_size):
        raise ValueError("give either MODEL_FILE or --input-size with --layers, not both")
    if args.model_file:
        from lstmkit.models.io import load

        return load(args.model_file)
    if not (args.layers and args.input_size):
        raise ValueError(
            f"give a MODEL_FILE, or --input-size and --layers (e.g. --input-size 8 --layers "
            f"{EXAMPLE})"
        )
    from lstmkit.models.spec import model_from_spec

    return model_from_spec(args.layers, args.input_size, allocate=False)


def _lengths(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(
            f"--lengths must be whole numbers separated by commas, got {text!r}"
        ) from None


def _target(args: argparse.Namespace) -> Target | None:
    overrides = {
        "clock_hz": None if args.clock_mhz is None else args.clock_mhz * 1e6,
        "ram_bytes": None if args.ram_kib is None else int(args.ram_kib * 1024),
        "flash_bytes": None if args.flash_kib is None else int(args.flash_kib * 1024),
    }
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if args.target and args.target_file:
        raise ValueError("give either --target or --target-file, not both")
    if args.target_file:
        target = Target.from_json(args.target_file)
    elif args.target:
        target = get_target(args.target)
    elif overrides:
        raise ValueError("--clock-mhz, --ram-kib and --flash-kib change a --target; name one")
    else:
        return None
    return replace(target, **overrides)


def run(args: argparse.Namespace) -> int:
    target = _target(args)
    model = _model(args)
    report = analyze(
        model,
        args.seq_len,
        batch=args.batch,
        lengths=_lengths(args.lengths),
        weights=args.weights,
        state=args.state,
        target=target,
    )
    if args.json:
        print(strict_json(report.to_dict()), end="")
    elif args.markdown:
        print(report.markdown())
    else:
        print(report.table())
    return 0
