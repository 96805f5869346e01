"""Weight initialisers (docs/models.md, "Initialisation").

Defaults follow Keras, the common reference for sequence models: Glorot-uniform input
kernels, orthogonal recurrent kernels (one orthogonal block per gate, so every gate
starts with a norm-preserving recurrence), zero biases except the LSTM forget gate,
which starts at 1 (Jozefowicz et al. 2015) so the cell remembers from the first step.
"""

from __future__ import annotations

import numpy as np


def glorot_uniform(rng: np.random.Generator, shape: tuple[int, int], dtype) -> np.ndarray:
    """``U(-l, l)`` with ``l = sqrt(6 / (fan_in + fan_out))``.

    Parameters
    ----------
    shape : (fan_out, fan_in), the layout ``W @ x`` uses.

    Returns
    -------
    ndarray, shape ``shape``
    """
    fan_out, fan_in = shape
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def orthogonal(rng: np.random.Generator, shape: tuple[int, int], dtype) -> np.ndarray:
    """A (semi-)orthogonal matrix from the QR decomposition of a Gaussian one.

    Parameters
    ----------
    shape : (rows, cols); the rows are orthonormal when rows <= cols, else the columns.

    Returns
    -------
    ndarray, shape ``shape``
    """
    rows, cols = shape
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    # Sign correction makes the distribution uniform over orthogonal matrices.
    q *= np.sign(np.diag(r))
    q = q if rows >= cols else q.T
    return np.ascontiguousarray(q[:rows, :cols]).astype(dtype)


def orthogonal_blocks(
    rng: np.random.Generator, n_blocks: int, shape: tuple[int, int], dtype
) -> np.ndarray:
    """``n_blocks`` independent orthogonal ``shape`` blocks stacked on the first axis.

    Returns
    -------
    ndarray, shape ``(n_blocks * rows, cols)``
    """
    return np.concatenate([orthogonal(rng, shape, dtype) for _ in range(n_blocks)], axis=0)
