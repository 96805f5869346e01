"""Bad input to the C exporter: one clear error naming the problem, nothing half-written;
and the command line around it."""

import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

import lstmkit as lk
from lstmkit.export import ExportError, to_c


def small(bi=False):
    return lk.Sequential([lk.LSTM(3, bidirectional=bi), lk.Dense(1)], input_size=2, seed=0)


@pytest.mark.parametrize("name", ["9lives", "a-b", "", "int", "while", "x y", None])
def test_the_name_must_be_a_c_identifier(name, tmp_path):
    with pytest.raises(ExportError, match="name"):
        to_c(small(), tmp_path, name=name)
    assert list(tmp_path.iterdir()) == []


def test_an_unsupported_layer_is_named(tmp_path):
    odd = SimpleNamespace(name="attention_1")
    model = SimpleNamespace(layers=[small().layers[0], odd], input_size=2)
    with pytest.raises(ExportError, match=r"attention_1: layer type SimpleNamespace has no C"):
        to_c(model, tmp_path)


def test_bidirectional_models_need_max_steps(tmp_path):
    with pytest.raises(ExportError, match=r"max_steps \(--max-steps\)"):
        to_c(small(bi=True), tmp_path)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ExportError, match="max_steps must be a whole number"):
            to_c(small(bi=True), tmp_path, max_steps=bad)


def test_the_dtype_is_checked_and_int8_needs_calibration(tmp_path):
    with pytest.raises(ExportError, match="dtype must be one of float32, int8"):
        to_c(small(), tmp_path, dtype="int4")
    with pytest.raises(ExportError, match=r"int8 export needs calibration data"):
        to_c(small(), tmp_path, dtype="int8")
    for bad in (np.zeros((2, 3)), np.zeros((1, 3, 5)), np.full((1, 3, 2), np.nan)):
        with pytest.raises(ExportError, match="calibration data must"):
            to_c(small(), tmp_path, dtype="int8", calibration=bad)
    assert list(tmp_path.iterdir()) == []


def test_a_failure_leaves_an_existing_folder_as_it_was(tmp_path):
    (tmp_path / "model.c").write_text("keep me")
    model = small()
    model.layers[1].params["W"][0, 0] = np.nan
    with pytest.raises(ExportError, match="finite"):
        to_c(model, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["model.c"]
    assert (tmp_path / "model.c").read_text() == "keep me"


def test_the_output_must_be_a_folder(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("x")
    with pytest.raises(ExportError, match="not a folder"):
        to_c(small(), target)


def test_the_command_line_writes_both_files(tmp_path):
    lk.save(small(), tmp_path / "m.safetensors")
    done = subprocess.run(
        [sys.executable, "-m", "lstmkit", "export", str(tmp_path / "m.safetensors"), "--to", "c",
         "--out", str(tmp_path / "c"), "--name", "sensor"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["sensor.c", "sensor.h"]
    assert "#define sensor_INPUT_SIZE 2" in (tmp_path / "c" / "sensor.h").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "2x"], "name must be a C identifier"),
        (["--name", "ok"], "max_steps (--max-steps)"),
    ],
)
def test_command_line_errors_are_one_line_with_exit_2(args, message, tmp_path):
    lk.save(small(bi=True), tmp_path / "bi.safetensors")
    done = subprocess.run(
        [sys.executable, "-m", "lstmkit", "export", str(tmp_path / "bi.safetensors"), "--to",
         "c", "--out", str(tmp_path / "c"), *args],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "c").exists() or not any((tmp_path / "c").iterdir())


def test_the_command_line_exports_int8_with_a_calibration_csv(tmp_path):
    lk.save(small(), tmp_path / "m.safetensors")
    rng = np.random.default_rng(0)
    (tmp_path / "cal.csv").write_text(
        "t,a,b\n"
        + "".join(f"x{i},{u:.4f},{v:.4f}\n" for i, (u, v) in enumerate(rng.normal(size=(20, 2))))
    )
    base = [sys.executable, "-m", "lstmkit", "export", str(tmp_path / "m.safetensors"), "--to",
            "c", "--dtype", "int8"]  # fmt: skip
    done = subprocess.run([*base, "--out", str(tmp_path / "c"), "--calibrate",
                           str(tmp_path / "cal.csv")], capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "int8_t model_w_" in (tmp_path / "c" / "model.c").read_text()
    (tmp_path / "one.csv").write_text("a\n1\n2\n")
    cases = (([], "needs --calibrate CSV"),
             (["--calibrate", str(tmp_path / "one.csv")], "reads 2 input column"),
             (["--calibrate", str(tmp_path / "nope.csv")], "no calibration file at"))  # fmt: skip
    for extra, message in cases:
        done = subprocess.run([*base, "--out", str(tmp_path / "d"), *extra],
                              capture_output=True, text=True)  # fmt: skip
        assert done.returncode == 2 and message in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "d").exists()
