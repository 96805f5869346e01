"""Scalar functions for kernels, chosen by dtype at compile time.

float32 ``tanh`` is a rational minimax approximation on [-7.9053, 7.9053] (the form
Eigen uses; max error 2.4e-7 against NumPy's ``tanh`` over [-20, 20]) that LLVM can
vectorize, where a ``tanhf`` call cannot be. float64 keeps the C library's ``tanh``, so
the compiled float64 path agrees with the NumPy reference to ~1e-16.
"""

from __future__ import annotations

import math

import numpy as np
from numba import types
from numba.extending import overload

CLAMP = np.float32(7.90531110763549805)
ALPHA = tuple(np.float32(v) for v in (-2.76076847742355e-16, 2.00018790482477e-13,
              -8.60467152213735e-11, 5.12229709037114e-08, 1.48572235717979e-05,
              6.37261928875436e-04, 4.89352455891786e-03))  # fmt: skip
BETA = tuple(np.float32(v) for v in (1.19825839466702e-06, 1.18534705686654e-04,
             2.26843463243900e-03, 4.89352518554385e-03))  # fmt: skip


def gate_tanh(x):  # pragma: no cover - replaced by the overload inside kernels
    return np.tanh(x)


@overload(gate_tanh, jit_options={"fastmath": False, "error_model": "numpy"})
def _gate_tanh(x):
    if x == types.float32:
        a0, a1, a2, a3, a4, a5, a6 = ALPHA
        b0, b1, b2, b3 = BETA
        hi, lo = CLAMP, -CLAMP

        def tanh32(x):
            x = hi if x > hi else (lo if x < lo else x)
            x2 = x * x
            p = x2 * a0 + a1
            p = x2 * p + a2
            p = x2 * p + a3
            p = x2 * p + a4
            p = x2 * p + a5
            p = x2 * p + a6
            q = x2 * b0 + b1
            q = x2 * q + b2
            q = x2 * q + b3
            return x * p / q

        return tanh32
    return lambda x: math.tanh(x)
