"""Legacy HDF5 Keras models (``model.save('m.h5')``): files written by real Keras 3 on the
torch backend, a tf.keras 2.x layout built with h5py, TimeDistributed(Dense), Masking
refused by name, and ``lstmkit convert m.h5``."""

import json
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest

keras = pytest.importorskip("keras")
h5py = pytest.importorskip("h5py")

from lstmkit.cli import main  # noqa: E402
from lstmkit.interop import InteropError, from_keras  # noqa: E402
from tests.interop.test_keras import keras_predict, random_keras  # noqa: E402

pytestmark = [pytest.mark.one_backend, pytest.mark.filterwarnings("ignore")]
TOL = 1e-5
L = keras.layers


@pytest.mark.parametrize("seed", range(12))
def test_keras3_legacy_h5_models_import_exactly(seed, tmp_path):
    km, x = random_keras(seed)
    km.save(tmp_path / "m.h5")
    model = from_keras(tmp_path / "m.h5")
    np.testing.assert_allclose(model.predict(x), keras_predict(km, x), rtol=0, atol=TOL)


def chain(*layers, D=3):
    km = keras.Sequential([keras.Input((None, D)), *layers])
    rng = np.random.default_rng(7)
    for w in km.weights:
        w.assign(rng.uniform(-0.6, 0.6, tuple(w.shape)).astype(np.float32))
    return km


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_time_distributed_dense_is_dense_on_every_step(suffix, tmp_path):
    km = chain(L.GRU(5, return_sequences=True), L.TimeDistributed(L.Dense(2, activation="tanh")),
               L.Dense(1))  # fmt: skip
    km.save(tmp_path / f"m{suffix}")
    x = np.random.default_rng(1).normal(size=(2, 6, 3)).astype(np.float32)
    model = from_keras(tmp_path / f"m{suffix}")
    np.testing.assert_allclose(model.predict(x), keras_predict(km, x), rtol=0, atol=TOL)


def padded(rng, lengths, T=6, D=3, value=0.0):
    x = rng.normal(size=(len(lengths), T, D)).astype(np.float32)
    for b, L in enumerate(lengths):
        x[b, L:] = value
    return x


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_masking_on_the_input_becomes_lengths(suffix, tmp_path):
    km = chain(L.Masking(-1.0), L.LSTM(4, return_sequences=True), L.GRU(3), L.Dense(1))
    km.save(tmp_path / f"m{suffix}")
    model = from_keras(tmp_path / f"m{suffix}")
    assert model.mask_value == -1.0
    x = padded(np.random.default_rng(4), [6, 2, 4], value=-1.0)
    np.testing.assert_allclose(model.predict(x), keras_predict(km, x), rtol=0, atol=TOL)
    np.testing.assert_array_equal(model.predict(x), model.predict(x, lengths=[6, 2, 4]))
    x[1, 0] = -1.0  # a masked step before an unmasked one: not trailing padding
    with pytest.raises(ValueError, match=r"x\[1\] step 0 equals mask_value -1 in every feature"):
        model.predict(x)


def test_masking_goes_back_to_keras_and_stays_in_model_files(tmp_path):
    from lstmkit.interop import to_keras, to_onnx

    km = chain(L.Masking(0.0), L.GRU(4), L.Dense(2))
    km.save(tmp_path / "m.keras")
    model = from_keras(tmp_path / "m.keras")
    to_keras(model, tmp_path / "back.keras")
    again = keras.saving.load_model(tmp_path / "back.keras")
    x = padded(np.random.default_rng(5), [6, 3])
    np.testing.assert_allclose(keras_predict(again, x), keras_predict(km, x), rtol=0, atol=TOL)
    model.save(tmp_path / "m.safetensors")
    import lstmkit as lk

    assert lk.load(tmp_path / "m.safetensors").mask_value == 0.0
    with pytest.raises(InteropError, match=r"mask_value 0 .* has no ONNX form"):
        to_onnx(model, tmp_path / "m.onnx")


def test_masking_after_other_layers_is_refused_by_name(tmp_path):
    km = chain(L.LSTM(4, return_sequences=True), L.Masking(0.0), L.GRU(2))
    km.save(tmp_path / "m.keras")
    with pytest.raises(InteropError, match=r"Keras layer 'masking(_\d+)?': Masking after other"):
        from_keras(tmp_path / "m.keras")


def test_a_tf_keras_2_layout_imports(tmp_path):
    """tf.keras 2.x: no InputLayer (the first layer carries batch_input_shape), weight names
    ending in ':0', the cell's weights under '<layer>/<layer>/<cell>/'."""
    km = chain(L.LSTM(4, return_sequences=True), L.Bidirectional(L.GRU(3)), L.Dense(2))
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": []}}
    groups = {}
    for layer in km.layers:
        c = json.loads(json.dumps(keras.saving.serialize_keras_object(layer)))
        c.pop("module", None)
        if not config["config"]["layers"]:
            c["config"]["batch_input_shape"] = [None, None, 3]
        config["config"]["layers"].append({"class_name": c["class_name"], "config": c["config"]})
        # tf.keras 2 names: 'lstm/lstm_cell/kernel:0' (nested groups in the file)
        names = [v.path.split("/", 1)[1] + ":0" for v in layer.weights]
        groups[layer.name] = list(zip(names, [v.numpy() for v in layer.weights], strict=True))
    path = tmp_path / "tf2.h5"
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config)
        f.attrs["keras_version"] = "2.13.1"
        f.attrs["backend"] = "tensorflow"
        mw = f.create_group("model_weights")
        mw.attrs["layer_names"] = [n.encode() for n in groups]
        for lname, items in groups.items():
            g = mw.create_group(lname)
            g.attrs["weight_names"] = [n.encode() for n, _ in items]
            for n, v in items:
                g.create_dataset(n, data=v)
    x = np.random.default_rng(2).normal(size=(2, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(from_keras(path).predict(x), keras_predict(km, x), rtol=0,
                               atol=TOL)  # fmt: skip


def test_weights_only_h5_says_what_is_missing(tmp_path):
    km = chain(L.LSTM(4))
    km.save_weights(tmp_path / "w.weights.h5")
    os.replace(tmp_path / "w.weights.h5", tmp_path / "w.h5")
    with pytest.raises(InteropError, match="holds weights but no model_config"):
        from_keras(tmp_path / "w.h5")


def test_convert_reads_h5_and_refuses_to_write_it(tmp_path, capsys):
    km = chain(L.LSTM(4), L.Dense(1))
    km.save(tmp_path / "m.h5")
    assert main(["convert", str(tmp_path / "m.h5"), str(tmp_path / "m.safetensors")]) == 0
    assert (tmp_path / "m.safetensors").is_file()
    assert main(["convert", str(tmp_path / "m.safetensors"), str(tmp_path / "o.h5")]) == 2
    assert "writes Keras 3's .keras format" in capsys.readouterr().err
    assert not (tmp_path / "o.h5").exists()
