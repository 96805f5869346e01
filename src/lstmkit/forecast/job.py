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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lstmkit.datasets.series import series_path
from lstmkit.forecast.anchors import ANCHORS, anchor_forecasts
from lstmkit.forecast.conformal import coverage
from lstmkit.forecast.evaluate import score_panel, undefined_reasons
from lstmkit.forecast.forecaster import Forecaster, ForecastWarning
from lstmkit.forecast.panel import Panel, read_panel_csv

COMBO = ("lstm", "auto_ets", "auto_theta")


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


def load_data(cfg: JobConfig) -> Panel:
    path = series_path("airline") if cfg.csv is None else Path(cfg.csv)
    panel = read_panel_csv(path, id_col=cfg.id, time_col=cfg.time, target=cfg.target,
                           fill=cfg.fill, sep=cfg.sep, decimal=cfg.decimal,
                           freq=cfg.freq)  # fmt: skip
    return panel.with_season(cfg.season)


def make_forecaster(cfg: JobConfig, season: int) -> Forecaster:
    return Forecaster(lag=cfg.lag, horizon=cfg.horizon, cell=cfg.cell, hidden_size=cfg.hidden,
                      ensemble=cfg.ensemble, season=season, epochs=cfg.epochs, seed=cfg.seed,
                      level=cfg.level, verbose=cfg.verbose)  # fmt: skip


def _methods(cfg: JobConfig) -> tuple[str, ...]:
    return ANCHORS + (("auto_arima",) if cfg.arima else ())


def _bar(total: int, desc: str, verbose: int, position: int = 0):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False, position=position,
                disable=None if verbose else True)  # fmt: skip


def compute_anchors(cases: dict[str, list], cfg: JobConfig, season: int, position: int = 0):
    """Every case's anchor forecasts (``case → method → MethodForecast``), with one progress
    bar over all their series. A module-level function, so a worker process can run it."""
    total = sum(len(series) for series in cases.values())
    with _bar(total, "anchors (series)", cfg.verbose, position) as bar:
        return {
            case: anchor_forecasts(series, cfg.horizon, season, methods=_methods(cfg),
                                   level=cfg.level, progress=bar.update)
            for case, series in cases.items()
        }  # fmt: skip


def _anchor_worker(conn) -> None:
    """The second process: receive the cases, compute the anchors, send them back (or
    nothing, if it fails: the job then computes them itself and reports the error)."""
    from tqdm import tqdm

    # tqdm's default lock is a multiprocessing semaphore; a worker stopped by Ctrl-C
    # would leak it (and the resource tracker would say so). A thread lock suffices here.
    tqdm.set_lock(threading.RLock())
    try:
        cases, cfg, season = conn.recv()
        conn.send(compute_anchors(cases, cfg, season, 1))
    except Exception:  # the job recomputes them and reports the error itself
        pass
    finally:
        conn.close()


class _Anchors:
    """The anchors, started in a second process when there is a second core so that they
    run beside the LSTM's training (``result()`` waits for them), else computed on
    ``result()``. ``close()`` stops the worker if the job ends first (an error, Ctrl-C)."""

    def __init__(self, cases, cfg, season) -> None:
        self.args, self.proc, self.conn = (cases, cfg, season), None, None
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


def _fallbacks(anchors, ids_of) -> dict:
    """``case → method → id → why`` for every series where an anchor fell back to naive."""
    out: dict = {}
    for case, methods in anchors.items():
        for name, mf in methods.items():
            if mf.fallbacks:
                out.setdefault(case, {})[name] = {
                    ids_of[case][k]: w for k, w in mf.fallbacks.items()
                }
    return out


def _fit_lstm(series, cfg, season, caught) -> Forecaster:
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always", ForecastWarning)
        f = make_forecaster(cfg, season).fit(series)
    # The job names constant series itself, by id and once.
    for w in got:
        if issubclass(w.category, ForecastWarning) and "constant" not in str(w.message):
            caught.append(str(w.message))
    return f


def _point_table(forecaster, anchors) -> dict[str, np.ndarray]:
    """Point forecasts and bounds of every method, ``(S, H)`` each: ``name``,
    ``name-lo``, ``name-hi``."""
    preds = forecaster.predict()
    preds = preds if isinstance(preds, list) else [preds]
    table = {"lstm": np.array([p.mean for p in preds])}
    table["lstm-lo"] = np.array([p.lower for p in preds])
    table["lstm-hi"] = np.array([p.upper for p in preds])
    for name, mf in anchors.items():
        table[name], table[f"{name}-lo"], table[f"{name}-hi"] = mf.mean, mf.lower, mf.upper
    # The combination's interval averages its members' bounds (Vincentization).
    for part in ("", "-lo", "-hi"):
        table["combo" + part] = np.mean([table[m + part] for m in COMBO], axis=0)
    return table


def _names(table) -> list[str]:
    return [k for k in table if not k.endswith(("-lo", "-hi"))]


def _fit_both(panel, scored, train, cfg, m, caught, print_fn):
    """The LSTM fitted on the series without their test windows, and the one that
    forecasts beyond the data."""
    print_fn(f"Test window: the last {cfg.horizon} steps of {len(scored)} series, held out; "
             "refitting on all the data afterwards for the forecast beyond it.")  # fmt: skip
    held = _fit_lstm(train, cfg, m, caught)
    # Retrain every member on all the data for the epochs its early stopping chose on
    # the test-window fit; series too short to be scored get a fit of their own.
    if len(scored) == len(panel):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ForecastWarning)  # said once, after the fit
            return held, held.extend(panel.values)
    return held, _fit_lstm(panel.values, cfg, m, caught)


#: The most the job trains: networks in the ensemble, and parameters per network (10
#: million float32 weights take 40 MB, and training keeps four arrays of that size each).
MAX_ENSEMBLE = 100
MAX_PARAMS = 10_000_000


def check_config(cfg: JobConfig, panel: Panel) -> Forecaster:
    """Raise ValueError for settings no series can satisfy, before any training."""
    f = make_forecaster(cfg, panel.season)
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
    longest = max(v.size for v in panel.values)
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


def run_job(cfg: JobConfig, print_fn=print) -> dict[str, Any]:
    """Run the job; returns the metrics dict written to ``metrics.json``."""
    check_out(Path(cfg.out))
    panel = load_data(cfg)
    f0 = check_config(cfg, panel)
    H, m = cfg.horizon, panel.season
    source = "bundled airline passengers" if cfg.csv is None else cfg.csv
    kinds = f"{len(panel)} series" if panel.id_name else f"column {panel.target!r}"
    steps = sum(v.size for v in panel.values)
    print_fn(f"lstmkit forecast: {source}, {kinds}, {steps} steps"
             + (f" ({panel.filled} filled" if panel.filled else "")
             + (f", {panel.inserted} of them at inserted time steps" if panel.inserted else "")
             + (")" if panel.filled else "")
             + (f"; {panel.read_note}" if panel.read_note else ""))  # fmt: skip
    print_fn(f"{panel.season_note}; horizon {H}; lag {f0.resolved_lag()}; global "
             f"{cfg.cell.upper()}({cfg.hidden}) × {cfg.ensemble} beside "
             f"{', '.join(_methods(cfg))} and combo (mean of {', '.join(COMBO)})")  # fmt: skip

    notes: dict[str, str] = {}
    scored = [k for k, v in enumerate(panel.values) if v.size >= 2 * H + 2]
    for k in set(range(len(panel))) - set(scored):
        notes[panel.ids[k]] = (
            f"{panel.values[k].size} steps: too short to hold out {H} for the test and {H} "
            "for validation; forecast beyond the data only"
        )
    caught: list[str] = []
    scored_ids = [panel.ids[k] for k in scored]
    train = [panel.values[k][:-H] for k in scored]
    truth = [panel.values[k][-H:] for k in scored]
    # Validation window: the H steps before the test window.
    val_train = [s[:-H] for s in train]
    val_truth = [s[-H:] for s in train]
    cases = {"test": train, "validation": val_train, "future": panel.values}
    pending = _Anchors(cases, cfg, m)  # beside the LSTM, on a second core
    try:
        held, final = _fit_both(panel, scored, train, cfg, m, caught, print_fn)
        anchors = pending.result()
    finally:
        pending.close()
    fallbacks = _fallbacks(anchors, {"test": scored_ids, "validation": scored_ids,
                                     "future": panel.ids})  # fmt: skip

    held_table = _point_table(held, anchors["test"])
    # The LSTM's validation forecast is from its last validation origin, which its
    # early-stopping run never trained on (its residuals give truth − forecast).
    val_table = {name: mf.mean for name, mf in anchors["validation"].items()}
    val_table["lstm"] = np.array(
        [t - r[-1] if len(r) else np.full(H, np.nan)
         for t, r in zip(val_truth, held.residuals_, strict=True)]
    )  # fmt: skip
    val_table["combo"] = np.mean([val_table[c] for c in COMBO], axis=0)
    _, val_summary = score_panel(val_truth, val_train, val_table, m)
    ranked = [n for n in val_summary if val_summary[n]["MASE"] is not None]
    recommended = min(ranked, key=lambda n: val_summary[n]["MASE"]) if ranked else "lstm"

    test_points = {n: held_table[n] for n in _names(held_table)}
    per_series, summary = score_panel(truth, train, test_points, m)
    covered = {
        n: coverage(np.array(truth), held_table[f"{n}-lo"], held_table[f"{n}-hi"])
        for n in _names(held_table)
    }
    print_fn("")
    print_fn(f"Test window, {len(scored)} series (MASE against the in-sample "
             f"{'seasonal ' if m > 1 else ''}naive; sMAPE and MAPE in %):")  # fmt: skip
    print_fn(_summary_table(summary, per_series if len(scored) == 1 else None, covered))
    print_fn(f"Recommended (lowest mean MASE on the validation window before the test "
             f"window): {recommended}.")  # fmt: skip
    future = _point_table(final, anchors["future"])
    constant = [panel.ids[k] for k, v in enumerate(panel.values) if np.ptp(v) == 0]
    if constant and len(panel) == 1:
        caught.append("the series is constant; every forecast is that constant")
    elif constant:
        shown = ", ".join(constant[:5]) + (" ..." if len(constant) > 5 else "")
        caught.append(f"{len(constant)} constant series (forecast as that constant): {shown}")
    for msg in dict.fromkeys(caught):
        print_fn(f"warning: {msg}")
    for k, why in final.skipped_.items():
        notes[panel.ids[k]] = f"no LSTM forecast: {why}; the anchors only"
    if len(panel) == 1:
        _print_future(print_fn, panel, future, recommended, cfg)

    out = Path(cfg.out)
    metrics = {
        "source": source,
        "target": panel.target,
        "series": len(panel),
        "held_out_steps": H,
        "season": m,
        "season_note": panel.season_note,
        "settings": asdict(cfg) | {"out": str(out), "lag": final.lag_},
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
        "per_series": {
            panel.ids[k]: {
                "metrics": per_series[j],
                "undefined": undefined_reasons(truth[j], train[j], m),
            }
            for j, k in enumerate(scored)
        },
        "notes": notes,
        "anchor_fallbacks": fallbacks,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".lstmkit-", dir=out.parent))
    try:
        from lstmkit.forecast.outputs import write_outputs

        written = write_outputs(staging, cfg, panel, scored, held_table, future, final,
                                recommended, metrics, held.histories_)  # fmt: skip
        stale = _atomic_move(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print_fn("")
    print_fn(f"Wrote {', '.join(written)} to {out}/")
    if stale:
        print_fn(f"Removed {', '.join(stale)}, left there by an earlier run.")
    return metrics


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


def _print_future(print_fn, panel, future, recommended, cfg) -> None:
    from lstmkit.forecast.outputs import time_labels

    labels = time_labels(panel.future_times(0, cfg.horizon), panel.times[0])
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
