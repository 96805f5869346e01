"""Reading one series from a CSV file, with a clear one-line error for every bad input.

The target column (default: the last column that is not the time column) must be
numeric; the time column (default: the first column, when it is not the target and
reads as dates, or as strictly increasing whole numbers) must be sorted and free of
duplicates. Missing target
values stop with their count and where they are, unless ``fill`` is ``"ffill"`` or
``"interpolate"``.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lstmkit.forecast.seasonality import season_from_freq

FILLS = ("ffill", "interpolate")
_QUARTER = re.compile(r"^\s*(?:[Qq]([1-4])[\s/-]*(\d{4})|(\d{4})[\s/-]*[Qq]([1-4]))\s*$")


@dataclass(frozen=True)
class SeriesData:
    """A series read from a file.

    Attributes
    ----------
    values : ndarray (N,), float64, no missing values.
    time : pandas Index of the time column (dates or numbers), or a RangeIndex.
    target, time_name : column names (``time_name`` None when the file has none).
    season : season length inferred from the time column's frequency (1 if unknown).
    filled : how many missing values were filled.
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

    def future_time(self, steps: int) -> pd.Index:
        """Labels of the ``steps`` steps after the last one."""
        return future_index(self.time, steps)


def future_index(t: pd.Index, steps: int) -> pd.Index:
    """Labels of the ``steps`` steps after the last of ``t``: the dates of its frequency,
    numbers continued by the last step, or positions."""
    if isinstance(t, pd.DatetimeIndex) and t.freq is not None:
        return pd.date_range(t[-1], periods=steps + 1, freq=t.freq)[1:]
    if len(t) > 1 and not isinstance(t, pd.DatetimeIndex):
        step = t[-1] - t[-2]
        return pd.Index([t[-1] + step * (k + 1) for k in range(steps)])
    return pd.RangeIndex(len(t), len(t) + steps)


def _lines(rows: np.ndarray, limit: int = 5) -> str:
    """1-based file line numbers of data rows (the header is line 1)."""
    shown = ", ".join(str(int(r) + 2) for r in rows[:limit])
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def _quarters(col: pd.Series) -> pd.DatetimeIndex | None:
    """Quarter labels ("Q1 1965", "1965 Q1", "1965Q1", "1965-Q1") → quarter starts, or
    None when not every value is one."""
    text = col.astype(str)
    found = text.str.extract(_QUARTER)
    if found.isna().all(axis=1).any():
        return None
    quarter = found[0].fillna(found[3]).astype(int)
    year = found[1].fillna(found[2]).astype(int)
    return pd.DatetimeIndex(pd.to_datetime({"year": year, "month": 3 * quarter - 2, "day": 1}))


def _time_index(col: pd.Series, name: str) -> pd.Index:
    if not pd.api.types.is_numeric_dtype(col):
        quarters = _quarters(col)
        if quarters is not None:
            return quarters
    if pd.api.types.is_numeric_dtype(col):
        if col.isna().any():
            rows = np.flatnonzero(col.isna())
            raise ValueError(f"time column {name!r} has missing values (lines {_lines(rows)})")
        return pd.Index(col.to_numpy())
    try:
        parsed = pd.to_datetime(col, errors="raise", format="mixed")
    except (ValueError, TypeError) as exc:
        raise ValueError(f"time column {name!r} has values that are not dates: {exc}") from None
    return pd.DatetimeIndex(parsed)


def _check_order(t: pd.Index, name: str) -> pd.Index:
    values = t.to_numpy()
    dup = pd.Index(values).duplicated(keep=False)
    if dup.any():
        rows = np.flatnonzero(dup)
        raise ValueError(
            f"time column {name!r} has duplicate timestamps ({t[rows[0]]} on lines "
            f"{_lines(rows)}); keep one row per time step"
        )
    later = np.flatnonzero(values[1:] < values[:-1])
    if later.size:
        k = int(later[0]) + 1
        raise ValueError(
            f"time column {name!r} is not sorted: line {k + 2} ({t[k]}) comes after line "
            f"{k + 1} ({t[k - 1]}); sort the file by time"
        )
    if isinstance(t, pd.DatetimeIndex) and len(t) >= 3:
        try:
            t = pd.DatetimeIndex(t, freq="infer")
        except ValueError:  # irregular steps: no frequency, season 1
            pass
    return t


def numeric_column(raw: pd.Series, what: str) -> pd.Series:
    """``raw`` as numbers, NaN where a cell is empty; text is an error naming its line."""
    values = pd.to_numeric(raw, errors="coerce")
    text = values.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
    if text.any():
        rows = np.flatnonzero(text)
        raise ValueError(
            f"{what} is not numeric: line {rows[0] + 2} has {str(raw.iloc[rows[0]])!r} "
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
                f"{what} has {missing.size} missing value(s) (lines {_lines(rows[missing])}); "
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
    return arr, int(missing.size)


def infer_season(t: pd.Index) -> tuple[int, str]:
    """Season length from a time index's frequency, and how it was found."""
    if isinstance(t, pd.DatetimeIndex):
        if not t.freqstr:
            return 1, "season 1: the timestamps have no regular frequency (give --season)"
        m = season_from_freq(t.freqstr)
        if m is None:
            warnings.warn(
                f"unknown frequency {t.freqstr!r}: no season assumed; give --season N",
                UserWarning,
                stacklevel=3,
            )
            return 1, f"season 1: frequency {t.freqstr!r} is not one lstmkit knows (give --season)"
        return m, f"season {m} from the {t.freqstr!r} frequency of the time column"
    return 1, "season 1: the time column holds numbers, not dates (give --season)"


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


def read_series_csv(
    path: str | Path,
    target: str | None = None,
    time: str | None = None,
    fill: str | None = None,
    *,
    sep: str | None = None,
    decimal: str | None = None,
) -> SeriesData:
    """Read and check one series (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no CSV file at {str(path)!r}")
    df, read_note = read_frame(path, sep, decimal)
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
    if time is None and target != columns[0] and len(columns) > 1:
        candidate = df[columns[0]]
        try:
            index = _time_index(candidate, columns[0])
        except ValueError:
            index = None
        # Dates are a time column (their order is then checked); numbers only when they
        # are whole and strictly increasing, otherwise they are more likely values.
        if isinstance(index, pd.DatetimeIndex):
            time = columns[0]
        elif index is not None:
            v = index.to_numpy()
            whole = np.issubdtype(v.dtype, np.integer)
            time = columns[0] if whole and bool(np.all(np.diff(v) > 0)) else None
    if target is None:
        rest = [c for c in columns if c != time]
        if not rest:
            raise ValueError(f"{str(path)!r} has only the time column; give a value column")
        target = rest[-1]
    if target == time:
        raise ValueError(f"column {target!r} cannot be both the target and the time column")
    values = numeric_column(df[target], f"target column {target!r}")
    arr, filled = fill_missing(values, np.arange(len(values)), fill, f"target column {target!r}")
    t = _check_order(_time_index(df[time], time), time) if time else pd.RangeIndex(len(arr))
    if time:
        season, note = infer_season(t)
    else:
        season, note = 1, "season 1: there is no time column (give --season)"
    return SeriesData(arr, t, target, time, season, filled, note, read_note)
