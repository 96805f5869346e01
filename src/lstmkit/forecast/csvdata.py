"""Reading one series from a CSV file, with a clear one-line error for every bad input.

The target column (default: the last column that is not the time column) must be
numeric and of a size whose squares float64 can hold; the time column (default: the
first column of dates, else the first column when it holds whole numbers that count
up) is checked and put on a regular grid by :mod:`lstmkit.forecast.timeaxis`.
Missing target values stop with their count and where they are, unless ``fill`` is
``"ffill"`` or ``"interpolate"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lstmkit.forecast.timeaxis import (
    check_order,
    future_index,
    infer_season,
    line_no,
    lines,
    looks_like_dates,
    parse_time_noted,
    regular_time,
)

__all__ = ["FILLS", "MAX_ABS_VALUE", "SeriesData", "future_index", "infer_season",
           "read_series_csv"]  # fmt: skip

FILLS = ("ffill", "interpolate")
# Squares and sums of squares (variances, the anchors' likelihoods) must stay finite.
MAX_ABS_VALUE = 1e100


@dataclass(frozen=True)
class SeriesData:
    """A series read from a file.

    Attributes
    ----------
    values : ndarray (N,), float64, no missing values.
    time : pandas Index of the time column (dates or numbers), or a RangeIndex.
    target, time_name : column names (``time_name`` None when the file has none).
    season : season length inferred from the time column's frequency (1 if unknown).
    filled : how many missing values were filled, inserted steps included.
    inserted : how many missing time steps were inserted (``fill`` given).
    season_note : how the season was found, for the run's header.
    read_note : the separator and decimal mark when they are not ``,`` and ``.``.
    """

    values: np.ndarray
    time: pd.Index
    target: str
    time_name: str | None
    season: int
    filled: int = 0
    season_note: str = ""
    read_note: str = ""
    inserted: int = 0

    def future_time(self, steps: int) -> pd.Index:
        """Labels of the ``steps`` steps after the last one."""
        return future_index(self.time, steps)


def numeric_column(raw: pd.Series, what: str) -> pd.Series:
    """``raw`` as numbers, NaN where a cell is empty; text is an error naming its line."""
    values = pd.to_numeric(raw, errors="coerce")
    text = values.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
    if text.any():
        rows = np.flatnonzero(text)
        raise ValueError(
            f"{what} is not numeric: line {line_no(rows[0])} has {str(raw.iloc[rows[0]])!r} "
            f"({int(text.sum())} such value(s))"
        )
    return values


def fill_missing(values: pd.Series, rows: np.ndarray, fill: str | None, what: str):
    """``values`` without missing entries (filled as ``fill`` says, else an error naming
    their file lines; ``rows[i]`` is entry i's data row) → ``(float64 array, filled)``."""
    values = values.reset_index(drop=True)
    missing = np.flatnonzero(values.isna())
    if missing.size:
        if fill is None:
            raise ValueError(
                f"{what} has {missing.size} missing value(s) (lines {lines(rows[missing])}); "
                "fill them with --fill ffill or --fill interpolate"
            )
        if fill == "ffill" and values.isna().iloc[0]:
            raise ValueError(
                f"{what} starts with a missing value, which ffill cannot fill; use --fill "
                "interpolate or remove the first rows"
            )
        values = values.ffill() if fill == "ffill" else values.interpolate(limit_direction="both")
    arr = values.to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} has infinite values")
    too_big = np.flatnonzero(np.abs(arr) > MAX_ABS_VALUE)
    if too_big.size:
        k = too_big[0]
        where = f"line {line_no(rows[k])} has " if rows[k] >= 0 else ""
        raise ValueError(
            f"{what} has values too large to forecast in float64 ({where}{arr[k]:.3g}; "
            f"the limit is {MAX_ABS_VALUE:.0e} in absolute value); divide the column by a "
            "power of ten first"
        )
    return arr, int(missing.size)


def on_grid(values: pd.Series, rows: np.ndarray, positions: np.ndarray, size: int):
    """Values and their data rows placed on a time grid of ``size`` steps: missing
    (NaN, row -1) at the steps the file skips."""
    full = np.full(size, np.nan)
    full[positions] = values.to_numpy(dtype=np.float64)
    where = np.full(size, -1)
    where[positions] = rows
    return pd.Series(full), where


SEPARATORS = (",", ";", "\t", "|")
_DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d+,\d+\s*$")


def sniff_csv(path: Path, sep: str | None = None, decimal: str | None = None):
    """The separator and decimal mark of a CSV file, and a note when they are not the
    usual ``,`` and ``.``: a separator is the first of ``, ; tab |`` that splits every
    one of the first 20 lines into the same number of fields (more than one); the decimal
    mark is a comma when the separator is not and values such as ``1,5`` appear. Either
    can be given (``--sep``, ``--decimal``) instead."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            lines = [ln.rstrip("\r\n") for ln in f.readlines(65536) if ln.strip()][:20]
    except UnicodeDecodeError:
        raise ValueError(f"cannot read {str(path)!r} as CSV: it is not UTF-8 text") from None
    found = sep
    if found is None:
        found = ","
        for cand in SEPARATORS:
            counts = {ln.count(cand) for ln in lines}
            if len(counts) == 1 and counts.pop() > 0:
                found = cand
                break
    dec = decimal
    if dec is None:
        fields = [x for ln in lines[1:] for x in ln.split(found)]
        dec = "," if found != "," and any(_DECIMAL_COMMA.match(x) for x in fields) else "."
    if found == dec:
        raise ValueError(f"the separator and the decimal mark cannot both be {found!r}")
    notes = []
    if found != ",":
        notes.append(f"separator {found!r}" + (" (detected)" if sep is None else ""))
    if dec != ".":
        notes.append(f"decimal mark {dec!r}" + (" (detected)" if decimal is None else ""))
    return found, dec, "; ".join(notes)


def read_frame(path: Path, sep: str | None = None, decimal: str | None = None, nrows=None):
    """``(DataFrame, note)`` of a CSV file with its separator and decimal mark
    (:func:`sniff_csv`); one clear error when pandas cannot read it."""
    found, dec, note = sniff_csv(path, sep, decimal)
    try:
        df = pd.read_csv(path, sep=found, decimal=dec, nrows=nrows)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"cannot read {str(path)!r} as CSV: {first}") from None
    return df, note


def _find_time(df: pd.DataFrame, target: str | None) -> str | None:
    """The time column when none is given: the first column of dates (a few bad ones are
    then reported, not taken as a sign of no time column), else the first column when it
    holds whole numbers that count up (other numbers are more likely values)."""
    columns = [c for c in df.columns if c != target]
    if len(df.columns) < 2:
        return None
    for c in columns:
        if looks_like_dates(df[c]):
            return c
    first = df[df.columns[0]]
    if df.columns[0] == target or not pd.api.types.is_numeric_dtype(first) or first.isna().any():
        return None
    v = first.to_numpy()
    whole = np.issubdtype(v.dtype, np.integer) and bool(np.all(np.diff(v) > 0))
    return df.columns[0] if whole else None


def read_series_csv(
    path: str | Path,
    target: str | None = None,
    time: str | None = None,
    fill: str | None = None,
    *,
    sep: str | None = None,
    decimal: str | None = None,
    freq: str | None = None,
) -> SeriesData:
    """Read and check one series (see the module docstring); ``freq`` puts the
    timestamps on that frequency's steps (:func:`~lstmkit.forecast.timeaxis.regular_time`)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no CSV file at {str(path)!r}")
    df, read_note = read_frame(path, sep, decimal)
    return series_from_frame(df, path, target, time, fill, freq=freq, read_note=read_note)


def series_from_frame(
    df: pd.DataFrame,
    path: Path,
    target: str | None = None,
    time: str | None = None,
    fill: str | None = None,
    *,
    freq: str | None = None,
    read_note: str = "",
) -> SeriesData:
    """:func:`read_series_csv` on a frame already read from ``path`` (named in errors)."""
    if df.shape[0] == 0 or df.shape[1] == 0:
        raise ValueError(f"{str(path)!r} has no data rows")
    columns = [str(c) for c in df.columns]
    df.columns = columns
    for name, given in (("target", target), ("time", time)):
        if given is not None and given not in columns:
            raise ValueError(
                f"{name} column {given!r} not found; the columns are {', '.join(columns)}"
            )
    if fill is not None and fill not in FILLS:
        raise ValueError(f"fill must be one of {', '.join(FILLS)}, got {fill!r}")
    if time is None:
        time = _find_time(df, target)
    if len(columns) == 1 and target is None and looks_like_dates(df[columns[0]]):
        raise ValueError(
            f"{str(path)!r} has only a time column ({columns[0]!r}); add a column of values"
        )
    if target is None:
        rest = [c for c in columns if c != time]
        if not rest:
            raise ValueError(f"{str(path)!r} has only the time column; give a value column")
        target = rest[-1]
    if target == time:
        raise ValueError(f"column {target!r} cannot be both the target and the time column")
    what = f"target column {target!r}"
    values, rows = numeric_column(df[target], what), np.arange(len(df))
    inserted = 0
    if time:
        t, date_note = parse_time_noted(df[time], time)
        read_note = "; ".join(n for n in (read_note, date_note) if n)
        check_order(t, time)
        t, positions = regular_time(t, time, freq=freq, fill=fill)
        inserted = len(t) - len(values)
        values, rows = on_grid(values, rows, positions, len(t))
    elif freq is not None:
        raise ValueError("--freq needs a time column; give --time COL")
    arr, filled = fill_missing(values, rows, fill, what)
    if time:
        season, note = infer_season(t)
    else:
        t = pd.RangeIndex(len(arr))
        season, note = 1, "season 1: there is no time column (give --season)"
    return SeriesData(arr, t, target, time, season, filled, note, read_note, inserted)
