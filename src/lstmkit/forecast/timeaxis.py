"""The time column: parsed, checked and put on a regular grid, never changed silently.

A forecast is a number of *steps*, so the time axis must be one: a date that does not
parse, a duplicate, rows out of order, a missing step (a gap) or a step off the grid of
the others is an error naming the file line, unless the user says how to repair it:
``--fill`` inserts the missing steps of a gap and fills them like missing values;
``--freq F`` puts every row on the step of frequency F it falls in (and then gaps need
``--fill``). Nothing is dropped or relabelled without a flag that asked for it.
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format

from lstmkit.forecast.seasonality import season_from_freq

_QUARTER = re.compile(r"^\s*(?:[Qq]([1-4])[\s/-]*(\d{4})|(\d{4})[\s/-]*[Qq]([1-4]))\s*$")
FREQ_EXAMPLES = "e.g. h, D, B, W-SUN, MS, QS, YS"


#: Positions in the frame being checked → data rows of the file, when the frame is a
#: part of the file (a chunk of series read on its own); None: the frame is the file.
_FILE_ROWS: ContextVar[np.ndarray | None] = ContextVar("file_rows", default=None)


@contextmanager
def file_rows(rows: np.ndarray):
    """Within this block, messages name the file lines of a frame cut from a file:
    position ``i`` of the frame is data row ``rows[i]`` of the file."""
    token = _FILE_ROWS.set(np.asarray(rows))
    try:
        yield
    finally:
        _FILE_ROWS.reset(token)


def current_rows(n: int) -> np.ndarray:
    """The file's data rows of a frame of ``n`` rows being checked (see :func:`file_rows`)."""
    rows = _FILE_ROWS.get()
    return np.arange(n) if rows is None else rows


def line_no(row) -> int:
    """The 1-based file line of a frame's data row (the header is line 1)."""
    rows = _FILE_ROWS.get()
    return int(row if rows is None else rows[int(row)]) + 2


def lines(rows: np.ndarray, limit: int = 5) -> str:
    """1-based file line numbers of data rows (the header is line 1)."""
    rows = np.asarray(rows)
    shown = ", ".join(str(line_no(r)) for r in rows[:limit])
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def _count(rows: np.ndarray) -> str:
    return "1 such row" if len(rows) == 1 else f"{len(rows)} such rows: lines {lines(rows)}"


def _quarters(col: pd.Series) -> pd.DatetimeIndex | None:
    """Quarter labels ("Q1 1965", "1965 Q1", "1965Q1", "1965-Q1") → quarter starts, or
    None when not every value is one."""
    found = col.astype(str).str.extract(_QUARTER)
    if found.isna().all(axis=1).any():
        return None
    quarter = found[0].fillna(found[3]).astype(int)
    year = found[1].fillna(found[2]).astype(int)
    return pd.DatetimeIndex(pd.to_datetime({"year": year, "month": 3 * quarter - 2, "day": 1}))


def _date_formats(sample: str) -> list[tuple[str, bool]]:
    """``(format, dayfirst)`` readings of a date such as ``sample``: month first and day
    first when they differ (``01.02.2015``), never year-day-month."""
    out: list[tuple[str, bool]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for dayfirst in (False, True):
            fmt = guess_datetime_format(sample, dayfirst=dayfirst)
            if fmt and not re.search(r"%Y.*%d.*%m", fmt) and fmt not in [f for f, _ in out]:
                out.append((fmt, dayfirst))
    return out


def _regularity(parsed: pd.Series) -> float:
    """1 when the distinct dates follow a frequency, 0.5 when most runs of them do (a gap),
    else 0: how a reading of ambiguous dates is chosen."""
    t = pd.DatetimeIndex(parsed.dropna().unique()).sort_values()
    if len(t) < 3:
        return 0.0
    if pd.infer_freq(t) is not None:
        return 1.0
    return 0.5 if _majority_freq(t) is not None else 0.0


def _as_dates(col: pd.Series) -> tuple[pd.Series, str]:
    """Each value as a timestamp (NaT where it is not a date), and a note when the
    reading was a choice. Dates such as ``01.02.2015`` read either month first or day
    first: every value is parsed both ways with one format, and the reading that parses
    more values, then gives the more regular axis, wins (day first on a tie for dates
    written with dots, the convention of ``dd.mm.yyyy``). Values that fit neither format
    are read one by one in the chosen order."""
    present = col.dropna().astype(str).str.strip()
    if present.empty:
        return pd.Series(pd.NaT, index=col.index, dtype="datetime64[ns]"), ""
    sample = present.iloc[0]
    readings = []
    formats = _date_formats(sample)
    for fmt, dayfirst in formats:
        parsed = pd.to_datetime(col, format=fmt, errors="coerce")
        european = dayfirst and "." in sample
        regular = _regularity(parsed) if len(formats) > 1 else 0.0  # a choice to make
        readings.append(((int(parsed.notna().sum()), regular, european), parsed, dayfirst))
    if readings:
        score, parsed, dayfirst = max(readings, key=lambda r: r[0])
    else:
        parsed, dayfirst, score = pd.Series(pd.NaT, index=col.index), False, (0, 0, False)
    rest = parsed.isna() & col.notna()
    if rest.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "could not infer format": we check every value
            parsed = parsed.astype("datetime64[ns]").copy()
            parsed[rest] = pd.to_datetime(col[rest], errors="coerce", format="mixed",
                                          dayfirst=dayfirst)  # fmt: skip
    others = [r for r in readings if r[2] != dayfirst]
    note = ""
    if others and others[0][0][0] == score[0]:  # both readings parse every value
        differ = np.flatnonzero((others[0][1] != parsed).to_numpy() & parsed.notna().to_numpy())
        if differ.size:
            k = col.index[differ[0]]
            ts = parsed[k]
            order = "day first" if dayfirst else "month first"
            note = f"dates read {order} ({str(col[k]).strip()} = {ts.day} {ts:%B %Y})"
    return parsed, note


def looks_like_dates(col: pd.Series) -> bool:
    """Whether a text column is meant as dates: most of its values parse as dates (so a
    few that do not are mistakes to report, not a sign that it holds no dates)."""
    if pd.api.types.is_numeric_dtype(col) or len(col) == 0:
        return False
    if _quarters(col) is not None:
        return True
    present = col.dropna()
    if present.empty:
        return False
    # A sample decides: spread over the column, enough to see a few bad values.
    sample = present.iloc[np.unique(np.linspace(0, len(present) - 1, 500).astype(int))]
    return bool(_as_dates(sample)[0].notna().mean() >= 0.8)


def parse_time(col: pd.Series, name: str) -> pd.Index:
    """The time column as an Index: quarter labels and dates → DatetimeIndex, numbers →
    Index. A missing value or a value that is not a date is an error naming its line."""
    return parse_time_noted(col, name)[0]


def parse_time_noted(col: pd.Series, name: str) -> tuple[pd.Index, str]:
    """:func:`parse_time`, and a note for the run's header when reading the dates took a
    choice (day first or month first)."""
    if pd.api.types.is_numeric_dtype(col):
        if col.isna().any():
            rows = np.flatnonzero(col.isna())
            raise ValueError(f"time column {name!r} has missing values (lines {lines(rows)})")
        return pd.Index(col.to_numpy()), ""
    quarters = _quarters(col)
    if quarters is not None:
        return quarters, ""
    parsed, note = _as_dates(col)
    bad = np.flatnonzero(parsed.isna())
    if bad.size:
        what = "is empty" if pd.isna(col.iloc[bad[0]]) else f"has {str(col.iloc[bad[0]])!r}"
        raise ValueError(
            f"time column {name!r} is not all dates: line {line_no(bad[0])} {what} "
            f"({_count(bad)}); correct or remove those rows"
        )
    return pd.DatetimeIndex(parsed), note


def check_order(t: pd.Index, name: str, rows: np.ndarray | None = None) -> None:
    """Duplicates and rows out of order are errors naming the lines (``rows[i]``: the
    data row of entry i; default ``i``)."""
    rows = np.arange(len(t)) if rows is None else np.asarray(rows)
    values = t.to_numpy()
    dup = np.flatnonzero(pd.Index(values).duplicated(keep=False))
    if dup.size:
        first = values[dup[0]]
        same = rows[dup[values[dup] == first]]
        raise ValueError(
            f"time column {name!r} has duplicate timestamps: {stamp(t[dup[0]])} is on lines "
            f"{lines(same)} ({dup.size} rows share a timestamp); keep one row per time "
            "step, or give --id COL if the file holds several series"
        )
    later = np.flatnonzero(values[1:] < values[:-1])
    if later.size:
        k = int(later[0]) + 1
        raise ValueError(
            f"time column {name!r} is not sorted: line {line_no(rows[k])} ({stamp(t[k])}) comes "
            f"after line {line_no(rows[k - 1])} ({stamp(t[k - 1])}); sort the file by time"
        )


def parse_freq(freq: str) -> pd.DateOffset:
    """A pandas frequency alias (``--freq``) → its offset, or a clear error."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deprecated aliases ("H", "M") still work
            return pd.tseries.frequencies.to_offset(freq)
    except (ValueError, TypeError):
        raise ValueError(f"--freq {freq!r} is not a pandas frequency ({FREQ_EXAMPLES})") from None


def _majority_freq(t: pd.DatetimeIndex) -> str | None:
    """The frequency most runs of consecutive timestamps follow (so that one gap or one
    stray step does not hide it), or None when no run has one."""
    n, width = len(t), 6
    if n < width:
        return None
    starts = np.unique(np.linspace(0, n - width, num=min(200, n - width + 1)).astype(int))
    found = Counter(f for s in starts if (f := pd.infer_freq(t[s : s + width])) is not None)
    return found.most_common(1)[0][0] if found else None


def stamp(x) -> str:
    """A timestamp as the data would write it: the date alone at midnight."""
    if isinstance(x, pd.Timestamp) and x == x.normalize():
        return x.strftime("%Y-%m-%d")
    return str(x)


def _step_text(t: pd.Index, k: int, rows: np.ndarray) -> str:
    before, at = line_no(rows[k - 1]), line_no(rows[k])
    return f"line {before} ({stamp(t[k - 1])}) to line {at} ({stamp(t[k])})"


def regular_time(
    t: pd.Index,
    name: str,
    rows: np.ndarray | None = None,
    *,
    freq: str | None = None,
    fill: str | None = None,
) -> tuple[pd.Index, np.ndarray]:
    """Put a sorted, duplicate-free time index on a regular grid.

    Parameters
    ----------
    t : Index (N,), dates or numbers, sorted and without duplicates.
    name : the column's name, for messages.
    rows : ndarray (N,) of int, the data row of each entry (default ``arange(N)``).
    freq : a pandas frequency whose steps the timestamps are put on (each on the step it
        falls in: the last one at or before it), or None to
        require the timestamps to follow their own frequency.
    fill : the ``--fill`` method, or None; missing steps are allowed only with it.

    Returns
    -------
    grid : Index (M,), M ≥ N: dates with a frequency, numbers with a constant step, or
        ``t`` itself when it has fewer than three entries.
    positions : ndarray (N,) of int, where each entry of ``t`` falls in ``grid``.
    """
    rows = np.arange(len(t)) if rows is None else np.asarray(rows)
    if isinstance(t, pd.DatetimeIndex):
        return _regular_dates(t, name, rows, freq, fill)
    if freq is not None:
        raise ValueError(
            f"--freq applies to dates, and time column {name!r} holds numbers; leave it out"
        )
    return _regular_numbers(t, name, rows, fill)


def _gap_error(name, t, missing, rows, k, how) -> ValueError:
    return ValueError(
        f"time column {name!r} skips {missing} step(s) of {how}, the first between "
        f"line {line_no(rows[k - 1])} ({stamp(t[k - 1])}) and line {line_no(rows[k])} "
        f"({stamp(t[k])}); "
        "add the rows, or give --fill ffill or --fill "
        "interpolate to insert the missing steps and fill them"
    )


def _regular_dates(t, name, rows, freq, fill):
    n = len(t)
    if freq is None:
        if n < 3:
            return t, np.arange(n)
        inferred = pd.DatetimeIndex(t, freq="infer")
        if inferred.freq is not None:
            return inferred, np.arange(n)
        found = _majority_freq(t)
        if found is None:
            k = 1 + int(np.argmax(np.diff(t.asi8) != np.diff(t.asi8)[0]))
            raise ValueError(
                f"time column {name!r} has no regular step ({_step_text(t, 1, rows)} is "
                f"{t[1] - t[0]}, {_step_text(t, k, rows)} is {t[k] - t[k - 1]}); give "
                f"--freq F ({FREQ_EXAMPLES}) to put every row on the step of F it falls in"
            )
        offset = parse_freq(found)
        grid = pd.date_range(t[0], t[-1], freq=offset)
        pos = grid.get_indexer(t)
        if (pos < 0).any():
            k = int(np.flatnonzero(pos < 0)[0])
            raise ValueError(
                f"time column {name!r} follows the {found!r} frequency except on line "
                f"{line_no(rows[k])} ({stamp(t[k])}), which is off its steps; correct that row, "
                "or give "
                f"--freq {found} to put every row on the step it falls in"
            )
    else:
        offset = parse_freq(freq)
        found = freq
        if isinstance(offset, pd.tseries.offsets.Tick):  # fixed steps: from midnight on
            lo, hi = t[0].floor(offset), t[-1].ceil(offset)
        else:
            lo, hi = offset.rollback(t[0].normalize()), offset.rollforward(t[-1].normalize())
        wide = pd.date_range(lo, hi, freq=offset)
        if len(wide) == 0:
            wide = pd.DatetimeIndex([lo], freq=offset)
        near = wide.get_indexer(t, method="pad")
        same = np.flatnonzero(near[1:] == near[:-1])
        if same.size:
            k = int(same[0]) + 1
            raise ValueError(
                f"time column {name!r}: lines {line_no(rows[k - 1])} ({stamp(t[k - 1])}) and "
                f"{line_no(rows[k])} ({stamp(t[k])}) fall on the same {freq!r} step "
                f"({stamp(wide[near[k]])}); "
                "give a finer --freq, or keep one row per step"
            )
        grid = wide[near[0] : near[-1] + 1]
        pos = near - near[0]
    grid = pd.DatetimeIndex(grid, freq=offset)
    missing = len(grid) - n
    if missing and fill is None:
        k = int(np.flatnonzero(np.diff(pos) > 1)[0]) + 1
        raise _gap_error(name, t, missing, rows, k, repr(found))
    _check_invented(name, t, missing, n)
    return grid, pos


def _regular_numbers(t, name, rows, fill):
    n = len(t)
    values = t.to_numpy()
    if n < 3 or not np.issubdtype(values.dtype, np.number):
        return t, np.arange(n)
    steps = np.diff(values)
    if np.all(steps == steps[0]):
        return t, np.arange(n)
    step = Counter(steps.tolist()).most_common(1)[0][0]
    multiple = steps / step
    if not np.all(np.isclose(multiple, np.round(multiple))):
        k = int(np.flatnonzero(~np.isclose(multiple, np.round(multiple)))[0]) + 1
        raise ValueError(
            f"time column {name!r} steps by {step} except from {_step_text(t, k, rows)}; "
            "correct those rows, or use dates in the time column"
        )
    pos = np.concatenate([[0], np.cumsum(np.round(multiple).astype(int))])
    if fill is None:
        k = int(np.flatnonzero(np.diff(pos) > 1)[0]) + 1
        raise _gap_error(name, t, int(pos[-1] + 1 - n), rows, k, f"{step}")
    _check_invented(name, t, int(pos[-1] + 1 - n), n)
    grid = pd.Index(values[0] + step * np.arange(pos[-1] + 1))
    return grid, pos


def _check_invented(name: str, t: pd.Index, missing: int, n: int) -> None:
    """Filling may insert a few missing steps, never more steps than the data holds: that
    is a misread or irregular time axis, not gaps."""
    if missing > n:
        raise ValueError(
            f"time column {name!r}: filling would insert {missing} steps among {n} rows "
            f"({stamp(t[0])} to {stamp(t[-1])}), more than the data holds; the dates are "
            "probably read wrongly or irregular: check them, or give --freq F"
        )


def future_index(t: pd.Index, steps: int) -> pd.Index:
    """Labels of the ``steps`` steps after the last of ``t``: the dates of its frequency,
    numbers continued by the last step, or positions."""
    if isinstance(t, pd.DatetimeIndex) and t.freq is not None:
        return pd.date_range(t[-1], periods=steps + 1, freq=t.freq)[1:]
    if len(t) > 1 and not isinstance(t, pd.DatetimeIndex):
        step = t[-1] - t[-2]
        return pd.Index([t[-1] + step * (k + 1) for k in range(steps)])
    return pd.RangeIndex(len(t), len(t) + steps)


def infer_season(t: pd.Index) -> tuple[int, str]:
    """Season length from a time index's frequency, and how it was found."""
    if isinstance(t, pd.DatetimeIndex):
        if not t.freqstr:
            return 1, "season 1: too few timestamps to tell a frequency (give --season)"
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
