"""The console script: --version, --help, the demo job, and one-line errors with exit 2."""

import re
import subprocess
import sys

import pytest

import lstmkit
from lstmkit.cli import main
from lstmkit.demo import DemoConfig, run_demo


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "lstmkit", *args], capture_output=True, text=True, timeout=120
    )


def test_version():
    res = run_cli("--version")
    assert res.returncode == 0
    assert res.stdout.strip() == f"lstmkit {lstmkit.__version__}"


def test_help_lists_demo():
    res = run_cli("--help")
    assert res.returncode == 0
    assert "demo" in res.stdout and "usage: lstmkit" in res.stdout


def test_demo_explains_the_seed_example(capsys):
    assert main(["demo"]) == 0
    text = capsys.readouterr().out
    # The seed's worked example: 80 features, 12 units.
    assert "4·(960 + 144 + 12) = 4,464" in text
    assert re.search(r"Wx\s+\(4H, D\)\s+= \(48, 80\)", text)
    assert re.search(r"hs\s+\(B, T, H\)\s+= \(2, 5, 12\)", text)
    for gate in ("input gate", "forget gate", "output gate", "candidate"):
        assert gate in text


def test_demo_gradients_are_verified():
    errors = run_demo(DemoConfig(input_size=3, hidden_size=4, seq_len=6), out=lambda _: None)
    assert set(errors) == {"x", "h0", "c0", "Wx", "Wh", "b"}
    assert max(errors.values()) < 1e-5


@pytest.mark.parametrize("bad", [["demo", "--hidden-size", "0"], ["demo", "--seq-len", "x"]])
def test_bad_arguments_exit_2_without_traceback(bad):
    res = run_cli(*bad)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert "error:" in res.stderr


def test_demo_refuses_sizes_beyond_its_limit_before_allocating():
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-m", "lstmkit", "demo", "--input-size", "10000000"],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "limited to 256 MiB" in lines[0] and "--input-size" in lines[0]


def test_strict_json_turns_non_finite_numbers_into_null():
    import json

    import numpy as np

    from lstmkit.jsonio import strict_json

    text = strict_json({"a": float("nan"), "b": [np.float32(np.inf), np.int64(3)], "c": None})
    assert json.loads(text) == {"a": None, "b": [None, 3], "c": None}
    assert "NaN" not in text and "Infinity" not in text


def test_every_option_of_every_command_has_help():
    import argparse

    from lstmkit.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    missing = [f"{name} {a.option_strings or a.dest}" for name, sp in sub.choices.items()
               for a in sp._actions if not a.help]  # fmt: skip
    assert not missing
