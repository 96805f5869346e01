"""Parameter counts and per-step figures: worked examples, the stored arrays, PyTorch."""

import pytest

import lstmkit as lk
from lstmkit.cost import Ops, analyze


def test_seed_example_80_features_12_units():
    # 4·(80·12 + 12·12 + 12) = 4,464 (the first seed's example).
    report = analyze(lk.Sequential([lk.LSTM(12)], input_size=80), 1)
    assert report.params == 4 * (80 * 12 + 12 * 12 + 12) == 4_464


def test_keras_lstm50_on_3_features_and_pytorch_count():
    report = analyze(lk.Sequential([lk.LSTM(50)], input_size=3), 1)
    assert report.params == 10_800  # Keras: one bias
    assert report.params_torch == 11_000  # PyTorch: bias_ih and bias_hh


@pytest.mark.parametrize(
    "layer, D, expected",
    [
        # SPEC table, written out for D = 3, H = 4 (P = 2 for the projection).
        (lk.RNN(4), 3, Ops(macc=28, elementwise=4, tanh=4)),
        (lk.RNN(4, activation="relu"), 3, Ops(macc=28, elementwise=4, relu=4)),
        (lk.LSTM(4), 3, Ops(macc=112, elementwise=32, sigmoid=12, tanh=8)),
        (lk.LSTM(4, peephole=True), 3, Ops(macc=112, elementwise=56, sigmoid=12, tanh=8)),
        (lk.LSTM(4, proj_size=2), 3, Ops(macc=4 * 4 * 5 + 8, elementwise=32, sigmoid=12, tanh=8)),
        (lk.GRU(4), 3, Ops(macc=84, elementwise=44, sigmoid=8, tanh=4)),
        (lk.GRU(4, reset_after=False), 3, Ops(macc=84, elementwise=44, sigmoid=8, tanh=4)),
        (lk.Dense(4), 3, Ops(macc=12, elementwise=4)),
        (lk.Dense(4, activation="sigmoid"), 3, Ops(macc=12, elementwise=4, sigmoid=4)),
        (lk.Dense(4, activation="softmax"), 3, Ops(macc=12, elementwise=20, exp=4)),
    ],
)
def test_per_step_figures_of_the_conventions_table(layer, D, expected):
    report = analyze(lk.Sequential([layer], input_size=D), 1)
    assert report.rows[0].per_step == expected


PARAM_CASES = {
    "rnn": (lk.RNN(4), 3, 4 * 7 + 4),
    "lstm": (lk.LSTM(4), 3, 16 * 7 + 16),
    "peephole": (lk.LSTM(4, peephole=True), 3, 16 * 7 + 16 + 12),
    "proj": (lk.LSTM(4, proj_size=2), 3, 16 * 3 + 16 * 2 + 16 + 2 * 4),
    "gru": (lk.GRU(4), 3, 12 * 7 + 24),
    "gru_before": (lk.GRU(4, reset_after=False), 3, 12 * 7 + 24),
    "dense": (lk.Dense(4), 3, 16),
}


@pytest.mark.parametrize("name", PARAM_CASES)
def test_parameter_formulas_match_the_stored_arrays(name):
    layer, D, expected = PARAM_CASES[name]
    model = lk.Sequential([layer], input_size=D)
    report = analyze(model, 1)
    assert report.params == expected == model.count_params()


def test_bidirectional_stack_params_match_the_model():
    model = lk.Sequential(
        [
            lk.LSTM(5, bidirectional=True, proj_size=3, peephole=True, return_sequences=True),
            lk.GRU(4, bidirectional=True, reset_after=False, return_sequences=True),
            lk.Dropout(0.2),
            lk.RNN(3, bidirectional=True),
            lk.Dense(2),
        ],
        input_size=6,
    )
    report = analyze(model, 3)
    assert report.params == model.count_params()
    assert len(report.rows) == 2 + 2 + 1 + 2 + 1
    for layer in model.layers:
        rows = [r for r in report.rows if r.layer == layer.name]
        assert sum(r.params for r in rows) == layer.param_count()
