"""Prepared streaming (layers/stepping.py): ``Sequential.step`` and ``Recurrent.step``
as one compiled call per step. Each planned step must equal the sequence forward
(``predict``) on the stream so far, see every change to the weights that lstmkit makes
or is told of, and keep the layers' carried states in step with the plan's."""

import numpy as np
import pytest

from lstmkit import GRU, LSTM, RNN, Dense, Dropout, Sequential
from lstmkit.backend import numba_available, use_backend
from lstmkit.layers import weights_changed
from lstmkit.layers.stepping import StepPlan

pytestmark = [
    pytest.mark.one_backend,
    pytest.mark.skipif(not numba_available(), reason="only the compiled backend plans steps"),
]

TOL = {"float32": 2e-6, "float64": 1e-13}


@pytest.fixture(autouse=True)
def compiled():
    with use_backend("numba"):
        yield


MODELS = {
    "lstm-dense": lambda: [LSTM(12), Dense(1)],
    "every-kind": lambda: [
        LSTM(9, return_sequences=True, peephole=True, proj_size=5),
        Dropout(0.3),
        GRU(7, reset_after=False, return_sequences=True),
        GRU(6, return_sequences=True),
        RNN(5, activation="relu", return_sequences=True),
        RNN(4, return_sequences=True),
        Dense(6, activation="relu"),
        Dense(5, activation="softmax"),
    ],
    "activations": lambda: [
        LSTM(8, return_sequences=True, peephole=True),
        Dense(4, activation="sigmoid"),
        Dense(3, activation="tanh"),
    ],
}


def streamed(model, x):
    return np.stack([model.step(x[:, t]) for t in range(x.shape[1])], axis=1)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_planned_step_matches_predict(name, dtype):
    model = Sequential(MODELS[name](), input_size=3, dtype=dtype, seed=1)
    x = np.random.default_rng(2).standard_normal((4, 15, 3))
    assert StepPlan.make(model.layers, 3, 4, dtype) is not None
    out = streamed(model, x)
    ref = model.predict(x)
    ref = ref if ref.ndim == 3 else ref[:, None]
    np.testing.assert_allclose(out[:, -ref.shape[1] :], ref, rtol=0, atol=TOL[dtype])


def test_layer_step_is_planned_and_matches_the_sequence():
    layer = LSTM(10, return_sequences=True, peephole=True)
    model = Sequential([layer], input_size=2, dtype="float64", seed=0)
    x = np.random.default_rng(0).standard_normal((3, 9, 2))
    out = np.stack([layer.step(x[:, t]) for t in range(9)], axis=1)
    assert layer.__dict__["_step_plan"][1] is not None
    np.testing.assert_allclose(out, model.predict(x), rtol=0, atol=1e-13)


def test_weight_changes_reach_the_plan():
    model = Sequential([LSTM(6), Dense(2)], input_size=2, dtype="float64", seed=0)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 5, 2))

    def last_step():
        model.reset_states()
        return streamed(model, x)[:, -1]

    before = last_step()
    lstm = model.layers[0]
    # A new array in params, set_weights, fit: noticed without being told.
    lstm.params["Wx"] = lstm.params["Wx"] * 0.5
    np.testing.assert_allclose(last_step(), model.predict(x), rtol=0, atol=1e-13)
    assert not np.allclose(last_step(), before)
    weights = model.get_weights()
    weights["dense.b"] = weights["dense.b"] + 1.0
    model.set_weights(weights)
    np.testing.assert_allclose(last_step(), model.predict(x), rtol=0, atol=1e-13)
    model.fit(x, rng.standard_normal((2, 2)), epochs=2, verbose=0)
    np.testing.assert_allclose(last_step(), model.predict(x), rtol=0, atol=1e-13)
    # An edit in place needs weights_changed(); without it the plan keeps its copy.
    lstm.params["Wh"][...] = 0.0
    stale = last_step()
    weights_changed()
    fresh = last_step()
    np.testing.assert_allclose(fresh, model.predict(x), rtol=0, atol=1e-13)
    assert not np.allclose(stale, fresh)


def test_states_stay_in_step_with_the_layers():
    model = Sequential(
        [LSTM(5, return_sequences=True), GRU(4)], input_size=2, dtype="float64", seed=0
    )
    x = np.random.default_rng(0).standard_normal((3, 6, 2))
    first = model.step(x[:, 0])
    model.step(x[:, 1])
    lstm, gru = model.layers
    h, c = lstm.state_[0]
    assert h.shape == (3, 5) and c.shape == (3, 5) and gru.state_[0][0].shape == (3, 4)
    # A state set from outside is taken on the next step.
    saved = [tuple(a.copy() for a in s) for s in (lstm.state_[0], gru.state_[0])]
    model.reset_states()
    np.testing.assert_array_equal(model.step(x[:, 0]), first)
    lstm.state_, gru.state_ = [saved[0]], [saved[1]]
    after_two = model.step(x[:, 2])
    model.reset_states()
    for t in range(3):
        again = model.step(x[:, t])
    np.testing.assert_array_equal(after_two, again)
    # Layer.step and Sequential.step share the carried state.
    model.reset_states()
    model.step(x[:, 0])
    h1 = lstm.step(x[:, 1])
    np.testing.assert_allclose(gru.step(h1), model.predict(x[:, :2]), rtol=0, atol=1e-13)


def test_batch_size_and_bad_input():
    model = Sequential([LSTM(4), Dense(1)], input_size=2, seed=0)
    model.step(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="carried state is for batch size 3, got 2"):
        model.step(np.zeros((2, 2)))
    model.reset_states()
    assert model.step(np.zeros((2, 2))).shape == (2, 1)
    bad = np.zeros((2, 2))
    bad[1, 0] = np.nan
    with pytest.raises(ValueError, match="x_t"):
        model.step(bad)


def test_unplannable_models_step_layer_by_layer():
    model = Sequential([LSTM(4, bidirectional=True), Dense(1)], input_size=2, seed=0)
    assert StepPlan.make(model.layers, 2, 1, "float64") is None
    with pytest.raises(ValueError, match="step\\(\\) streams forward"):
        model.step(np.zeros((1, 2)))
    with use_backend("numpy"):
        assert StepPlan.make([LSTM(3)], 2, 1, "float64") is None


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "make, step",
    [
        (lambda: LSTM(9, peephole=True, proj_size=5), "lstm"),
        (lambda: LSTM(8), "lstm"),
        (lambda: GRU(7, reset_after=False), "gru"),
        (lambda: GRU(6), "gru"),
        (lambda: RNN(5, activation="relu"), "rnn"),
        (lambda: RNN(4), "rnn"),
    ],
)
def test_pure_step_functions_give_the_planned_bits(make, step, dtype):
    """``ops.*_step`` (the caller's weights as they are, dot products) and the plan
    (weights transposed, rows scaled and added) sum in the same order: equal bits."""
    from lstmkit import ops

    layer = make()
    Sequential([layer], input_size=3, dtype=dtype, seed=4)
    p = dict(layer.params)
    x = np.random.default_rng(5).standard_normal((3, 6, 3)).astype(dtype)
    if step == "lstm":
        P = p["Wh"].shape[1]
        h, c = np.zeros((3, P), dtype), np.zeros((3, p["Wx"].shape[0] // 4), dtype)
    else:
        h = np.zeros((3, p["Wh"].shape[1]), dtype)
    for t in range(6):
        planned = layer.step(x[:, t])
        if step == "lstm":
            h, c = ops.lstm_step(x[:, t], h, c, **p)
        elif step == "gru":
            h = ops.gru_step(x[:, t], h, **p, reset_after=layer.cell.reset_after)
        else:
            h = ops.rnn_step(x[:, t], h, **p, activation=layer.cell.activation)
        assert h.dtype == dtype
        np.testing.assert_array_equal(h, planned)
