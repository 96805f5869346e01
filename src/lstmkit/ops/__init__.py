"""Pure recurrent ops: forward, hand-written backward and streaming step (docs/conventions.md).

Each ``*_forward`` returns a ``cache`` that the matching ``*_backward`` consumes; each
backward returns a dict of gradients keyed by the forward's argument names.
"""

from lstmkit.ops.activations import relu, sigmoid, tanh
from lstmkit.ops.gru import gru_backward, gru_forward, gru_step
from lstmkit.ops.lstm import lstm_backward, lstm_forward, lstm_step
from lstmkit.ops.rnn import rnn_backward, rnn_forward, rnn_step
from lstmkit.ops.stream import LSTMStream

__all__ = [
    "LSTMStream",
    "gru_backward",
    "gru_forward",
    "gru_step",
    "lstm_backward",
    "lstm_forward",
    "lstm_step",
    "relu",
    "rnn_backward",
    "rnn_forward",
    "rnn_step",
    "sigmoid",
    "tanh",
]
