"""The adding problem (Hochreiter & Schmidhuber 1997, experiment 4), in its common form.

Each of the ``T`` steps carries two features: a value drawn from U[0, 1] and a marker
that is 1 at exactly two steps, one in each half of the sequence (0 elsewhere). The
target, read after the last step, is the sum of the two marked values. Predicting the
mean sum (1) scores an MSE of Var(U1 + U2) = 2/12 ≈ 0.167, so a model only learns
the task when it carries a value across up to ``T`` steps.
"""

from __future__ import annotations

import numpy as np

#: MSE of always answering 1 (the mean target): Var(U1 + U2) = 1/6.
BASELINE_MSE = 1.0 / 6.0


def adding_problem(
    n: int, T: int, rng: np.random.Generator, dtype=np.float32
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` adding-problem sequences of ``T`` steps.

    Parameters
    ----------
    n : number of sequences.
    T : steps per sequence (at least 2).
    rng : the random generator.

    Returns
    -------
    x : ndarray, shape (n, T, 2)
        ``x[..., 0]`` values in [0, 1), ``x[..., 1]`` markers (two ones per sequence).
    y : ndarray, shape (n, 1)
        Sum of the two marked values.
    """
    if T < 2:
        raise ValueError(f"adding_problem: T must be >= 2, got {T}")
    half = T // 2
    values = rng.random((n, T))
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, T, size=n)
    markers = np.zeros((n, T))
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=-1).astype(dtype)
    y = (values[rows, first] + values[rows, second])[:, None].astype(dtype)
    return x, y
