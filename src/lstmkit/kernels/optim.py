"""Compiled optimizer updates: one call per parameter array instead of a dozen NumPy
operations, each with its temporaries. The arithmetic is the NumPy code's, operation
for operation, in the parameter's dtype (no fastmath), so the results are bit-identical
to :mod:`lstmkit.training.optimizers` under NumPy; a test holds them to it.
"""

from __future__ import annotations

import math

from numba import njit

from lstmkit.kernels.sequence import OPTS


@njit(**OPTS)
def adam_(p, g, m, v, b1, omb1, b2, omb2, step, c2, eps):
    """One Adam step on flat C-contiguous arrays of one dtype, in place::

        m = m·β1 + (1 − β1)·g;  v = v·β2 + (1 − β2)·g²
        p = p − step·m / (√(v / c2) + eps)

    with ``step = lr / (1 − β1ᵗ)`` and ``c2 = 1 − β2ᵗ`` given. One array written per
    loop, so each vectorizes (kernels/sequence.py)."""
    for k in range(m.size):
        m[k] = m[k] * b1 + omb1 * g[k]
    for k in range(v.size):
        gk = g[k]
        v[k] = v[k] * b2 + omb2 * (gk * gk)
    for k in range(p.size):
        p[k] = p[k] - step * m[k] / (math.sqrt(v[k] / c2) + eps)
