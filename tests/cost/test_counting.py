"""Proof by counting: the analyzer's figures equal the operations a real forward executes.

``count_forward`` runs the model with counted arithmetic; its outputs must equal
``model.predict`` (every counted op was needed) and its per-row tallies must equal
``analyze`` row by row, on random models of every supported kind.
"""

import numpy as np
import pytest

import lstmkit as lk
from lstmkit.cost import Ops, analyze, count_forward
from lstmkit.cost.counting import Counter


def randomize(model, rng):
    """Non-zero weights everywhere (biases and peepholes too), so no term can hide."""
    for layer in model.layers:
        for v in layer.params.values():
            v[...] = rng.normal(scale=0.6, size=v.shape)


def random_recurrent(rng, kind, sequences):
    H = int(rng.integers(1, 7))
    common = {"return_sequences": sequences, "bidirectional": bool(rng.integers(2))}
    if kind == "lstm":
        proj = int(rng.integers(1, H)) if H > 1 and rng.integers(2) else None
        return lk.LSTM(H, peephole=bool(rng.integers(2)), proj_size=proj, **common)
    if kind == "gru":
        return lk.GRU(H, reset_after=bool(rng.integers(2)), **common)
    return lk.RNN(H, activation=str(rng.choice(["tanh", "relu"])), **common)


def random_model(seed):
    """1-3 recurrent layers of random kinds and options, maybe dropout, Dense heads that
    read either the last step or the whole sequence."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 4))
    kinds = rng.choice(["lstm", "gru", "rnn"], size=n)
    last_sequences = bool(rng.integers(2))
    layers = []
    for k, kind in enumerate(kinds):
        layers.append(random_recurrent(rng, kind, k < n - 1 or last_sequences))
        if rng.integers(3) == 0:
            layers.append(lk.Dropout(0.5))
    for _ in range(int(rng.integers(0, 3))):
        act = rng.choice(["none", "relu", "tanh", "sigmoid", "softmax"])
        layers.append(lk.Dense(int(rng.integers(1, 5)), activation=None if act == "none" else act))
    D = int(rng.integers(1, 5))
    model = lk.Sequential(layers, input_size=D, dtype="float64", seed=seed)
    randomize(model, rng)
    B, T = int(rng.integers(1, 4)), int(rng.integers(1, 7))
    x = rng.normal(size=(B, T, D))
    lengths = rng.integers(1, T + 1, size=B) if rng.integers(2) else None
    return model, x, lengths


def assert_counted_equals_analyzed(model, x, lengths):
    run = count_forward(model, x, lengths)
    np.testing.assert_allclose(run.output, model.predict(x, lengths), rtol=0, atol=1e-12)
    report = analyze(model, x.shape[1], lengths=lengths, batch=x.shape[0])
    assert {r.key: r.total for r in report.rows} == run.rows
    assert report.total == run.total
    return report, run


@pytest.mark.parametrize("seed", range(40))
def test_random_models(seed):
    assert_counted_equals_analyzed(*random_model(seed))


def test_random_models_cover_every_feature():
    """The seeds above exercise each cell variant, both directions, projections,
    peepholes, dense heads on sequences and on last steps, and variable lengths."""
    seen = set()
    for seed in range(40):
        model, _, lengths = random_model(seed)
        seen.add("lengths" if lengths is not None else "full")
        sequence = True
        for layer in model.layers:
            if isinstance(layer, lk.LSTM):
                seen.add("peephole" if layer.cell.peephole else "lstm")
                seen.add("proj" if layer.cell.P else "noproj")
            elif isinstance(layer, lk.GRU):
                seen.add(f"gru_{layer.cell.reset_after}")
            elif isinstance(layer, lk.RNN):
                seen.add(f"rnn_{layer.cell.activation}")
            elif isinstance(layer, lk.Dense):
                seen.add("dense_seq" if sequence else "dense_last")
                seen.add(f"act_{layer.activation}")
            if getattr(layer, "bidirectional", False):
                seen.add("bi")
            sequence = layer.output_is_sequence(sequence)
        if sum(isinstance(la, lk.layers.recurrent.Recurrent) for la in model.layers) > 1:
            seen.add("stacked")
    expected = {
        "lengths", "full", "peephole", "lstm", "proj", "noproj", "gru_True", "gru_False",
        "rnn_tanh", "rnn_relu", "dense_seq", "dense_last", "bi", "stacked",
        "act_None", "act_relu", "act_tanh", "act_sigmoid", "act_softmax",
    }  # fmt: skip
    assert expected <= seen


def test_named_model_with_everything():
    """The issue's list in one model: peephole + projection LSTM, both GRU variants, RNN,
    bidirectional, stacked, Dense heads, variable lengths."""
    rng = np.random.default_rng(7)
    model = lk.Sequential(
        [
            lk.LSTM(5, peephole=True, bidirectional=True, return_sequences=True),
            lk.LSTM(6, proj_size=3, return_sequences=True),
            lk.GRU(4, reset_after=False, bidirectional=True, return_sequences=True),
            lk.GRU(4, return_sequences=True),
            lk.RNN(3, activation="relu", bidirectional=True, return_sequences=True),
            lk.Dense(4, activation="tanh"),
            lk.Dense(2),
        ],
        input_size=3,
        dtype="float64",
    )
    randomize(model, rng)
    x = rng.normal(size=(3, 6, 3))
    _, run = assert_counted_equals_analyzed(model, x, np.array([6, 1, 4]))
    assert run.total.macc > 0 and run.total.sigmoid > 0 and run.total.relu > 0


def test_per_step_is_one_step_of_one_sequence():
    model, _, _ = random_model(3)
    x = np.random.default_rng(0).normal(size=(1, 1, model.input_size))
    assert count_forward(model, x).total == analyze(model, 1).per_step


def test_lengths_count_only_valid_steps():
    model = lk.Sequential([lk.GRU(3, bidirectional=True)], input_size=2, dtype="float64")
    x = np.ones((2, 5, 2))
    run = count_forward(model, x, [5, 2])
    one_step = analyze(model, 1).rows[0].per_step
    assert run.rows[("gru", "forward")] == one_step * 7
    assert run.rows[("gru", "reverse")] == one_step * 7


def test_a_wrong_formula_would_be_caught():
    """The comparison can fail: an analyzer that forgot the peephole ops disagrees."""
    model = lk.Sequential([lk.LSTM(3, peephole=True)], input_size=2, dtype="float64")
    x = np.random.default_rng(1).normal(size=(1, 4, 2))
    run = count_forward(model, x)
    without_peepholes = analyze(lk.Sequential([lk.LSTM(3)], input_size=2, dtype="float64"), 4).total
    assert run.total != without_peepholes
    assert run.total.elementwise - without_peepholes.elementwise == 6 * 3 * 4


def test_counter_primitives_tally_what_they_compute():
    C = Counter()
    C.key = ("row", None)
    W, v = np.arange(6.0).reshape(3, 2), np.array([1.0, 2.0])
    y = C.affine([(W, v), (W, v)], np.ones(3))
    np.testing.assert_array_equal(y, 2 * W @ v + 1)
    C.sigmoid(y)
    C.tanh(y)
    C.mul(y, y)
    assert C.tallies()[("row", None)] == Ops(macc=12, elementwise=6, sigmoid=3, tanh=3)


def test_count_forward_checks_its_input():
    model = lk.Sequential([lk.RNN(2)], input_size=3)
    with pytest.raises(ValueError, match=r"shape \(B, T, 3\)"):
        count_forward(model, np.zeros((1, 2, 4)))
