"""The long-range claim, small enough for the suite: on the adding problem with T = 50,
an LSTM learns within 600 updates while a plain tanh RNN of the same size does not.
(docs/experiments.md has the full T = 100 experiment.)"""

import numpy as np
import pytest

from lstmkit.datasets import adding_problem
from lstmkit.datasets.adding import BASELINE_MSE
from lstmkit.experiments.adding import train_adding


def test_adding_problem_data():
    x, y = adding_problem(500, 20, np.random.default_rng(0))
    assert x.shape == (500, 20, 2) and y.shape == (500, 1) and x.dtype == np.float32
    markers = x[:, :, 1]
    np.testing.assert_array_equal(markers.sum(axis=1), 2)
    assert (markers[:, :10].sum(axis=1) == 1).all()  # one mark in each half
    np.testing.assert_allclose(y[:, 0], (x[:, :, 0] * markers).sum(axis=1), rtol=1e-6)
    # Always answering 1 scores about 1/6.
    assert abs(np.mean((y - 1) ** 2) - BASELINE_MSE) < 0.02


def test_lstm_learns_what_a_plain_rnn_cannot():
    common = {"T": 50, "hidden": 32, "steps": 600, "batch": 64, "lr": 1e-2, "seed": 0,
              "eval_every": 300, "n_test": 500}  # fmt: skip
    lstm = train_adding(cell="lstm", **common)
    rnn = train_adding(cell="rnn", **common)
    assert lstm.final_mse < 0.02, lstm.test_mse
    assert rnn.final_mse > 0.1, rnn.test_mse  # no better than answering about 1
    assert rnn.final_mse > 5 * lstm.final_mse


def test_unknown_cell_is_refused():
    with pytest.raises(ValueError, match="cell must be one of"):
        train_adding(cell="transformer", steps=1)
