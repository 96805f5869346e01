"""Running ``*_step`` over a sequence gives the numbers of ``*_forward``."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lstmkit.ops import gru_forward, gru_step, lstm_forward, lstm_step, rnn_forward, rnn_step
from tests.ops.conftest import gru_params, lstm_params, rnn_params

# The step multiplies one x_t at a time where the forward multiplies all steps at once;
# BLAS may round those products differently in the last bit, nothing more.
ATOL = {np.float32: 2e-6, np.float64: 1e-13}

shapes = st.tuples(st.integers(1, 5), st.integers(1, 8), st.integers(1, 6), st.integers(1, 8))


@settings(max_examples=30, deadline=None)
@given(
    shapes=shapes,
    seed=st.integers(0, 2**16),
    dtype=st.sampled_from([np.float32, np.float64]),
    peephole=st.booleans(),
    proj=st.booleans(),
)
def test_lstm_step_matches_forward(shapes, seed, dtype, peephole, proj):
    B, T, D, H = shapes
    rng = np.random.default_rng(seed)
    P = max(1, H // 2) if proj else None
    p = lstm_params(rng, D, H, dtype, peephole=peephole, P=P)
    x = rng.standard_normal((B, T, D)).astype(dtype)
    h = rng.standard_normal((B, P or H)).astype(dtype)
    c = rng.standard_normal((B, H)).astype(dtype)
    hs, hT, cT, _ = lstm_forward(x, h, c, **p)
    for t in range(T):
        h, c = lstm_step(x[:, t], h, c, **p)
        assert h.dtype == dtype and c.dtype == dtype
        np.testing.assert_allclose(h, hs[:, t], rtol=0, atol=ATOL[dtype])
    np.testing.assert_allclose(h, hT, rtol=0, atol=ATOL[dtype])
    np.testing.assert_allclose(c, cT, rtol=0, atol=ATOL[dtype])


@settings(max_examples=30, deadline=None)
@given(
    shapes=shapes,
    seed=st.integers(0, 2**16),
    dtype=st.sampled_from([np.float32, np.float64]),
    reset_after=st.booleans(),
)
def test_gru_step_matches_forward(shapes, seed, dtype, reset_after):
    B, T, D, H = shapes
    rng = np.random.default_rng(seed)
    p = gru_params(rng, D, H, dtype)
    x = rng.standard_normal((B, T, D)).astype(dtype)
    h = rng.standard_normal((B, H)).astype(dtype)
    hs, hT, _ = gru_forward(x, h, **p, reset_after=reset_after)
    for t in range(T):
        h = gru_step(x[:, t], h, **p, reset_after=reset_after)
        assert h.dtype == dtype
        np.testing.assert_allclose(h, hs[:, t], rtol=0, atol=ATOL[dtype])
    np.testing.assert_allclose(h, hT, rtol=0, atol=ATOL[dtype])


@settings(max_examples=30, deadline=None)
@given(
    shapes=shapes,
    seed=st.integers(0, 2**16),
    dtype=st.sampled_from([np.float32, np.float64]),
    activation=st.sampled_from(["tanh", "relu"]),
)
def test_rnn_step_matches_forward(shapes, seed, dtype, activation):
    B, T, D, H = shapes
    rng = np.random.default_rng(seed)
    p = rnn_params(rng, D, H, dtype)
    x = rng.standard_normal((B, T, D)).astype(dtype)
    h = rng.standard_normal((B, H)).astype(dtype)
    hs, hT, _ = rnn_forward(x, h, **p, activation=activation)
    for t in range(T):
        h = rnn_step(x[:, t], h, **p, activation=activation)
        assert h.dtype == dtype
        np.testing.assert_allclose(h, hs[:, t], rtol=0, atol=ATOL[dtype])
    np.testing.assert_allclose(h, hT, rtol=0, atol=ATOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_streaming_a_long_sequence_does_not_drift(rng, dtype):
    """200 steps: any per-step mismatch would compound through the recurrence."""
    B, T, D, H = 4, 200, 3, 16
    p = lstm_params(rng, D, H, dtype)
    x = rng.standard_normal((B, T, D)).astype(dtype)
    h = np.zeros((B, H), dtype)
    c = np.zeros((B, H), dtype)
    hs, _, _, _ = lstm_forward(x, None, None, **p)
    for t in range(T):
        h, c = lstm_step(x[:, t], h, c, **p)
    np.testing.assert_allclose(h, hs[:, -1], rtol=0, atol=10 * ATOL[dtype])
