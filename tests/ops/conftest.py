"""Random parameter sets for each op, in the canonical layout."""

import numpy as np
import pytest


def lstm_params(rng, D, H, dtype=np.float64, *, peephole=False, P=None):
    """Keyword arguments ``Wx, Wh, b[, peepholes][, Wr]`` for the LSTM ops."""
    Ph = P or H
    p = {
        "Wx": rng.uniform(-0.5, 0.5, (4 * H, D)).astype(dtype),
        "Wh": rng.uniform(-0.5, 0.5, (4 * H, Ph)).astype(dtype),
        "b": rng.uniform(-0.5, 0.5, 4 * H).astype(dtype),
    }
    if peephole:
        p["peepholes"] = rng.uniform(-0.5, 0.5, 3 * H).astype(dtype)
    if P:
        p["Wr"] = rng.uniform(-0.5, 0.5, (P, H)).astype(dtype)
    return p


def gru_params(rng, D, H, dtype=np.float64):
    """Keyword arguments ``Wx, Wh, bx, bh`` for the GRU ops."""
    return {
        "Wx": rng.uniform(-0.5, 0.5, (3 * H, D)).astype(dtype),
        "Wh": rng.uniform(-0.5, 0.5, (3 * H, H)).astype(dtype),
        "bx": rng.uniform(-0.5, 0.5, 3 * H).astype(dtype),
        "bh": rng.uniform(-0.5, 0.5, 3 * H).astype(dtype),
    }


def rnn_params(rng, D, H, dtype=np.float64):
    """Keyword arguments ``Wx, Wh, b`` for the RNN ops."""
    return {
        "Wx": rng.uniform(-0.5, 0.5, (H, D)).astype(dtype),
        "Wh": rng.uniform(-0.5, 0.5, (H, H)).astype(dtype),
        "b": rng.uniform(-0.5, 0.5, H).astype(dtype),
    }


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
