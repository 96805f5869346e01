"""The compile notice and per-kernel compile times, in fresh processes with their own
Numba cache (cold, then warm)."""

import json
import os
import subprocess
import sys

import pytest

from lstmkit.kernels.compiling import NOTICE

SCRIPT = """
import json, numpy as np
import lstmkit as lk
from lstmkit.backend import set_backend
set_backend("numba")
x = np.random.default_rng(0).normal(size=(4, 10, 3)).astype(np.float32)
m = lk.Sequential([lk.LSTM(8), lk.Dense(1)], input_size=3)
y = m.forward(x, training=True); m.backward(np.ones_like(y), input_grad=False)
from lstmkit.kernels.compiling import compile_times
print(json.dumps(compile_times()))
"""


def run(cache, notice: str | None):
    env = {k: v for k, v in os.environ.items() if k != "LSTMKIT_COMPILE_NOTICE"}
    env["NUMBA_CACHE_DIR"] = str(cache)
    if notice is not None:
        env["LSTMKIT_COMPILE_NOTICE"] = notice
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                          text=True, timeout=600, check=True)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


@pytest.mark.one_backend
def test_a_long_compile_says_so_once_and_a_cached_run_compiles_nothing(tmp_path):
    times, err = run(tmp_path / "a", None)  # stderr is a pipe: no notice unless asked
    assert NOTICE not in err
    assert times["lstm.seq_forward"] > 0 and times["lstm.seq_backward"] > 0
    assert list(times.values()) == sorted(times.values(), reverse=True)
    times, err = run(tmp_path / "b", "1")
    assert err.count(NOTICE) == 1 and sum(times.values()) > 1.0
    times, err = run(tmp_path / "b", "1")  # the same cache, now warm
    assert times == {} and NOTICE not in err
