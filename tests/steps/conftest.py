"""Every cell the definitions cover, as (kind, options, weights, D), from a real layer."""

import numpy as np
import pytest

import lstmkit as lk
from lstmkit.export.plan import make_plan

LAYERS = {
    "lstm": lambda: lk.LSTM(4, return_sequences=True),
    "lstm-peephole": lambda: lk.LSTM(4, peephole=True, return_sequences=True),
    "lstm-proj": lambda: lk.LSTM(5, proj_size=3, return_sequences=True),
    "lstm-peephole-proj": lambda: lk.LSTM(5, peephole=True, proj_size=2, return_sequences=True),
    "gru": lambda: lk.GRU(4, return_sequences=True),
    "gru-reset-before": lambda: lk.GRU(4, reset_after=False, return_sequences=True),
    "rnn-tanh": lambda: lk.RNN(4, return_sequences=True),
    "rnn-relu": lambda: lk.RNN(4, activation="relu", return_sequences=True),
    "dense": lambda: lk.Dense(3),
    "dense-sigmoid": lambda: lk.Dense(3, activation="sigmoid"),
    "dense-tanh": lambda: lk.Dense(3, activation="tanh"),
    "dense-relu": lambda: lk.Dense(3, activation="relu"),
    "dense-softmax": lambda: lk.Dense(3, activation="softmax"),
}
D = 3


def one_layer(name, seed=0, scale=1.5):
    """``(model, planned layer)`` for one of :data:`LAYERS`, weights scaled up to reach
    the nonlinearities' saturation."""
    model = lk.Sequential([LAYERS[name]()], input_size=D, seed=seed)
    for key in model.layers[0].params:
        model.layers[0].params[key] = model.layers[0].params[key] * scale
    return model, make_plan(model, "net").layers[0]


@pytest.fixture(params=sorted(LAYERS))
def layer_name(request):
    return request.param


def zero_state(la):
    sizes = {"h": la.options.get("P", 0), "c": la.options.get("H", 0)}
    from lstmkit.steps.define import state_names

    return {k: np.zeros(sizes[k]) for k in state_names(la.kind)} if la.recurrent else {}


def direction(la):
    return "forward" if la.recurrent else None
