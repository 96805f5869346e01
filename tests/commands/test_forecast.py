"""``lstmkit forecast`` (the main job) and ``lstmkit plot-gates``, end to end."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import lstmkit as lk
from lstmkit.cli import main

FAST = ["--epochs", "30", "--ensemble", "1", "--hidden", "8", "--lag", "12", "--horizon", "6",
        "--quiet"]  # fmt: skip
FILES = {"forecast.csv", "metrics.json", "forecast.png", "training.png", "model.safetensors",
         "forecaster.json", "cost.md", "cost.json"}  # fmt: skip


def monthly_csv(tmp_path, values, name="series.csv"):
    months = pd.date_range("2001-01", periods=len(values), freq="MS").strftime("%Y-%m")
    path = tmp_path / name
    pd.DataFrame({"month": months, "sales": values}).to_csv(path, index=False)
    return path


def seasonal(n=96):
    t = np.arange(n)
    return 100 + 0.5 * t + 10 * np.sin(2 * np.pi * t / 12)


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "lstmkit", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd)  # fmt: skip


def test_job_writes_every_file(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["forecast", str(monthly_csv(tmp_path, seasonal())), "--out", str(out), *FAST]) == 0
    text = capsys.readouterr().out
    assert "season 12" in text and "seasonal naive" in text and "Forecast beyond the data" in text
    assert {p.name for p in out.iterdir()} == FILES
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["metrics"]) == {"model", "naive", "seasonal naive", "drift", "mean"}
    assert set(metrics["metrics"]["model"]) == {"MAE", "RMSE", "MAPE", "sMAPE", "MASE"}
    table = pd.read_csv(out / "forecast.csv")
    assert list(table["part"]) == ["held_out"] * 6 + ["future"] * 6
    assert list(table["month"])[:2] == ["2008-07-01", "2008-08-01"]
    assert list(table["month"])[6] == "2009-01-01"
    np.testing.assert_allclose(table["actual"][:6], seasonal()[-6:])
    assert (table["lower"] <= table["upper"]).all()
    for png in ("forecast.png", "training.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    model = lk.load(str(out / "model.safetensors"))
    cost = json.loads((out / "cost.json").read_text())
    assert cost["total"]["params"] == model.count_params() and cost["seq_len"] == 12


def test_the_default_job_on_the_bundled_airline_data(tmp_path):
    """Exactly `make run` (lstmkit forecast with no arguments), in a scratch folder."""
    res = run_cli("forecast", "--quiet", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "bundled airline passengers" in res.stdout
    out = tmp_path / "lstmkit-out"
    assert {p.name for p in out.iterdir()} >= FILES
    scores = json.loads((out / "metrics.json").read_text())["metrics"]
    assert scores["model"]["MAPE"] < scores["seasonal naive"]["MAPE"]


def test_constant_series_works_and_warns(tmp_path, capsys):
    out = tmp_path / "out"
    path = monthly_csv(tmp_path, np.full(60, 5.0))
    assert main(["forecast", str(path), "--out", str(out), *FAST]) == 0
    assert "warning: the series is constant" in capsys.readouterr().out
    table = pd.read_csv(out / "forecast.csv")
    np.testing.assert_allclose(table["forecast"], 5.0)


@pytest.mark.parametrize(
    "content, extra, message",
    [
        (None, [], "no CSV file at"),
        ("month,sales\n2001-01,1\n", ["--target", "units"], "target column 'units' not found"),
        ("month,sales\n2001-01,1\n2001-02,x\n", [], "not numeric: line 3 has 'x'"),
        ("month,sales\n2001-01,1\n2001-02,\n2001-03,3\n", [], "1 missing value(s) (lines 3)"),
        ("month,sales\n2001-02,1\n2001-01,2\n", [], "is not sorted"),
        ("month,sales\n2001-01,1\n2001-01,2\n", [], "duplicate timestamps"),
        ("month,sales\n" + "".join(f"2001-{m:02d},{m}\n" for m in range(1, 13)), [],
         "the series has 12 values; lag 12 + horizon 6 + validation 12 + differencing 1 + "
         "the 6 held-out steps need at least 37"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, content, extra, message):
    path = tmp_path / "in.csv"
    if content is not None:
        path.write_text(content)
    out = tmp_path / "out"
    res = run_cli("forecast", str(path), "--out", str(out), *FAST, *extra)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in res.stderr
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".lstmkit-")] == []


def test_fill_option(tmp_path):
    values = seasonal(60).astype(object)
    values[10] = ""
    path = monthly_csv(tmp_path, values)
    out = tmp_path / "out"
    res = run_cli("forecast", str(path), "--out", str(out), "--fill", "interpolate", *FAST)
    assert res.returncode == 0, res.stderr
    assert "(1 filled)" in res.stdout


def test_plot_gates_on_the_job_output_and_on_a_csv(tmp_path, capsys):
    out = tmp_path / "out"
    csv = monthly_csv(tmp_path, seasonal())
    assert main(["forecast", str(csv), "--out", str(out), *FAST]) == 0
    png = tmp_path / "gates.png"
    assert main(["plot-gates", str(out / "model.safetensors"), "--out", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    png2 = tmp_path / "gates2.png"
    assert main(["plot-gates", str(out / "model.safetensors"), str(csv), "--out", str(png2)]) == 0
    assert png2.exists()


def test_plot_gates_errors(tmp_path):
    lstm = lk.Sequential([lk.LSTM(3), lk.Dense(1)], input_size=1)
    lstm.save(str(tmp_path / "lstm.safetensors"))
    res = run_cli("plot-gates", str(tmp_path / "lstm.safetensors"), "--lag", "5")
    assert res.returncode == 2 and "give a CSV" in res.stderr
    gru = lk.Sequential([lk.GRU(3), lk.Dense(1)], input_size=1)
    path = tmp_path / "gru.safetensors"
    gru.save(str(path))
    csv = monthly_csv(tmp_path, seasonal(30))
    res = run_cli("plot-gates", str(path), str(csv), "--lag", "5")
    assert res.returncode == 2 and "has no LSTM layer" in res.stderr
