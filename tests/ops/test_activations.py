"""Sigmoid and tanh: no overflow, no warnings, dtype kept, correct values."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lstmkit import ops
from tests.ops.conftest import gru_params, lstm_params, rnn_params

DTYPES = [np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
def test_extremes_saturate_without_warnings(dtype):
    a = np.array([-1e4, -1e3, -100.0, 0.0, 100.0, 1e3, 1e4, -np.inf, np.inf], dtype=dtype)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        s = ops.sigmoid(a)
        t = ops.tanh(a)
    assert s.dtype == dtype and t.dtype == dtype
    np.testing.assert_array_equal(s[[0, 1, 7]], 0.0)
    np.testing.assert_array_equal(s[[5, 6, 8]], 1.0)
    assert s[3] == 0.5
    np.testing.assert_array_equal(t[[0, 1, 2, 7]], -1.0)
    np.testing.assert_array_equal(t[[4, 5, 6, 8]], 1.0)


@settings(max_examples=200, deadline=None)
@given(st.floats(-1e4, 1e4))
def test_sigmoid_matches_the_definition(a):
    expected = 1.0 / (1.0 + math.exp(-a)) if a > -700 else 0.0
    got = float(ops.sigmoid(np.array(a)))
    assert abs(got - expected) <= 2e-16 * max(1.0, expected) + 1e-300
    assert 0.0 <= got <= 1.0


@pytest.mark.parametrize("dtype", DTYPES)
def test_ops_take_huge_inputs_without_warnings(dtype, rng):
    """Pre-activations of ±1e4 saturate every gate; forward and backward stay finite."""
    B, T, D, H = 2, 4, 3, 5
    x = (rng.choice([-1.0, 1.0], (B, T, D)) * 1e4).astype(dtype)
    cases = [
        (
            ops.lstm_forward,
            ops.lstm_backward,
            lstm_params(rng, D, H, dtype, peephole=True),
            (None, None),
            {},
        ),
        (ops.gru_forward, ops.gru_backward, gru_params(rng, D, H, dtype), (None,), {}),
        (
            ops.gru_forward,
            ops.gru_backward,
            gru_params(rng, D, H, dtype),
            (None,),
            {"reset_after": False},
        ),
        (ops.rnn_forward, ops.rnn_backward, rnn_params(rng, D, H, dtype), (None,), {}),
    ]
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        for fwd, bwd, p, states, kw in cases:
            out = fwd(x, *states, **p, **kw)
            grads = bwd(*[np.ones_like(o) for o in out[:-1]], out[-1])
            for arr in (*out[:-1], *grads.values()):
                assert arr.dtype == dtype
                assert np.all(np.isfinite(arr))


@pytest.mark.parametrize("dtype", DTYPES)
def test_dtype_is_kept_everywhere(dtype, rng):
    B, T, D, H = 2, 3, 2, 4
    x = rng.standard_normal((B, T, D)).astype(dtype)
    hs, hT, cT, cache = ops.lstm_forward(x, None, None, **lstm_params(rng, D, H, dtype, P=2))
    grads = ops.lstm_backward(hs, None, None, cache)
    assert {a.dtype for a in (hs, hT, cT, *grads.values())} == {np.dtype(dtype)}
    hs, hT, cache = ops.gru_forward(x, None, **gru_params(rng, D, H, dtype))
    assert {a.dtype for a in (hs, hT, *ops.gru_backward(hs, hT, cache).values())} == {
        np.dtype(dtype)
    }
    hs, hT, cache = ops.rnn_forward(x, None, **rnn_params(rng, D, H, dtype))
    assert {a.dtype for a in (hs, hT, *ops.rnn_backward(hs, hT, cache).values())} == {
        np.dtype(dtype)
    }


def test_mixed_precision_promotes_to_float64(rng):
    x = rng.standard_normal((1, 2, 2)).astype(np.float32)
    hs, _, _, _ = ops.lstm_forward(x, None, None, **lstm_params(rng, 2, 3, np.float64))
    assert hs.dtype == np.float64
