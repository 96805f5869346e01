"""Start-up cost of the compiled backend: how long kernels take to compile on first use
(empty Numba cache) and to load from the disk cache afterwards, and the cold start of
``lstmkit forecast`` on the bundled data both ways.

    python benchmarks/startup.py

Each measurement is a fresh interpreter with its own ``NUMBA_CACHE_DIR`` (emptied for
"cold cache"), so nothing is shared with the user's cache. Record the output in
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

FIRST_CALL = """
import time, numpy as np
t0 = time.perf_counter()
import lstmkit as lk
t1 = time.perf_counter()
x = np.random.default_rng(0).normal(size=(4, 10, 3)).astype(np.float32)
m = lk.Sequential([lk.LSTM(8), lk.Dense(1)], input_size=3)
y = m.forward(x, training=True); m.backward(np.ones_like(y), input_grad=False)
t2 = time.perf_counter()
y = m.forward(x, training=True); m.backward(np.ones_like(y), input_grad=False)
t3 = time.perf_counter()
print(f"{t1 - t0:.3f} {t2 - t1:.3f} {t3 - t2:.4f}")
"""

# What one forecaster fit compiles: the job's network (LSTM(16) → Dense(12)) on a few
# windows, training and inference, with each kernel's own compile time.
KERNELS = """
import json, numpy as np
from lstmkit.backend import set_backend
set_backend("numba")
from lstmkit.forecast import Forecaster
y = 100 + 10 * np.sin(np.arange(60) / 1.9)
Forecaster(horizon=12, season=12, ensemble=1, epochs=2).fit(y).predict()
from lstmkit.kernels.compiling import compile_times
print(json.dumps(compile_times()))
"""


# ``lstmkit forecast`` as the command line runs it, reporting its compile time at exit.
FORECAST = """
import atexit, json, runpy, sys
def report():
    from lstmkit.kernels.compiling import compile_times
    print("COMPILE " + json.dumps(compile_times()), file=sys.stderr)
atexit.register(report)
sys.argv = ["lstmkit", "forecast", "--out", sys.argv[1]]
runpy.run_module("lstmkit", run_name="__main__")
"""


def run(cmd: list[str], cache: str, cwd: str | None = None) -> tuple[float, str]:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache}
    t = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=cwd, check=True)
    return time.perf_counter() - t, done.stdout + done.stderr


def main() -> None:
    print(f"{'measurement':58s} {'cold cache':>11s} {'warm cache':>11s}")
    with tempfile.TemporaryDirectory() as cache:
        rows = {}
        for label in ("cold", "warm"):
            _, out = run([sys.executable, "-c", FIRST_CALL], cache)
            rows[label] = [float(v) for v in out.split()]
        names = ("import lstmkit", "first LSTM training step (compiles or loads kernels)",
                 "second training step")  # fmt: skip
        for k, name in enumerate(names):
            cold, warm = rows["cold"][k] * 1e3, rows["warm"][k] * 1e3
            print(f"{name:58s} {cold:9.1f}ms {warm:9.1f}ms")
    with tempfile.TemporaryDirectory() as cache:
        dt, out = run([sys.executable, "-c", KERNELS], cache)
        times = json.loads(out.strip().splitlines()[-1])
        print(f"\nForecaster fit, cold cache: {dt:.1f} s in all, {sum(times.values()):.1f} s "
              f"compiling {len(times)} functions; the largest:")  # fmt: skip
        for name, sec in list(times.items())[:12]:
            print(f"  {name:56s} {sec * 1e3:9.0f}ms")
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as work:
        times, compiled = [], []
        for _ in ("cold", "warm"):
            dt, out = run([sys.executable, "-c", FORECAST, work], cache, work)
            times.append(dt)
            line = [s for s in out.splitlines() if s.startswith("COMPILE ")][-1]
            compiled.append(sum(json.loads(line.removeprefix("COMPILE ")).values()))
        name = "lstmkit forecast on the bundled data (whole process)"
        print(f"{name:58s} {times[0] * 1e3:9.0f}ms {times[1] * 1e3:9.0f}ms")
        name = "  of which compiling kernels"
        print(f"{name:58s} {compiled[0] * 1e3:9.0f}ms {compiled[1] * 1e3:9.0f}ms")


if __name__ == "__main__":
    main()
