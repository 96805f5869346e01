"""Every gradient of every op against centred finite differences in float64."""

import numpy as np
import pytest

from lstmkit.ops import (
    gru_backward,
    gru_forward,
    lstm_backward,
    lstm_forward,
    rnn_backward,
    rnn_forward,
)
from tests.gradcheck import check_op_gradients, random_lengths

SEEDS = range(8)


def _shapes(rng):
    return (
        int(rng.integers(1, 4)),
        int(rng.integers(1, 7)),
        int(rng.integers(1, 5)),
        int(rng.integers(1, 5)),
    )


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("peephole", [False, True])
@pytest.mark.parametrize("proj", [False, True])
def test_lstm_gradients(seed, peephole, proj):
    rng = np.random.default_rng(seed)
    B, T, D, H = _shapes(rng)
    P = int(rng.integers(1, H + 1)) if proj else H
    args = {
        "x": rng.standard_normal((B, T, D)),
        "h0": rng.standard_normal((B, P)),
        "c0": rng.standard_normal((B, H)),
        "Wx": rng.standard_normal((4 * H, D)) * 0.6,
        "Wh": rng.standard_normal((4 * H, P)) * 0.6,
        "b": rng.standard_normal(4 * H) * 0.5,
    }
    if peephole:
        args["peepholes"] = rng.standard_normal(3 * H) * 0.5
    if proj:
        args["Wr"] = rng.standard_normal((P, H)) * 0.6
    kwargs = {"lengths": random_lengths(rng, B, T)}
    check_op_gradients(lstm_forward, lstm_backward, args, kwargs, rng)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_gradients(seed, reset_after):
    rng = np.random.default_rng(100 + seed)
    B, T, D, H = _shapes(rng)
    args = {
        "x": rng.standard_normal((B, T, D)),
        "h0": rng.standard_normal((B, H)),
        "Wx": rng.standard_normal((3 * H, D)) * 0.6,
        "Wh": rng.standard_normal((3 * H, H)) * 0.6,
        "bx": rng.standard_normal(3 * H) * 0.5,
        "bh": rng.standard_normal(3 * H) * 0.5,
    }
    kwargs = {"reset_after": reset_after, "lengths": random_lengths(rng, B, T)}
    check_op_gradients(gru_forward, gru_backward, args, kwargs, rng)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_rnn_gradients(seed, activation):
    rng = np.random.default_rng(200 + seed)
    B, T, D, H = _shapes(rng)
    args = {
        "x": rng.standard_normal((B, T, D)),
        "h0": rng.standard_normal((B, H)),
        "Wx": rng.standard_normal((H, D)) * 0.6,
        "Wh": rng.standard_normal((H, H)) * 0.6,
        "b": rng.standard_normal(H) * 0.5,
    }
    kwargs = {"activation": activation, "lengths": random_lengths(rng, B, T)}
    check_op_gradients(rnn_forward, rnn_backward, args, kwargs, rng)


def test_gradcheck_catches_a_wrong_gradient():
    """The checker itself must fail on a gradient that is slightly off."""
    rng = np.random.default_rng(7)
    args = {
        "x": rng.standard_normal((2, 3, 2)),
        "h0": rng.standard_normal((2, 3)),
        "Wx": rng.standard_normal((3, 2)),
        "Wh": rng.standard_normal((3, 3)),
        "b": rng.standard_normal(3),
    }

    def broken_backward(*a):
        grads = rnn_backward(*a)
        grads["b"] = grads["b"] * (1 + 1e-4)
        return grads

    with pytest.raises(AssertionError, match="db"):
        check_op_gradients(rnn_forward, broken_backward, args, {}, rng)
