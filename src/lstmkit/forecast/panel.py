"""Panels: many series in the ecosystem's long format (one row per series and time step,
columns ``unique_id, ds, y`` as in statsforecast and neuralforecast), or one series.

:func:`read_panel_csv` reads either layout: a file with an id column (``--id``, or a
column named ``unique_id``) is a panel; any other file is one series
(:func:`~lstmkit.forecast.csvdata.read_series_csv`), a panel of one. :func:`from_frame`
takes the same long DataFrame in the Python API.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lstmkit.forecast.csvdata import (
    FILLS,
    fill_missing,
    numeric_column,
    on_grid,
    read_frame,
    series_from_frame,
)
from lstmkit.forecast.timeaxis import (
    check_order,
    current_rows,
    file_rows,
    future_index,
    infer_season,
    lines,
    looks_like_dates,
    parse_time_noted,
    regular_time,
)

DEFAULT_ID, DEFAULT_TIME, DEFAULT_TARGET = "unique_id", "ds", "y"


@dataclass(frozen=True)
class Panel:
    """Series read from a file or a frame, in the order of their first row.

    Attributes
    ----------
    ids : list of str, one per series.
    values : list of ndarray (N_k,), float64, no missing values.
    times : list of pandas Index, one per series (dates, numbers, or a RangeIndex).
    target, time_name, id_name : column names (``id_name`` None for one series).
    season : the season length, from the time column's frequency unless given.
    season_note : how the season was found, for the run's header.
    filled : missing values filled, over all series (inserted steps included).
    read_note : the separator and decimal mark when they are not ``,`` and ``.``, and
        the id column when it was detected.
    inserted : missing time steps inserted (``fill`` given), over all series.
    """

    ids: list[str]
    values: list[np.ndarray]
    times: list[pd.Index]
    target: str
    time_name: str | None
    id_name: str | None
    season: int
    season_note: str
    filled: int = 0
    read_note: str = ""
    inserted: int = 0

    def __len__(self) -> int:
        return len(self.ids)

    def future_times(self, k: int, steps: int) -> pd.Index:
        """Labels of the ``steps`` steps after series ``k``'s last one."""
        return future_index(self.times[k], steps)

    def with_season(self, season: int | None) -> Panel:
        """The same panel with a season given by the user (``--season``)."""
        if season is None:
            return self
        from dataclasses import replace

        return replace(self, season=season, season_note=f"season {season} from --season")


def from_frame(
    df: pd.DataFrame,
    *,
    id_col: str = DEFAULT_ID,
    time_col: str = DEFAULT_TIME,
    target: str = DEFAULT_TARGET,
    fill: str | None = None,
    freq: str | None = None,
    where: str = "the frame",
) -> Panel:
    """A long DataFrame → Panel (every series checked like a single-series file).

    Rows are sorted by time within each series; duplicate timestamps, gaps and steps
    off the grid (unless ``fill`` / ``freq``, as in
    :func:`~lstmkit.forecast.timeaxis.regular_time`), missing values (unless ``fill``),
    non-numeric values and mixed frequencies are errors that name the series and the
    lines.
    """
    part = parse_series(df, id_col=id_col, time_col=time_col, target=target, fill=fill,
                        freq=freq, where=where)  # fmt: skip
    season, note = _panel_season(part.times, part.freqs, len(part.ids))
    return Panel(part.ids, part.values, part.times, target, time_col, id_col, season, note,
                 part.filled, part.date_note, part.inserted)  # fmt: skip


@dataclass
class Series:
    """The series of a long frame (or of a part of one), before the panel's season.

    Attributes
    ----------
    ids, values, times : per series, as in :class:`Panel`.
    freqs : Counter of the series' frequencies (dates only).
    filled, inserted, date_note : as in :class:`Panel`.
    failed : series id → why it could not be read (only with ``tolerant=True``).
    """

    ids: list[str]
    values: list[np.ndarray]
    times: list[pd.Index]
    freqs: Counter
    filled: int = 0
    inserted: int = 0
    date_note: str = ""
    failed: dict[str, str] = field(default_factory=dict)


def check_columns(columns, id_col: str, time_col: str, target: str, where: str) -> None:
    for role, name in (("id", id_col), ("time", time_col), ("target", target)):
        if name not in columns:
            raise ValueError(
                f"{where}: {role} column {name!r} not found; the columns are "
                f"{', '.join(columns)} (give --{role} COL)"
            )


def parse_series(
    df: pd.DataFrame,
    *,
    id_col: str,
    time_col: str,
    target: str,
    fill: str | None = None,
    freq: str | None = None,
    where: str = "the frame",
    tolerant: bool = False,
) -> Series:
    """Every series of a long frame, checked as :func:`from_frame` says. With
    ``tolerant``, a series whose rows are bad is left out and its error kept in
    ``failed`` (by id), so that the others go on; errors of the frame itself (a missing
    column, an empty id) still raise."""
    columns = [str(c) for c in df.columns]
    df = df.set_axis(columns, axis=1)
    check_columns(columns, id_col, time_col, target, where)
    if fill is not None and fill not in FILLS:
        raise ValueError(f"fill must be one of {', '.join(FILLS)}, got {fill!r}")
    if df[id_col].isna().any():
        rows = np.flatnonzero(df[id_col].isna())
        raise ValueError(f"{where}: id column {id_col!r} is empty on lines {lines(rows)}")
    args = (id_col, time_col, target, fill, freq, where)
    if not tolerant:
        return _parse(df, *args)
    try:
        return _parse(df, *args)
    except ValueError:
        pass
    # Some series are bad: read each on its own, so that the error names that series
    # (and its file lines) and the rest are kept.
    parts, failed = [], {}
    positions = current_rows(len(df))
    ids = df[id_col].astype(str)
    for uid, rows in ids.groupby(ids, sort=False).indices.items():
        with file_rows(positions[rows]):
            try:
                parts.append(_parse(df.iloc[rows].reset_index(drop=True), *args))
            except ValueError as exc:
                failed[str(uid)] = str(exc)
    out = Series([], [], [], Counter(), failed=failed)
    for part in parts:
        out.ids += part.ids
        out.values += part.values
        out.times += part.times
        out.freqs += part.freqs
        out.filled += part.filled
        out.inserted += part.inserted
        out.date_note = out.date_note or part.date_note
    return out


def _parse(df, id_col, time_col, target, fill, freq, where) -> Series:
    numeric = numeric_column(df[target], f"{where}: target column {target!r}")
    ids = df[id_col].astype(str)
    time_all, date_note = parse_time_noted(df[time_col], time_col)
    order = pd.unique(ids.to_numpy())
    rows_of = ids.groupby(ids, sort=False).indices
    values, times, freqs, filled, inserted = [], [], Counter(), 0, 0
    for uid in order:
        rows = np.asarray(rows_of[uid])
        t = time_all[rows]
        srt = np.argsort(t.to_numpy(), kind="stable")
        rows, t = rows[srt], t[srt]
        try:
            check_order(t, time_col, rows)
            t, positions = regular_time(t, time_col, rows, freq=freq, fill=fill)
        except ValueError as exc:
            raise ValueError(f"{where}: series {uid!r}: {exc}") from None
        inserted += len(t) - len(rows)
        y, where_rows = on_grid(numeric.iloc[rows], rows, positions, len(t))
        arr, n = fill_missing(y, where_rows, fill, f"{where}: series {uid!r}")
        filled += n
        values.append(arr)
        times.append(t)
        if isinstance(t, pd.DatetimeIndex) and t.freqstr:
            freqs[t.freqstr] += 1
    return Series([str(u) for u in order], values, times, freqs, filled, inserted, date_note)


def _panel_season(times, freqs: Counter, n: int) -> tuple[int, str]:
    return panel_season(freqs, reference_time(times), n)


def reference_time(times) -> pd.Index:
    """The time index the season is read from: the first with a frequency, else the
    first."""
    return next((t for t in times if isinstance(t, pd.DatetimeIndex) and t.freqstr), times[0])


def panel_season(freqs: Counter, reference: pd.Index, n: int) -> tuple[int, str]:
    """The season of ``n`` series with these frequencies (one at most) and the
    :func:`reference_time` of their times."""
    if len(freqs) > 1:
        (a, _), (b, _) = freqs.most_common(2)
        raise ValueError(
            f"the series have different frequencies ({a!r} and {b!r}); forecast each "
            "frequency in its own file"
        )
    season, note = infer_season(reference)
    if freqs:
        note = note.replace("of the time column", f"of the time column ({n} series)")
    return season, note


def detect_long_format(df: pd.DataFrame, time_col: str | None = None,
                       target: str | None = None) -> tuple[str, str] | None:  # fmt: skip
    """``(id column, time column)`` when a frame without an id column is in long format
    anyway: its time column (``time_col``, else the first column of dates) repeats, and
    a text column tells the repeats apart (each of its values has each date at most
    once); None otherwise."""
    columns = [str(c) for c in df.columns]
    candidates = [time_col] if time_col else [c for c in columns if looks_like_dates(df[c])]
    for tc in candidates:
        if tc == target or not df[tc].duplicated().any():
            continue
        for c in columns:
            col = df[c]
            if c in (tc, target) or pd.api.types.is_numeric_dtype(col) or looks_like_dates(col):
                continue
            n_ids = col.nunique()
            if 1 < n_ids < len(df) and not df.duplicated(subset=[c, tc]).any():
                return c, tc
    return None


def panel_columns(columns, id_col: str, time_col: str | None, target: str | None,
                  where: str) -> tuple[str, str]:  # fmt: skip
    """The time and target columns of a panel with id column ``id_col``: as given, else
    ``ds`` and ``y`` (or the last other column); every one checked to exist."""
    time_col = time_col or (DEFAULT_TIME if DEFAULT_TIME in columns else None)
    if time_col is None:
        raise ValueError(
            f"{where} has an id column but no time column {DEFAULT_TIME!r}; give --time COL"
        )
    if target is None:
        rest = [c for c in columns if c not in (id_col, time_col)]
        target = DEFAULT_TARGET if DEFAULT_TARGET in rest else (rest[-1] if rest else None)
        if target is None:
            raise ValueError(f"{where} has no value column besides the id and the time")
    check_columns(columns, id_col, time_col, target, where)
    return time_col, target


def read_panel_csv(
    path: str | Path,
    *,
    id_col: str | None = None,
    time_col: str | None = None,
    target: str | None = None,
    fill: str | None = None,
    sep: str | None = None,
    decimal: str | None = None,
    freq: str | None = None,
) -> Panel:
    """A long-format panel or a single-series CSV file → Panel (module docstring).

    A file without an id column (``--id``, or one named ``unique_id``) is still read as
    a panel when :func:`detect_long_format` finds one; the read note says which.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no CSV file at {str(path)!r}")
    df, read_note = read_frame(path, sep, decimal)
    columns = [str(c) for c in df.columns]
    df.columns = columns
    if id_col is not None and id_col not in columns:
        raise ValueError(
            f"id column {id_col!r} not found; the columns are {', '.join(columns)} (give --id COL)"
        )
    if id_col is None and DEFAULT_ID in columns:
        id_col = DEFAULT_ID
    notes = [read_note] if read_note else []
    if freq is not None:
        notes.append(f"timestamps put on the steps of --freq {freq}")
    if id_col is None and df.shape[0] > 0:
        for name, given in (("time", time_col), ("target", target)):
            if given is not None and given not in columns:
                raise ValueError(
                    f"{name} column {given!r} not found; the columns are {', '.join(columns)}"
                )
        found = detect_long_format(df, time_col, target)
        if found is not None:
            id_col, time_col = found
            notes.append(
                f"long format: id column {id_col!r} detected (give --id COL to choose another)"
            )
    if id_col is None:
        data = series_from_frame(df, path, target, time_col, fill, freq=freq,
                                 read_note=read_note)  # fmt: skip
        return Panel([data.target], [data.values], [data.time], data.target, data.time_name,
                     None, data.season, data.season_note, data.filled, "; ".join(notes),
                     data.inserted)  # fmt: skip
    time_col, target = panel_columns(columns, id_col, time_col, target, repr(str(path)))
    panel = from_frame(df, id_col=id_col, time_col=time_col, target=target, fill=fill,
                       freq=freq, where=repr(str(path)))  # fmt: skip
    from dataclasses import replace

    return replace(panel, read_note="; ".join(n for n in (*notes, panel.read_note) if n))
