"""The register-blocked products of kernels/smallgemm.py against NumPy's OpenBLAS on the
shapes of recurrent steps, in one process.

    python benchmarks/bench_smallgemm.py

``C (M, N) = A (M, K) @ B (K, N)``: M = gates × H, K = inputs + state (+ 1 for a folded
bias), N = the batch (or a batch-split part). lstmkit's column is
``smallgemm.product`` (one thread); OpenBLAS's, ``np.matmul`` on one thread (as inside a
batch-split part) and on two; "bits = BLAS" says whether the results are bit for bit
NumPy's. Medians of many calls. ``smallgemm.MAX_SHARED_WORK`` (the
largest product the kernels take, in multiply-adds, while BLAS has two threads) was
chosen from it: above it two-threaded OpenBLAS is faster than one core here. With one
BLAS thread (a batch-split part) they take every shape. Record the output in
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "2")

from bench_overheads import per_call

#: (what, M, K, N)
SHAPES = [
    ("S2 step, split part", 512, 137, 16),
    ("S2 step, whole batch", 512, 137, 32),
    ("S4 layer 2 recurrent, part", 512, 128, 16),
    ("S4 backward dh = Whᵀ da, part", 128, 512, 16),
    ("S7 H=16 B=32 folded", 64, 18, 32),
    ("S7 H=32 B=32 folded", 128, 34, 32),
    ("S7 H=64 B=32 folded", 256, 66, 32),
    ("S7 H=64 B=128 folded", 256, 66, 128),
    ("H=128 B=64", 512, 137, 64),
    ("H=128 B=128", 512, 137, 128),
    ("H=256 B=64", 1024, 264, 64),
    ("S5 recurrent, B=64", 2048, 512, 64),
]


def main() -> None:
    import lstmkit as lk
    from lstmkit.kernels import simd, smallgemm

    print(f"AVX-512 vector kernels: {simd.WIDE}; MAX_SHARED_WORK = {smallgemm.MAX_SHARED_WORK:,}")
    print(f"{'shape':<32}{'M x K x N':>18}{'ours 1t':>10}{'BLAS 1t':>10}{'BLAS 2t':>10}"
          f"{'GFLOP/s':>9}{'vs 1t':>7}{'vs 2t':>7}  bits = BLAS"
          "  used (1 / 2 BLAS threads)")  # fmt: skip
    rng = np.random.default_rng(0)
    for what, M, K, N in SHAPES:
        A = rng.random((M, K), dtype=np.float32)
        B = rng.random((K, N), dtype=np.float32)
        C = np.empty((M, N), np.float32)
        n = max(20, int(2e8 / (M * K * N)))
        ours = per_call(lambda A=A, B=B, C=C: smallgemm.product(False, A, B, 0.0, C), n)
        same = "yes" if np.array_equal(C, A @ B) else "no"
        blas = {}
        for threads in (1, 2):
            lk.set_num_threads(threads)
            blas[threads] = per_call(lambda A=A, B=B, C=C: np.matmul(A, B, out=C), n)
        used = " / ".join(
            "ours" if smallgemm.eligible(False, 1.0, 0.0, C, K, t) else "BLAS" for t in (1, 2)
        )
        print(f"{what:<32}{f'{M} x {K} x {N}':>18}{ours * 1e6:>8.1f}us{blas[1] * 1e6:>8.1f}us"
              f"{blas[2] * 1e6:>8.1f}us{2 * M * K * N / ours / 1e9:>9.0f}"
              f"{blas[1] / ours:>7.2f}{blas[2] / ours:>7.2f}  {same:<11} {used}")  # fmt: skip


if __name__ == "__main__":
    main()
