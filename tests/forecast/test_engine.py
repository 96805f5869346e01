"""The job on a Dask cluster: the same bits as in one process, nothing lost when a worker
dies, bad series reported and left out, chunks cut at series boundaries, and Parquet
folders. The LocalCluster is started once for the module (two worker processes)."""

import json
import os
import signal
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest

from lstmkit.cli import main
from lstmkit.forecast.chunks import plan_chunks, read_chunk
from lstmkit.forecast.engine import INSTALL_HINT, make_engine
from lstmkit.forecast.job import JobConfig, run_job

H = 6
NEEDS_DASK = "needs dask[distributed] (the [dask] extra)"


def panel_frame(n=12, length=60, seed=1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(n):
        t = pd.date_range("2010-01-01", periods=length - (k % 3) * 5, freq="MS")
        y = 50 + k + 10 * np.sin(2 * np.pi * np.arange(len(t)) / 12 + k)
        y = y + rng.normal(0, 1, len(t))
        frames.append(pd.DataFrame({"unique_id": f"s{k:03d}", "ds": t.strftime("%Y-%m-%d"),
                                    "y": y.round(3)}))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def write(tmp_path, df, name="panel.csv"):
    path = tmp_path / name
    df.to_csv(path, index=False)
    return path


def config(csv, out, **kw) -> JobConfig:
    base = dict(csv=str(csv), out=str(out), horizon=H, epochs=4, ensemble=2, hidden=8,
                chunk_series=4, verbose=0)  # fmt: skip
    return JobConfig(**(base | kw))


def quiet(*args):
    pass


def outputs(folder) -> dict[str, bytes]:
    """Every output's bytes; metrics.json without its settings (which name the engine)."""
    files = {p.name: p.read_bytes() for p in folder.iterdir() if p.suffix != ".png"}
    metrics = json.loads(files.pop("metrics.json"))
    metrics.pop("settings")
    files["metrics.json"] = json.dumps(metrics, sort_keys=True).encode()
    return files


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed", reason=NEEDS_DASK)
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=40
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


_REFERENCES: dict[str, tuple] = {}


@pytest.fixture
def reference(tmp_path_factory, backend):
    """The job on a 12-series panel (3 chunks) with the local engine, once per backend
    (the backends agree to rounding, not to the bit)."""
    if backend not in _REFERENCES:
        tmp = tmp_path_factory.mktemp("reference")
        csv = write(tmp, panel_frame())
        run_job(config(csv, tmp / "out"), quiet)
        _REFERENCES[backend] = csv, tmp / "out"
    return _REFERENCES[backend]


def test_dask_engine_gives_the_bits_of_the_local_engine(reference, client, tmp_path):
    csv, local = reference
    metrics = run_job(config(csv, tmp_path / "out"), quiet, engine=client)
    assert metrics["series"] == 12
    got, want = outputs(tmp_path / "out"), outputs(local)
    assert got.keys() == want.keys()
    for name in want:  # forecasts, holdout, every member's weights, the metrics
        assert got[name] == want[name], name
    # Chunking only decides where the work runs, not the numbers.
    run_job(config(csv, tmp_path / "one", chunk_series=1000), quiet)
    assert outputs(tmp_path / "one") == want


def _pids(client) -> dict:
    return client.run(os.getpid)


@pytest.mark.one_backend
def test_a_worker_killed_mid_run_loses_and_repeats_nothing(reference, client, tmp_path):
    csv, local = reference
    result, killed = {}, []

    def job():
        try:
            result["metrics"] = run_job(config(csv, tmp_path / "out"), quiet, engine=client)
        except BaseException as exc:  # reported by the assertions below
            result["error"] = exc

    pids = _pids(client)
    thread = threading.Thread(target=job)
    thread.start()
    deadline = time.monotonic() + 120
    # Kill the worker that is running one of the job's tasks (SIGKILL: no goodbye to the
    # scheduler), while the job is in full flight.
    while thread.is_alive() and not killed and time.monotonic() < deadline:
        for addr, keys in client.processing().items():
            if any(str(k).startswith(("chunk_anchors", "train_member", "_extend_task"))
                   for k in keys) and addr in pids:  # fmt: skip
                os.kill(pids[addr], signal.SIGKILL)
                killed.append(addr)
                break
        time.sleep(0.02)
    thread.join(300)
    assert killed, "the job ended before a worker could be killed"
    assert "error" not in result, result.get("error")
    out = tmp_path / "out"
    fc = pd.read_csv(out / "forecast.csv")
    ho = pd.read_csv(out / "holdout.csv")
    ids = sorted(panel_frame()["unique_id"].unique())
    assert sorted(fc["unique_id"].unique()) == ids
    assert (fc.groupby("unique_id").size() == H).all()  # each series once, H rows
    assert (ho.groupby("unique_id").size() == H).all()
    assert outputs(out) == outputs(local)  # and the same numbers as without the fault
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".lstmkit-")]


@pytest.mark.one_backend
def test_a_bad_series_is_reported_by_id_and_the_run_goes_on(tmp_path, capsys):
    df = panel_frame(6)
    bad = df.index[df["unique_id"] == "s004"][3]
    df["y"] = df["y"].astype(object)
    df.loc[bad, "y"] = "abc"
    csv = write(tmp_path, df)
    out = tmp_path / "out"
    code = main(["forecast", str(csv), "--out", str(out), "--horizon", str(H), "--epochs", "3",
                 "--ensemble", "1", "--hidden", "8", "--quiet", "--chunk-series", "2"])  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    assert "1 series could not be read and are left out (s004)" in text
    metrics = json.loads((out / "metrics.json").read_text())
    why = metrics["failed_series"]["s004"]
    assert f"line {bad + 2} has 'abc'" in why  # the line in the file, not in its chunk
    assert metrics["series"] == 5 and "s004" not in metrics["per_series"]
    assert "s004" not in set(pd.read_csv(out / "forecast.csv")["unique_id"])


@pytest.mark.one_backend
def test_when_every_series_is_bad_the_job_stops_with_the_reason(tmp_path, capsys):
    df = panel_frame(2)
    df["y"] = "x"
    code = main(["forecast", str(write(tmp_path, df)), "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1
    assert "no series could be read" in err and "is not numeric" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.one_backend
def test_chunks_end_at_series_boundaries_and_name_file_lines(tmp_path):
    df = panel_frame(10)
    csv = write(tmp_path, df)
    plan = plan_chunks(csv, chunk_series=3)
    assert len(plan.specs) == 4
    chunks = [read_chunk(s, plan.layout) for s in plan.specs]
    assert [len(c) for c in chunks] == [3, 3, 3, 1]
    got = [i for c in chunks for i in c.ids]
    assert got == list(df["unique_id"].unique())
    for c in chunks:
        for i, v in zip(c.ids, c.values, strict=True):
            np.testing.assert_array_equal(v, df.loc[df["unique_id"] == i, "y"].to_numpy())
    # A gap in the last chunk's series: the error names the line of the whole file.
    gap = df.drop(index=df.index[df["unique_id"] == "s009"][5])
    csv2 = write(tmp_path, gap, "gap.csv")
    plan2 = plan_chunks(csv2, chunk_series=3)
    last = read_chunk(plan2.specs[-1], plan2.layout)
    line = int(np.flatnonzero(gap["unique_id"].to_numpy() == "s009")[5]) + 2
    assert f"line {line}" in last.failed["s009"]


@pytest.mark.one_backend
def test_rows_of_a_series_apart_are_read_whole(tmp_path):
    df = panel_frame(4).sample(frac=1.0, random_state=0)  # rows shuffled
    plan = plan_chunks(write(tmp_path, df), chunk_series=1)
    assert len(plan.specs) == 1 and "not together" in plan.read_note
    assert sorted(read_chunk(plan.specs[0], plan.layout).ids) == sorted(df["unique_id"].unique())


@pytest.mark.one_backend
def test_a_folder_of_parquet_files_gives_the_csv_file_results(reference, tmp_path):
    pytest.importorskip("pyarrow", reason="needs pyarrow (the [dask] extra)")
    csv, local = reference
    df = pd.read_csv(csv)
    folder = tmp_path / "parts"
    folder.mkdir()
    for j, ids in enumerate(np.array_split(df["unique_id"].unique(), 3)):
        df[df["unique_id"].isin(ids)].to_parquet(folder / f"part{j}.parquet")
    metrics = run_job(config(folder, tmp_path / "out"), quiet)
    assert metrics["series"] == 12
    for name in ("forecast.csv", "holdout.csv"):
        assert (tmp_path / "out" / name).read_bytes() == (local / name).read_bytes()
    # A series split over two files is an error that names it.
    df.iloc[:3].to_parquet(folder / "part9.parquet")
    with pytest.raises(ValueError, match="series 's000' is in two chunks"):
        run_job(config(folder, tmp_path / "o2"), quiet)


@pytest.mark.one_backend
def test_without_dask_the_engine_says_how_to_install_it(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    with pytest.raises(ImportError, match=INSTALL_HINT.replace("[", r"\[").replace("]", r"\]")):
        make_engine("dask")
    csv = write(tmp_path, panel_frame(2))
    code = main(["forecast", str(csv), "--engine", "dask", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "pip install 'lstmkit[dask]'" in err and len(err.splitlines()) == 1


@pytest.mark.one_backend
def test_engine_options_that_do_not_go_together(tmp_path, capsys):
    csv = write(tmp_path, panel_frame(2))
    code = main(["forecast", str(csv), "--workers", "2", "--out", str(tmp_path / "o")])
    assert code == 2 and "--engine dask" in capsys.readouterr().err
    code = main(["forecast", str(csv), "--engine", "dask", "--workers", "2", "--scheduler",
                 "tcp://127.0.0.1:1", "--out", str(tmp_path / "o")])  # fmt: skip
    assert code == 2 and "drop --workers" in capsys.readouterr().err


@pytest.mark.one_backend
def test_an_unreachable_scheduler_is_a_clear_error(tmp_path, capsys):
    pytest.importorskip("distributed", reason=NEEDS_DASK)
    csv = write(tmp_path, panel_frame(2))
    code = main(["forecast", str(csv), "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9",
                 "--out", str(tmp_path / "o")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "cannot reach a Dask scheduler" in err and len(err.splitlines()) == 1


def test_the_api_takes_a_client_for_members_and_backtest_folds(client):
    from lstmkit.forecast import Forecaster, backtest

    df = panel_frame(5)
    ys = [g["y"].to_numpy() for _, g in df.groupby("unique_id", sort=False)]
    kw = dict(horizon=H, ensemble=3, epochs=3, hidden_size=8, season=12)
    here, there = Forecaster(**kw).fit(ys), Forecaster(**kw).fit(ys, engine=client)
    for a, b in zip(here.predict(), there.predict(), strict=True):
        np.testing.assert_array_equal(a.members, b.members)  # every member, every bit
    np.testing.assert_array_equal(here.quantiles_, there.quantiles_)
    longer = [np.concatenate([y, y[-H:]]) for y in ys]
    for a, b in zip(here.extend(longer).predict(), there.extend(longer, engine=client).predict(),
                    strict=True):  # fmt: skip
        np.testing.assert_array_equal(a.mean, b.mean)
    folds_here = backtest(Forecaster(**kw), ys[0], folds=2)
    folds_there = backtest(Forecaster(**kw), ys[0], folds=2, engine=client)
    assert folds_here == folds_there


@pytest.mark.one_backend
def test_the_cli_starts_and_closes_its_own_local_cluster(reference, tmp_path, capsys):
    pytest.importorskip("distributed", reason=NEEDS_DASK)
    csv, local = reference
    out = tmp_path / "out"
    code = main(["forecast", str(csv), "--engine", "dask", "--workers", "1", "--out", str(out),
                 "--horizon", str(H), "--epochs", "4", "--ensemble", "2", "--hidden", "8",
                 "--quiet"])  # fmt: skip
    assert code == 0
    assert "Engine: Dask engine, 1 worker(s)" in capsys.readouterr().out
    assert outputs(out) == outputs(local)
