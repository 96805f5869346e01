"""``lstmkit convert`` between every pair of formats, and its one-line errors."""

import os
import subprocess
import sys
from itertools import pairwise

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("h5py")

import lstmkit as lk  # noqa: E402
from lstmkit.cli import main  # noqa: E402
from lstmkit.interop.files import read_model  # noqa: E402


def model():
    m = lk.Sequential(
        [lk.LSTM(5, bidirectional=True, return_sequences=True), lk.GRU(4), lk.Dense(2, "tanh")],
        input_size=3,
    )
    rng = np.random.default_rng(0)
    for layer in m.layers:
        for v in layer.params.values():
            v[...] = rng.uniform(-0.6, 0.6, v.shape)
    return m


def test_a_chain_through_every_format_keeps_the_weights(tmp_path, capsys):
    src = model()
    src.save(str(tmp_path / "a.safetensors"))
    chain = ["a.safetensors", "b.onnx", "c.pt", "d.keras", "e.safetensors"]
    for a, b in pairwise(chain):
        assert main(["convert", str(tmp_path / a), str(tmp_path / b)]) == 0
    assert "Wrote" in capsys.readouterr().out
    assert (tmp_path / "c.pt.json").is_file()  # the architecture sidecar
    end = lk.load(str(tmp_path / "e.safetensors"))
    for a, b in zip(src.parameter_list()[0], end.parameter_list()[0], strict=True):
        assert np.array_equal(a, b)


def test_onnx_with_lengths_input(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    src = model()
    src.save(str(tmp_path / "m.safetensors"))
    assert (
        main(["convert", str(tmp_path / "m.safetensors"), str(tmp_path / "m.onnx"), "--lengths"])
        == 0
    )
    x = np.random.default_rng(1).normal(size=(2, 4, 3)).astype(np.float32)
    L = np.array([4, 2], np.int32)
    got = ort.InferenceSession(str(tmp_path / "m.onnx")).run(None, {"x": x, "lengths": L})[0]
    np.testing.assert_allclose(got, src.predict(x, L), rtol=0, atol=1e-5)


def test_bare_torch_state_dicts_are_recognised(tmp_path):
    torch.manual_seed(0)
    for module in (
        torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2),
        torch.nn.GRU(3, 4),
        torch.nn.RNN(3, 4, nonlinearity="relu"),
    ):
        path = tmp_path / "bare.pt"
        torch.save(module.state_dict(), path)
        extra = {"rnn_activation": "relu"} if isinstance(module, torch.nn.RNN) else {}
        m = read_model(path, **extra)
        x = np.random.default_rng(2).normal(size=(2, 5, 3)).astype(np.float32)
        expected = module(torch.from_numpy(x).transpose(0, 1))[0].transpose(0, 1).detach().numpy()
        np.testing.assert_allclose(m.predict(x), expected, rtol=0, atol=1e-5)


def test_state_dict_with_an_architecture_flag(tmp_path):
    src = model()
    from lstmkit.interop import to_torch

    torch.save(to_torch(src).state_dict(), tmp_path / "net.pt")
    m = read_model(tmp_path / "net.pt", input_size=3, layers="lstm:5:bi,gru:4,dense:2:tanh")
    for a, b in zip(src.parameter_list()[0], m.parameter_list()[0], strict=True):
        assert np.array_equal(a, b)


def run_cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "lstmkit", "convert", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
    )


@pytest.mark.parametrize(
    "make, args, message",
    [
        (None, ["in.safetensors", "out.onnx"], "no file at 'in.safetensors'"),
        ("safetensors", ["in.safetensors", "out.tflite"], "unknown format '.tflite'"),
        ("safetensors", ["in.safetensors", "out.h5"], "writes Keras 3's .keras format"),
        ("lstmkit_pt", ["in.pt", "out.safetensors"], "no architecture for 'in.pt'"),
        (
            "lstmkit_pt",
            ["in.pt", "out.safetensors", "--input-size", "3", "--layers", "lstm:7"],
            "does not match the architecture",
        ),
        ("peephole", ["in.safetensors", "out.keras"], "no peepholes or projection"),
        ("proj", ["in.safetensors", "out.onnx"], "ONNX's LSTM has no projection"),
    ],
)
def test_errors_are_one_line_with_exit_2(tmp_path, make, args, message):
    if make == "safetensors":
        model().save(str(tmp_path / "in.safetensors"))
    elif make == "lstmkit_pt":
        from lstmkit.interop import to_torch

        torch.save(to_torch(model()).state_dict(), tmp_path / "in.pt")
    elif make in ("peephole", "proj"):
        layer = lk.LSTM(4, peephole=True) if make == "peephole" else lk.LSTM(4, proj_size=2)
        lk.Sequential([layer], input_size=2).save(str(tmp_path / "in.safetensors"))
    res = run_cli(*args, cwd=tmp_path)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], res.stderr
    out = args[1]
    assert not (tmp_path / out).exists()
