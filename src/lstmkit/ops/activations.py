"""Activation functions that never overflow, in float32 and float64.

The logistic sigmoid is computed as ``σ(a) = 0.5·tanh(a/2) + 0.5``. ``tanh`` saturates
to ±1 instead of overflowing, so inputs of ±1e4 (or ±inf) give exactly 0 or 1 with no
RuntimeWarning, unlike ``1 / (1 + exp(-a))`` whose ``exp`` overflows for ``a < -89``
(float32) or ``a < -709`` (float64). Halving is exact in binary floating point, so the
recurrent ops fold the ``/2`` into the gate pre-activations and evaluate all four LSTM
gates with a single ``tanh`` call (see :func:`gate_scale`).

Every function keeps the dtype of its input.
"""

from __future__ import annotations

import numpy as np


def sigmoid(a: np.ndarray) -> np.ndarray:
    """Logistic sigmoid ``1 / (1 + exp(-a))`` without overflow.

    Parameters
    ----------
    a : ndarray, any shape
        Pre-activations.

    Returns
    -------
    ndarray, same shape and dtype as ``a``
        Values in ``[0, 1]``.
    """
    a = np.asarray(a)
    s = np.tanh(a * a.dtype.type(0.5))
    s *= 0.5
    s += 0.5
    return s


def tanh(a: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent, shape and dtype kept (NumPy's ``tanh`` never overflows)."""
    return np.tanh(a)


def relu(a: np.ndarray) -> np.ndarray:
    """Rectified linear unit ``max(a, 0)``, shape and dtype kept."""
    return np.maximum(a, 0)


def sigmoid_from_tanh_(t: np.ndarray) -> np.ndarray:
    """Turn ``tanh(a/2)`` into ``σ(a)`` in place and return it."""
    t *= 0.5
    t += 0.5
    return t


def gate_scale(n_sigmoid: int, n_tanh: int, dtype: np.dtype) -> np.ndarray:
    """Per-row scale that prepares gate pre-activations for one shared ``tanh``.

    Rows feeding a sigmoid gate are halved (``σ(a) = 0.5·tanh(a/2) + 0.5``), rows
    feeding a ``tanh`` gate are kept. Multiplying weights and biases by these exact
    powers of two changes no bit of the products they enter.

    Parameters
    ----------
    n_sigmoid : int
        Number of leading rows that feed sigmoid gates (``3H`` for an LSTM).
    n_tanh : int
        Number of trailing rows that feed tanh (``H`` for an LSTM).
    dtype : numpy dtype
        float32 or float64.

    Returns
    -------
    ndarray, shape (n_sigmoid + n_tanh,)
    """
    scale = np.ones(n_sigmoid + n_tanh, dtype=dtype)
    scale[:n_sigmoid] = 0.5
    return scale
