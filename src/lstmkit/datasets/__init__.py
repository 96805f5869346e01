"""Datasets: synthetic benchmarks generated on demand, and real series shipped as package
data (``load_airline``, ``load_nile``; sources in ``data/SOURCES.md``)."""

from lstmkit.datasets.adding import adding_problem
from lstmkit.datasets.series import SERIES, load_airline, load_nile, load_series, series_path

__all__ = ["SERIES", "adding_problem", "load_airline", "load_nile", "load_series", "series_path"]
