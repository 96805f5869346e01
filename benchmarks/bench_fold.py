"""The compiled LSTM forward with the input projection folded into each step's product
against the same forward with the projection of every step computed first, in one
process.

    python benchmarks/bench_fold.py [--repeats 7] [--burst 10]

Folded, a step is one product ``[Wx | Wh | b] [x_t; h_{t-1}; 1]``; unfolded, the input
projections of all steps are one product per step before the loop and the loop adds
``Wh h_{t-1}``: twice the product calls, each with its fixed cost. The table times
``lstm_forward`` (the training forward, with its cache) both ways, alternating, in
bursts as bench_vs_torch.py times them, on one BLAS thread (as inside a batch-split
part) and on two. ``ops.lstm.FOLD_MAX_WORK`` (multiply-adds of the folded product per
step) was chosen from it: the shapes below it gain, the shapes above do not. Record the
output in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "2")

from bench_vs_torch import BURST, median_pair

#: (label, T, B, D, H)
SHAPES = [
    ("S7 B=32 H=16", 24, 32, 1, 16),
    ("S7 B=32 H=32", 24, 32, 1, 32),
    ("S7 B=32 H=64", 24, 32, 1, 64),
    ("S7 B=128 H=64 (a split part of 256)", 24, 128, 1, 64),
    ("S3 B=32 (a split part of 64)", 48, 32, 4, 64),
    ("D=16 B=32 H=32", 24, 32, 16, 32),
    ("D=32 B=32 H=32", 24, 32, 32, 32),
    ("S4 layer 1 B=16 (a split part)", 100, 16, 8, 128),
    ("S4 layer 2 B=16 (a split part)", 100, 16, 128, 128),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--burst", type=int, default=10)
    args = parser.parse_args()
    BURST["n"] = args.burst

    import lstmkit as lk
    from lstmkit.ops import lstm as lstm_ops
    from lstmkit.ops.batch_split import whole_batches

    lk.backend.set_backend("numba")
    limit = lstm_ops.FOLD_MAX_WORK
    print(f"FOLD_MAX_WORK = {limit:,}; ratio = two products / folded (above 1: folding faster)")
    print(f"{'shape':<38}{'work':>10}{'threads':>8}{'folded':>10}{'two':>10}{'ratio':>7}  shipped")
    rng = np.random.default_rng(0)
    for label, T, B, D, H in SHAPES:
        x = rng.normal(size=(B, T, D)).astype(np.float32)
        p = {
            "Wx": rng.uniform(-0.2, 0.2, (4 * H, D)).astype(np.float32),
            "Wh": rng.uniform(-0.2, 0.2, (4 * H, H)).astype(np.float32),
            "b": rng.uniform(-0.2, 0.2, 4 * H).astype(np.float32),
        }
        work = 4 * H * (D + H + 1) * B

        def forward(fold: bool, x=x, p=p):
            lstm_ops.FOLD_MAX_WORK = 10**15 if fold else 0
            with whole_batches():
                lstm_ops.lstm_forward(x, None, None, **p)

        for threads in (1, 2):
            lk.set_num_threads(threads)
            folded, two = median_pair(lambda: forward(True), lambda: forward(False), args.repeats)
            shipped = "folded" if work <= limit else "two"
            print(f"{label:<38}{work:>10,}{threads:>8}{folded * 1e3:>9.3f}m{two * 1e3:>9.3f}m"
                  f"{two / folded:>7.2f}  {shipped}")  # fmt: skip
    lstm_ops.FOLD_MAX_WORK = limit


if __name__ == "__main__":
    main()
