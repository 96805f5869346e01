"""Chronological splits: train, then validation, then test, never shuffled.

Nothing fitted on the training part may look later: transforms are fitted on ``train``
only (:class:`~lstmkit.forecast.transforms.SeriesTransform`), the Forecaster keeps its
own validation tail inside what it is given, and the test part is only scored.
"""

from __future__ import annotations

import numpy as np


def chronological_split(
    y, *, test: int, validation: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``y (N,)`` → ``train (N − validation − test,)``, ``validation``, ``test``, in order.

    Raises ValueError when the parts leave no training data.
    """
    arr = np.asarray(y, dtype=np.float64).reshape(-1)
    for name, v in (("test", test), ("validation", validation)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 0:
            raise ValueError(f"chronological_split: {name} must be a whole number >= 0, got {v!r}")
    n_train = arr.size - validation - test
    if n_train < 1:
        raise ValueError(
            f"chronological_split: {arr.size} steps leave no training data after validation "
            f"{validation} and test {test}"
        )
    return arr[:n_train], arr[n_train : n_train + validation], arr[n_train + validation :]
