"""Every user error, table-driven: exit code 2, one line on stderr naming what is wrong,
no traceback, and no file written (in the working folder or beside the inputs)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lstmkit.cli import main
from lstmkit.layers import GRU, LSTM, Dense
from lstmkit.models.sequential import Sequential


def _daily(n=80, freq="D"):
    ds = pd.date_range("2020-01-01", periods=n, freq=freq)
    return pd.DataFrame({"date": ds.strftime("%Y-%m-%d"), "value": 50 + np.sin(np.arange(n))})


def _csvs(d: Path) -> None:
    good = _daily()
    good.to_csv(d / "good.csv", index=False)
    (d / "empty.csv").write_text("")
    (d / "header.csv").write_text("date,value\n")
    bad = good.copy()
    bad["value"] = bad["value"].astype(object)
    bad.loc[5, "value"] = "abc"
    bad.to_csv(d / "text.csv", index=False)
    bad = good.copy()
    bad.loc[[3, 9], "value"] = np.nan
    bad.to_csv(d / "missing.csv", index=False)
    bad = good.copy()
    bad.loc[20, "date"] = "not-a-date"
    bad.to_csv(d / "baddate.csv", index=False)
    good.drop(index=30).to_csv(d / "gap.csv", index=False)
    bad = good.copy()
    bad.loc[10, "date"] = "2020-01-11 03:00"
    bad.to_csv(d / "offgrid.csv", index=False)
    rng = np.random.default_rng(0)
    ds = pd.date_range("2020-01-01", periods=80, freq="D")
    ds = ds + pd.to_timedelta(rng.integers(0, 20, 80), unit="h")
    pd.DataFrame({"t": ds, "v": np.arange(80.0)}).to_csv(d / "irregular.csv", index=False)
    bad = good.copy()
    bad.loc[7, "date"] = bad.loc[6, "date"]
    bad.to_csv(d / "duplicate.csv", index=False)
    bad = good.copy()
    bad.loc[[7, 8], "date"] = bad.loc[[8, 7], "date"].to_numpy()
    bad.to_csv(d / "unsorted.csv", index=False)
    bad = good.copy()
    bad["value"] = bad["value"] * 1e300
    bad.to_csv(d / "huge.csv", index=False)
    bad = good.copy()
    bad.loc[4, "value"] = np.inf
    bad.to_csv(d / "inf.csv", index=False)
    pd.DataFrame({"year": np.arange(1900, 1980), "v": np.arange(80.0)}).to_csv(
        d / "years.csv", index=False
    )
    (d / "binary.csv").write_bytes(b"\xff\xfe\x00\x81garbage\x00")
    pd.DataFrame({"date": good["date"]}).to_csv(d / "onlytime.csv", index=False)
    month = pd.date_range("2000-01-01", periods=40, freq="MS")
    panel = pd.concat([
        pd.DataFrame({"unique_id": "a", "ds": month, "y": np.arange(40.0)}),
        pd.DataFrame({"unique_id": "b", "ds": pd.date_range("2000-01-01", periods=40, freq="D"),
                      "y": np.arange(40.0)}),
    ])  # fmt: skip
    panel.to_csv(d / "mixed.csv", index=False)
    panel = pd.DataFrame({"unique_id": ["a"] * 40 + [None] * 40,
                          "ds": list(month) * 2, "y": np.arange(80.0)})  # fmt: skip
    panel.to_csv(d / "noid.csv", index=False)
    pd.DataFrame({"unique_id": ["a"] * 5, "when": month[:5], "y": np.arange(5.0)}).to_csv(
        d / "idnods.csv", index=False
    )
    (d / "semicolon.csv").write_text("a;b\n1;2,5\n2;3,5\n")
    pd.DataFrame({"x": [1.0, 2.0], "y": [3.0, 4.0]}).to_csv(d / "calib2.csv", index=False)


def _models(d: Path) -> None:
    from lstmkit.interop.files import write_model

    lstm = Sequential([LSTM(4), Dense(1)], input_size=1, seed=0)
    lstm.save(str(d / "lstm.safetensors"))
    Sequential([GRU(3), Dense(1)], input_size=1, seed=0).save(str(d / "gru.safetensors"))
    Sequential([LSTM(3, bidirectional=True), Dense(1)], input_size=2, seed=0).save(
        str(d / "bi.safetensors")
    )
    blob = (d / "lstm.safetensors").read_bytes()
    (d / "truncated.safetensors").write_bytes(blob[: len(blob) // 2])
    (d / "random.safetensors").write_bytes(np.random.default_rng(0).bytes(600))
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8 : 8 + n])
    for name, edit in (("unknownkey", lambda h: h["__metadata__"].update(extra="1")),
                       ("renamed", lambda h: h.update({"lstm.Wq": h.pop("lstm.Wx")}))):  # fmt: skip
        h = json.loads(json.dumps(header))
        edit(h)
        raw = json.dumps(h).encode()
        raw += b" " * (-len(raw) % 8)
        body = len(raw).to_bytes(8, "little") + raw + blob[8 + n :]
        (d / f"{name}.safetensors").write_bytes(body)
    huge = json.loads(json.dumps(header))
    arch = json.loads(huge["__metadata__"]["architecture"])
    arch["layers"][0]["config"]["hidden_size"] = 10**12
    huge["__metadata__"]["architecture"] = json.dumps(arch)
    raw = json.dumps(huge).encode()
    raw += b" " * (-len(raw) % 8)
    (d / "huge.safetensors").write_bytes(len(raw).to_bytes(8, "little") + raw + blob[8 + n :])

    # Gate plots: a model with a corrupt and with a foreign forecaster.json beside it.
    for sub, text in (("badjson", '{"format'), ("foreign", '{"format": "other", "version": 2}')):
        (d / sub).mkdir()
        lstm.save(str(d / sub / "model.safetensors"))
        (d / sub / "forecaster.json").write_text(text)

    (d / "m.keras").write_bytes(b"")
    write_model(lstm, d / "m.keras")
    (d / "notzip.keras").write_bytes(b"not a zip file")
    with zipfile.ZipFile(d / "m.keras") as z:
        entries = {i.filename: z.read(i.filename) for i in z.infolist()}
    with zipfile.ZipFile(d / "badh5.keras", "w") as z:
        for name, data in entries.items():
            z.writestr(name, b"garbage, not HDF5" if name == "model.weights.h5" else data)
    with zipfile.ZipFile(d / "bomb.keras", "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    _claim_size(d / "bomb.keras", "model.weights.h5", 0xFFFFFFF0)
    (d / "folder.onnx").mkdir()
    (d / "garbage.onnx").write_bytes(np.random.default_rng(1).bytes(300))


def _claim_size(path: Path, entry: str, size: int) -> None:
    """Make a zip's central directory claim ``entry`` unpacks to ``size`` bytes (a bomb's
    signature, without writing gigabytes)."""
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02" + data[data.find(b"PK\x01\x02") + 4 :][:0])
    while at != -1:
        name_len = int.from_bytes(data[at + 28 : at + 30], "little")
        if data[at + 46 : at + 46 + name_len] == entry.encode():
            data[at + 24 : at + 28] = size.to_bytes(4, "little")
        at = data.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(data))


def _torch_files(d: Path) -> None:
    torch = pytest.importorskip("torch")
    from lstmkit.interop.files import write_model

    lstm = Sequential([LSTM(4), Dense(1)], input_size=1, seed=0)
    write_model(lstm, d / "m.pt")
    torch.save({"w": torch.zeros(2), "x": _Opaque()}, str(d / "evil.pt"))
    for name, sidecar in (("badside", "{not json"),
                          ("hugeside", json.dumps({"format": "lstmkit.torch_state_dict",
                                                   "config": _huge_config(lstm)}))):  # fmt: skip
        (d / f"{name}.pt").write_bytes((d / "m.pt").read_bytes())
        (d / f"{name}.pt.json").write_text(sidecar)


def _onnx_external(d: Path) -> None:
    onnx = pytest.importorskip("onnx")
    from lstmkit.interop.files import write_model

    write_model(Sequential([LSTM(4), Dense(1)], input_size=1, seed=0), d / "m.onnx")
    proto = onnx.load(str(d / "m.onnx"))
    t = proto.graph.initializer[0]
    t.ClearField("raw_data")
    t.data_location = onnx.TensorProto.EXTERNAL
    entry = t.external_data.add()
    entry.key, entry.value = "location", "../../../../etc/passwd"
    (d / "external.onnx").write_bytes(proto.SerializeToString())


class _Opaque:
    pass


def _huge_config(model) -> dict:
    config = model.get_config()
    config["layers"][0]["config"]["hidden_size"] = 10**9
    return config


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("inputs")
    _csvs(d)
    _models(d)
    return d


F = ["--quiet", "--epochs", "1", "--ensemble", "1"]

# (id, argv with {d} for the inputs folder, words the one line must contain)
CASES = [
    # forecast: the CSV
    ("missing file", ["forecast", "{d}/nope.csv"], "no CSV file at"),
    ("a folder as CSV", ["forecast", "{d}"], "no CSV file at"),
    ("empty file", ["forecast", "{d}/empty.csv"], "cannot read"),
    ("header only", ["forecast", "{d}/header.csv"], "no data rows"),
    ("not UTF-8", ["forecast", "{d}/binary.csv"], "not UTF-8"),
    ("text in values", ["forecast", "{d}/text.csv"], "line 7 has 'abc'"),
    ("missing values", ["forecast", "{d}/missing.csv"], "--fill"),
    ("infinite value", ["forecast", "{d}/inf.csv"], "infinite"),
    ("values near 1e302", ["forecast", "{d}/huge.csv"], "too large to forecast"),
    ("bad date", ["forecast", "{d}/baddate.csv"], "line 22 has 'not-a-date'"),
    ("a missing day", ["forecast", "{d}/gap.csv"], "skips 1 step(s) of 'D'"),
    ("a step off the grid", ["forecast", "{d}/offgrid.csv"], "--freq D"),
    ("irregular steps", ["forecast", "{d}/irregular.csv"], "no regular step"),
    ("duplicate date", ["forecast", "{d}/duplicate.csv"], "is on lines 8, 9"),
    ("unsorted", ["forecast", "{d}/unsorted.csv"], "not sorted"),
    ("only a time column", ["forecast", "{d}/onlytime.csv"], "only a time column ('date')"),
    ("mixed frequencies", ["forecast", "{d}/mixed.csv"], "different frequencies"),
    ("empty ids", ["forecast", "{d}/noid.csv"], "id column 'unique_id' is empty"),
    ("id but no ds", ["forecast", "{d}/idnods.csv"], "give --time COL"),
    ("no such target", ["forecast", "{d}/good.csv", "--target", "sales"], "'sales' not found"),
    ("no such time", ["forecast", "{d}/good.csv", "--time", "when"], "'when' not found"),
    ("no such id", ["forecast", "{d}/good.csv", "--id", "store"], "'store' not found"),
    ("sep equals decimal", ["forecast", "{d}/semicolon.csv", "--sep", ",", "--decimal", ","],
     "cannot both be"),
    ("freq unknown", ["forecast", "{d}/good.csv", "--freq", "fortnightly"],
     "not a pandas frequency"),
    ("freq on numbers", ["forecast", "{d}/years.csv", "--freq", "D"], "--freq applies to dates"),
    # forecast: the flags
    ("horizon 0", ["forecast", "--horizon", "0"], "argument --horizon"),
    ("horizon text", ["forecast", "--horizon", "abc"], "argument --horizon"),
    ("horizon too long", ["forecast", "{d}/good.csv", "--horizon", "60"], "lower --horizon"),
    ("seed -1", ["forecast", "--seed", "-1"], "argument --seed"),
    ("epochs 0", ["forecast", "--epochs", "0"], "argument --epochs"),
    ("ensemble 0", ["forecast", "--ensemble", "0"], "argument --ensemble"),
    ("hidden -5", ["forecast", "--hidden", "-5"], "argument --hidden"),
    ("lag 0", ["forecast", "--lag", "0"], "argument --lag"),
    ("season 0", ["forecast", "--season", "0"], "argument --season"),
    ("unknown cell", ["forecast", "--cell", "lstm2"], "argument --cell"),
    ("unknown fill", ["forecast", "--fill", "zero"], "argument --fill"),
    ("unknown option", ["forecast", "--bogus"], "unrecognized arguments: --bogus"),
    ("hidden of 1e8 units", ["forecast", "--hidden", "100000000"], "10,000,000"),
    ("ensemble of 1000", ["forecast", "--ensemble", "1000"], "more than the 100 networks"),
    ("out under a file", ["forecast", "--out", "{d}/good.csv/out", *F], "is a file, not a folder"),
    # demo and analyze
    ("demo huge input", ["demo", "--input-size", "10000000"], "limited to 256 MiB"),
    ("demo batch 0", ["demo", "--batch", "0"], "argument --batch"),
    ("demo seed -1", ["demo", "--seed", "-1"], "argument --seed"),
    ("unknown command", ["frobnicate"], "invalid choice"),
    ("analyze no seq-len", ["analyze", "--input-size", "3", "--layers", "lstm:4"], "--seq-len"),
    ("analyze bad size", ["analyze", "--input-size", "3", "--layers", "lstm:abc", "--seq-len", "4"],
     "whole number"),
    ("analyze fractional", ["analyze", "--input-size", "3", "--layers", "lstm:8.5", "--seq-len",
                            "4"],
     "whole number"),
    ("analyze bad kind", ["analyze", "--input-size", "3", "--layers", "foo:3", "--seq-len", "4"],
     "unknown layer kind 'foo'"),
    ("analyze input 0", ["analyze", "--input-size", "0", "--layers", "lstm:3", "--seq-len", "4"],
     "argument --input-size"),
    ("analyze missing model", ["analyze", "{d}/nope.safetensors", "--seq-len", "4"],
     "no model file"),
    ("analyze random bytes", ["analyze", "{d}/random.safetensors", "--seq-len", "4"],
     "random.safetensors: the safetensors header claims"),
    ("analyze truncated", ["analyze", "{d}/truncated.safetensors", "--seq-len", "4"],
     "truncated.safetensors: the safetensors header claims"),
    ("analyze 1e12 units in the header", ["analyze", "{d}/huge.safetensors", "--seq-len", "4"],
     "huge.safetensors"),
    ("unknown metadata key", ["analyze", "{d}/unknownkey.safetensors", "--seq-len", "4"],
     "unknown metadata entry 'extra'"),
    ("renamed tensor", ["analyze", "{d}/renamed.safetensors", "--seq-len", "4"],
     "and the file has 'lstm.Wq' instead"),
    # plot-gates
    ("gates lag -3", ["plot-gates", "{d}/lstm.safetensors", "--lag", "-3"], "argument --lag"),
    ("gates out without .png", ["plot-gates", "{d}/lstm.safetensors", "{d}/good.csv", "--lag", "5",
                                "--out", "pictures"], "must name a .png file"),
    ("gates out jpg", ["plot-gates", "{d}/lstm.safetensors", "{d}/good.csv", "--lag", "5",
                       "--out", "g.jpg"], "must name a .png file"),
    ("gates no lag", ["plot-gates", "{d}/lstm.safetensors", "{d}/good.csv"], "give --lag"),
    ("gates no csv", ["plot-gates", "{d}/lstm.safetensors", "--lag", "5"], "give a CSV"),
    ("gates no LSTM", ["plot-gates", "{d}/gru.safetensors", "{d}/good.csv", "--lag", "5"],
     "no LSTM layer"),
    ("gates corrupt forecaster.json", ["plot-gates", "{d}/badjson/model.safetensors"],
     "forecaster.json': not valid JSON"),
    ("gates foreign forecaster.json", ["plot-gates", "{d}/foreign/model.safetensors"],
     "not an lstmkit forecaster.json"),
    ("gates missing model", ["plot-gates", "{d}/nope.safetensors", "--lag", "5"], "no model file"),
    # convert
    ("convert unknown format", ["convert", "{d}/lstm.safetensors", "out.txt"],
     "unknown format '.txt'"),
    ("convert no extension", ["convert", "{d}/lstm.safetensors", "out"], "(no extension)"),
    ("convert to a folder", ["convert", "{d}/lstm.safetensors", "{d}/folder.onnx"],
     "folder.onnx': is a folder; give a file name"),
    ("convert into a missing folder", ["convert", "{d}/lstm.safetensors", "nodir/m.onnx"],
     "folder does not exist"),
    ("convert missing input", ["convert", "{d}/nope.keras", "m.safetensors"], "no file at"),
    ("convert --lengths to keras", ["convert", "{d}/lstm.safetensors", "m.keras", "--lengths"],
     "--lengths applies to .onnx outputs"),
    ("convert --layers for safetensors", ["convert", "{d}/lstm.safetensors", "m.onnx", "--layers",
                                          "lstm:3"], "--layers describes a .pt input"),
    ("keras not a zip", ["convert", "{d}/notzip.keras", "m.safetensors"],
     "not a Keras 3 .keras file"),
    ("keras bad h5", ["convert", "{d}/badh5.keras", "m.safetensors"],
     "badh5.keras': its model.weights.h5 is not a readable HDF5 file"),
    ("keras zip bomb", ["convert", "{d}/bomb.keras", "m.safetensors"], "zip bomb"),
    ("onnx garbage", ["convert", "{d}/garbage.onnx", "m.safetensors"], "garbage.onnx"),
    # export
    ("export calibrate without int8", ["export", "{d}/lstm.safetensors", "--to", "c", "--out", "c",
                                       "--calibrate", "{d}/good.csv"], "add --dtype int8"),
    ("export int8 without calibrate", ["export", "{d}/lstm.safetensors", "--to", "c", "--out", "c",
                                       "--dtype", "int8"], "needs --calibrate"),
    ("export out is a file", ["export", "{d}/lstm.safetensors", "--to", "c", "--out",
                              "{d}/good.csv"], "not a folder"),
    ("export bad name", ["export", "{d}/lstm.safetensors", "--to", "c", "--out", "c", "--name",
                         "bad name"], "C identifier"),
    ("export to python", ["export", "{d}/lstm.safetensors", "--to", "python", "--out", "c"],
     "argument --to"),
    ("export max-steps 0", ["export", "{d}/lstm.safetensors", "--to", "c", "--out", "c",
                            "--max-steps", "0"], "argument --max-steps"),
    ("export max-steps unidirectional", ["export", "{d}/lstm.safetensors", "--to", "c", "--out",
                                         "c", "--max-steps", "10"], "this model is unidirectional"),
    ("export max-steps 1e12", ["export", "{d}/bi.safetensors", "--to", "c", "--out", "c",
                               "--max-steps", "1000000000000"], "lower max_steps"),
    ("export calibration columns", ["export", "{d}/lstm.safetensors", "--to", "c", "--out", "c",
                                    "--dtype", "int8", "--calibrate", "{d}/calib2.csv"],
     "1 input column"),
]  # fmt: skip

TORCH_CASES = [
    ("pt with a pickled object", ["convert", "{d}/evil.pt", "m.safetensors"],
     "holds more than tensors"),
    ("pt with a corrupt sidecar", ["convert", "{d}/badside.pt", "m.safetensors"],
     "badside.pt.json': not valid JSON"),
    ("pt sidecar claiming 1e9 units", ["convert", "{d}/hugeside.pt", "m.safetensors"],
     "hugeside.pt.json': its architecture has"),
]  # fmt: skip


def listing(*folders: Path) -> set[str]:
    return {str(p) for f in folders for p in f.rglob("*")}


def check_one_line_error(argv, expected, cwd: Path, inputs: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("LSTMKIT_DEBUG", raising=False)
    before = listing(cwd, inputs)
    capsys.readouterr()
    try:
        code = main([a.format(d=inputs) for a in argv])
    except SystemExit as exc:  # argparse exits by itself
        code = exc.code
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert "Traceback" not in err and "error:" in lines[0]
    assert expected in lines[0], lines[0]
    assert listing(cwd, inputs) == before, "a file was written"


def test_the_table_is_large():
    assert len(CASES) + len(TORCH_CASES) >= 60


@pytest.mark.parametrize("argv, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input(argv, expected, inputs, tmp_path, capsys, monkeypatch):
    check_one_line_error(argv, expected, tmp_path, inputs, capsys, monkeypatch)


@pytest.mark.parametrize("argv, expected", [c[1:] for c in TORCH_CASES],
                         ids=[c[0] for c in TORCH_CASES])  # fmt: skip
def test_bad_torch_input(argv, expected, inputs, tmp_path, capsys, monkeypatch):
    if not (inputs / "m.pt").exists():
        _torch_files(inputs)
    check_one_line_error(argv, expected, tmp_path, inputs, capsys, monkeypatch)


def test_onnx_external_data_is_never_followed_out_of_the_models_folder(
    inputs, tmp_path, capsys, monkeypatch
):
    if not (inputs / "external.onnx").exists():
        _onnx_external(inputs)
    check_one_line_error(["convert", "{d}/external.onnx", "m.safetensors"],
                         "points to '../../../../etc/passwd'; lstmkit reads external weights "
                         "only from a file beside the model", tmp_path, inputs, capsys,
                         monkeypatch)  # fmt: skip
