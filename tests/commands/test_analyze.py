"""``lstmkit analyze`` on saved models and on specs; errors are one line with exit code 2."""

import json
import subprocess
import sys

import pytest

import lstmkit as lk
from lstmkit.cli import main


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "lstmkit", "analyze", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def saved(tmp_path):
    model = lk.Sequential(
        [lk.GRU(16, return_sequences=True), lk.LSTM(8), lk.Dense(2)], input_size=4, name="saved"
    )
    path = tmp_path / "m.safetensors"
    model.save(str(path))
    return model, path


def test_saved_model_json_equals_the_python_report(saved, capsys):
    model, path = saved
    assert main(["analyze", str(path), "--seq-len", "30", "--weights", "int8", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    expected = lk.analyze(model, 30, weights="int8").to_dict()
    assert data == json.loads(json.dumps(expected))


def test_saved_model_with_a_target(saved, capsys):
    _, path = saved
    assert main(["analyze", str(path), "--seq-len", "30", "--target", "cortex-m4"]) == 0
    out = capsys.readouterr().out
    assert 'Cost of "saved"' in out and "Fit on cortex-m4f: fits" in out


def test_spec_from_the_issue(capsys):
    args = ["--input-size", "8", "--layers", "lstm:64,lstm:32,dense:1", "--seq-len", "100"]
    assert main(["analyze", *args]) == 0
    out = capsys.readouterr().out
    model = lk.Sequential(
        [lk.LSTM(64, return_sequences=True), lk.LSTM(32), lk.Dense(1)], input_size=8
    )
    report = lk.analyze(model, 100)
    assert f"{report.total.macc:,}" in out and f"{report.params:,}" in out


def test_markdown_lengths_and_overrides(capsys):
    args = ["--input-size", "3", "--layers", "lstm:50:bi,dense:1", "--seq-len", "24"]
    args += ["--lengths", "24,10", "--target", "m7", "--ram-kib", "1", "--markdown"]
    assert main(["analyze", *args]) == 0
    out = capsys.readouterr().out
    assert out.startswith("### Cost of") and "(34 valid steps)" in out
    assert "does NOT fit" in out  # 1 KiB of RAM is not enough for the sequence buffers
    assert "of 1,024 B" in out


def test_target_file(tmp_path, capsys):
    part = tmp_path / "part.json"
    part.write_text(json.dumps({"base": "esp32-s3", "name": "my-board", "clock_hz": 80e6}))
    args = ["--input-size", "2", "--layers", "gru:8,dense:1", "--seq-len", "5"]
    assert main(["analyze", *args, "--target-file", str(part), "--json"]) == 0
    fit = json.loads(capsys.readouterr().out)["fit"]
    assert fit["target"]["name"] == "my-board" and fit["target"]["clock_hz"] == 80e6


@pytest.mark.parametrize(
    "args, message",
    [
        (["--seq-len", "5"], "give a MODEL_FILE, or --input-size and --layers"),
        (["--layers", "lstm:4", "--seq-len", "5"], "give a MODEL_FILE, or --input-size"),
        (["missing.safetensors", "--seq-len", "5"], "no model file at missing.safetensors"),
        (["--input-size", "2", "--layers", "lstm:4:x", "--seq-len", "5"], "unknown option 'x'"),
        (["--input-size", "2", "--layers", "lstm:4", "--seq-len", "5", "--target", "z80"],
         "unknown target 'z80'"),
        (["--input-size", "2", "--layers", "lstm:4", "--seq-len", "5", "--ram-kib", "8"],
         "name one"),
        (["--input-size", "2", "--layers", "lstm:4", "--seq-len", "5", "--lengths", "3,a"],
         "--lengths must be whole numbers"),
        (["--input-size", "2", "--layers", "lstm:4", "--seq-len", "5", "--lengths", "9"],
         "between 1 and seq_len = 5"),
        (["--input-size", "2", "--layers", "lstm:4", "--seq-len", "0"], "must be at least 1"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(args, message):
    res = run_cli(*args)
    assert res.returncode == 2, res.stderr
    assert message in res.stderr
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 or lines[0].startswith("usage:")  # argparse shows the usage


def test_file_and_spec_together_is_an_error(saved):
    _, path = saved
    res = run_cli(str(path), "--input-size", "2", "--layers", "lstm:4", "--seq-len", "5")
    assert res.returncode == 2 and "not both" in res.stderr


def test_help_shows_examples():
    res = run_cli("--help")
    assert res.returncode == 0
    assert "lstmkit analyze --input-size 8 --layers lstm:64,lstm:32,dense:1" in res.stdout
    assert "cortex-m0plus" in res.stdout


LIMITED = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))  # 3 GiB of address space
from lstmkit.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_huge_spec_is_counted_without_memory_for_it():
    """lstm:1000000000 has 4e18 parameters; analyze counts them with 3 GiB of address
    space (building the weights would need 16 EB)."""
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-c", LIMITED, "analyze", "--input-size", "8",
                          "--layers", "lstm:1000000000", "--seq-len", "10", "--json"],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert res.returncode == 0, res.stderr
    import json

    report = json.loads(res.stdout)
    assert report["total"]["params"] == 4 * 10**9 * (8 + 10**9) + 4 * 10**9


def test_shape_only_models_cost_the_same_as_built_ones():
    from lstmkit.cost import analyze
    from lstmkit.models.spec import model_from_spec

    spec = "lstm:12:bi:peephole:seq,gru:8:reset_before:seq,rnn:5:relu,dense:3"
    built = analyze(model_from_spec(spec, 4), 20, target="cortex-m4f").to_dict()
    shapes = analyze(model_from_spec(spec, 4, allocate=False), 20, target="cortex-m4f")
    assert shapes.to_dict() == built
