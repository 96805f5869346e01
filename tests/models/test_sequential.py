"""Sequential: building, input checks, predict/evaluate, streaming, trace, summary."""

import numpy as np
import pytest

from lstmkit import GRU, LSTM, RNN, Dense, Dropout, Sequential


def stacked(many=True, dtype="float64"):
    return Sequential(
        [
            LSTM(6, return_sequences=True, peephole=True),
            Dropout(0.2),
            GRU(5, return_sequences=True),
            RNN(4, return_sequences=many),
            Dense(2, activation="tanh"),
        ],
        input_size=3,
        dtype=dtype,
        seed=3,
    )


def test_layers_get_unique_names_and_shapes_chain():
    m = Sequential([LSTM(4, return_sequences=True), LSTM(3), Dense(2), Dense(1)], input_size=5)
    assert [la.name for la in m.layers] == ["lstm", "lstm_1", "dense", "dense_1"]
    assert m.output_size == 1 and not m.output_is_sequence
    assert m.layers[1].input_size == 4


def test_recurrent_after_a_vector_output_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="give 'lstm' return_sequences=True"):
        Sequential([LSTM(4), GRU(3)], input_size=2)


def test_return_state_inside_a_model_is_refused():
    with pytest.raises(ValueError, match="return_state"):
        Sequential([LSTM(4, return_state=True)], input_size=2)


@pytest.mark.parametrize(
    "x, message",
    [
        (np.zeros((4, 3)), r"shape \(B, T, D\) = \(B, T, 3\), got \(4, 3\); for a single"),
        (np.zeros((4, 5, 2)), r"shape \(B, T, D\) = \(B, T, 3\), got \(4, 5, 2\)"),
        (np.zeros((0, 5, 3)), "empty"),
    ],
)
def test_wrong_shapes_name_the_expected_shape(x, message):
    with pytest.raises(ValueError, match=message):
        stacked().predict(x)


def test_nan_and_inf_are_counted_with_the_first_position():
    x = np.zeros((2, 4, 3))
    x[1, 2, 0] = np.nan
    x[1, 3, 2] = np.inf
    with pytest.raises(ValueError, match=r"x has 2 NaN or infinite value\(s\), the first at "
                       r"index \(1, 2, 0\)"):  # fmt: skip
        stacked().predict(x)
    y = np.zeros((2, 4, 2))
    y[0, 1, 1] = np.inf
    with pytest.raises(ValueError, match=r"y has 1 .* \(0, 1, 1\)"):
        stacked().fit(np.zeros((2, 4, 3)), y, epochs=1, verbose=0)


def test_targets_at_padded_steps_may_be_nan():
    m = stacked()
    x = np.random.default_rng(0).standard_normal((2, 4, 3))
    y = np.zeros((2, 4, 2))
    y[1, 3] = np.nan
    assert np.isfinite(m.evaluate(x, y, lengths=[4, 3]))


def test_bad_lengths_are_refused():
    with pytest.raises(ValueError, match="lengths"):
        stacked().predict(np.zeros((2, 4, 3)), lengths=[4, 5])
    with pytest.raises(ValueError, match=r"lengths must have shape \(B,\) = \(2,\)"):
        stacked().predict(np.zeros((2, 4, 3)), lengths=[4])


def test_predict_in_batches_equals_one_batch_and_dropout_is_off():
    m = stacked()
    x = np.random.default_rng(1).standard_normal((7, 5, 3))
    lengths = np.array([5, 1, 3, 5, 2, 4, 4])
    # Equal up to rounding: BLAS blocks a product differently for another batch size.
    np.testing.assert_allclose(
        m.predict(x, lengths, batch_size=3), m.predict(x, lengths), rtol=0, atol=1e-15
    )


def test_float32_model_computes_in_float32():
    m = stacked(dtype="float32")
    out = m.predict(np.random.default_rng(2).standard_normal((2, 4, 3)))  # float64 input
    assert out.dtype == np.float32


@pytest.mark.parametrize("many", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_model_step_matches_predict(many, dtype):
    m = stacked(many=many, dtype=dtype)
    x = np.random.default_rng(3).standard_normal((2, 40, 3))
    atol = 5e-6 if dtype == "float32" else 1e-13
    steps = np.stack([m.step(x[:, t]) for t in range(40)], axis=1)
    if many:
        np.testing.assert_allclose(steps, m.predict(x), rtol=0, atol=atol)
    else:
        for t in (0, 17, 39):  # each step's output is the prediction for the prefix
            np.testing.assert_allclose(steps[:, t], m.predict(x[:, : t + 1]), rtol=0, atol=atol)
    m.reset_states()
    np.testing.assert_array_equal(m.step(x[:, 0]), steps[:, 0])


def test_stateful_model_predict_continues_the_stream():
    def model(stateful):
        return Sequential([LSTM(4, return_sequences=True, stateful=stateful), Dense(1)],
                          input_size=2, dtype="float64")  # fmt: skip

    x = np.random.default_rng(4).standard_normal((3, 12, 2))
    ref = model(False).predict(x)
    m = model(True)
    got = np.concatenate([m.predict(x[:, :5], batch_size=2), m.predict(x[:, 5:])], axis=1)
    np.testing.assert_allclose(got, ref, atol=1e-14)


def test_trace_covers_every_recurrent_layer():
    m = stacked()
    x = np.random.default_rng(5).standard_normal((2, 6, 3))
    tr = m.trace(x, lengths=[6, 4])
    assert list(tr) == ["lstm", "gru", "rnn"]
    assert set(tr["lstm"]["forward"]) == {"i", "f", "o", "g", "c", "h"}
    assert set(tr["gru"]["forward"]) == {"r", "z", "n", "h"}
    assert tr["lstm"]["forward"]["f"].shape == (2, 6, 6)
    assert np.isnan(tr["gru"]["forward"]["z"][1, 4:]).all()
    # The last layer's traced h, through the Dense head, is the model's output.
    dense = m.layers[-1]
    h = np.nan_to_num(tr["rnn"]["forward"]["h"])
    np.testing.assert_allclose(
        dense.forward(h, np.array([6, 4])), m.predict(x, lengths=[6, 4]), atol=1e-14
    )


def test_summary_shows_layers_blocks_and_states():
    m = Sequential([LSTM(12, return_sequences=True), GRU(4, bidirectional=True), Dense(1)],
                   input_size=80)  # fmt: skip
    text = m.summary(print_fn=None)
    assert "lstm (LSTM)" in text and "(B, T, 12)" in text
    assert "4,464" in text  # 4·(80·12 + 12·12 + 12), the seeds' worked example
    assert "(48, 80)" in text and "4 gate blocks i, f, o, g of (12, 80)" in text
    assert "state: h (B, 12), c (B, 12)" in text
    assert "h (reverse) (B, 4)" in text
    assert f"Total params: {m.count_params():,}" in text
    assert m.count_params() == 4464 + 2 * (3 * 4 * (12 + 4) + 6 * 4) + 9


def test_set_weights_checks_names_and_shapes():
    m = stacked()
    w = m.get_weights()
    w["lstm.Wx"] = np.zeros((1, 1))
    with pytest.raises(ValueError, match=r"'lstm\.Wx' must have shape"):
        m.set_weights(w)
    with pytest.raises(ValueError, match="missing"):
        m.set_weights({})
