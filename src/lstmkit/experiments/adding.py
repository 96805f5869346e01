"""Train a recurrent model on the adding problem and record its learning curve.

Every training step sees a fresh batch (the data are unlimited, as in the original
experiment), the test set is fixed, and everything is seeded. Training goes through
:meth:`lstmkit.Sequential.fit`, the same loop users run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lstmkit.datasets.adding import BASELINE_MSE, adding_problem
from lstmkit.layers import GRU, LSTM, RNN, Dense
from lstmkit.models import Sequential
from lstmkit.training import Adam

CELLS = {"lstm": LSTM, "gru": GRU, "rnn": RNN}


@dataclass
class AddingResult:
    """Learning curve: test MSE after ``steps[k]`` updates is ``test_mse[k]``."""

    cell: str
    T: int
    hidden: int
    steps: list[int] = field(default_factory=list)
    test_mse: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)

    @property
    def final_mse(self) -> float:
        return self.test_mse[-1]

    @property
    def best_mse(self) -> float:
        return min(self.test_mse)


def train_adding(
    T: int = 100,
    cell: str = "lstm",
    hidden: int = 64,
    steps: int = 3000,
    seed: int = 0,
    batch: int = 64,
    lr: float = 1e-3,
    clip_norm: float = 1.0,
    eval_every: int = 100,
    n_test: int = 1000,
    progress=None,
) -> AddingResult:
    """Train ``cell`` (``lstm``, ``gru`` or ``rnn`` with tanh) for ``steps`` updates.

    Returns
    -------
    AddingResult with the test MSE every ``eval_every`` updates (and at step 0).
    """
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {', '.join(CELLS)}, got {cell!r}")
    rng = np.random.default_rng(seed)
    x_test, y_test = adding_problem(n_test, T, rng)
    model = Sequential([CELLS[cell](hidden), Dense(1)], input_size=2, seed=seed)
    opt = Adam(lr=lr)
    result = AddingResult(cell, T, hidden)
    result.steps.append(0)
    result.test_mse.append(model.evaluate(x_test, y_test))
    done = 0
    while done < steps:
        n = min(eval_every, steps - done)
        x, y = adding_problem(n * batch, T, rng)
        hist = model.fit(
            x, y, epochs=1, batch_size=batch, optimizer=opt, clip_norm=clip_norm,
            shuffle=False, verbose=0, seed=seed + done,
        )  # fmt: skip
        done += n
        result.steps.append(done)
        result.test_mse.append(model.evaluate(x_test, y_test))
        result.grad_norm.append(hist.history["grad_norm"][-1])
        if progress is not None:
            progress(result)
    return result


__all__ = ["BASELINE_MSE", "AddingResult", "train_adding"]
