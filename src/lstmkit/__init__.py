"""lstmkit: LSTM, GRU and plain RNN networks from the equations up.

The exact NumPy math core lives in :mod:`lstmkit.ops`; see docs/conventions.md for the
equations, parameter layouts and cost conventions every module follows.
"""

from lstmkit import ops

__version__ = "0.1.0"

__all__ = ["__version__", "ops"]
