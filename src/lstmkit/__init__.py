"""lstmkit: LSTM, GRU and plain RNN networks from the equations up.

The exact NumPy math core lives in :mod:`lstmkit.ops`; layers in :mod:`lstmkit.layers`,
training in :mod:`lstmkit.training`, models and model files in :mod:`lstmkit.models`,
cost analysis in :mod:`lstmkit.cost`.
docs/conventions.md states the equations, layouts and cost conventions every module
follows; docs/models.md describes the model API.
"""

import warnings as _warnings

from lstmkit import ops
from lstmkit.cost import analyze
from lstmkit.layers import GRU, LSTM, RNN, Dense, Dropout
from lstmkit.models import ModelFileError, Sequential, load, save
from lstmkit.threads import apply_environment as _apply_thread_environment
from lstmkit.threads import get_num_threads, set_num_threads
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

try:
    _apply_thread_environment()
except ValueError as _err:  # a bad LSTMKIT_NUM_THREADS must not make the import fail
    _warnings.warn(f"{_err}; ignored", stacklevel=2)

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
    "get_num_threads",
    "load",
    "ops",
    "save",
    "set_num_threads",
]
