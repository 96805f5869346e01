"""int8 calibration: every quantized state's scale comes from every step of every
calibration sequence, and the command line reads calibration windows (CSV with or without
a header, cut by --calibrate-window, or .npy) without dropping a row."""

import subprocess
import warnings

import numpy as np
import pytest

import lstmkit as lk
from lstmkit.cli import main
from lstmkit.commands.export import read_calibration
from lstmkit.experiments.int8_review import peephole_projection, relu_rnn
from lstmkit.export.harness import harness_source
from lstmkit.export.int8 import I16, ExportWarning, quantize
from lstmkit.export.plan import make_plan
from tests.export.conftest import CFLAGS, GCC, needs_gcc

pytestmark = pytest.mark.one_backend


@pytest.mark.parametrize("build", [peephole_projection, relu_rnn])
def test_state_scales_cover_every_step_not_only_the_last(build):
    model = build()
    x = np.random.default_rng(0).normal(size=(3, 200, 4))
    q = quantize(make_plan(model, "net"), model, x)
    traces = model.trace(x.astype(np.float32))
    for layer, ql in zip(model.layers, q.layers, strict=False):
        if layer.name in traces:
            h = np.nanmax(np.abs(traces[layer.name]["forward"]["h"]))
            assert ql.out_scale * I16 >= h  # the state never saturates on its own data
    # The last step alone (what the scale used to come from) is well inside the range.
    last = np.abs(model.layers[0].forward(x)).max()
    assert last < np.nanmax(np.abs(traces[model.layers[0].name]["forward"]["h"]))


def stream_int8_c(model, xs, folder, calibrate_args):
    """Export through the command line, compile with gcc, stream ``xs (N, D)``."""
    path = folder / "model.safetensors"
    model.save(str(path))
    assert main(["export", str(path), "--to", "c", "--out", str(folder), "--name", "net",
                 "--dtype", "int8", *calibrate_args]) == 0  # fmt: skip
    (folder / "main.c").write_text(harness_source("net", xs, mode="step", output_size=1))
    exe = folder / "run"
    sources = [str(folder / "main.c"), *map(str, sorted(folder.glob("*.c")))]
    sources = list(dict.fromkeys(sources))  # main.c once
    subprocess.run([GCC, *CFLAGS, "-o", str(exe), *sources, "-lm"], check=True,
                   capture_output=True)  # fmt: skip
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    return np.array([float(v) for v in out.split()])


@needs_gcc
@pytest.mark.parametrize("build", [peephole_projection, relu_rnn])
@pytest.mark.parametrize("header", [True, False])
def test_int8_streaming_error_is_under_5_percent_of_the_output_range(build, header, tmp_path,
                                                                      capsys):  # fmt: skip
    model = build()
    rng = np.random.default_rng(7)
    calibration, xs = rng.normal(size=(1000, 4)), rng.normal(size=(1000, 4)).astype(np.float32)
    csv = tmp_path / "calibration.csv"
    np.savetxt(csv, calibration, delimiter=",", header="a,b,c,d" if header else "", comments="")
    got = stream_int8_c(model, xs, tmp_path, ["--calibrate", str(csv)])
    ref = np.concatenate([np.ravel(model.step(x[None])) for x in xs])
    span = ref.max() - ref.min()
    assert np.abs(got - ref).max() < 0.05 * span


def test_a_csv_without_header_keeps_its_first_row(tmp_path):
    rows = np.arange(12.0).reshape(6, 2) + 0.5
    bare, named = tmp_path / "bare.csv", tmp_path / "named.csv"
    np.savetxt(bare, rows, delimiter=",")
    np.savetxt(named, rows, delimiter=",", header="x,y", comments="")
    for path in (bare, named):
        np.testing.assert_array_equal(read_calibration(str(path), 2), rows[None])
    semicolons = tmp_path / "semi.csv"
    np.savetxt(semicolons, rows, delimiter=";")
    np.testing.assert_array_equal(read_calibration(str(semicolons), 2), rows[None])


def test_windows_from_a_csv_and_from_npy(tmp_path):
    rows = np.arange(20.0).reshape(10, 2)
    csv = tmp_path / "c.csv"
    np.savetxt(csv, rows, delimiter=",")
    windows = read_calibration(str(csv), 2, window=3)
    assert windows.shape == (3, 3, 2)
    np.testing.assert_array_equal(windows[1], rows[3:6])
    with pytest.raises(ValueError, match="longer than the 10 rows"):
        read_calibration(str(csv), 2, window=11)
    npy = tmp_path / "w.npy"
    np.save(npy, rows.reshape(5, 2, 2))
    assert read_calibration(str(npy), 2).shape == (5, 2, 2)
    with pytest.raises(ValueError, match=r"\(N, T, 3\)"):
        read_calibration(str(npy), 3)
    np.save(npy, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match=r"not a readable \.npy array"):
        read_calibration(str(npy), 2)


def test_calibrate_window_needs_calibrate(tmp_path, capsys):
    path = tmp_path / "m.safetensors"
    relu_rnn().save(str(path))
    code = main(["export", str(path), "--to", "c", "--out", str(tmp_path / "c"), "--dtype",
                 "int8", "--calibrate-window", "5"])  # fmt: skip
    assert code == 2 and "give --calibrate too" in capsys.readouterr().err


def test_a_cell_state_beyond_the_int8_range_is_reported():
    model = lk.Sequential([lk.LSTM(2), lk.Dense(1)], input_size=1, seed=0)
    lstm = model.layers[0]
    lstm.params["b"][:] = 0
    lstm.params["b"][2:4] = 20.0  # forget gate open: the cell integrates its input
    lstm.params["Wx"][:] = 0
    lstm.params["Wx"][6:8] = 5.0  # candidate g = tanh(5 x) ≈ 1 for x = 1
    with pytest.warns(ExportWarning, match="cell state reaches"):
        quantize(make_plan(model, "net"), model, np.ones((1, 40, 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quantize(make_plan(model, "net"), model, np.ones((1, 5, 1)))
