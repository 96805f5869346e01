"""The two models issue 16's review measured int8 calibration on, built once for the
benchmark (``benchmarks/bench_int8_calibration.py``) and the test that holds the result
(``tests/export/test_calibration.py``): ranges must come from every step of these, whose
states have no fixed range."""

from __future__ import annotations

from lstmkit.layers import LSTM, RNN, Dense
from lstmkit.models.sequential import Sequential


def peephole_projection() -> Sequential:
    """A stacked LSTM with peepholes and projections (many-to-one), D = 4."""
    return Sequential([LSTM(16, peephole=True, proj_size=8, return_sequences=True),
                       LSTM(12, peephole=True, proj_size=6), Dense(1)],
                      input_size=4, seed=1)  # fmt: skip


def relu_rnn() -> Sequential:
    """A relu RNN(16) (many-to-one), D = 4: its state is unbounded."""
    return Sequential([RNN(16, activation="relu"), Dense(1)], input_size=4, seed=2)
