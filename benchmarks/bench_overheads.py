"""The costs RESULTS.md uses to explain the speed targets: the per-step matrix products
of S2 and S4 alone, the per-call Python of the ops, the pure step functions beside the
prepared stream, where an S2 call's and an S4 training step's time goes, and the page
faults of training steps with and without lstmkit's malloc setting.

    python benchmarks/bench_overheads.py

Medians of many calls in this process (the page faults in fresh processes, one with
``LSTMKIT_MALLOC_TUNING=0``). Record the output in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "2")

FAULTS = """
import resource, sys, time
import numpy as np
import lstmkit as lk
lk.backend.set_backend("numba")
T, B, H = 24, int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
x = rng.normal(size=(B, T, 1)).astype(np.float32)
y = rng.normal(size=(B, 1)).astype(np.float32)
model = lk.Sequential([lk.LSTM(H), lk.Dense(1)], input_size=1)
loss = lk.training.losses.get_loss("mse")
def run():
    _, g = loss(model.forward(x, training=True), y)
    model.backward(g, input_grad=False)
for _ in range(30):
    run()
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
t = time.perf_counter()
for _ in range(200):
    run()
dt = (time.perf_counter() - t) / 200
print(dt, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0) / 200)
"""


def per_call(f, n: int = 2000) -> float:
    for _ in range(min(n, 200)):
        f()
    times = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(n):
            f()
        times.append((time.perf_counter() - t) / n)
    return float(np.median(times))


def row(label: str, seconds: float, note: str = "") -> None:
    print(f"{label:<58}{seconds * 1e6:>10.1f} us  {note}")


def main() -> None:
    import lstmkit as lk
    from lstmkit.ops import LSTMStream, gru_step, lstm_backward, lstm_forward, lstm_step, rnn_step

    lk.backend.set_backend("numba")
    rng = np.random.default_rng(0)
    f32 = np.float32
    print("matrix products of one step (NumPy's OpenBLAS)")
    for threads in (1, 2):
        lk.set_num_threads(threads)
        for M, K, N, what in ((512, 137, 32, "S2 step, input and bias folded"),
                              (512, 128, 32, "S4 recurrent product")):  # fmt: skip
            A, Bm = rng.random((M, K), dtype=f32), rng.random((K, N), dtype=f32)
            C = np.empty((M, N), f32)
            t = per_call(lambda A=A, Bm=Bm, C=C: np.matmul(A, Bm, out=C))
            row(f"  ({M} x {K}) by ({K} x {N}), {threads} thread(s)", t,
                f"{2 * M * K * N / t / 1e9:.0f} GFLOP/s  {what}")  # fmt: skip
    lk.set_num_threads(2)

    print("Python per op call (T=1, B=32, D=1, H=32: almost no arithmetic)")
    H, B = 32, 32
    Wx, Wh = (
        (0.1 * rng.standard_normal((4 * H, 1))).astype(f32),
        (0.1 * rng.standard_normal((4 * H, H))).astype(f32),
    )
    b = np.zeros(4 * H, f32)
    x = rng.standard_normal((B, 1, 1)).astype(f32)
    _, hT, _, cache = lstm_forward(x, None, None, Wx, Wh, b)
    row("  lstm_forward", per_call(lambda: lstm_forward(x, None, None, Wx, Wh, b)))
    row("  lstm_backward", per_call(lambda: lstm_backward(None, hT, None, cache, input_grad=False)))

    print("one streaming step, H=48, D=1, B=1")
    H = 48
    Wx, Wh = (
        rng.standard_normal((4 * H, 1)).astype(f32),
        rng.standard_normal((4 * H, H)).astype(f32),
    )
    b = np.zeros(4 * H, f32)
    xt, h, c = np.zeros((1, 1), f32), np.zeros((1, H), f32), np.zeros((1, H), f32)
    row(
        "  ops.lstm_step (pure: checks and prepares every call)",
        per_call(lambda: lstm_step(xt, h, c, Wx, Wh, b)),
    )
    G = rng.standard_normal((3 * H, 1)).astype(f32), rng.standard_normal((3 * H, H)).astype(f32)
    g = np.zeros(3 * H, f32)
    row("  ops.gru_step", per_call(lambda: gru_step(xt, h, *G, g, g)))
    row("  ops.rnn_step", per_call(lambda: rnn_step(xt, h, Wx[:H], Wh[:H], b[:H])))
    stream = LSTMStream(Wx, Wh, b)
    row("  LSTMStream (prepared once)", per_call(lambda: stream(xt)))
    model = lk.Sequential([lk.LSTM(H), lk.Dense(1)], input_size=1)
    row("  Sequential.step, LSTM(48) -> Dense(1) (prepared once)", per_call(lambda: model.step(xt)))

    where_time_goes(lk, rng)

    print(
        "training step LSTM(H) -> Dense(1), T=24: page faults, with and without the malloc setting"
    )
    for B, H in ((256, 32), (256, 64), (100, 128)):
        cells = []
        for tuning in ("1", "0"):
            env = {**os.environ, "LSTMKIT_MALLOC_TUNING": tuning}
            cmd = [sys.executable, "-c", FAULTS, str(B), str(H)]
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
            out = done.stdout.split()
            cells.append(f"{float(out[0]) * 1e3:.2f} ms, {float(out[1]):.0f} faults")
        print(f"  B={B} H={H}: tuned {cells[0]}; LSTMKIT_MALLOC_TUNING=0 {cells[1]}")


def where_time_goes(lk, rng) -> None:
    """One S2 step of a split part (B=16, one thread) in its product and its cell, and
    the compiled kernels' share of a whole S2 call and S4 training step on the calling
    thread (cProfile's own time; a split call's other part runs on the pool)."""
    import cProfile
    import pstats

    from lstmkit.kernels import lstm as kernels
    from lstmkit.kernels import smallgemm

    f32 = np.float32
    H, B, K = 128, 16, 8 + 128 + 1
    print(f"one S2 step of a split part (B={B}, 1 thread)")
    lk.set_num_threads(1)
    W = (rng.random((4 * H, K), dtype=f32) - 0.5) * 0.2
    z = rng.random((K, B), dtype=f32)
    a = np.empty((4 * H, B), f32)
    row("  product [Wx | Wh | b] z (register-blocked)",
        per_call(lambda: smallgemm.product(False, W, z, 0.0, a)))  # fmt: skip
    c0, c1, tc, h = (np.zeros(H * B, f32) for _ in range(4))
    p = np.zeros(3 * H, f32)
    flat = a.ravel()
    row("  cell (gates, c, tanh c, h)",
        per_call(lambda: kernels.cell_forward(flat, c0, p, False, c1, tc, h)))  # fmt: skip
    lk.set_num_threads(2)

    T = 100
    x = rng.normal(size=(32, T, 8)).astype(f32)
    y = rng.normal(size=(32, 1)).astype(f32)
    s2 = lk.Sequential([lk.LSTM(H, return_sequences=True)], input_size=8)
    s4 = lk.Sequential([lk.LSTM(H, return_sequences=True), lk.LSTM(H), lk.Dense(1)],
                       input_size=8)  # fmt: skip
    loss = lk.training.losses.get_loss("mse")

    def s4_step():
        _, g = loss(s4.forward(x, training=True), y)
        s4.backward(g, input_grad=False)

    for label, fn in (("S2 predict", lambda: s2.predict(x)), ("S4 training step", s4_step)):
        n = 40
        for _ in range(10):
            fn()
        t = time.perf_counter()
        for _ in range(n):
            fn()
        total = (time.perf_counter() - t) / n
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(n):
            fn()
        prof.disable()
        stats = pstats.Stats(prof).stats
        own = {}
        for (path, _, name), (_, _, tottime, _, _) in stats.items():
            if "lstmkit/kernels" in path.replace(os.sep, "/"):
                key = f"{os.path.basename(path)[:-3]}.{name}"
                own[key] = own.get(key, 0.0) + tottime / n
        parts = ", ".join(f"{k} {v * 1e3:.2f}" for k, v in sorted(own.items(), key=lambda i: -i[1]))
        print(f"  {label}: {total * 1e3:.2f} ms a call; kernels on the calling thread, ms: {parts}")


if __name__ == "__main__":
    main()
