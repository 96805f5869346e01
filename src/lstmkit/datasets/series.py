"""Real time series bundled as package data (no network needed); sources in data/SOURCES.md."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

#: name → (file, time column, target column, season length)
SERIES = {
    "airline": ("airline.csv", "month", "passengers", 12),
    "nile": ("nile.csv", "year", "flow", 1),
}


def series_path(name: str) -> Path:
    """Path of a bundled CSV (``airline`` or ``nile``)."""
    if name not in SERIES:
        raise ValueError(f"unknown bundled series {name!r}; choose one of {', '.join(SERIES)}")
    return Path(str(resources.files("lstmkit.datasets") / "data" / SERIES[name][0]))


def load_series(name: str) -> pd.DataFrame:
    """A bundled series as a DataFrame with its time column and its value column."""
    return pd.read_csv(series_path(name))


def load_airline() -> pd.DataFrame:
    """Monthly international airline passengers (thousands), 1949-01 to 1960-12, 144 rows:
    columns ``month`` (YYYY-MM) and ``passengers``. Box & Jenkins (1976), Series G."""
    return load_series("airline")


def load_nile() -> pd.DataFrame:
    """Annual flow of the Nile at Aswan (10^8 m^3), 1871-1970, 100 rows: columns ``year``
    and ``flow``. Cobb (1978); Durbin & Koopman (2001)."""
    return load_series("nile")
