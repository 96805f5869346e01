"""Finite differences through whole models: every parameter gradient and the input
gradient of stacked, bidirectional, projected, peephole models with Dense heads, for
every loss, many-to-one and many-to-many, with and without variable lengths (float64)."""

import zlib

import numpy as np
import pytest

from lstmkit import GRU, LSTM, RNN, Dense, Sequential
from lstmkit.gradcheck import numerical_grad, rel_error
from lstmkit.training import get_loss

TOL = 1e-6


def models(many):
    """Architectures to check; ``many`` keeps a time axis at the output."""
    rs = many
    yield (
        "lstm_peephole_proj_bi+gru",
        [
            LSTM(5, bidirectional=True, peephole=True, proj_size=3, return_sequences=True),
            GRU(4, reset_after=False, return_sequences=rs),
            Dense(2, activation="tanh"),
            Dense(3),
        ],
    )
    yield (
        "gru_bi+lstm",
        [
            GRU(4, bidirectional=True, return_sequences=True),
            LSTM(3, return_sequences=rs),
            Dense(3, activation="relu"),
        ],
    )
    yield (
        "rnn_relu+rnn_tanh_bi",
        [
            RNN(4, activation="relu", return_sequences=True),
            RNN(3, bidirectional=True, return_sequences=rs),
            Dense(3, activation="sigmoid"),
        ],
    )


def targets(loss, rng, shape):
    if loss == "cross_entropy":
        return rng.integers(0, shape[-1], size=shape[:-1])
    if loss == "bce":
        return rng.random(shape)
    return rng.standard_normal(shape)


CASES = [(many, name) for many in (False, True) for name, _ in models(many)]


@pytest.mark.parametrize("loss", ["mse", "mae", "huber", "cross_entropy", "bce"])
@pytest.mark.parametrize("varlen", [False, True])
@pytest.mark.parametrize("many,name", CASES)
def test_model_gradients_match_finite_differences(many, name, varlen, loss):
    layers = dict(models(many))[name]
    if loss in ("cross_entropy", "bce") and layers[-1].activation:
        layers[-1].activation = None  # classification losses take logits
    # crc32, not hash(): str hashes change with every process (PYTHONHASHSEED).
    rng = np.random.default_rng(zlib.crc32(f"{many}-{name}-{varlen}-{loss}".encode()))
    model = Sequential(layers, input_size=3, dtype="float64", seed=1)
    for p in model.parameter_list()[0]:
        p[...] = rng.uniform(-0.7, 0.7, p.shape)  # non-zero biases and peepholes
    B, T = 3, 5
    x = rng.standard_normal((B, T, 3))
    lengths = np.array([5, 2, 4]) if varlen else None
    out_shape = (B, T, 3) if many else (B, 3)
    y = targets(loss, rng, out_shape)
    loss_fn = get_loss(loss)
    mask = model.output_mask(lengths, T)

    pred = model.forward(x, lengths, training=True)
    _, grad = loss_fn(pred, y, mask)
    dx = model.backward(grad)

    def f():
        return loss_fn(model.forward(x, lengths), y, mask)[0]

    if loss == "mae":
        # |r| has a kink at 0; keep residuals away from it so differences are smooth.
        assert np.abs(pred.reshape(-1) - np.broadcast_to(y, pred.shape).reshape(-1)).min() > 1e-4
    # Where the loss is smooth, the fourth-order stencil with a larger step keeps rounding
    # (~1e-16·loss/ε) far below tiny gradients; a relu or |r| kink needs the small step.
    activations = {getattr(la, "activation", None) for la in model.layers}
    activations |= {la.cell.activation for la in model.layers if isinstance(la, RNN)}
    smooth = loss != "mae" and "relu" not in activations
    fd = {"eps": 1e-4, "order": 4} if smooth else {"eps": 1e-5}
    params, names = model.parameter_list()
    for p, n, g in zip(params, names, model.gradient_list(), strict=True):
        num = numerical_grad(f, p, **fd)
        assert rel_error(g, num) < TOL, f"{n}: rel error {rel_error(g, num):.2e}"
    num_dx = numerical_grad(f, x, **fd)
    assert rel_error(dx, num_dx) < TOL, f"dx: rel error {rel_error(dx, num_dx):.2e}"
    if varlen:
        pad = np.arange(T)[None, :] >= lengths[:, None]
        assert np.all(dx[pad] == 0), "padded steps must receive exactly zero gradient"


def test_gradient_check_fails_on_a_wrong_gradient():
    """The check above can fail: a 1e-4 relative error in one gradient is caught."""
    model = Sequential([LSTM(3), Dense(1)], input_size=2, dtype="float64", seed=0)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((2, 4, 2)), rng.standard_normal((2, 1))
    loss_fn = get_loss("mse")
    _, grad = loss_fn(model.forward(x, training=True), y)
    model.backward(grad)
    g = model.layers[0].grads["Wh"].copy()
    g.flat[3] += 1e-4 * np.linalg.norm(g) * 10
    num = numerical_grad(lambda: loss_fn(model.forward(x), y)[0], model.layers[0].params["Wh"])
    assert rel_error(model.layers[0].grads["Wh"], num) < TOL
    assert rel_error(g, num) > TOL


@pytest.mark.parametrize("first", ["lstm_bi", "gru", "rnn", "dense", "dropout"])
def test_training_backward_can_skip_the_input_gradient(first):
    """``backward(..., input_grad=False)`` returns None and leaves every parameter
    gradient exactly as the full backward computes it."""
    from lstmkit import Dropout

    head = {
        "lstm_bi": [LSTM(3, bidirectional=True, return_sequences=True)],
        "gru": [GRU(3, return_sequences=True)],
        "rnn": [RNN(3, return_sequences=True)],
        "dense": [Dense(4, activation="tanh")],
        "dropout": [Dropout(0.2)],
    }[first]
    model = Sequential([*head, LSTM(4), Dense(2)], input_size=3, seed=0)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 6, 3))
    lengths = np.array([6, 2, 5, 1, 3])
    grads = []
    for input_grad in (True, False):
        out = model.forward(x, lengths, training=True, rng=np.random.default_rng(2))
        dx = model.backward(np.ones_like(out), input_grad=input_grad)
        assert (dx is None) == (not input_grad)
        grads.append([g.copy() for g in model.gradient_list()])
    for a, b in zip(*grads, strict=True):
        np.testing.assert_array_equal(a, b)
