"""Model files: exact round trips, atomic writes, and one-line errors for bad files."""

import json
import os
import struct

import numpy as np
import pytest

import lstmkit
from lstmkit import GRU, LSTM, RNN, Dense, Dropout, ModelFileError, Sequential


def model():
    return Sequential(
        [
            LSTM(6, return_sequences=True, bidirectional=True, peephole=True, proj_size=4),
            Dropout(0.2),
            GRU(5, reset_after=False, return_sequences=True),
            RNN(3, activation="relu", stateful=True),
            Dense(2, activation="sigmoid"),
        ],
        input_size=3,
        seed=9,
        name="probe",
    )


def test_round_trip_is_exact(tmp_path):
    m = model()
    rng = np.random.default_rng(0)
    for p in m.parameter_list()[0]:
        p[...] = rng.standard_normal(p.shape)
    path = tmp_path / "m.safetensors"
    m.save(path)
    back = lstmkit.load(path)
    assert back.get_config() == m.get_config()
    w, wb = m.get_weights(), back.get_weights()
    assert all(np.array_equal(w[k], wb[k]) and w[k].dtype == wb[k].dtype for k in w)
    x = rng.standard_normal((2, 5, 3))
    m.reset_states()
    np.testing.assert_array_equal(back.predict(x), m.predict(x))
    assert back.layers[3].stateful and back.layers[2].cell.reset_after is False


def test_float64_model_round_trips(tmp_path):
    m = Sequential([LSTM(3), Dense(1)], input_size=2, dtype="float64")
    lstmkit.save(m, tmp_path / "m.safetensors")
    assert lstmkit.load(tmp_path / "m.safetensors").dtype == np.float64


def test_the_file_is_plain_safetensors_with_metadata(tmp_path):
    from safetensors import safe_open

    path = tmp_path / "m.safetensors"
    model().save(path)
    with safe_open(str(path), framework="numpy") as f:
        meta = f.metadata()
        assert set(f.keys()) == set(model().get_weights())
    assert meta["format"] == "lstmkit.model" and meta["format_version"] == "1"
    assert json.loads(meta["architecture"])["layers"][0]["class"] == "LSTM"


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    model().save(path)
    before = path.read_bytes()

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    m2 = Sequential([LSTM(2), Dense(1)], input_size=3)
    with pytest.raises(OSError, match="disk full"):
        m2.save(path)
    assert path.read_bytes() == before  # the old file is untouched
    assert os.listdir(tmp_path) == ["m.safetensors"]  # no temporary file left


def test_saved_file_has_ordinary_permissions(tmp_path):
    path = tmp_path / "m.safetensors"
    model().save(path)
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    assert path.stat().st_mode == plain.stat().st_mode


def test_save_into_a_missing_folder_fails_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        model().save(tmp_path / "nope" / "m.safetensors")


def write_safetensors(path, tensors, metadata):
    from safetensors.numpy import save_file

    save_file(tensors, str(path), metadata=metadata)


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="no model file") as info:
        lstmkit.load(tmp_path / "none.safetensors")
    assert isinstance(info.value, FileNotFoundError)  # as code for open() expects


def test_truncated_file(tmp_path):
    path = tmp_path / "m.safetensors"
    model().save(path)
    data = path.read_bytes()
    for cut in (4, 100, len(data) - 3):
        path.write_bytes(data[:cut])
        with pytest.raises(ModelFileError) as err:
            lstmkit.load(path)
        assert "\n" not in str(err.value)
        assert "truncated" in str(err.value) or "too short" in str(err.value)


def test_corrupt_and_foreign_files(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"PK\x03\x04 this is a zip, not a model" * 10)
    with pytest.raises(ModelFileError, match=r"not safetensors|not a safetensors"):
        lstmkit.load(path)
    header = b"{not json"
    path.write_bytes(struct.pack("<Q", len(header)) + header)
    with pytest.raises(ModelFileError, match="not JSON"):
        lstmkit.load(path)
    write_safetensors(path, {"weight": np.zeros(3, np.float32)}, {"framework": "pt"})
    with pytest.raises(ModelFileError, match="not an lstmkit model"):
        lstmkit.load(path)


def tampered(tmp_path, change):
    """Save the model, then rewrite the file with ``change(tensors, metadata)`` applied."""
    from safetensors import safe_open

    path = tmp_path / "m.safetensors"
    model().save(path)
    with safe_open(str(path), framework="numpy") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        meta = f.metadata()
    change(tensors, meta)
    write_safetensors(path, tensors, meta)
    return path


def test_newer_format_version(tmp_path):
    path = tampered(tmp_path, lambda t, m: m.update(format_version="2"))
    with pytest.raises(ModelFileError, match=r"version 2, newer than this lstmkit reads.*upgrade"):
        lstmkit.load(path)


def test_shape_mismatch_missing_and_extra_tensors(tmp_path):
    path = tampered(tmp_path, lambda t, m: t.update({"dense.W": np.zeros((2, 5), np.float32)}))
    with pytest.raises(ModelFileError, match=r"'dense.W' has shape \(2, 5\) but the architecture"):
        lstmkit.load(path)
    path = tampered(tmp_path, lambda t, m: t.pop("gru.bh"))
    with pytest.raises(ModelFileError, match=r"'gru\.bh' is missing"):
        lstmkit.load(path)
    path = tampered(tmp_path, lambda t, m: t.update({"extra.W": np.zeros(1, np.float32)}))
    with pytest.raises(ModelFileError, match=r"'extra\.W' does not belong"):
        lstmkit.load(path)
    path = tampered(tmp_path, lambda t, m: t.update({"dense.b": np.zeros(2, np.float64)}))
    with pytest.raises(ModelFileError, match="float64 but the architecture says float32"):
        lstmkit.load(path)


def test_invalid_architecture(tmp_path):
    def bad(t, m):
        m["architecture"] = json.dumps({"layers": [{"class": "Conv1D", "config": {}}],
                                        "input_size": 3, "dtype": "float32"})  # fmt: skip

    with pytest.raises(ModelFileError, match=r"architecture metadata is invalid.*Conv1D"):
        lstmkit.load(tampered(tmp_path, bad))


def test_load_never_unpickles(tmp_path):
    import pickle

    path = tmp_path / "m.safetensors"
    path.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ModelFileError):
        lstmkit.load(path)


def test_an_unknown_metadata_entry_is_refused(tmp_path):
    path = tampered(tmp_path, lambda t, m: m.update(comment="edited by hand"))
    with pytest.raises(ModelFileError, match="unknown metadata entry 'comment'"):
        lstmkit.load(path)


SAVE_ONE = """
import sys, lstmkit as lk
m = lk.Sequential([lk.LSTM(4, peephole=True), lk.Dense(1)], input_size=2, seed=0)
m.save(sys.argv[1])
"""


def test_equal_models_give_equal_bytes_in_every_process(tmp_path):
    """safetensors orders the metadata at random per process; lstmkit's files must not
    (four processes: with a random order of four keys, equal bytes by chance is rare)."""
    import subprocess
    import sys

    blobs = set()
    for k in range(4):
        path = tmp_path / f"m{k}.safetensors"
        subprocess.run([sys.executable, "-c", SAVE_ONE, str(path)], check=True, timeout=120)
        blobs.add(path.read_bytes())
        lstmkit.load(path)
    assert len(blobs) == 1


def test_save_refuses_another_suffix(tmp_path):
    with pytest.raises(ValueError, match=r"model files end in \.safetensors.*lstmkit convert"):
        model().save(str(tmp_path / "m.onnx"))
    assert list(tmp_path.iterdir()) == []


def test_a_header_that_claims_a_huge_model_costs_no_memory(tmp_path):
    """A few-KB file whose architecture says hidden_size 1e12 is refused by comparing
    shapes, before any weight is allocated (3 GiB of address space for the process)."""
    import subprocess
    import sys

    def huge(t, m):
        arch = json.loads(m["architecture"])
        arch["layers"][0]["config"]["hidden_size"] = 10**12
        m["architecture"] = json.dumps(arch)

    path = tampered(tmp_path, huge)
    code = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))\n"
        "import lstmkit\n"
        "try:\n    lstmkit.load(sys.argv[1])\n"
        "except lstmkit.ModelFileError as e:\n    print(e)\n"
    )
    res = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "has shape" in res.stdout and "but the architecture needs" in res.stdout
