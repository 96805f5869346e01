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


def test_step_functions_take_any_layout_and_promote_dtypes(rng):
    """Fortran-ordered weights, strided inputs and a float64 state with float32 weights:
    the numbers of contiguous float64 arrays, under either backend."""
    B, D, H = 3, 4, 5
    p = lstm_params(rng, D, H, np.float32, peephole=True)
    x = rng.standard_normal((B, 2 * D)).astype(np.float32)[:, ::2]
    h = rng.standard_normal((B, H))
    c = rng.standard_normal((B, H))
    odd = {k: np.asfortranarray(v) for k, v in p.items()}
    plain = {k: v.astype(np.float64) for k, v in p.items()}
    got = lstm_step(x, h, c, **odd)
    ref = lstm_step(np.ascontiguousarray(x, np.float64), h, c, **plain)
    for a, b in zip(got, ref, strict=True):
        assert a.dtype == np.float64
        np.testing.assert_array_equal(a, b)
    g = gru_params(rng, D, H, np.float32)
    got = gru_step(x, h, **{k: np.asfortranarray(v) for k, v in g.items()})
    ref = gru_step(x.astype(np.float64), h, **{k: v.astype(np.float64) for k, v in g.items()})
    np.testing.assert_array_equal(got, ref)
    r = rnn_params(rng, D, H, np.float32)
    got = rnn_step(x, h, **{k: np.asfortranarray(v) for k, v in r.items()}, activation="relu")
    ref = rnn_step(x.astype(np.float64), h, **{k: v.astype(np.float64) for k, v in r.items()},
                   activation="relu")  # fmt: skip
    np.testing.assert_array_equal(got, ref)


def test_step_functions_leave_their_arguments_alone(rng):
    B, D, H = 2, 3, 4
    p = lstm_params(rng, D, H, np.float32, peephole=True, P=2)
    x = rng.standard_normal((B, D)).astype(np.float32)
    h = rng.standard_normal((B, 2)).astype(np.float32)
    c = rng.standard_normal((B, H)).astype(np.float32)
    before = [a.copy() for a in (x, h, c, *p.values())]
    h2, c2 = lstm_step(x, h, c, **p)
    assert h2 is not h and c2 is not c
    for a, b in zip((x, h, c, *p.values()), before, strict=True):
        np.testing.assert_array_equal(a, b)
