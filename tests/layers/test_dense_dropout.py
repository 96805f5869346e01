"""Dense heads on vectors and sequences, and dropout's training-only behaviour."""

import numpy as np
import pytest

from lstmkit import Dense, Dropout


def built(layer, F=4, dtype="float64"):
    layer.name = type(layer).__name__.lower()
    layer.build(F, np.random.default_rng(0), np.dtype(dtype))
    return layer


@pytest.mark.parametrize("activation", [None, "relu", "tanh", "sigmoid", "softmax"])
def test_dense_on_sequence_equals_dense_per_step_and_zeroes_padding(activation):
    layer = built(Dense(3, activation=activation))
    x = np.random.default_rng(1).standard_normal((2, 5, 4))
    seq = layer.forward(x, np.array([5, 2]))
    for t in range(5):
        np.testing.assert_allclose(seq[0, t], layer.forward(x[:, t])[0], atol=1e-15)
    assert np.all(seq[1, 2:] == 0)
    if activation == "softmax":
        np.testing.assert_allclose(seq[0].sum(-1), 1.0)


def test_dense_rejects_unknown_activation_and_wrong_width():
    with pytest.raises(ValueError, match="activation must be one of"):
        Dense(2, activation="gelu")
    layer = built(Dense(2))
    with pytest.raises(ValueError, match="F = 4"):
        layer.forward(np.zeros((3, 5)))


def test_dropout_is_identity_at_inference_and_scaled_in_training():
    layer = built(Dropout(0.25), F=1000)
    x = np.ones((4, 1000))
    np.testing.assert_array_equal(layer.forward(x), x)
    y = layer.forward(x, training=True, rng=np.random.default_rng(0))
    kept = y != 0
    assert 0.7 < kept.mean() < 0.8
    np.testing.assert_allclose(y[kept], 1 / 0.75)
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), y)  # same mask


def test_dropout_rate_must_be_a_probability():
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        Dropout(1.0)
