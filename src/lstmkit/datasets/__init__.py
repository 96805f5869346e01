"""Datasets: synthetic benchmarks generated on demand (real series ship as package data)."""

from lstmkit.datasets.adding import adding_problem

__all__ = ["adding_problem"]
