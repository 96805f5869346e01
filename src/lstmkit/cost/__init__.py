"""Exact cost analysis: parameters, MACC, elementwise ops, activations, memory, MCU fit.

:func:`analyze` computes every figure from the architecture (docs/cost.md); the
counting run :func:`count_forward` executes a model with counted arithmetic, and the
tests hold the two to equality. :data:`TARGETS` holds the microcontroller profiles.
"""

from lstmkit.cost.analyze import analyze
from lstmkit.cost.counting import CountedRun, count_forward
from lstmkit.cost.report import CostReport, LayerCost
from lstmkit.cost.tally import Ops
from lstmkit.cost.targets import TARGETS, Fit, Target, get_target

__all__ = [
    "TARGETS",
    "CostReport",
    "CountedRun",
    "Fit",
    "LayerCost",
    "Ops",
    "Target",
    "analyze",
    "count_forward",
    "get_target",
]
