"""Compact model specs: ``lstm:64,lstm:32,dense:1``."""

import pytest

import lstmkit as lk
from lstmkit.models.spec import layers_from_spec, model_from_spec


def test_the_issue_example():
    model = model_from_spec("lstm:64,lstm:32,dense:1", 8)
    kinds = [type(la).__name__ for la in model.layers]
    assert kinds == ["LSTM", "LSTM", "Dense"]
    assert model.layers[0].return_sequences and not model.layers[1].return_sequences
    assert model.output_size == 1 and model.input_size == 8


def test_options():
    layers = layers_from_spec(
        "lstm:8:bi:peephole:proj=3, dropout:0.2, gru:6:reset_before:bi, rnn:4:relu:seq, "
        "dense:3:softmax"
    )
    lstm, drop, gru, rnn, dense = layers
    assert lstm.bidirectional and lstm.cell.peephole and lstm.cell.P == 3
    assert lstm.return_sequences  # a recurrent layer follows (through the dropout)
    assert drop.rate == 0.2
    assert not gru.cell.reset_after and gru.bidirectional and gru.return_sequences
    assert rnn.cell.activation == "relu" and rnn.return_sequences
    assert dense.activation == "softmax"


@pytest.mark.parametrize(
    "spec, message",
    [
        ("", "the spec is empty"),
        ("lstm:64,,dense:1", "empty item"),
        ("conv:3", "unknown layer kind 'conv'"),
        ("lstm", "give a size"),
        ("lstm:0", "whole number of units >= 1"),
        ("lstm:x", "whole number of units >= 1"),
        ("dropout:1.5", r"rate in \[0, 1\)"),
        ("gru:4:peephole", "unknown option 'peephole' for gru"),
        ("dense:1:swish", "unknown option 'swish' for dense"),
    ],
)
def test_bad_specs_say_what_is_wrong_and_show_an_example(spec, message):
    with pytest.raises(ValueError, match=message) as info:
        layers_from_spec(spec)
    assert "example: lstm:64,lstm:32,dense:1" in str(info.value)


def test_invalid_projection_is_reported_by_the_layer():
    with pytest.raises(ValueError, match="proj_size must be between 1 and hidden_size - 1"):
        layers_from_spec("lstm:4:proj=4")


def test_dense_before_a_recurrent_layer_fails_clearly():
    with pytest.raises(ValueError, match="reads sequences"):
        lk.Sequential(layers_from_spec("lstm:4,dense:2,lstm:3"), input_size=2)
