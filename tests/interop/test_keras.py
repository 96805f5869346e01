"""Keras 3 files ⇄ lstmkit, tested against real Keras on the torch backend."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("h5py")

import lstmkit as lk  # noqa: E402
from lstmkit.interop import InteropError, InteropWarning, from_keras, to_keras  # noqa: E402

TOL = 1e-5
# Keras's own notices on the torch backend, not ours.
pytestmark = pytest.mark.filterwarnings(
    "ignore::DeprecationWarning", "ignore:You are using a softmax:UserWarning"
)


def keras_predict(km, x):
    return keras.ops.convert_to_numpy(km(x))


def random_keras(seed):
    rng = np.random.default_rng(seed)
    L = keras.layers
    layers = [keras.Input((None, int(rng.integers(1, 5))))]
    n = int(rng.integers(1, 4))
    last_seq = bool(rng.integers(2))
    for k in range(n):
        units, seq = int(rng.integers(1, 6)), k < n - 1 or last_seq
        kind = int(rng.integers(5))
        if kind == 0:
            cell = L.LSTM(units, return_sequences=seq)
        elif kind == 1:
            cell = L.GRU(units, return_sequences=seq)
        elif kind == 2:
            cell = L.GRU(units, reset_after=False, return_sequences=seq)
        else:
            cell = L.SimpleRNN(units, activation=["tanh", "relu"][kind - 3], return_sequences=seq)
        layers.append(L.Bidirectional(cell) if rng.integers(2) else cell)
        if rng.integers(3) == 0:
            layers.append(L.Dropout(0.2))
    for _ in range(int(rng.integers(0, 3))):
        act = ["linear", "relu", "tanh", "sigmoid", "softmax"][int(rng.integers(5))]
        layers.append(L.Dense(int(rng.integers(1, 4)), activation=act))
    km = keras.Sequential(layers)
    for w in km.weights:
        w.assign(rng.uniform(-0.6, 0.6, w.shape).astype("float32"))  # non-zero biases
    x = rng.normal(size=(3, int(rng.integers(1, 7)), layers[0].shape[-1])).astype("float32")
    return km, x


@pytest.mark.parametrize("seed", range(16))
def test_from_keras_matches_keras(seed, tmp_path):
    km, x = random_keras(seed)
    path = tmp_path / "m.keras"
    km.save(path)
    model = from_keras(path)
    expected = keras_predict(km, x)
    assert np.std(expected) > 0 or expected.size == 1
    np.testing.assert_allclose(model.predict(x), expected, rtol=0, atol=TOL)


@pytest.mark.parametrize("seed", range(16))
def test_to_keras_loads_in_keras_and_round_trips(seed, tmp_path):
    km, x = random_keras(seed)
    km.save(tmp_path / "src.keras")
    model = from_keras(tmp_path / "src.keras")
    path = to_keras(model, tmp_path / "out.keras")
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(keras_predict(loaded, x), model.predict(x), rtol=0, atol=TOL)
    back = from_keras(path)
    for layer in model.layers:  # a reset_after=False GRU keeps one Keras bias: bh folds in
        if isinstance(layer, lk.GRU) and not layer.cell.reset_after:
            for k in [k for k in layer.params if k.startswith("bh")]:
                layer.params[k][...] = 0
    back_exact = from_keras(to_keras(model, tmp_path / "again.keras"))
    for a, b in zip(model.parameter_list()[0], back_exact.parameter_list()[0], strict=True):
        assert np.array_equal(a, b)
    assert len(back.layers) == len(model.layers)


def test_gru_reset_after_false_folds_its_biases(tmp_path):
    model = lk.Sequential([lk.GRU(3, reset_after=False)], input_size=2)
    rng = np.random.default_rng(0)
    for v in model.layers[0].params.values():
        v[...] = rng.uniform(-0.6, 0.6, v.shape)
    x = rng.normal(size=(2, 5, 2)).astype("float32")
    loaded = keras.saving.load_model(to_keras(model, tmp_path / "g.keras"))
    np.testing.assert_allclose(keras_predict(loaded, x), model.predict(x), rtol=0, atol=TOL)


def test_refusals_name_what_is_unsupported(tmp_path):
    L = keras.layers
    conv = keras.Sequential([keras.Input((None, 3)), L.Conv1D(2, 3), L.LSTM(2)])
    conv.save(tmp_path / "conv.keras")
    with pytest.raises(InteropError, match="unsupported Keras layer Conv1D"):
        from_keras(tmp_path / "conv.keras")
    summed = keras.Sequential(
        [keras.Input((None, 3)), L.Bidirectional(L.LSTM(2), merge_mode="sum")]
    )
    summed.save(tmp_path / "sum.keras")
    with pytest.raises(InteropError, match="merge_mode 'sum'"):
        from_keras(tmp_path / "sum.keras")
    relu = keras.Sequential([keras.Input((None, 3)), L.LSTM(2, activation="relu")])
    relu.save(tmp_path / "relu.keras")
    with pytest.raises(InteropError, match="activation 'relu'"):
        from_keras(tmp_path / "relu.keras")
    with pytest.raises(InteropError, match="no peepholes or projection"):
        to_keras(lk.Sequential([lk.LSTM(3, peephole=True)], input_size=2), tmp_path / "p.keras")
    assert not (tmp_path / "p.keras").exists()
    (tmp_path / "bad.keras").write_bytes(b"not a zip")
    with pytest.raises(InteropError, match=r"not a Keras 3 \.keras file"):
        from_keras(tmp_path / "bad.keras")
    with pytest.raises(InteropError, match="no Keras file at"):
        from_keras(tmp_path / "none.keras")


def test_training_only_dropout_is_reported_not_silently_dropped(tmp_path):
    km = keras.Sequential([keras.Input((None, 2)), keras.layers.LSTM(3, recurrent_dropout=0.2)])
    km.save(tmp_path / "d.keras")
    with pytest.warns(InteropWarning, match="recurrent_dropout"):
        from_keras(tmp_path / "d.keras")


def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path, monkeypatch):
    import zipfile

    from lstmkit.interop import keras_io

    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", "{}")
        with z.open("model.weights.h5", "w") as f:
            for _ in range(8):
                f.write(bytes(1 << 20))  # 8 MiB of zeros, a few KB packed
    monkeypatch.setattr(keras_io, "MAX_WEIGHTS_BYTES", 1 << 20)
    assert path.stat().st_size < 100_000
    with pytest.raises(
        InteropError, match=r"'model.weights.h5' unpacks to 8,388,608 bytes.*zip bomb"
    ):
        keras_io.from_keras(path)
