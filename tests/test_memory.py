"""memory.py: with lstmkit's malloc thresholds, freeing and allocating training-sized
arrays again reuses memory instead of faulting in fresh pages (counted by the kernel's
minor-fault counter, in fresh processes)."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.one_backend

PROBE = """
import resource, sys
import numpy as np
from lstmkit.memory import tune_malloc
applied = tune_malloc()
for _ in range(20):
    a = [np.ones(300_000, np.float32) for _ in range(4)]   # 1.2 MB each
    del a
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(200):
    a = [np.ones(300_000, np.float32) for _ in range(4)]
    del a
print(applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(tuning: str) -> tuple[bool, int]:
    env = {**os.environ, "LSTMKIT_MALLOC_TUNING": tuning}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                         text=True, check=True).stdout.split()  # fmt: skip
    return out[0] == "True", int(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_freed_memory_is_reused():
    applied, tuned = faults("1")
    if not applied:
        pytest.skip("this C library has no glibc mallopt")
    off, untouched = faults("0")
    assert not off
    # Untuned, glibc maps and unmaps each 1.2 MB block: hundreds of faults per round.
    assert untouched > 100 * 200
    assert tuned < untouched / 100
