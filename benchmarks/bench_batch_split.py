"""The batch split (ops/batch_split.py) against the same calls run whole, in one process.

    python benchmarks/bench_batch_split.py [--repeats 7]

For each shape lstmkit's training step (forward and backward, no input gradient) and
inference run with the batch split in parts (the default for calls this large) and
inside ``whole_batches()`` (one call, multi-threaded BLAS), alternating. Each timing is
a burst of ``--burst`` calls back to back, as a training loop or a batch of predictions
makes them, after a pause and an untimed burst as in bench_vs_torch.py; the table gives
the time per call. (A single call after an idle pause is a different measurement: on a
virtual machine the second core may take milliseconds to wake, which the first call of
a burst pays either way.) The ratio is whole time
/ split time: above 1 the split is faster. ``parts`` is how many parts the split used
(1: below the thresholds, so both columns run the same code). Record the output in
benchmarks/RESULTS.md; with ``--force`` every shape splits, which is how ``MIN_COLUMNS``
and ``MIN_WORK`` were chosen.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "2")

from bench_vs_torch import median_pair

#: (label, cell, T, B, D, H)
SHAPES = [
    ("S2/S4 shape", "lstm", 100, 32, 8, 128),
    ("S3", "lstm", 48, 64, 4, 64),
    ("S5", "lstm", 50, 64, 256, 512),
    ("S6 GRU", "gru", 100, 32, 8, 128),
    ("RNN", "rnn", 100, 64, 8, 128),
    *[(f"S7 B={B} H={H}", "lstm", 24, B, 1, H) for B in (32, 256) for H in (16, 32, 64)],
    ("B=64 H=32", "lstm", 24, 64, 1, 32),
    ("B=128 H=32", "lstm", 24, 128, 1, 32),
    ("B=64 H=64", "lstm", 24, 64, 1, 64),
]


def _steps(lk, loss, cell, T, B, D, H, rng):
    """One model's training step and prediction on random data."""
    Cell = {"lstm": lk.LSTM, "gru": lk.GRU, "rnn": lk.RNN}[cell]
    model = lk.Sequential([Cell(H), lk.Dense(1)], input_size=D)
    x = rng.normal(size=(B, T, D)).astype(np.float32)
    y = rng.normal(size=(B, 1)).astype(np.float32)

    def train():
        _, grad = loss(model.forward(x, training=True), y)
        model.backward(grad, input_grad=False)

    def infer():
        model.predict(x)

    return model, train, infer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--force", action="store_true", help="split every shape")
    parser.add_argument("--burst", type=int, default=10,
                        help="calls timed back to back, as in a training loop")  # fmt: skip
    parser.add_argument("--only", help="run the shapes whose label contains this text")
    args = parser.parse_args()
    import lstmkit as lk
    from lstmkit.ops.batch_split import SplitCache, whole_batches

    lk.backend.set_backend("numba")
    if args.force:
        from lstmkit.ops import batch_split

        batch_split.MIN_WORK, batch_split.MIN_COLUMNS = 0, 8
    print(f"{lk.get_num_threads()} threads; ratio = whole / split (above 1: split faster)")
    print(f"{'shape':<16}{'what':<7}{'parts':>6}{'split ms':>10}{'whole ms':>10}{'ratio':>8}")
    loss = lk.training.losses.get_loss("mse")
    rng = np.random.default_rng(0)
    for label, cell, T, B, D, H in SHAPES:
        if args.only and args.only not in label:
            continue
        model, train, infer = _steps(lk, loss, cell, T, B, D, H, rng)
        train()
        cache = model.layers[0]._cache["caches"][0]
        parts = len(cache.parts) if isinstance(cache, SplitCache) else 1
        for what, f in (("train", train), ("infer", infer)):

            def burst(f=f):
                for _ in range(args.burst):
                    f()

            def whole(f=f):
                with whole_batches():
                    burst(f)

            t_split, t_whole = median_pair(burst, whole, args.repeats)
            t_split, t_whole = t_split / args.burst, t_whole / args.burst
            print(f"{label:<16}{what:<7}{parts:>6}{t_split * 1e3:>10.3f}{t_whole * 1e3:>10.3f}"
                  f"{t_whole / t_split:>8.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
