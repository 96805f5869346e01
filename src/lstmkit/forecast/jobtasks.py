"""The job's work on one chunk of series, as tasks any engine can run.

Each function takes a :class:`~lstmkit.forecast.chunks.Chunk` (or what was computed
from one) and plain settings, and returns what the driver needs, small: metrics,
counts, the chunk's rows of forecast.csv and holdout.csv as CSV text. The driver
(:mod:`lstmkit.forecast.job`) never holds the series themselves.

In a chunk, the *scored* series are those long enough to hold out a test window and a
validation window before it (``2·horizon + 2`` steps); the others are forecast beyond the
data only.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np

from lstmkit.forecast.anchors import ANCHORS, anchor_forecasts
from lstmkit.forecast.evaluate import score_series, undefined_reasons
from lstmkit.forecast.outputs import table_frame

COMBO = ("lstm", "auto_ets", "auto_theta")


def scored(chunk, H: int) -> list[int]:
    """Positions in the chunk of the series that are scored (module docstring)."""
    return [k for k, v in enumerate(chunk.values) if v.size >= 2 * H + 2]


def pick_held(chunk, H: int):
    """The LSTM's training data for the test window, ``(series, covariates, many)``:
    the scored series without it."""
    series = [chunk.values[k][:-H] for k in scored(chunk, H)]
    return series, [None] * len(series), True


def pick_all(chunk):
    """The LSTM's data for the forecast beyond the data: every series, whole."""
    return list(chunk.values), [None] * len(chunk), True


def methods(cfg) -> tuple[str, ...]:
    return ANCHORS + (("auto_arima",) if cfg.arima else ())


def anchor_cases(chunk, H: int) -> dict[str, list]:
    """The anchors' three fits: on the test window's history, on the validation
    window's, and on all the data."""
    train = [chunk.values[k][:-H] for k in scored(chunk, H)]
    return {"test": train, "validation": [s[:-H] for s in train], "future": list(chunk.values)}


def chunk_anchors(chunk, cfg, season: int, progress=None) -> dict:
    """``case → method → MethodForecast`` for the chunk's series (rows: the scored
    series for ``test`` and ``validation``, all for ``future``)."""
    H, out = cfg.horizon, {}
    for case, series in anchor_cases(chunk, H).items():
        ids = chunk.ids if case == "future" else [chunk.ids[k] for k in scored(chunk, H)]
        try:
            out[case] = anchor_forecasts(series, H, season, methods=methods(cfg),
                                         level=cfg.level, progress=progress)  # fmt: skip
        except ValueError as exc:  # "series k: ..." → the series' id
            msg = str(exc)
            if not msg.startswith("series "):
                raise
            k = int(msg.split(":")[0].split()[1]) - 1
            raise ValueError(f"series {ids[k]!r}{msg[msg.index(':') :]}") from None
    return out


def point_table(preds: list, anchors: dict) -> dict[str, np.ndarray]:
    """Point forecasts and bounds of every method, ``(S, H)`` each: ``name``,
    ``name-lo``, ``name-hi``; ``preds`` are the LSTM's Forecasts of the same rows."""
    table = {"lstm": np.array([p.mean for p in preds])}
    table["lstm-lo"] = np.array([p.lower for p in preds])
    table["lstm-hi"] = np.array([p.upper for p in preds])
    for name, mf in anchors.items():
        table[name], table[f"{name}-lo"], table[f"{name}-hi"] = mf.mean, mf.lower, mf.upper
    # The combination's interval averages its members' bounds (Vincentization).
    for part in ("", "-lo", "-hi"):
        table["combo" + part] = np.mean([table[m + part] for m in COMBO], axis=0)
    return table


def names(table) -> list[str]:
    return [k for k in table if not k.endswith(("-lo", "-hi"))]


def validation_scores(chunk, anchors: dict, residuals: list, H: int, season: int) -> list:
    """Every method's metrics on the validation window of each scored series. The
    LSTM's forecast of it is from its last validation origin, which its early-stopping
    run never trained on (its residuals give truth − forecast)."""
    keep = scored(chunk, H)
    train = [chunk.values[k][:-H] for k in keep]
    val_train, val_truth = [s[:-H] for s in train], [s[-H:] for s in train]
    table = {name: mf.mean for name, mf in anchors["validation"].items()}
    table["lstm"] = np.array(
        [t - r[-1] if len(r) else np.full(H, np.nan)
         for t, r in zip(val_truth, residuals, strict=True)]
    ).reshape(len(keep), H)  # fmt: skip
    table["combo"] = np.mean([table[c] for c in COMBO], axis=0)
    return score_series(val_truth, val_train, table, season)


def finish_chunk(chunk, anchors: dict, held_preds: list, future_preds: list, skipped: dict,
                 cfg, season: int, recommended: str) -> dict:  # fmt: skip
    """The chunk's test-window scores, interval coverage counts, anchor fallbacks,
    notes, and its rows of forecast.csv and holdout.csv (CSV text without header)."""
    H = cfg.horizon
    keep = scored(chunk, H)
    train = [chunk.values[k][:-H] for k in keep]
    truth = [chunk.values[k][-H:] for k in keep]
    held = point_table(held_preds, anchors["test"]) if keep else None
    future = point_table(future_preds, anchors["future"])
    all_names = names(future)
    per_series = score_series(truth, train, {n: held[n] for n in all_names}, season) if keep else []
    covered = {}
    for n in all_names:
        if keep:
            t = np.array(truth)
            inside = (t >= held[f"{n}-lo"]) & (t <= held[f"{n}-hi"])
            covered[n] = (int(inside.sum()), int(inside.size))
        else:
            covered[n] = (0, 0)
    ids = [chunk.ids[k] for k in keep]
    pct = round(100 * cfg.level)
    bounds = ["lstm"] + ([recommended] if recommended != "lstm" else [])
    future_times = [chunk_future_times(chunk, k, H) for k in range(len(chunk))]
    fc = table_frame(chunk.ids, future_times, chunk.times, future, all_names, bounds, pct)
    ho = table_frame(ids, [chunk.times[k][-H:] for k in keep], [chunk.times[k] for k in keep],
                     held, all_names, bounds, pct, truth) if keep else None  # fmt: skip
    fallbacks: dict = {}
    rows_of = {"test": ids, "validation": ids, "future": chunk.ids}
    for case, ms in anchors.items():
        for name, mf in ms.items():
            if mf.fallbacks:
                fallbacks.setdefault(case, {})[name] = {
                    rows_of[case][k]: w for k, w in mf.fallbacks.items()
                }
    notes = {
        chunk.ids[k]: f"{chunk.values[k].size} steps: too short to hold out {H} for the test "
        f"and {H} for validation; forecast beyond the data only"
        for k in set(range(len(chunk))) - set(keep)
    }
    for k, why in skipped.items():
        notes[chunk.ids[k]] = f"no LSTM forecast: {why}; the anchors only"
    rows = {
        i: {"metrics": per_series[j], "undefined": undefined_reasons(truth[j], train[j], season)}
        for j, i in enumerate(ids)
    }
    return {
        "per_series": rows,
        "covered": covered,
        "fallbacks": fallbacks,
        "notes": {i: notes[i] for i in chunk.ids if i in notes},
        "forecast_csv": _csv(fc),
        "holdout_csv": "" if ho is None else _csv(ho),
        "columns": (list(fc.columns), None if ho is None else list(ho.columns)),
    }


def chunk_future_times(chunk, k: int, H: int):
    from lstmkit.forecast.timeaxis import future_index

    return future_index(chunk.times[k], H)


def _csv(frame) -> str:
    buf = io.StringIO()
    frame.to_csv(buf, index=False, header=False, float_format="%.10g")
    return buf.getvalue()


def plot_pieces(chunk, anchors: dict, held_preds: list, future_preds: list, wanted, H: int):
    """The series of the chunk named in ``wanted`` with their rows of the test-window
    and future tables, for the forecast figure (None when none of them is here)."""
    keep = scored(chunk, H)
    rows = [k for k, i in enumerate(chunk.ids) if i in set(wanted)]
    if not rows:
        return None
    held = point_table(held_preds, anchors["test"]) if keep else None
    future = point_table(future_preds, anchors["future"])
    pos = {k: j for j, k in enumerate(keep)}
    mine = [pos[k] for k in rows if k in pos]
    return {
        "chunk": chunk.subset([chunk.ids[k] for k in rows]),
        "held": None if held is None else {n: v[mine] for n, v in held.items()},
        "held_rows": [j for j, k in enumerate(rows) if k in pos],
        "future": {n: v[rows] for n, v in future.items()},
    }


def plot_forecasts(pieces: list, mase: dict, cfg, season: int, season_note: str,
                   recommended: str) -> bytes:  # fmt: skip
    """forecast.png of the chosen series (PNG bytes), drawn where this task runs."""
    from lstmkit.forecast.plots import plot_panel

    pieces = [p for p in pieces if p is not None]
    ids, values, times, scored_rows, held, future = [], [], [], [], {}, {}
    for p in pieces:
        c = p["chunk"]
        scored_rows += [len(ids) + j for j in p["held_rows"]]
        ids += c.ids
        values += c.values
        times += c.times
        for name, v in p["future"].items():
            future.setdefault(name, []).append(v)
        if p["held"] is not None:
            for name, v in p["held"].items():
                held.setdefault(name, []).append(v)
    first = pieces[0]["chunk"]
    from lstmkit.forecast.panel import Panel

    panel = Panel(ids, values, times, first.target, first.time_name, first.id_name, season,
                  season_note)  # fmt: skip
    held = {n: np.concatenate(v) for n, v in held.items()}
    future = {n: np.concatenate(v) for n, v in future.items()}
    future_times = [panel.future_times(k, cfg.horizon) for k in range(len(panel))]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "forecast.png"
        plot_panel(path, panel, scored_rows, held, future, future_times,
                   {panel.ids[k]: mase.get(panel.ids[k]) for k in scored_rows},
                   level=cfg.level, recommended=recommended)  # fmt: skip
        return path.read_bytes()


def sidecar_series(chunk, skipped: dict, prep_shard):
    """The first series the LSTM forecasts (id, preparation, values), for
    forecaster.json; None when the chunk has none."""
    for k in range(len(chunk)):
        if k not in skipped:
            return chunk.ids[k], prep_shard.preps_[k].to_dict(), chunk.values[k].tolist()
    return None
