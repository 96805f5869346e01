"""Speed right after an idle pause against steady speed: S2 inference (LSTM T=100 B=32
D=8 H=128, a split call) with the batch split's parts kept on their own CPUs and
without (``LSTMKIT_PIN_PARTS=0``), and PyTorch's nn.LSTM beside them; then small
training steps split with their parts kept apart or not, which ``PIN_MIN_WORK`` (the
smallest part kept apart) was chosen from.

    python benchmarks/bench_after_pause.py [--rounds 2]

Each measurement runs in a fresh process: 30 warm-up calls, then the median per-call
time of five bursts of 20 back to back ("steady"), then six times a 0.25 s pause and a
burst of ten ("after a pause", the median of the six). For lstmkit it also counts, in
those bursts, the calls whose two parts ran on one CPU (``sched_getcpu`` at the start
and end of each part's work). The machine is noisy: run several rounds. Linux, 2 or
more CPUs. Record the output in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

os.environ.setdefault("OMP_NUM_THREADS", "2")

CHILD = """
import ctypes, json, sys, time
import numpy as np
lib = sys.argv[1]
x = np.random.default_rng(0).random((32, 100, 8), dtype=np.float32)
shared = []
if lib.startswith("train"):  # "train B H": a T=24 training step, parts kept apart if pinned
    import lstmkit as lk
    from lstmkit.ops import batch_split as bs
    bs.PIN_MIN_WORK = 0
    _, B, H = lib.split()
    x = np.random.default_rng(0).random((int(B), 24, 1), dtype=np.float32)
    y = x[:, -1]
    model = lk.Sequential([lk.LSTM(int(H)), lk.Dense(1)], input_size=1)
    loss = lk.training.losses.get_loss("mse")
    def call():
        _, g = loss(model.forward(x, training=True), y)
        model.backward(g, input_grad=False)
elif lib == "torch":
    import torch
    torch.set_num_threads(2)
    net = torch.nn.LSTM(8, 128, batch_first=True)
    xt = torch.from_numpy(x)
    def call():
        with torch.inference_mode():
            net(xt)
else:
    import lstmkit as lk
    from lstmkit.ops import batch_split as bs
    getcpu = ctypes.CDLL(None).sched_getcpu
    cpus = []
    real = bs._as_part
    def spy(op, *a, **kw):
        def recorded(*a, **kw):  # inside the part, after it took its CPUs
            start = getcpu()
            try:
                return op(*a, **kw)
            finally:
                cpus.append((start, getcpu()))
        return real(recorded, *a, **kw)
    bs._as_part = spy
    model = lk.Sequential([lk.LSTM(128, return_sequences=True)], input_size=8)
    def call():
        cpus.clear()
        model.predict(x)
        if len(cpus) == 2 and set(cpus[0]) & set(cpus[1]):
            shared.append(1)
def burst(n):
    t = time.perf_counter()
    for _ in range(n):
        call()
    return (time.perf_counter() - t) / n
for _ in range(30):
    call()
steady = float(np.median([burst(20) for _ in range(5)]))
shared.clear()
after = []
for _ in range(6):
    time.sleep(0.25)
    after.append(burst(10))
print(json.dumps([steady, float(np.median(after)), len(shared)]))
"""


def measure(lib: str, pin: str) -> list[float]:
    env = {**os.environ, "LSTMKIT_PIN_PARTS": pin}
    done = subprocess.run([sys.executable, "-c", CHILD, lib], env=env, capture_output=True,
                          text=True, check=True, timeout=600)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print("S2 inference, ms per call; 'shared': calls of the 60 after pauses whose two parts")
    print("ran on one CPU")
    print(f"{'library':<34}{'steady':>9}{'after a pause':>15}{'shared':>8}")
    runs = [("lstmkit, parts kept apart", "lstmkit", "1"),
            ("lstmkit, LSTMKIT_PIN_PARTS=0", "lstmkit", "0")]  # fmt: skip
    try:
        import torch  # noqa: F401

        runs.append(("PyTorch nn.LSTM", "torch", "1"))
    except ImportError:
        pass
    for _ in range(args.rounds):
        for label, lib, pin in runs:
            steady, after, shared = measure(lib, pin)
            note = "" if lib == "torch" else f"{shared:>8}"
            print(f"{label:<34}{steady * 1e3:>9.2f}{after * 1e3:>15.2f}{note}")
    print("training step T=24 D=1 (13 M multiply-adds per part), split in two, ms per call,")
    print("parts kept apart whatever their size against loose: how PIN_MIN_WORK was chosen")
    for _ in range(args.rounds):
        for B, H in ((64, 64), (256, 32)):
            for label, pin in (("kept apart", "1"), ("loose", "0")):
                steady, after, _ = measure(f"train {B} {H}", pin)
                print(f"{f'B={B} H={H}, {label}':<34}{steady * 1e3:>9.2f}{after * 1e3:>15.2f}")


if __name__ == "__main__":
    main()
