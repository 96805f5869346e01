"""``lstmkit forecast`` (the main job) and ``lstmkit plot-gates``, end to end."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import lstmkit as lk
from lstmkit.cli import main

FAST = ["--epochs", "20", "--ensemble", "1", "--hidden", "8", "--horizon", "6", "--quiet"]
FILES = {"forecast.csv", "holdout.csv", "metrics.json", "forecast.png", "training.png",
         "model.safetensors", "forecaster.json", "cost.md", "cost.json"}  # fmt: skip
METHODS = {"lstm", "naive", "seasonal_naive", "auto_ets", "auto_theta", "combo"}


def monthly_csv(tmp_path, values, name="series.csv"):
    months = pd.date_range("2001-01", periods=len(values), freq="MS").strftime("%Y-%m")
    path = tmp_path / name
    pd.DataFrame({"month": months, "sales": values}).to_csv(path, index=False)
    return path


def seasonal(n=96, level=100.0, phase=0):
    t = np.arange(n) + phase
    return level + 0.5 * t + 10 * np.sin(2 * np.pi * t / 12)


def panel_csv(tmp_path, lengths=(96, 80, 60, 40), name="panel.csv", tail=None):
    frames = []
    for k, n in enumerate(lengths):
        y = seasonal(n, 50 + 30 * k, k)
        if tail is not None:
            y[-6:] = tail(y[-6:])
        ds = pd.date_range("2001-01", periods=n, freq="MS")
        frames.append(pd.DataFrame({"unique_id": f"item{k}", "ds": ds, "y": y}))
    path = tmp_path / name
    pd.concat(frames).to_csv(path, index=False)
    return path


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "lstmkit", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd)  # fmt: skip


def test_job_writes_every_file(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["forecast", str(monthly_csv(tmp_path, seasonal())), "--out", str(out), *FAST]) == 0
    text = capsys.readouterr().out
    assert "season 12 from the 'MS' frequency" in text and "auto_theta" in text
    assert "Forecast beyond the data" in text and "Recommended" in text
    assert {p.name for p in out.iterdir()} == FILES
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["summary"]) == METHODS
    assert set(metrics["per_series"]["sales"]["metrics"]["lstm"]) == {
        "MAE",
        "RMSE",
        "sMAPE",
        "MASE",
        "MAPE",
    }
    rec = metrics["recommended"]
    table = pd.read_csv(out / "forecast.csv")
    assert list(table.columns[:2]) == ["unique_id", "ds"]
    assert METHODS <= set(table.columns) and {"lstm-lo-90", "lstm-hi-90"} <= set(table.columns)
    if rec != "lstm":
        assert {f"{rec}-lo-90", f"{rec}-hi-90"} <= set(table.columns)
    assert list(table["ds"])[:2] == ["2009-01-01", "2009-02-01"]
    assert (table["lstm-lo-90"] <= table["lstm"]).all() and (
        table["lstm"] <= table["lstm-hi-90"]
    ).all()
    held = pd.read_csv(out / "holdout.csv")
    np.testing.assert_allclose(held["y"], seasonal()[-6:])
    for png in ("forecast.png", "training.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    model = lk.load(str(out / "model.safetensors"))
    cost = json.loads((out / "cost.json").read_text())
    assert cost["total"]["params"] == model.count_params() and cost["seq_len"] == 15


def test_a_panel_job(tmp_path, capsys):
    out = tmp_path / "out"
    path = panel_csv(tmp_path, lengths=(96, 80, 60, 40, 12))
    assert main(["forecast", str(path), "--out", str(out), *FAST]) == 0
    text = capsys.readouterr().out
    assert "5 series" in text and "(5 series)" in text
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["series"] == 5 and set(metrics["per_series"]) == {f"item{k}" for k in range(4)}
    assert "too short to hold out 6" in metrics["notes"]["item4"]
    s = metrics["summary"]["lstm"]
    assert s["series"] == 4 and 1 <= s["rank"] <= 6 and 0 <= s["wins_vs_seasonal_naive"] <= 4
    table = pd.read_csv(out / "forecast.csv")
    assert list(table["unique_id"].unique()) == [f"item{k}" for k in range(5)]
    assert (table.groupby("unique_id").size() == 6).all()
    assert np.isfinite(table["lstm"]).all()  # the 12-step series still gets a forecast
    assert {"forecast.png", "summary.png"} <= {p.name for p in out.iterdir()}


def test_the_recommendation_never_reads_the_test_window(tmp_path):
    """Changing every series' last 6 values (the test window) changes the test scores but
    neither the validation scores nor the recommendation."""
    runs = []
    for k, tail in enumerate((None, lambda v: v * 3.0)):
        out = tmp_path / f"out{k}"
        path = panel_csv(tmp_path, name=f"p{k}.csv", tail=tail)
        assert main(["forecast", str(path), "--out", str(out), *FAST]) == 0
        runs.append(json.loads((out / "metrics.json").read_text()))
    assert runs[0]["validation_summary"] == runs[1]["validation_summary"]
    assert runs[0]["recommended"] == runs[1]["recommended"]
    assert runs[0]["summary"] != runs[1]["summary"]


def test_the_default_job_on_the_bundled_airline_data(tmp_path):
    """Exactly `make run` (lstmkit forecast with no arguments), in a scratch folder."""
    res = run_cli("forecast", "--quiet", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "bundled airline passengers" in res.stdout
    out = tmp_path / "lstmkit-out"
    assert {p.name for p in out.iterdir()} >= FILES
    m = json.loads((out / "metrics.json").read_text())["per_series"]["passengers"]["metrics"]
    assert m["lstm"]["MAPE"] < m["seasonal_naive"]["MAPE"]


def test_constant_series_works_and_warns(tmp_path, capsys):
    out = tmp_path / "out"
    path = monthly_csv(tmp_path, np.full(60, 5.0))
    assert main(["forecast", str(path), "--out", str(out), *FAST]) == 0
    assert capsys.readouterr().out.count("warning: the series is constant") == 1
    table = pd.read_csv(out / "forecast.csv")
    np.testing.assert_allclose(table["lstm"], 5.0, rtol=1e-12)
    json.loads((out / "metrics.json").read_text())  # strict JSON although MASE is undefined


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
         "the longest series has 12 values; horizon 6 held out + horizon 6 of validation + "
         "min_lag 3 need at least 15"),
        ("unique_id,date,y\na,2001-01-01,1\n", [], "no time column 'ds'; give --time COL"),
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


def test_season_flag_feeds_the_model_and_the_anchors(tmp_path, capsys):
    out = tmp_path / "out"
    csv = monthly_csv(tmp_path, seasonal())
    assert main(["forecast", str(csv), "--out", str(out), "--season", "4", *FAST]) == 0
    assert "season 4 from --season" in capsys.readouterr().out
    sidecar = json.loads((out / "forecaster.json").read_text())
    assert sidecar["params"]["season"] == 4
    assert json.loads((out / "metrics.json").read_text())["season"] == 4


def test_hourly_timestamps_keep_their_hours(tmp_path, capsys):
    t = pd.date_range("2024-03-01", periods=24 * 8, freq="h")
    y = 50 + 10 * np.sin(2 * np.pi * np.arange(t.size) / 24)
    path = tmp_path / "hourly.csv"
    pd.DataFrame({"time": t, "load": y}).to_csv(path, index=False)
    out = tmp_path / "out"
    assert main(["forecast", str(path), "--out", str(out), *FAST]) == 0
    assert "season 24 from the 'h' frequency" in capsys.readouterr().out
    ds = list(pd.read_csv(out / "forecast.csv")["ds"])
    assert ds[:2] == ["2024-03-09 00:00:00", "2024-03-09 01:00:00"] and len(set(ds)) == 6


def test_a_european_csv_is_read_right_and_the_header_says_how(tmp_path, capsys):
    months = pd.date_range("2001-01", periods=96, freq="MS").strftime("%Y-%m")
    text = "Datum;Umsatz\n" + "".join(
        f"{m};{v:.2f}".replace(".", ",") + "\n" for m, v in zip(months, seasonal(), strict=True)
    )
    path = tmp_path / "eu.csv"
    path.write_text(text)
    out = tmp_path / "out"
    assert main(["forecast", str(path), "--out", str(out), *FAST]) == 0
    head = capsys.readouterr().out.splitlines()[0]
    assert "column 'Umsatz'" in head and "separator ';' (detected)" in head
    assert "decimal mark ',' (detected)" in head
    held = pd.read_csv(out / "holdout.csv")
    np.testing.assert_allclose(held["y"], np.round(seasonal()[-6:], 2))


def test_a_later_run_removes_the_files_an_earlier_one_left(tmp_path, capsys):
    out = tmp_path / "out"
    csv = monthly_csv(tmp_path, seasonal())
    small = [a for a in FAST if a not in ("--ensemble", "1")]
    assert main(["forecast", str(csv), "--out", str(out), *small, "--ensemble", "3"]) == 0
    assert (out / "model_2.safetensors").exists()
    (out / "notes.txt").write_text("mine")
    capsys.readouterr()
    assert main(["forecast", str(csv), "--out", str(out), *FAST]) == 0
    assert "Removed model_1.safetensors, model_2.safetensors" in capsys.readouterr().out
    assert {p.name for p in out.iterdir()} == FILES | {"notes.txt"}  # the user's file stays


def test_a_negative_seed_names_the_flag_before_training(tmp_path):
    res = run_cli("forecast", "--seed", "-1", "--out", str(tmp_path / "out"))
    assert res.returncode == 2 and "argument --seed: must be at least 0, got -1" in res.stderr
    assert not (tmp_path / "out").exists()


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


def test_a_european_long_format_file_runs_end_to_end(tmp_path, capsys):
    """`;` separators, decimal commas, day-first dates, no id column, one missing month:
    read as a two-series monthly panel, the gap filled only when asked."""
    months = pd.date_range("2015-01-01", periods=60, freq="MS").strftime("%d.%m.%Y")
    y = np.concatenate([100 + 10 * np.sin(np.arange(60) / 12 * 2 * np.pi),
                        50 + 5 * np.cos(np.arange(60) / 12 * 2 * np.pi)])  # fmt: skip
    df = pd.DataFrame(
        {
            "Region": np.repeat(["Nord", "Süd"], 60),
            "Datum": np.tile(months, 2),
            "Umsatz": [f"{v:.2f}".replace(".", ",") for v in y],
        }
    ).drop(index=20)
    path = tmp_path / "umsatz.csv"
    df.to_csv(path, sep=";", index=False)
    out = tmp_path / "out"
    assert main(["forecast", str(path), "--out", str(out), *FAST]) == 2
    assert "skips 1 step(s) of 'MS'" in capsys.readouterr().err and not out.exists()
    assert main(["forecast", str(path), "--out", str(out), "--fill", "interpolate", *FAST]) == 0
    head = capsys.readouterr().out.splitlines()[0]
    for words in ("2 series, 120 steps (1 filled", "separator ';' (detected)",
                  "decimal mark ',' (detected)", "id column 'Region' detected",
                  "dates read day first (01.02.2015 = 1 February 2015)"):  # fmt: skip
        assert words in head, head
    forecast = pd.read_csv(out / "forecast.csv")
    assert sorted(forecast["unique_id"].unique()) == ["Nord", "Süd"]
    assert forecast["ds"].iloc[0] == "2020-01-01"  # the month after the last, read day first
