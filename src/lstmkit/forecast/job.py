"""The main job (``lstmkit forecast``, ``make run``) on one series or a whole panel.

1. Each series' last ``horizon`` steps are held out (the test window). One global LSTM
   is fitted on the rest, the statistical anchors (statsforecast) on each series, and
   the combination ``combo`` (mean of LSTM, AutoETS and AutoTheta) is formed.
2. The method to recommend is chosen on the validation window, the ``horizon`` steps
   before the test window, never on the test window: the anchors are refitted without
   it, and the LSTM's forecast of it comes from its own early-stopping run.
3. Every method is scored on the test window (per series and summarized); then all are
   refitted on all the data and forecast beyond it.

Every input is checked before anything is written; results are written to a temporary
folder beside ``out`` and moved in only when all of them exist.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import tempfile
import threading
import warnings
from collections import Counter
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from lstmkit.datasets.series import series_path
from lstmkit.forecast.chunks import Plan, plan_chunks, read_chunk
from lstmkit.forecast.engine import make_engine
from lstmkit.forecast.evaluate import summarize
from lstmkit.forecast.forecaster import Forecaster, ForecastWarning
from lstmkit.forecast.jobtasks import (
    COMBO,
    anchor_cases,
    chunk_anchors,
    finish_chunk,
    methods,
    pick_all,
    pick_held,
    plot_forecasts,
    plot_pieces,
    sidecar_series,
    validation_scores,
)
from lstmkit.forecast.outputs import write_outputs
from lstmkit.forecast.panel import Panel, panel_season
from lstmkit.forecast.shards import extend_global, fit_global, predict_global, shard_attr
from lstmkit.forecast.timeaxis import future_index


@dataclass
class JobConfig:
    """Settings of the job (the command line's options, with the same defaults)."""

    csv: str | None = None
    id: str | None = None
    time: str | None = None
    target: str | None = None
    lag: int | None = None
    horizon: int = 12
    cell: str = "lstm"
    hidden: int = 16
    epochs: int = 100
    ensemble: int = 5
    seed: int = 0
    season: int | None = None
    arima: bool = False
    level: float = 0.9
    out: str = "lstmkit-out"
    fill: str | None = None
    freq: str | None = None
    sep: str | None = None
    decimal: str | None = None
    verbose: int = 1
    engine: str = "local"
    workers: int | None = None
    scheduler: str | None = None
    chunk_series: int | None = None


def plan(cfg: JobConfig) -> Plan:
    """The chunks of the job's data (the bundled airline series without ``csv``)."""
    path = series_path("airline") if cfg.csv is None else Path(cfg.csv)
    return plan_chunks(path, id_col=cfg.id, time_col=cfg.time, target=cfg.target,
                       fill=cfg.fill, sep=cfg.sep, decimal=cfg.decimal, freq=cfg.freq,
                       chunk_series=cfg.chunk_series)  # fmt: skip


def load_data(cfg: JobConfig) -> Panel:
    """The whole panel in this process (for the API and the tests; the job itself reads
    it chunk by chunk where its tasks run)."""
    p = plan(cfg)
    chunks = [read_chunk(spec, p.layout) for spec in p.specs]
    metas = [c.meta() for c in chunks]
    season, note = _season(metas, cfg.season)
    ids = [i for c in chunks for i in c.ids]
    first = chunks[0]
    return Panel(ids, [v for c in chunks for v in c.values], [t for c in chunks for t in c.times],
                 first.target, first.time_name, first.id_name, season, note,
                 sum(m["filled"] for m in metas), _read_note(p, metas),
                 sum(m["inserted"] for m in metas))  # fmt: skip


def _season(metas: list[dict], given: int | None) -> tuple[int, str]:
    freqs = sum((m["freqs"] for m in metas), Counter())
    n = sum(len(m["ids"]) for m in metas)
    refs = [m["reference"] for m in metas if m["reference"] is not None]
    with_freq = [t for t in refs if isinstance(t, pd.DatetimeIndex) and t.freqstr]
    season, note = panel_season(freqs, (with_freq or refs)[0], n)
    if given is not None:
        return given, f"season {given} from --season"
    return season, note


def _read_note(p: Plan, metas: list[dict]) -> str:
    dates = next((m["date_note"] for m in metas if m["date_note"]), "")
    return "; ".join(n for n in (p.read_note, dates) if n)


def make_forecaster(cfg: JobConfig, season: int) -> Forecaster:
    return Forecaster(lag=cfg.lag, horizon=cfg.horizon, cell=cfg.cell, hidden_size=cfg.hidden,
                      ensemble=cfg.ensemble, season=season, epochs=cfg.epochs, seed=cfg.seed,
                      level=cfg.level, verbose=cfg.verbose)  # fmt: skip


def _bar(total: int, desc: str, verbose: int, position: int = 0):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False, position=position,
                disable=None if verbose else True)  # fmt: skip


def compute_anchors(chunks: list, cfg: JobConfig, season: int, position: int = 0) -> list:
    """Every chunk's anchor forecasts (:func:`~lstmkit.forecast.jobtasks.chunk_anchors`),
    with one progress bar over all their series. A module-level function, so a worker
    process can run it."""
    total = sum(sum(len(v) for v in anchor_cases(c, cfg.horizon).values()) for c in chunks)
    with _bar(total, "anchors (series)", cfg.verbose, position) as bar:
        return [chunk_anchors(c, cfg, season, bar.update) for c in chunks]


def _anchor_worker(conn) -> None:
    """The second process: receive the cases, compute the anchors, send them back (or
    nothing, if it fails: the job then computes them itself and reports the error)."""
    from tqdm import tqdm

    # tqdm's default lock is a multiprocessing semaphore; a worker stopped by Ctrl-C
    # would leak it (and the resource tracker would say so). A thread lock suffices here.
    tqdm.set_lock(threading.RLock())
    try:
        chunks, cfg, season = conn.recv()
        conn.send(compute_anchors(chunks, cfg, season, 1))
    except Exception:  # the job recomputes them and reports the error itself
        pass
    finally:
        conn.close()


class _Anchors:
    """The anchors, started in a second process when there is a second core so that they
    run beside the LSTM's training (``result()`` waits for them), else computed on
    ``result()``. ``close()`` stops the worker if the job ends first (an error, Ctrl-C)."""

    def __init__(self, chunks, cfg, season) -> None:
        self.args, self.proc, self.conn = (chunks, cfg, season), None, None
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not Linux
            cores = os.cpu_count() or 1
        if cores < 2:
            return
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_anchor_worker, args=(child,), daemon=True)
        # The worker starts with Ctrl-C ignored (an ignored signal stays ignored in a new
        # process), so only the job's own process sees it: it reports the interrupt in one
        # line and stops the worker. The data go through the pipe after the start, so the
        # start itself takes milliseconds.
        from multiprocessing import resource_tracker

        resource_tracker.ensure_running()  # its own start blocks Ctrl-C, losing none
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
        try:
            self.proc.start()
        finally:
            if main:
                signal.signal(signal.SIGINT, previous)
        child.close()
        self.conn.send(self.args)

    def result(self):
        if self.proc is None:
            return compute_anchors(*self.args)
        try:
            return self.conn.recv()
        except EOFError:  # the worker died or failed: compute them here instead
            return compute_anchors(*self.args)
        finally:
            self.close()

    def close(self) -> None:
        if self.proc is not None:
            self.conn.close()
            if self.proc.is_alive():
                self.proc.terminate()
            self.proc.join()
            self.proc = None


#: The most the job trains: networks in the ensemble, and parameters per network (10
#: million float32 weights take 40 MB, and training keeps four arrays of that size each).
MAX_ENSEMBLE = 100
MAX_PARAMS = 10_000_000


def check_config(cfg: JobConfig, longest: int, season: int) -> Forecaster:
    """Raise ValueError for settings no series can satisfy (``longest``: the most values
    of a series), before any training."""
    f = make_forecaster(cfg, season)
    f.check_params()
    if cfg.ensemble > MAX_ENSEMBLE:
        raise ValueError(f"--ensemble {cfg.ensemble} is more than the {MAX_ENSEMBLE} networks "
                         "the job trains (5 is the default)")  # fmt: skip
    params = f._build(1, 0, allocate=False).count_params()  # counted, nothing allocated
    if params > MAX_PARAMS:
        raise ValueError(
            f"--hidden {cfg.hidden} gives {params:,} parameters per network, more than the "
            f"{MAX_PARAMS:,} the job trains (lower --hidden)"
        )
    if not 0 < cfg.level < 1:
        raise ValueError(f"--level must be in (0, 1), got {cfg.level}")
    need = 2 * cfg.horizon + f.resolved_min_lag()
    if longest < need:
        raise ValueError(
            f"the longest series has {longest} values; horizon {cfg.horizon} held out + "
            f"horizon {cfg.horizon} of validation + min_lag {f.resolved_min_lag()} need at "
            f"least {need} (lower --horizon)"
        )
    return f


def check_out(out: Path) -> None:
    """The output folder must be one that can be made, checked before any work."""
    for p in (out, *out.parents):
        if p.exists():
            if not p.is_dir():
                raise ValueError(f"--out {str(out)!r}: {str(p)!r} is a file, not a folder; "
                                 "give a folder")  # fmt: skip
            if not os.access(p, os.W_OK):
                raise ValueError(f"--out {str(out)!r}: cannot write in {str(p)!r}")
            return


def open_engine(cfg: JobConfig, engine: Any = None):
    """The engine the job runs on: ``engine`` when given (a ``dask.distributed.Client``
    or an engine; left open), else the one ``cfg`` names (closed by the job)."""
    if engine is not None:
        if cfg.workers is not None or cfg.scheduler is not None:
            raise ValueError("give the job an engine, or workers/scheduler, not both")
        return make_engine(engine), False
    return make_engine(cfg.engine, workers=cfg.workers, scheduler=cfg.scheduler,
                       verbose=cfg.verbose), True  # fmt: skip


def run_job(cfg: JobConfig, print_fn=print, *, engine: Any = None) -> dict[str, Any]:
    """Run the job; returns the metrics dict written to ``metrics.json``.

    ``engine``: where its tasks run (module docstring of :mod:`lstmkit.forecast.engine`):
    None for ``cfg.engine``, or a ``dask.distributed.Client`` of a cluster of your own.
    """
    check_out(Path(cfg.out))
    p = plan(cfg)
    eng, owned = open_engine(cfg, engine)
    try:
        return _run(cfg, p, eng, print_fn)
    finally:
        if owned:
            eng.close()


def _run(cfg: JobConfig, p: Plan, eng, print_fn) -> dict[str, Any]:
    H = cfg.horizon
    chunks = eng.map(read_chunk, p.specs, p.layout, keep=True)
    metas = eng.map(chunk_meta, chunks, desc="reading")
    failed = {i: why for m in metas for i, why in m["failed"].items()}
    ids = [i for m in metas for i in m["ids"]]
    if not ids:
        first = next(iter(failed.values()), "no series")
        raise ValueError(first if len(failed) == 1 else f"no series could be read; the first: "
                         f"{first}")  # fmt: skip
    _check_unique(ids, metas, p)
    sizes = [n for m in metas for n in m["sizes"]]
    m, season_note = _season(metas, cfg.season)
    f0 = check_config(cfg, max(sizes), m)
    source = "bundled airline passengers" if cfg.csv is None else cfg.csv
    id_name = metas[0]["id_name"]
    kinds = f"{len(ids)} series" if id_name else f"column {metas[0]['target']!r}"
    filled, inserted = sum(x["filled"] for x in metas), sum(x["inserted"] for x in metas)
    read_note = _read_note(p, metas)
    print_fn(f"lstmkit forecast: {source}, {kinds}, {sum(sizes)} steps"
             + (f" ({filled} filled" if filled else "")
             + (f", {inserted} of them at inserted time steps" if inserted else "")
             + (")" if filled else "")
             + (f"; {read_note}" if read_note else ""))  # fmt: skip
    print_fn(f"{season_note}; horizon {H}; lag {f0.resolved_lag()}; global "
             f"{cfg.cell.upper()}({cfg.hidden}) × {cfg.ensemble} beside "
             f"{', '.join(methods(cfg))} and combo (mean of {', '.join(COMBO)})")  # fmt: skip
    if eng.name != "local":
        print_fn(f"Engine: {eng.describe()}; {len(p.specs)} chunk(s) of series")
    if failed:
        shown = ", ".join(list(failed)[:5]) + (" ..." if len(failed) > 5 else "")
        print_fn(f"warning: {len(failed)} series could not be read and are left out "
                 f"({shown}); metrics.json says why under failed_series")  # fmt: skip
    n_scored = sum(n >= 2 * H + 2 for n in sizes)

    # The anchors beside the LSTM: in a second process of this machine, or as tasks.
    pending = _Anchors(chunks, cfg, m) if eng.name == "local" else None
    anchors = None if pending else eng.map(chunk_anchors, chunks, cfg, m, keep=True)
    caught: list[str] = []
    try:
        print_fn(f"Test window: the last {H} steps of {n_scored} series, held out; "
                 "refitting on all the data afterwards for the forecast beyond it.")  # fmt: skip
        with warnings.catch_warnings(record=True) as got:
            warnings.simplefilter("always", ForecastWarning)
            held = fit_global(f0, eng, chunks, n_scored, pick=partial(pick_held, H=H))
            # Retrain every member on all the data for the epochs its early stopping chose
            # on the test-window fit; series too short to be scored need a fit of their own.
            if n_scored == len(ids):
                final = extend_global(held, eng, chunks, pick=pick_all, verbose=cfg.verbose)
            else:
                final = fit_global(f0, eng, chunks, len(ids), pick=pick_all)
        for w in got:  # the job names constant series itself, by id and once
            if issubclass(w.category, ForecastWarning) and "constant" not in str(w.message):
                caught.append(str(w.message))
        if pending is not None:
            anchors = pending.result()
    finally:
        if pending is not None:
            pending.close()

    held_preds = predict_global(held, eng, keep=True)
    future_preds = predict_global(final, eng, keep=True)
    # Which method to recommend: the validation window, over every chunk's series.
    val = eng.map(_validation_task, list(zip(chunks, anchors, held.residuals, strict=True)),
                  H, m, desc="validation")  # fmt: skip
    val_rows = [r for part in val for r in part]
    val_summary = summarize(val_rows, [*methods(cfg), "lstm", "combo"])
    ranked = [n for n in val_summary if val_summary[n]["MASE"] is not None]
    recommended = min(ranked, key=lambda n: val_summary[n]["MASE"]) if ranked else "lstm"

    skipped = eng.map(shard_attr, final.shards, "skipped_")
    per_chunk = list(zip(chunks, anchors, held_preds, future_preds, strict=True))
    finished = eng.map(_finish_task, [(*x, s) for x, s in zip(per_chunk, skipped, strict=True)],
                       cfg, m, recommended, keep=True)  # fmt: skip
    summaries = eng.map(_summary_of, finished, desc="scoring")
    per_series = {i: r for s_ in summaries for i, r in s_["per_series"].items()}
    table_names = ["lstm", *methods(cfg), "combo"]
    summary = summarize([r["metrics"] for r in per_series.values()], table_names)
    covered = {
        n: _ratio(sum(s_["covered"][n][0] for s_ in summaries),
                  sum(s_["covered"][n][1] for s_ in summaries))
        for n in table_names
    }  # fmt: skip
    print_fn("")
    print_fn(f"Test window, {n_scored} series (MASE against the in-sample "
             f"{'seasonal ' if m > 1 else ''}naive; sMAPE and MAPE in %):")  # fmt: skip
    one = [r["metrics"] for r in per_series.values()] if n_scored == 1 else None
    print_fn(_summary_table(summary, one, covered))
    print_fn(f"Recommended (lowest mean MASE on the validation window before the test "
             f"window): {recommended}.")  # fmt: skip
    constant = [i for x in metas for i in x["constant"]]
    if constant and len(ids) == 1:
        caught.append("the series is constant; every forecast is that constant")
    elif constant:
        shown = ", ".join(constant[:5]) + (" ..." if len(constant) > 5 else "")
        caught.append(f"{len(constant)} constant series (forecast as that constant): {shown}")
    for msg in dict.fromkeys(caught):
        print_fn(f"warning: {msg}")

    # The forecast figure: one series, or the panel's two best and two worst by the
    # LSTM's MASE on the test window (as plots.panel_figure picks them).
    mase = {i: r["metrics"].get("lstm", {}).get("MASE") for i, r in per_series.items()}
    wanted = _plot_ids(ids, mase)
    pieces = eng.map(_pieces_task, per_chunk, wanted, H, keep=True)
    png = eng.submit(plot_forecasts, pieces, mase, cfg, m, season_note, recommended, keep=True)
    if len(ids) == 1:
        one_piece = next(x for x in eng.gather(pieces) if x is not None)
        _print_future(print_fn, one_piece, recommended, cfg)
    found = eng.map(_sidecar_task, list(zip(chunks, skipped, final.shards, strict=True)))
    sidecar = next(x for x in found if x is not None)

    out = Path(cfg.out)
    notes = {i: n for s_ in summaries for i, n in s_["notes"].items()}
    fallbacks: dict = {}
    for s_ in summaries:
        for case, ms in s_["fallbacks"].items():
            for name, by_id in ms.items():
                fallbacks.setdefault(case, {}).setdefault(name, {}).update(by_id)
    metrics = {
        "source": source,
        "target": metas[0]["target"],
        "series": len(ids),
        "held_out_steps": H,
        "season": m,
        "season_note": season_note,
        "settings": asdict(cfg) | {"out": str(out), "lag": final.resolved[0]},
        "recommended": recommended,
        "recommended_because": "lowest mean MASE on the validation window (the "
        f"{H} steps before the test window)",
        "validation_summary": val_summary,
        "summary": summary,
        "interval": {
            "level": cfg.level,
            "coverage_on_test": covered,
            "lstm_method": "split conformal: absolute validation residuals scaled by each "
            "series' MASE denominator, pooled per step ahead",
            "combo_method": "mean of its members' bounds",
        },
        "per_series": per_series,
        "notes": notes,
        "anchor_fallbacks": fallbacks,
        "failed_series": failed,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".lstmkit-", dir=out.parent))
    try:
        parts = (eng.gather(ref) for ref in finished)  # one chunk's rows at a time
        written = write_outputs(staging, cfg, parts, metrics, eng.gather(png), final,
                                held.histories, sidecar)  # fmt: skip
        stale = _atomic_move(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print_fn("")
    print_fn(f"Wrote {', '.join(written)} to {out}/")
    if stale:
        print_fn(f"Removed {', '.join(stale)}, left there by an earlier run.")
    return metrics


def chunk_meta(chunk) -> dict:
    return chunk.meta() | {"id_name": chunk.id_name, "target": chunk.target}


def _validation_task(item, H, season):
    chunk, anchors, residuals = item
    return validation_scores(chunk, anchors, residuals, H, season)


def _finish_task(item, cfg, season, recommended):
    return finish_chunk(*item, cfg, season, recommended)


def _summary_of(part: dict) -> dict:
    return {k: v for k, v in part.items() if not k.endswith("_csv") and k != "columns"}


def _pieces_task(item, wanted, H):
    return plot_pieces(*item, wanted, H)


def _sidecar_task(item):
    return sidecar_series(*item)


def _ratio(a: int, b: int) -> float:
    return a / b if b else float("nan")


def _check_unique(ids: list[str], metas: list[dict], p: Plan) -> None:
    if len(set(ids)) == len(ids):
        return
    seen: dict[str, int] = {}
    for c, meta in enumerate(metas):
        for i in meta["ids"]:
            if i in seen and seen[i] != c:
                where = (p.specs[seen[i]][1], p.specs[c][1])
                raise ValueError(
                    f"series {i!r} is in two chunks ({where[0]!r} and {where[1]!r}); keep each "
                    "series' rows in one file"
                )
            seen[i] = c


def _plot_ids(ids: list[str], mase: dict) -> list[str]:
    if len(ids) == 1:
        return ids
    ranked = sorted((v, n) for n, v in enumerate(mase.values()) if v is not None)
    chosen = ranked[:2] + [r for r in ranked[-2:] if r not in ranked[:2]]
    keys = list(mase)
    return [keys[n] for _, n in chosen] or [ids[0]]


def _summary_table(summary, per_series, covered) -> str:
    cols = ("MASE", "sMAPE", "rank", "wins")
    if per_series is not None:  # one series: its own metrics instead of ranks
        rows = per_series[0]
        cols = ("MAE", "RMSE", "MAPE", "sMAPE", "MASE")
        get = {n: rows.get(n, {}) for n in summary}
    else:
        get = {n: {**s, "wins": s["wins_vs_seasonal_naive"]} for n, s in summary.items()}
    width = max(len(n) for n in summary)
    head = f"{'method':<{width}}" + "".join(f"{c:>10}" for c in cols) + f"{'cover90':>10}"
    lines = [head, "─" * len(head)]
    order = sorted(summary, key=lambda n: (summary[n]["MASE"] is None, summary[n]["MASE"] or 0))
    for n in order:
        cells = []
        for c in cols:
            v = get[n].get(c)
            cells.append(
                f"{'—':>10}" if v is None else f"{v:>10.3f}" if c != "wins" else f"{v:>10d}"
            )
        lines.append(f"{n:<{width}}" + "".join(cells) + f"{covered.get(n, float('nan')):>10.2f}")
    return "\n".join(lines)


def _print_future(print_fn, piece, recommended, cfg) -> None:
    from lstmkit.forecast.outputs import time_labels

    times, future = piece["chunk"].times[0], piece["future"]
    labels = time_labels(future_index(times, cfg.horizon), times)
    width = max(12, max(len(s) for s in labels) + 2)
    pct = round(100 * cfg.level)
    names = ["lstm", *(n for n in ("combo", "auto_ets", "auto_theta", "seasonal_naive")
                       if n != "lstm")]  # fmt: skip
    print_fn(f"Forecast beyond the data (LSTM with its {pct}% interval; recommended: "
             f"{recommended}):")  # fmt: skip
    print_fn(
        f"  {'time':<{width}}{'lstm':>10}  {'interval':<20}"
        + "".join(f"{n:>15}" for n in names[1:])
    )
    for j, label in enumerate(labels):
        lo, hi = future["lstm-lo"][0, j], future["lstm-hi"][0, j]
        print_fn(f"  {label:<{width}}{future['lstm'][0, j]:>10.2f}  [{lo:.2f}, {hi:.2f}]"
                 .ljust(width + 34)
                 + "".join(f"{future[n][0, j]:>15.2f}" for n in names[1:]))  # fmt: skip


#: Every file name the job writes; one of them left from an earlier run (a larger
#: ensemble's model_4, a panel's summary.png) would describe another model.
OUTPUT_NAMES = re.compile(
    r"(forecast|holdout)\.csv|metrics\.json|(forecast|summary|training)\.png|"
    r"model(_\d+)?\.safetensors|forecaster\.json|cost\.(md|json)"
)


def _atomic_move(staging: Path, out: Path) -> list[str]:
    """Move the new files in; remove the job's files from an earlier run that this one
    did not write, and return their names."""
    out.mkdir(parents=True, exist_ok=True)
    new = {item.name for item in staging.iterdir()}
    ours = [p.name for p in out.iterdir() if p.is_file() and OUTPUT_NAMES.fullmatch(p.name)]
    stale = sorted(set(ours) - new)
    for item in staging.iterdir():
        os.replace(item, out / item.name)
    for name in stale:
        (out / name).unlink(missing_ok=True)
    return stale
