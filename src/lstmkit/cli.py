"""Command line: ``lstmkit [--version] COMMAND ...`` (demo here; others in lstmkit.commands).

Bad input never produces a traceback: the message goes to stderr on one line and the
exit code is 2 (set ``LSTMKIT_DEBUG=1`` to see the traceback).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence

from lstmkit import __version__
from lstmkit.cli_types import nonnegative_int, positive_int
from lstmkit.commands import analyze, convert, export, forecast, plot_gates
from lstmkit.demo import DemoConfig, run_demo


def _cmd_demo(args: argparse.Namespace) -> int:
    cfg = DemoConfig(
        batch=args.batch,
        seq_len=args.seq_len,
        input_size=args.input_size,
        hidden_size=args.hidden_size,
        seed=args.seed,
    )
    run_demo(cfg)
    return 0


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (argparse prints the whole usage
    first), naming the command and where its help is. Subcommands inherit the class."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand."""
    parser = OneLineParser(
        prog="lstmkit",
        description="LSTM, GRU and RNN networks from the equations up.",
        epilog="Run 'lstmkit COMMAND --help' for a command's options and an example.",
    )
    parser.add_argument("--version", action="version", version=f"lstmkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    defaults = DemoConfig()
    demo = sub.add_parser(
        "demo",
        help="run an LSTM forward and backward on random data and explain every shape",
        description="Run one LSTM layer forward and backward through time on random data, "
        "print the shape of every weight, state and gate, and check gradients "
        "against finite differences.",
        epilog="example: lstmkit demo --input-size 3 --hidden-size 50 --seq-len 10",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    demo.add_argument(
        "--batch", type=positive_int, default=defaults.batch, help="number of sequences B"
    )
    demo.add_argument("--seq-len", type=positive_int, default=defaults.seq_len, help="time steps T")
    demo.add_argument(
        "--input-size", type=positive_int, default=defaults.input_size, help="input features D"
    )
    demo.add_argument(
        "--hidden-size", type=positive_int, default=defaults.hidden_size, help="hidden units H"
    )
    demo.add_argument("--seed", type=nonnegative_int, default=defaults.seed, help="random seed")
    demo.set_defaults(func=_cmd_demo)
    forecast.register(sub)
    analyze.register(sub)
    plot_gates.register(sub)
    convert.register(sub)
    export.register(sub)
    return parser


# Python's own OSErrors print as "[Errno 17] File exists: 'x'"; lstmkit's subclasses of
# OSError (ModelFileNotFoundError) carry their own message.
_OS_ERRORS = {OSError, FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError,
              PermissionError}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lstmkit`` console script; returns the exit code.

    User errors end in one line on stderr and exit code 2, Ctrl-C in one line and 130;
    ``LSTMKIT_DEBUG=1`` shows the traceback instead.
    """
    command = "lstmkit"
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        command = f"lstmkit {args.command}"
        return args.func(args)
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        if os.environ.get("LSTMKIT_DEBUG"):
            raise
        # Once is enough: a second Ctrl-C while Python shuts down would end the process by
        # the signal instead of with exit code 130. Outputs are written to a temporary
        # folder and moved in last, so an interrupted command leaves nothing half-written.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print(f"{command}: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError) as exc:
        if os.environ.get("LSTMKIT_DEBUG"):
            raise
        from lstmkit.fileio import os_error_message

        text = os_error_message(exc) if type(exc) in _OS_ERRORS else str(exc)
        print(f"{command}: error: {' '.join(text.split())}", file=sys.stderr)
        return 2


def _unraisable(unraisable) -> None:
    """A Ctrl-C that lands in a finalizer or a C callback (Numba's compiler calls back
    into Python) cannot be raised there, and CPython would print it and drop it: deliver
    it to the main thread instead, as if it came now."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        import _thread
        import threading

        # From another thread, so that it arrives after this hook has returned.
        threading.Timer(0.01, _thread.interrupt_main).start()
        return
    sys.__unraisablehook__(unraisable)


def entry() -> int:
    """The console script and ``python -m lstmkit``: :func:`main`, and after a Ctrl-C an
    immediate exit with code 130. CPython kills itself with SIGINT at exit when a
    KeyboardInterrupt passed through C code that ran Python (even though lstmkit caught
    it), which shells report as a signal, not as 130; the job has already cleaned up."""
    sys.unraisablehook = _unraisable
    code = main()
    if code == 130:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
