"""LSTMStream: prepared streaming gives lstm_step's numbers, with its state kept."""

import numpy as np
import pytest

from lstmkit.ops import LSTMStream, lstm_forward, lstm_step
from tests.ops.conftest import lstm_params


@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("kind", ["plain", "peephole", "proj"])
def test_stream_matches_step_and_forward(dtype, tol, kind):
    rng = np.random.default_rng(3)
    B, D, H, T = 2, 3, 5, 7
    p = lstm_params(rng, D, H, dtype, peephole=kind == "peephole", P=2 if kind == "proj" else None)
    x = rng.normal(size=(B, T, D)).astype(dtype)
    stream = LSTMStream(batch=B, **p)
    hs, *_ = lstm_forward(x, None, None, **p)
    h = np.zeros((B, p["Wh"].shape[1]), dtype)
    c = np.zeros((B, H), dtype)
    for t in range(T):
        out = stream(x[:, t])
        h, c = lstm_step(x[:, t], h, c, **p)
        np.testing.assert_allclose(out, h, rtol=0, atol=tol)
        np.testing.assert_allclose(out, hs[:, t], rtol=0, atol=tol)
    assert out.dtype == dtype
    stream.reset()
    np.testing.assert_allclose(stream(x[:, 0]), hs[:, 0], rtol=0, atol=tol)


def test_returned_output_is_not_overwritten():
    rng = np.random.default_rng(0)
    p = lstm_params(rng, 2, 3, np.float32)
    s = LSTMStream(**p)
    first = s(np.ones((1, 2), np.float32))
    kept = first.copy()
    s(np.zeros((1, 2), np.float32))
    np.testing.assert_array_equal(first, kept)


def test_bad_input_shape():
    p = lstm_params(np.random.default_rng(0), 2, 3)
    with pytest.raises(ValueError, match=r"x_t must have shape \(B, D\) = \(1, 2\)"):
        LSTMStream(**p)(np.zeros((1, 3)))


def test_stream_refuses_nan_and_keeps_its_state():
    stream = LSTMStream(np.ones((8, 2)), np.ones((8, 2)), np.zeros(8))
    stream(np.ones((1, 2)))
    h, c = stream.h.copy(), stream.c.copy()
    with pytest.raises(ValueError, match="x_t has 1 NaN"):
        stream(np.array([[np.nan, 0.0]]))
    np.testing.assert_array_equal(stream.h, h)
    np.testing.assert_array_equal(stream.c, c)
