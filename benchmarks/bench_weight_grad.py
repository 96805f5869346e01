"""Weight gradients as one accumulating product per step (what the kernels do) against
one large product over all steps, in one process.

    python benchmarks/bench_weight_grad.py

``dW (G, K) = Σ_t da_t · in_tᵀ`` for ``da (T, G, B)`` and ``in (T, K, B)``, the
layouts the time loops leave. One product over all steps needs both as ``(·, T·B)``:
the table times it with the transposed copies it needs ("one + copies", a compiled
loop) and without them ("one, no copies": the copies made beforehand, untimed, as if
the forward had stored that layout). One BLAS thread, as inside a batch-split part.
Medians of many calls; ratio above 1: per-step products faster. Record the output in
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "2")

from bench_overheads import per_call

#: (what, T, B, G, K)
SHAPES = [
    ("S7 H=16 B=32, dWh", 24, 32, 64, 16),
    ("S7 H=32 B=32, dWh", 24, 32, 128, 32),
    ("S7 H=64 B=32, dWh", 24, 32, 256, 64),
    ("S7 H=64 B=256 part, dWh", 24, 128, 256, 64),
    ("S3 part, dWh", 48, 32, 256, 64),
    ("S4 part, dWh", 100, 16, 512, 128),
    ("S4 part, dWx layer 1", 100, 16, 512, 8),
]


def main() -> None:
    from numba import njit

    import lstmkit as lk
    from lstmkit.kernels.blas import gemm
    from lstmkit.kernels.sequence import OPTS, weight_grad

    @njit(**OPTS)
    def one_product(da, inputs, out, da2, in2):
        T, G, B = da.shape
        K = inputs.shape[1]
        for g in range(G):
            for t in range(T):
                for b in range(B):
                    da2[g, t * B + b] = da[t, g, b]
        for k in range(K):
            for t in range(T):
                for b in range(B):
                    in2[k, t * B + b] = inputs[t, k, b]
        gemm(False, True, out.dtype.type(1.0), da2, in2, out.dtype.type(0.0), out)

    lk.set_num_threads(1)
    print("1 BLAS thread; ratio = other / per-step (above 1: per-step products faster)")
    print(f"{'shape':<26}{'T x B x G x K':>20}{'per step':>10}{'one+copy':>10}{'one only':>10}"
          f"{'ratio':>7}{'ratio':>7}")  # fmt: skip
    rng = np.random.default_rng(0)
    for what, T, B, G, K in SHAPES:
        times = _times(rng, T, B, G, K, weight_grad, one_product)
        per_step, with_copies, alone = times
        print(f"{what:<26}{f'{T} x {B} x {G} x {K}':>20}{per_step * 1e6:>8.1f}us"
              f"{with_copies * 1e6:>8.1f}us{alone * 1e6:>8.1f}us{with_copies / per_step:>7.2f}"
              f"{alone / per_step:>7.2f}")  # fmt: skip


def _times(rng, T, B, G, K, weight_grad, one_product) -> tuple[float, float, float]:
    """Seconds per call: per-step products, one product with its copies, without."""
    da = rng.random((T, G, B), dtype=np.float32)
    inputs = rng.random((T, K, B), dtype=np.float32)
    out, out2 = np.empty((G, K), np.float32), np.empty((G, K), np.float32)
    da2, in2 = np.empty((G, T * B), np.float32), np.empty((K, T * B), np.float32)
    n = max(20, int(3e8 / (T * B * G * K)))
    per_step = per_call(lambda: weight_grad(da, inputs, True, T, out), n)
    with_copies = per_call(lambda: one_product(da, inputs, out2, da2, in2), n)
    np.testing.assert_allclose(out2, out, rtol=1e-4)
    alone = per_call(lambda: np.matmul(da2, in2.T, out=out2), n)
    return per_step, with_copies, alone


if __name__ == "__main__":
    main()
