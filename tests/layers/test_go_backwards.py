"""Reverse-only recurrent layers (``go_backwards=True``): the forward layer on each valid
part read backwards, outputs in the input's order; gradients by finite differences; and
the paths that carry them (model files, ONNX, Keras, C) or refuse them (PyTorch)."""

import os

import numpy as np
import pytest

import lstmkit as lk
from lstmkit.gradcheck import numerical_grad, rel_error
from lstmkit.training.losses import get_loss

CLASSES = {"lstm": lambda **k: lk.LSTM(4, peephole=True, **k), "gru": lambda **k: lk.GRU(4, **k),
           "rnn": lambda **k: lk.RNN(4, activation="relu", **k)}  # fmt: skip
X = np.random.default_rng(0).normal(size=(3, 6, 3))
LENGTHS = np.array([6, 2, 4])
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def pair(kind, seq=True, dtype="float32"):
    fw = lk.Sequential([CLASSES[kind](return_sequences=seq)], input_size=3, seed=1, dtype=dtype)
    bw = lk.Sequential([CLASSES[kind](return_sequences=seq, go_backwards=True)], input_size=3,
                       seed=2, dtype=dtype)  # fmt: skip
    for k, v in fw.layers[0].params.items():
        bw.layers[0].params[k + "_reverse"][...] = v
    return fw, bw


@pytest.mark.parametrize("kind", sorted(CLASSES))
def test_a_backwards_layer_is_the_forward_layer_on_the_reversed_valid_part(kind):
    fw, bw = pair(kind)
    got = bw.predict(X, lengths=LENGTHS)
    for b, L in enumerate(LENGTHS):
        want = fw.predict(X[b : b + 1, :L][:, ::-1])[0][::-1]
        np.testing.assert_allclose(got[b, :L], want, rtol=0, atol=1e-6)
        assert not np.any(got[b, L:])
    fw1, bw1 = pair(kind, seq=False)
    for b, L in enumerate(LENGTHS):  # many-to-one: the state after reading back to step 0
        want = fw1.predict(X[b : b + 1, :L][:, ::-1])[0]
        np.testing.assert_allclose(bw1.predict(X, lengths=LENGTHS)[b], want, rtol=0, atol=1e-6)


@pytest.mark.parametrize("kind", sorted(CLASSES))
def test_gradients_match_finite_differences(kind):
    _, model = pair(kind, dtype="float64")
    x = X[:2, :5]
    lengths = np.array([5, 3])
    y = np.random.default_rng(3).normal(size=(2, 5, 4))
    loss_fn = get_loss("mse")
    _, g = loss_fn(model.forward(x, lengths, training=True), y)
    model.backward(g)
    for key, grad in model.layers[0].grads.items():
        num = numerical_grad(lambda: loss_fn(model.forward(x, lengths), y)[0],
                             model.layers[0].params[key])  # fmt: skip
        assert rel_error(grad, num) < 1e-6, key


def test_options_that_cannot_go_with_it_are_refused():
    with pytest.raises(ValueError, match="already has its reverse direction"):
        lk.LSTM(3, go_backwards=True, bidirectional=True)
    with pytest.raises(ValueError, match="stateful=True needs a unidirectional forward layer"):
        lk.GRU(3, go_backwards=True, stateful=True)
    _, bw = pair("gru")
    with pytest.raises(ValueError, match="a go_backwards layer reads each sequence from its end"):
        bw.step(X[:, 0])


def test_model_files_keep_it(tmp_path):
    _, bw = pair("lstm")
    bw.save(tmp_path / "m.safetensors")
    back = lk.load(tmp_path / "m.safetensors")
    assert back.layers[0].go_backwards
    np.testing.assert_array_equal(back.predict(X, lengths=LENGTHS), bw.predict(X, lengths=LENGTHS))


def test_onnx_writes_a_reverse_node_that_onnxruntime_agrees_with(tmp_path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from lstmkit.interop import from_onnx, to_onnx

    _, bw = pair("gru")
    path = to_onnx(bw, tmp_path / "m.onnx", lengths=True)
    node = next(n for n in onnx.load(str(path)).graph.node if n.op_type == "GRU")
    assert any(a.name == "direction" and a.s == b"reverse" for a in node.attribute)
    x = X.astype(np.float32)
    (ref,) = ort.InferenceSession(str(path)).run(
        None, {"x": x, "lengths": LENGTHS.astype(np.int32)}
    )
    np.testing.assert_allclose(bw.predict(x, lengths=LENGTHS), ref, rtol=0, atol=1e-5)
    back = from_onnx(path)
    assert back.layers[0].go_backwards
    np.testing.assert_array_equal(back.predict(x, lengths=LENGTHS), bw.predict(x, lengths=LENGTHS))


def test_keras_go_backwards_many_to_one_both_ways(tmp_path):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    pytest.importorskip("h5py")
    from lstmkit.interop import InteropError, from_keras, to_keras

    km = keras.Sequential([keras.Input((None, 3)), keras.layers.LSTM(4, go_backwards=True),
                           keras.layers.Dense(1)])  # fmt: skip
    x = X.astype(np.float32)
    km.save(tmp_path / "k.keras")
    model = from_keras(tmp_path / "k.keras")
    want = keras.ops.convert_to_numpy(km(x))
    np.testing.assert_allclose(model.predict(x), want, rtol=0, atol=1e-5)
    to_keras(model, tmp_path / "back.keras")
    again = keras.saving.load_model(tmp_path / "back.keras")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(again(x)), want, rtol=0, atol=1e-5)
    gru = keras.layers.GRU(2, go_backwards=True, return_sequences=True)
    seq = keras.Sequential([keras.Input((None, 3)), gru])
    seq.save(tmp_path / "s.keras")
    with pytest.raises(InteropError, match="returns the steps in reversed order"):
        from_keras(tmp_path / "s.keras")
    _, bw = pair("gru")
    with pytest.raises(InteropError, match="only a many-to-one go_backwards layer"):
        to_keras(bw, tmp_path / "no.keras")


def test_pytorch_has_no_such_layer_and_says_so():
    pytest.importorskip("torch")
    from lstmkit.interop import InteropError, to_torch

    _, bw = pair("gru")
    with pytest.raises(InteropError, match="PyTorch has no reverse-only recurrent layer"):
        to_torch(bw)


def backwards_stack():
    """A go_backwards LSTM under a GRU and a Dense head, for the C exports (needs gcc)."""
    from tests.export.conftest import GCC

    if GCC is None:
        pytest.skip("gcc is not installed")
    return lk.Sequential([lk.LSTM(4, go_backwards=True, return_sequences=True),
                          lk.GRU(3), lk.Dense(2)], input_size=3, seed=4)  # fmt: skip


@pytest.mark.one_backend
def test_c_export_runs_it_on_whole_sequences(tmp_path):
    from tests.export.conftest import compile_and_run

    model = backwards_stack()
    x = X[:, :5].astype(np.float32)
    got, _ = compile_and_run(model, x, tmp_path, max_steps=5)
    np.testing.assert_allclose(got, model.predict(x).astype(np.float64).ravel(), rtol=0,
                               atol=1e-5)  # fmt: skip


@pytest.mark.one_backend
def test_int8_c_export_is_bit_exact_with_its_python_model(tmp_path):
    from tests.export.test_int8 import build, python_int8

    model = backwards_stack()
    x = X[:2, :5].astype(np.float32)
    cal = np.random.default_rng(1).normal(size=(4, 5, 3))
    got = build(model, x, tmp_path, cal, max_steps=5)
    _, ref = python_int8(model, x, cal, 5)
    np.testing.assert_array_equal(np.ravel(got), np.ravel(ref))
