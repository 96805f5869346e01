"""lstmkit's NumPy reference LSTM against torch.nn.LSTM on the CPU, same process.

Both run with 2 threads, float32, batch-first inputs. "forward" times inference
(torch under no_grad; lstmkit's forward also keeps its cache), "fwd+bwd" times a
forward and a full backward pass through time with every gradient. The table reports
the median over alternating blocks of calls and the ratio lstmkit / torch (lower is
better).

    .venv/bin/python benchmarks/bench_ops.py [--repeats N] [--json FILE]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from lstmkit.ops import lstm_backward, lstm_forward  # noqa: E402

PAUSE_S = 0.25
CONFIGS = [(48, 64, 4, 64), (100, 32, 8, 128), (200, 16, 32, 256)]  # (T, B, D, H)


def _time(fn, calls: int) -> float:
    """Seconds per call over a block of ``calls`` back-to-back calls."""
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def bench(T: int, B: int, D: int, H: int, repeats: int, calls: int) -> dict[str, float]:
    """Median seconds per call of each of the four runs for one configuration."""
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    module = torch.nn.LSTM(D, H, batch_first=True)
    x = rng.standard_normal((B, T, D)).astype(np.float32)
    w = {
        "Wx": rng.uniform(-0.1, 0.1, (4 * H, D)).astype(np.float32),
        "Wh": rng.uniform(-0.1, 0.1, (4 * H, H)).astype(np.float32),
        "b": rng.uniform(-0.1, 0.1, 4 * H).astype(np.float32),
    }
    dhs = np.ones((B, T, H), np.float32)
    xt = torch.from_numpy(x)

    def ours_fwd():
        lstm_forward(x, None, None, **w)

    def ours_fwd_bwd():
        _, _, _, cache = lstm_forward(x, None, None, **w)
        lstm_backward(dhs, None, None, cache)

    def torch_fwd():
        with torch.no_grad():
            module(xt)

    def torch_fwd_bwd():
        xg = xt.clone().requires_grad_(True)
        out, _ = module(xg)
        out.backward(torch.ones_like(out))

    runs = {
        "ours_fwd": ours_fwd,
        "torch_fwd": torch_fwd,
        "ours_fwd_bwd": ours_fwd_bwd,
        "torch_fwd_bwd": torch_fwd_bwd,
    }
    for fn in runs.values():  # warm-up
        fn()
    # Blocks of back-to-back calls, alternating between the libraries so load spikes
    # hit both sides alike. The pause lets each library's worker threads go idle
    # before the other starts: OpenBLAS's workers busy-wait about 0.1 s after a call
    # and torch's OpenMP pool spins too, and on two cores a spinning pool halves the
    # other library's speed (measured: torch 5x slower right after an lstmkit block).
    samples: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            time.sleep(PAUSE_S)
            samples[name].append(_time(fn, calls))
    return {k: statistics.median(v) for k, v in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="blocks per measurement")
    parser.add_argument("--calls", type=int, default=5, help="calls per block")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    torch.set_num_threads(2)

    cpu = platform.processor() or platform.machine()
    print(
        f"numpy {np.__version__}, torch {torch.__version__}, {cpu}, "
        f"torch threads {torch.get_num_threads()}, "
        f"median of {args.repeats} blocks of {args.calls} calls"
    )
    header = (
        f"{'T':>4} {'B':>4} {'D':>4} {'H':>4} | {'fwd lstmkit':>12} {'fwd torch':>10} "
        f"{'ratio':>6} | {'f+b lstmkit':>12} {'f+b torch':>10} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    results = []
    for T, B, D, H in CONFIGS:
        r = bench(T, B, D, H, args.repeats, args.calls)
        f_ratio = r["ours_fwd"] / r["torch_fwd"]
        fb_ratio = r["ours_fwd_bwd"] / r["torch_fwd_bwd"]
        ms = {k: v * 1e3 for k, v in r.items()}
        print(
            f"{T:>4} {B:>4} {D:>4} {H:>4} | {ms['ours_fwd']:>9.2f} ms {ms['torch_fwd']:>7.2f} ms "
            f"{f_ratio:>6.2f} | {ms['ours_fwd_bwd']:>9.2f} ms {ms['torch_fwd_bwd']:>7.2f} ms "
            f"{fb_ratio:>6.2f}"
        )
        results.append(
            {"T": T, "B": B, "D": D, "H": H, **r, "fwd_ratio": f_ratio, "fwd_bwd_ratio": fb_ratio}
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
