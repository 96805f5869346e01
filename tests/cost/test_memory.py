"""Memory figures, computed by hand for small models (docs/cost.md's worked example)."""

import pytest

import lstmkit as lk
from lstmkit.cost import analyze


def example():
    # The README / docs example: D = 8, LSTM(64) → LSTM(32) → Dense(1).
    return lk.Sequential(
        [lk.LSTM(64, return_sequences=True), lk.LSTM(32), lk.Dense(1)], input_size=8
    )


def test_float32_weights_state_scratch_and_feature_maps():
    r = analyze(example(), 100)
    assert [row.weights_bytes for row in r.rows] == [18_688 * 4, 12_416 * 4, 33 * 4]
    assert r.weights_bytes == 124_548
    assert [row.state_bytes for row in r.rows] == [(64 + 64) * 4, (32 + 32) * 4, 0]
    assert r.state_bytes == 768
    # Scratch: gates (4 bytes each) plus the layer's input and output vectors.
    assert [row.scratch_bytes for row in r.rows] == [
        4 * 64 * 4 + (8 + 64) * 4,
        4 * 32 * 4 + (64 + 32) * 4,
        (32 + 1) * 4,
    ]
    assert r.scratch_bytes == 1_312  # the peak over layers, not the sum (2,340)
    # Activations: x (T, 8) → (T, 64) → (32,) → (1,).
    assert r.feature_map_stream_bytes == (64 + 32) * 4
    assert r.feature_map_sequence_bytes == (100 * 8 + 100 * 64) * 4


def test_int8_weights_keep_row_scales_and_32_bit_biases():
    r = analyze(example(), 100, weights="int8")
    lstm = 256 * 8 + 256 * 4 + 256 * 64 + 256 * 4 + 256 * 4
    lstm_1 = 128 * 64 + 128 * 4 + 128 * 32 + 128 * 4 + 128 * 4
    dense = 32 + 4 + 4
    assert [row.weights_bytes for row in r.rows] == [lstm, lstm_1, dense]
    assert r.weights_bytes == 35_368


def test_int16_states_and_activations():
    r = analyze(example(), 100, state="int16")
    assert r.state_bytes == 768 // 2
    assert r.rows[0].scratch_bytes == 4 * 64 * 4 + (8 + 64) * 2  # accumulators stay 32-bit
    assert r.feature_map_sequence_bytes == (100 * 8 + 100 * 64) * 2


def test_batch_scales_feature_maps_only():
    one, three = analyze(example(), 10), analyze(example(), 10, batch=3)
    assert three.feature_map_stream_bytes == 3 * one.feature_map_stream_bytes
    assert three.feature_map_sequence_bytes == 3 * one.feature_map_sequence_bytes
    assert (three.weights_bytes, three.state_bytes, three.scratch_bytes) == (
        one.weights_bytes, one.state_bytes, one.scratch_bytes,
    )  # fmt: skip
    assert three.total.macc == 3 * one.total.macc


def test_bidirectional_projection_and_gru_variants():
    model = lk.Sequential(
        [
            lk.LSTM(6, proj_size=2, bidirectional=True, return_sequences=True),
            lk.GRU(5, reset_after=False, return_sequences=True),
            lk.Dropout(0.1),
            lk.GRU(3, bidirectional=True),
        ],
        input_size=4,
    )
    r = analyze(model, 7)
    state = [row.state_bytes for row in r.rows]
    assert state == [(2 + 6) * 4, (2 + 6) * 4, 5 * 4, 0, 3 * 4, 3 * 4]
    scratch = [row.scratch_bytes for row in r.rows]
    assert scratch[:3] == [24 * 4 + (4 + 4) * 4, 24 * 4 + (4 + 4) * 4, 15 * 4 + (4 + 5) * 4]
    assert scratch[3] == 0  # dropout: the identity at inference
    assert scratch[4] == 12 * 4 + (5 + 6) * 4
    # Activations: (7, 4) → (7, 4) → (7, 5) → (6,); dropout adds no tensor.
    assert r.feature_map_stream_bytes == (5 + 6) * 4
    assert r.feature_map_sequence_bytes == (7 * 4 + 7 * 5) * 4
    assert not r.streaming  # a bidirectional layer needs the whole sequence


def test_lengths_change_compute_not_memory():
    full = analyze(example(), 10, batch=2)
    short = analyze(example(), 10, lengths=[10, 3])
    assert short.valid_steps == 13 and short.batch == 2
    assert short.rows[0].runs == 13
    assert short.rows[2].runs == 2  # the head reads each sequence's last step once
    assert short.total.macc < full.total.macc
    assert short.feature_map_sequence_bytes == full.feature_map_sequence_bytes


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"weights": "int4"}, "weights must be one of"),
        ({"state": "float16"}, "state must be one of"),
        ({"lengths": [0, 3]}, "between 1 and seq_len = 10"),
        ({"lengths": [11]}, "between 1 and seq_len = 10"),
        ({"lengths": [1.5]}, "whole numbers"),
        ({"lengths": [3, 4], "batch": 3}, "batch = 3 but 2 lengths"),
        ({"batch": 0}, "batch must be"),
    ],
)
def test_bad_arguments_say_what_is_wrong(kwargs, message):
    with pytest.raises(ValueError, match=message):
        analyze(example(), 10, **kwargs)


def test_seq_len_and_model_are_checked():
    with pytest.raises(ValueError, match="seq_len must be"):
        analyze(example(), 0)
    with pytest.raises(TypeError, match="Sequential"):
        analyze(object(), 3)
