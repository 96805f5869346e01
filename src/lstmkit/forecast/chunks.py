"""Reading a panel in chunks of series, so that no process has to hold all of it.

:func:`plan_chunks` looks at the file (its header, and one pass over the id column's
bytes) and cuts it into chunks of at most ``chunk_series`` whole series: for a CSV
file, byte ranges that start and end at a series' boundary; for a folder of Parquet
files, one file each. :func:`read_chunk` reads one chunk, on whichever worker runs it,
and checks its series as :func:`~lstmkit.forecast.panel.from_frame` does; a series with
bad rows is left out and reported by id (``Chunk.failed``), so one bad series does not
stop a run over thousands.

A chunk is described by where it lies in the file, not by its data, so a task that
reads it can be run again anywhere (a worker that died loses nothing that cannot be
read again). A CSV file whose series' rows are not together is read whole (one chunk),
and a file without an id column is one series or a panel found by
:func:`~lstmkit.forecast.panel.detect_long_format`, read whole as before.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lstmkit.forecast.csvdata import read_frame, sniff_csv
from lstmkit.forecast.panel import (
    DEFAULT_ID,
    DEFAULT_TARGET,
    panel_columns,
    parse_series,
    read_panel_csv,
    reference_time,
)
from lstmkit.forecast.timeaxis import file_rows

#: Most series per chunk unless ``--chunk-series`` says otherwise (a few MB of a typical
#: panel); a small panel is cut into about 16 chunks of at least ``MIN_CHUNK`` series.
CHUNK_SERIES = 1000
MIN_CHUNK = 50


@dataclass(frozen=True)
class Layout:
    """How every chunk of one source is read (the same for all of them)."""

    source: str
    sep: str = ","
    decimal: str = "."
    id_col: str | None = None
    time_col: str | None = None
    target: str | None = None
    fill: str | None = None
    freq: str | None = None


@dataclass
class Chunk:
    """The series of one chunk, in file order.

    Attributes
    ----------
    ids, values, times : per series (values ``(N_k,)`` float64, no missing values).
    freqs : Counter of the series' frequencies.
    filled, inserted : missing values filled and time steps inserted.
    date_note : how the dates were read, when worth saying.
    failed : series id → why it was left out.
    """

    ids: list[str]
    values: list[np.ndarray]
    times: list[pd.Index]
    freqs: Counter = field(default_factory=Counter)
    filled: int = 0
    inserted: int = 0
    date_note: str = ""
    failed: dict[str, str] = field(default_factory=dict)
    target: str = DEFAULT_TARGET
    time_name: str | None = None
    id_name: str | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def meta(self) -> dict:
        """What the driver needs of the chunk (small: no values)."""
        return {
            "ids": self.ids,
            "sizes": [v.size for v in self.values],
            "constant": [i for i, v in zip(self.ids, self.values, strict=True) if np.ptp(v) == 0],
            "freqs": self.freqs,
            "filled": self.filled,
            "inserted": self.inserted,
            "date_note": self.date_note,
            "failed": self.failed,
            "reference": reference_time(self.times) if self.times else None,
        }

    def subset(self, ids) -> Chunk:
        keep = [k for k, i in enumerate(self.ids) if i in set(ids)]
        return Chunk([self.ids[k] for k in keep], [self.values[k] for k in keep],
                     [self.times[k] for k in keep], target=self.target,
                     time_name=self.time_name, id_name=self.id_name)  # fmt: skip


@dataclass(frozen=True)
class Plan:
    """The chunks of a source: ``layout``, one spec per chunk, and notes for the header."""

    layout: Layout
    specs: list[tuple]
    read_note: str = ""


def plan_chunks(
    path: str | Path,
    *,
    id_col: str | None = None,
    time_col: str | None = None,
    target: str | None = None,
    fill: str | None = None,
    sep: str | None = None,
    decimal: str | None = None,
    freq: str | None = None,
    chunk_series: int | None = None,
) -> Plan:
    """Cut a panel CSV file or a folder of Parquet files into chunks (module docstring).

    Raises ValueError for a source that cannot be read, with what to do about it.
    """
    path = Path(path)
    if chunk_series is not None and chunk_series < 1:
        raise ValueError(f"--chunk-series must be at least 1, got {chunk_series}")
    if path.is_dir():
        return _plan_parquet(path, id_col, time_col, target, fill, freq)
    if not path.is_file():
        raise ValueError(f"no CSV file at {str(path)!r}")
    header, read_note = read_frame(path, sep, decimal, nrows=0)
    columns = [str(c) for c in header.columns]
    found_sep, found_dec, _ = sniff_csv(path, sep, decimal)
    notes = [read_note] if read_note else []
    if freq is not None:
        notes.append(f"timestamps put on the steps of --freq {freq}")
    if id_col is not None and id_col not in columns:
        raise ValueError(
            f"id column {id_col!r} not found; the columns are {', '.join(columns)} (give --id COL)"
        )
    id_col = id_col or (DEFAULT_ID if DEFAULT_ID in columns else None)
    whole = Layout(str(path), found_sep, found_dec, id_col, time_col, target, fill, freq)
    if id_col is None:  # one series, or a panel that detect_long_format finds: read whole
        return Plan(whole, [("whole", str(path), sep, decimal)], "")
    time_col, target = panel_columns(columns, id_col, time_col, target, repr(str(path)))
    layout = Layout(str(path), found_sep, found_dec, id_col, time_col, target, fill, freq)
    ranges, note = _series_ranges(path, found_sep, columns.index(id_col), chunk_series)
    if note:
        notes.append(note)
    return Plan(layout, [("csv", str(path), *r) for r in ranges], "; ".join(notes))


def chunk_size(n_series: int, given: int | None = None) -> int:
    """Series per chunk: ``given``, else :data:`CHUNK_SERIES`, or fewer for a small panel
    (about 16 chunks, at least :data:`MIN_CHUNK` series each) so that every worker of a
    small cluster gets several. It depends on the data only, never on the engine."""
    if given is not None:
        return int(given)
    return max(1, min(CHUNK_SERIES, max(MIN_CHUNK, math.ceil(n_series / 16))))


def _series_ranges(path: Path, sep: str, col: int, per_chunk: int | None):
    """Byte ranges ``(start, end, first data row)`` of chunks of whole series, from one
    pass over the file's bytes (the driver holds one line at a time, the ids seen and
    where each series starts). A file whose series are not each in one block of rows, or
    with a quoted field over several lines, is one range (read whole), with a note."""
    sep_b = sep.encode()
    with open(path, "rb") as f:
        f.readline()  # the header
        start = pos = f.tell()
        seen, current, row = set(), None, 0
        starts: list[tuple[int, int]] = []  # (byte, data row) where each series begins
        for line in f:
            if not line.strip():
                pos += len(line)
                continue
            if b'"' in line:
                if line.count(b'"') % 2:
                    return [(start, None, 0)], ("a quoted field spans lines, so the file is "
                                                "read whole")  # fmt: skip
                fields = next(csv.reader([line.decode("utf-8", "replace")], delimiter=sep))
                key = fields[col].encode() if col < len(fields) else b""
            else:
                parts = line.split(sep_b, col + 1)
                key = parts[col].strip() if col < len(parts) else b""
            if key != current:
                if key in seen:
                    return [(start, None, 0)], (
                        f"the rows of series {key.decode(errors='replace')!r} are not together, "
                        "so the file is read whole (sort it by series to read it in chunks)"
                    )
                seen.add(key)
                starts.append((pos, row))
                current = key
            pos += len(line)
            row += 1
    if not starts:
        return [(start, None, 0)], ""
    per = chunk_size(len(starts), per_chunk)
    cuts = starts[::per]
    ends = [c[0] for c in cuts[1:]] + [None]
    return [(b, e, r) for (b, r), e in zip(cuts, ends, strict=True)], ""


def _plan_parquet(folder: Path, id_col, time_col, target, fill, freq) -> Plan:
    files = sorted(folder.glob("*.parquet"))
    if not files:
        raise ValueError(f"no CSV file at {str(folder)!r}: it is a folder without .parquet "
                         "files; give a CSV file or a folder of Parquet files")  # fmt: skip
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ValueError("reading Parquet files needs pyarrow: pip install 'lstmkit[dask]' "
                         "(or pip install pyarrow)") from None  # fmt: skip
    columns = [str(c) for c in pq.read_schema(files[0]).names]
    id_col = id_col or DEFAULT_ID
    time_col, target = panel_columns(columns, id_col, time_col, target, repr(str(files[0])))
    layout = Layout(str(folder), id_col=id_col, time_col=time_col, target=target, fill=fill,
                    freq=freq)  # fmt: skip
    note = f"{len(files)} Parquet file(s), one chunk each"
    return Plan(layout, [("parquet", str(f)) for f in files], note)


def read_chunk(spec: tuple, layout: Layout) -> Chunk:
    """The series of one chunk (a spec of :func:`plan_chunks`), checked; series with bad
    rows are left out and named in ``failed``."""
    kind = spec[0]
    if kind == "whole":
        _, path, sep, decimal = spec
        p = read_panel_csv(path, id_col=layout.id_col, time_col=layout.time_col,
                           target=layout.target, fill=layout.fill, sep=sep, decimal=decimal,
                           freq=layout.freq)  # fmt: skip
        # One series (no id column) has no panel of frequencies to agree.
        freqs = Counter(t.freqstr for t in p.times if isinstance(t, pd.DatetimeIndex)
                        and t.freqstr and p.id_name)  # fmt: skip
        return Chunk(p.ids, p.values, p.times, freqs, p.filled, p.inserted, p.read_note,
                     target=p.target, time_name=p.time_name, id_name=p.id_name)  # fmt: skip
    if kind == "csv":
        _, path, start, end, first_row = spec
        with open(path, "rb") as f:
            header = f.readline()
            f.seek(start)
            data = f.read() if end is None else f.read(end - start)
        try:
            df = pd.read_csv(io.BytesIO(header + data), sep=layout.sep, decimal=layout.decimal,
                             dtype={layout.id_col: str}, encoding="utf-8-sig")  # fmt: skip
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ValueError(f"cannot read {path!r} as CSV: {first}") from None
        where = repr(path)
    elif kind == "parquet":
        _, path = spec
        df = pd.read_parquet(path)
        df[layout.id_col] = df[layout.id_col].astype(str)
        first_row, where = 0, repr(path)
    else:  # pragma: no cover - specs come from plan_chunks
        raise ValueError(f"unknown chunk kind {kind!r}")
    with file_rows(first_row + np.arange(len(df))):
        part = parse_series(df, id_col=layout.id_col, time_col=layout.time_col,
                            target=layout.target, fill=layout.fill, freq=layout.freq,
                            where=where, tolerant=True)  # fmt: skip
    return Chunk(part.ids, part.values, part.times, part.freqs, part.filled, part.inserted,
                 part.date_note, part.failed, target=layout.target, time_name=layout.time_col,
                 id_name=layout.id_col)  # fmt: skip
