"""lstmkit: LSTM, GRU and plain RNN networks from the equations up.

The exact NumPy math core lives in :mod:`lstmkit.ops`; layers in :mod:`lstmkit.layers`,
training in :mod:`lstmkit.training`, models and model files in :mod:`lstmkit.models`,
cost analysis in :mod:`lstmkit.cost`.
docs/conventions.md states the equations, layouts and cost conventions every module
follows; docs/models.md describes the model API.
"""

from lstmkit import ops
from lstmkit.cost import analyze
from lstmkit.layers import GRU, LSTM, RNN, Dense, Dropout
from lstmkit.models import ModelFileError, Sequential, load, save
from lstmkit.training import (
    SGD,
    Adam,
    AdamW,
    CosineDecay,
    EarlyStopping,
    History,
    RMSprop,
    StepDecay,
)

__version__ = "0.1.0"

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "SGD",
    "Adam",
    "AdamW",
    "CosineDecay",
    "Dense",
    "Dropout",
    "EarlyStopping",
    "History",
    "ModelFileError",
    "RMSprop",
    "Sequential",
    "StepDecay",
    "__version__",
    "analyze",
    "load",
    "ops",
    "save",
]
