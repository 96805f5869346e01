"""lstmkit against PyTorch (and onnxruntime) on the CPU, in one process, float32.

    python benchmarks/bench_vs_torch.py [--repeats 7] [--burst 10] [--warm-ms 100]
                                        [--backend numba] [--memory] [--only TEXT]

Both libraries get the same 2 threads. Each case is warmed up, then lstmkit and PyTorch
alternate for ``--repeats`` runs, each after a 0.25 s pause so that neither library's
spinning thread pool slows the other and one untimed call of the same library (so that
waking up idle cores is not timed), and the medians are compared. ``--burst N`` times
N calls back to back and gives the time per call: steady use, as a training loop or a
stream of batches makes it, where a second core stays awake between calls (a single
call after a pause pays milliseconds on these virtual machines for waking it, whichever
library makes it). ``--warm-ms M`` runs untimed calls of the same library for M ms after
each pause before timing: on these machines lstmkit's two threads take about 50 ms of
calls after an idle pause to reach their steady speed, PyTorch's one or two calls
(RESULTS.md). The table gives
both times, the ratio (PyTorch time / lstmkit time: above 1 means lstmkit is faster),
lstmkit's achieved GFLOP/s, and its share of this machine's float32 matrix-product
peak, measured in the same run. ``--memory`` also
compares the peak resident memory of case S4, each library in its own process.
Record the output in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "2")
THREADS = 2


#: Both libraries' thread pools busy-wait about 0.1 s after a call; on 2 cores a spinning
#: pool halves the other library's speed, so every timed call follows a quiet pause.
PAUSE = 0.25


#: Calls timed back to back (``--burst``); the time is per call. 1 times a single call.
#: ``warm_s`` (``--warm-ms``): after the pause, untimed calls of the same library for at
#: least this long (0: one call).
BURST = {"n": 1, "warm_s": 0.0}


def _timed(f) -> float:
    time.sleep(PAUSE)
    # One untimed call first: after the pause, the first call pays for waking idle cores
    # and thread pools (measured: up to 3x on these machines, differently per run), which
    # made the medians flip between two modes. The call before the timed one is the same
    # library's, so only its own threads are spinning.
    f()
    start = time.perf_counter()
    while time.perf_counter() - start < BURST["warm_s"]:
        f()
    n = BURST["n"]
    t = time.perf_counter()
    for _ in range(n):
        f()
    return (time.perf_counter() - t) / n


def median_pair(f_ours, f_theirs, repeats):
    f_ours(), f_theirs()  # warm-up: compilation, allocator, caches
    ours, theirs = [], []
    for _ in range(repeats):  # alternate, so drift on a shared machine hits both
        ours.append(_timed(f_ours))
        theirs.append(_timed(f_theirs))
    return float(np.median(ours)), float(np.median(theirs))


def matmul_peak(repeats: int) -> float:
    n = 2048
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    b = np.random.default_rng(1).random((n, n), dtype=np.float32)
    a @ b
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return 2 * n**3 / float(np.median(times)) / 1e9


def lstm_flops(T, B, D, H, layers=1, train=False, gates=4):
    flops = 0
    for k in range(layers):
        d = D if k == 0 else H
        flops += 2 * T * B * gates * H * (d + H)
    return flops * (3 if train else 1)  # backward: two products per forward product


# -- cases ------------------------------------------------------------------------------------
def case_s1(torch, lk):
    D, H, steps = 8, 64, 1000
    rng = np.random.default_rng(0)
    net = torch.nn.LSTM(D, H)
    model = lk.interop.from_torch(net)
    layer = model.layers[0]
    stream = lk.ops.LSTMStream(layer.params["Wx"], layer.params["Wh"], layer.params["b"])
    xs = rng.normal(size=(steps, 1, D)).astype(np.float32)
    xt = torch.from_numpy(xs)

    def ours():
        stream.reset()
        for t in range(steps):
            stream(xs[t])

    def theirs():
        with torch.inference_mode():
            state = None
            for t in range(steps):
                _, state = net(xt[t : t + 1], state)

    return ours, theirs, 2 * steps * 4 * H * (D + H)


def case_s1_model(torch, lk):
    """The documented streaming API: Sequential.step on LSTM(48) → Dense(1), state carried,
    against nn.LSTM + nn.Linear with (h, c) carried."""
    D, H, steps = 1, 48, 1000
    xs = np.random.default_rng(0).normal(size=(steps, 1, D)).astype(np.float32)
    net, head = torch.nn.LSTM(D, H), torch.nn.Linear(H, 1)
    model = lk.Sequential([lk.LSTM(H), lk.Dense(1)], input_size=D)
    xt = torch.from_numpy(xs)

    def ours():
        model.reset_states()
        for t in range(steps):
            model.step(xs[t])

    def theirs():
        with torch.inference_mode():
            state = None
            for t in range(steps):
                out, state = net(xt[t : t + 1], state)
                head(out)

    return ours, theirs, 2 * steps * (4 * H * (D + H) + H)


def case_fit_epoch(torch, lk, n=1000, T=24, H=32, B=32):
    """One whole training epoch on ``n`` windows (shuffled batches, Adam updates)."""
    x, y = _data(T, n, 1)
    model = lk.Sequential([lk.LSTM(H), lk.Dense(1)], input_size=1)
    rnn, head = torch.nn.LSTM(1, H, batch_first=True), torch.nn.Linear(H, 1)
    opt = torch.optim.Adam([*rnn.parameters(), *head.parameters()], lr=1e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    gen = torch.Generator().manual_seed(0)

    def ours():
        model.fit(x, y, epochs=1, batch_size=B, loss="mse", verbose=0)

    def theirs():
        for idx in torch.randperm(n, generator=gen).split(B):
            opt.zero_grad()
            out, _ = rnn(xt[idx])
            torch.nn.functional.mse_loss(head(out[:, -1]), yt[idx]).backward()
            opt.step()

    return ours, theirs, lstm_flops(T, n, 1, H, 1, True)


def _data(T, B, D):
    rng = np.random.default_rng(0)
    return rng.normal(size=(B, T, D)).astype(np.float32), rng.normal(size=(B, 1)).astype(np.float32)


def _torch_training(torch, T, B, D, H, layers=1, cell="lstm"):
    """One forward + backward (loss on the last step through a Linear head)."""
    x, y = _data(T, B, D)
    rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](
        D, H, num_layers=layers, batch_first=True
    )
    head = torch.nn.Linear(H, 1)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def run():
        rnn.zero_grad()
        head.zero_grad()
        out, _ = rnn(xt)
        torch.nn.functional.mse_loss(head(out[:, -1]), yt).backward()

    return run


def _lk_training(lk, T, B, D, H, layers=1, cell="lstm"):
    """The same step with an lstmkit model: forward, loss, backward (no update). Like
    PyTorch's, whose input needs no gradient, it skips the gradient of the input, as
    ``fit`` does."""
    x, y = _data(T, B, D)
    Cell = {"lstm": lk.LSTM, "gru": lk.GRU}[cell]
    stack = [Cell(H, return_sequences=k < layers - 1) for k in range(layers)]
    model = lk.Sequential([*stack, lk.Dense(1)], input_size=D)
    loss = lk.training.losses.get_loss("mse")

    def run():
        pred = model.forward(x, training=True)
        _, grad = loss(pred, y)
        model.backward(grad, input_grad=False)

    return run


def _training(torch, lk, T, B, D, H, layers=1, cell="lstm"):
    gates = 4 if cell == "lstm" else 3
    return (
        _lk_training(lk, T, B, D, H, layers, cell),
        _torch_training(torch, T, B, D, H, layers, cell),
        lstm_flops(T, B, D, H, layers, True, gates),
    )


def case_s2(torch, lk):
    T, B, D, H = 100, 32, 8, 128
    rng = np.random.default_rng(0)
    x = rng.normal(size=(B, T, D)).astype(np.float32)
    net = torch.nn.LSTM(D, H, batch_first=True)
    model = lk.interop.from_torch(net)
    xt = torch.from_numpy(x)

    def theirs():
        with torch.inference_mode():
            net(xt)

    return (lambda: model.predict(x)), theirs, lstm_flops(T, B, D, H)


def case_s2_onnx(torch, lk):
    import onnxruntime as ort

    T, B, D, H = 100, 32, 8, 128
    x = np.random.default_rng(0).normal(size=(B, T, D)).astype(np.float32)
    model = lk.Sequential([lk.LSTM(H, return_sequences=True)], input_size=D)
    path = os.path.join(tempfile.mkdtemp(), "s2.onnx")
    lk.interop.to_onnx(model, path)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = THREADS
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, opts)
    return (lambda: model.predict(x)), (lambda: sess.run(None, {"x": x})), lstm_flops(T, B, D, H)


CASES = {
    "S1 streaming LSTM D=8 H=64 B=1, 1000 steps": case_s1,
    "S2 inference LSTM T=100 B=32 D=8 H=128": case_s2,
    "S2 vs onnxruntime": case_s2_onnx,
    "S3 training LSTM T=48 B=64 D=4 H=64": lambda t, lk: _training(t, lk, 48, 64, 4, 64),
    "S4 training 2-layer LSTM T=100 B=32 D=8 H=128": lambda t, lk: _training(
        t, lk, 100, 32, 8, 128, 2
    ),
    "S5 training LSTM T=50 B=64 D=256 H=512": lambda t, lk: _training(t, lk, 50, 64, 256, 512),
    "S6 training GRU T=100 B=32 D=8 H=128": lambda t, lk: _training(
        t, lk, 100, 32, 8, 128, 1, "gru"
    ),
    "S1m streaming Sequential.step LSTM(48)->Dense(1)": case_s1_model,
    **{
        f"S7 small training LSTM T=24 B={B} D=1 H={H}": (
            lambda t, lk, B=B, H=H: _training(t, lk, 24, B, 1, H)
        )
        for B in (32, 256)
        for H in (16, 32, 64)
    },
    "S8 Sequential.fit epoch, 1000 windows T=24 H=32 B=32": case_fit_epoch,
}


def fit_overhead(lk, epoch_s: float, repeats: int, n=1000, B=32) -> None:
    """What ``fit`` spends per batch beyond the forward and backward of that batch
    (shuffling, batching, the loss, the Adam update, callbacks, bookkeeping)."""
    bare = _lk_training(lk, 24, B, 1, 32)
    bare()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(10):
            bare()
        times.append((time.perf_counter() - t) / 10)
    batches = -(-n // B)
    per_batch, step = epoch_s / batches, float(np.median(times))
    label = "  fit per batch / its forward+backward"
    print(f"{label:<48}{per_batch * 1e3:>11.3f}{step * 1e3:>10.3f}"
          f"   overhead {1e6 * (per_batch - step):.0f} us per batch")  # fmt: skip


def peak_memory(which: str) -> None:
    """Run S4 a few times in this process (which imports only its own library) and print
    the peak resident memory and its growth over the imports, in MiB."""
    if which == "torch":
        import torch

        torch.set_num_threads(THREADS)
        run = _torch_training(torch, 100, 32, 8, 128, 2)
    else:
        import lstmkit as lk

        if lk.backend.get_backend() == "numba":
            # Numba and LLVM load lazily: count them as imports, like torch's libraries.
            import lstmkit.kernels.lstm
        run = _lk_training(lk, 100, 32, 8, 128, 2)
    base = _hwm_kib()
    for _ in range(3):
        run()
    peak = _hwm_kib()
    print(f"{peak / 1024:.1f} {(peak - base) / 1024:.1f}")


def _hwm_kib() -> int:
    """Peak resident memory of this process (VmHWM; ru_maxrss would include the parent's
    memory from before exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--backend", default="numba", choices=("numba", "numpy"))
    parser.add_argument("--memory", action="store_true", help="also compare S4 peak memory")
    parser.add_argument("--peak-memory", choices=("lstmkit", "torch"), help=argparse.SUPPRESS)
    parser.add_argument("--only", help="run the cases whose name contains this text")
    parser.add_argument("--burst", type=int, default=1,
                        help="time this many calls back to back (steady use, as a training "
                        "loop makes them) and report the time per call")  # fmt: skip
    parser.add_argument("--warm-ms", type=float, default=0.0,
                        help="after each pause, run untimed calls of the same library for "
                        "this many milliseconds before timing (0: one call): the speed "
                        "after the machine has settled")  # fmt: skip
    args = parser.parse_args()
    BURST["n"] = max(1, args.burst)
    BURST["warm_s"] = max(0.0, args.warm_ms) / 1e3
    os.environ["LSTMKIT_BACKEND"] = args.backend
    if args.peak_memory:
        peak_memory(args.peak_memory)
        return
    import torch

    import lstmkit as lk
    import lstmkit.interop

    torch.set_num_threads(THREADS)
    try:
        import numba

        numba.set_num_threads(THREADS)
    except ImportError:
        pass
    peak = matmul_peak(args.repeats)
    print(
        f"backend {lk.backend.get_backend()}, {THREADS} threads, torch {torch.__version__}, "
        f"float32 matmul peak {peak:.1f} GFLOP/s (2048^3, numpy), bursts of {BURST['n']}"
        f", warm-up {BURST['warm_s'] * 1e3:.0f} ms after each pause"
    )
    head = f"{'case':<48}{'lstmkit ms':>11}{'peer ms':>10}{'ratio':>8}{'GFLOP/s':>9}{'% peak':>8}"
    print(head)
    print("─" * len(head))
    for name, make in CASES.items():
        if args.only and args.only not in name:
            continue
        try:
            ours, theirs, flops = make(torch, lk)
        except ImportError as exc:
            print(f"{name:<48} skipped: {exc}")
            continue
        t_ours, t_theirs = median_pair(ours, theirs, args.repeats)
        gflops = flops / t_ours / 1e9
        print(
            f"{name:<48}{t_ours * 1e3:>11.2f}{t_theirs * 1e3:>10.2f}{t_theirs / t_ours:>8.2f}"
            f"{gflops:>9.1f}{100 * gflops / peak:>7.1f}%"
        )
        if name.startswith("S8"):
            fit_overhead(lk, t_ours, args.repeats)
    if args.memory:
        for which in ("lstmkit", "torch"):
            out = subprocess.run(
                [sys.executable, __file__, "--peak-memory", which, "--backend", args.backend],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            print(f"S4 peak RSS {which:<8} {out[0]:>8} MiB (+{out[1]} MiB over imports)")


if __name__ == "__main__":
    main()
