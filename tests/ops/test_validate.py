"""Bad arguments get errors that name the argument, the expected and the received shape."""

import re

import numpy as np
import pytest

from lstmkit import ops
from tests.ops.conftest import gru_params, lstm_params, rnn_params

B, T, D, H = 2, 3, 4, 5


@pytest.fixture
def x(rng):
    return rng.standard_normal((B, T, D))


def test_lstm_wrong_h0(x, rng):
    msg = "lstm_forward: 'h0' must have shape (B, P) = (2, 5), got (2, 4)"
    with pytest.raises(ValueError, match=re.escape(msg)):
        ops.lstm_forward(x, np.zeros((B, H - 1)), None, **lstm_params(rng, D, H))


def test_lstm_wrong_recurrent_weights(x, rng):
    p = lstm_params(rng, D, H)
    p["Wh"] = p["Wh"][:, :-1]
    with pytest.raises(
        ValueError, match=re.escape("'Wh' must have shape (4H, P) = (20, 5), got (20, 4)")
    ):
        ops.lstm_forward(x, None, None, **p)


def test_lstm_gate_axis_not_divisible(x, rng):
    p = lstm_params(rng, D, H)
    p["Wx"] = p["Wx"][:-1]
    with pytest.raises(
        ValueError,
        match=re.escape(
            "'Wx' must have shape (4H, D) with a first axis divisible by 4, got (19, 4)"
        ),
    ):
        ops.lstm_forward(x, None, None, **p)


def test_lstm_wrong_input_features(rng):
    with pytest.raises(
        ValueError, match=re.escape("'x' must have shape (B, T, D) = (2, 3, 4), got (2, 3, 3)")
    ):
        ops.lstm_forward(np.zeros((B, T, D - 1)), None, None, **lstm_params(rng, D, H))


def test_missing_time_axis(rng):
    with pytest.raises(
        ValueError, match=re.escape("'x' must have 3 axes (B, T, D), got shape (2, 4)")
    ):
        ops.lstm_forward(np.zeros((B, D)), None, None, **lstm_params(rng, D, H))


def test_peepholes_and_projection_shapes(x, rng):
    p = lstm_params(rng, D, H, peephole=True)
    p["peepholes"] = p["peepholes"][:-1]
    with pytest.raises(
        ValueError, match=re.escape("'peepholes' must have shape (3H,) = (15,), got (14,)")
    ):
        ops.lstm_forward(x, None, None, **p)
    p = lstm_params(rng, D, H, P=2)
    with pytest.raises(
        ValueError, match=re.escape("'c0' must have shape (B, H) = (2, 5), got (2, 2)")
    ):
        ops.lstm_forward(x, None, np.zeros((B, 2)), **p)


def test_gru_and_rnn_shapes(x, rng):
    p = gru_params(rng, D, H)
    p["bh"] = np.zeros(H)
    with pytest.raises(
        ValueError, match=re.escape("gru_forward: 'bh' must have shape (3H,) = (15,), got (5,)")
    ):
        ops.gru_forward(x, None, **p)
    with pytest.raises(
        ValueError, match=re.escape("rnn_step: 'h' must have shape (B, H) = (2, 5), got (5,)")
    ):
        ops.rnn_step(x[:, 0], np.zeros(H), **rnn_params(rng, D, H))
    with pytest.raises(ValueError, match="'activation' must be 'tanh' or 'relu', got 'sigmoid'"):
        ops.rnn_forward(x, None, **rnn_params(rng, D, H), activation="sigmoid")


def test_backward_checks_upstream_gradients(x, rng):
    _, hT, _, cache = ops.lstm_forward(x, None, None, **lstm_params(rng, D, H))
    with pytest.raises(
        ValueError,
        match=re.escape("lstm_backward: 'dhs' must have shape (B, T, P) = (2, 3, 5), got (2, 5)"),
    ):
        ops.lstm_backward(hT, None, None, cache)


@pytest.mark.parametrize(
    "lengths, msg",
    [
        ([1, 2, 3], "'lengths' must have shape (B,) = (2,), got (3,)"),
        ([0, 3], "every entry of 'lengths' must lie in 1..T = 1..3, got min 0 and max 3"),
        ([1, 4], "every entry of 'lengths' must lie in 1..T = 1..3, got min 1 and max 4"),
        ([1.5, 2], "'lengths' must hold integers, got dtype float64"),
    ],
)
def test_bad_lengths(x, rng, lengths, msg):
    with pytest.raises(ValueError, match=re.escape(msg)):
        ops.gru_forward(x, None, **gru_params(rng, D, H), lengths=np.array(lengths))


def test_integer_inputs_are_rejected(rng):
    with pytest.raises(TypeError, match="'x' must be a float32 or float64 array, got dtype int64"):
        ops.rnn_forward(np.ones((B, T, D), dtype=np.int64), None, **rnn_params(rng, D, H))


def test_lists_are_accepted(rng):
    p = {k: v.tolist() for k, v in rnn_params(rng, 2, 3).items()}
    hs, hT, _ = ops.rnn_forward([[[0.5, -0.5]]], None, **p)
    assert hs.shape == (1, 1, 3) and hT.shape == (1, 3)


def test_remembered_checks_still_refuse_bad_shapes():
    """ops.validate.by_shapes remembers passing checks only: after a good call, a call
    with a wrong shape still raises, with the same words, every time."""
    from lstmkit.ops import lstm_forward

    rng = np.random.default_rng(0)
    Wx, Wh, b = rng.standard_normal((8, 3)), rng.standard_normal((8, 2)), np.zeros(8)
    x = rng.standard_normal((4, 5, 3))
    lstm_forward(x, None, None, Wx, Wh, b)
    lstm_forward(x, None, None, Wx, Wh, b)
    for _ in range(2):
        with pytest.raises(ValueError, match=r"'h0' must have shape \(B, P\) = \(4, 2\)"):
            lstm_forward(x, np.zeros((4, 3)), None, Wx, Wh, b)
        with pytest.raises(TypeError, match="'x' must be a float32 or float64 array"):
            lstm_forward(x.astype(np.int64), None, None, Wx, Wh, b)


def test_remembered_sizes_are_read_only():
    from lstmkit.ops.lstm import _sizes

    args = ("probe", "x", np.zeros((2, 3, 1)), np.zeros((8, 1)), np.zeros((8, 2)),
            np.zeros(8), None, None, None, None)  # fmt: skip
    sizes = _sizes(*args)
    assert _sizes(*args) is sizes
    with pytest.raises(TypeError):
        sizes["B"] = 5
