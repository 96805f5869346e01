"""Cached kernels are keyed on every kernel file (kernels/cachekey.py): a change to any
of them recompiles every kernel, since callees are compiled into their callers."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from lstmkit.backend import numba_available

pytestmark = [
    pytest.mark.one_backend,
    pytest.mark.skipif(not numba_available(), reason="numba is not installed"),
]

SCRIPT = """
import json, sys
from lstmkit.kernels import cachekey
if sys.argv[1] != "-":
    cachekey.kernels_stamp.cache_clear()
    cachekey.kernels_stamp = lambda folder=cachekey.KERNELS: sys.argv[1]
import numpy as np
from lstmkit.kernels import sequence
from lstmkit.kernels.compiling import compile_times
a = np.zeros((2, 3)); sequence.copy_(a, np.ones((2, 3)))
print(json.dumps(compile_times()))
"""


def compiled(cache, stamp: str) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    done = subprocess.run([sys.executable, "-c", SCRIPT, stamp], env=env, capture_output=True,
                          text=True, timeout=600, check=True)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_kernels_use_the_keyed_locator():
    from lstmkit.kernels import cachekey, lstm

    locator = lstm.seq_forward._cache._impl._locator
    assert type(locator).__name__.startswith("Kernels")
    assert locator.get_source_stamp()[1] == cachekey.kernels_stamp()
    assert cachekey._is_kernel(lstm.__file__) and not cachekey._is_kernel(__file__)


def test_the_stamp_follows_every_kernel_file(tmp_path):
    from lstmkit.kernels import cachekey

    for path in os.listdir(cachekey.KERNELS):
        if path.endswith(".py"):
            shutil.copy(os.path.join(cachekey.KERNELS, path), tmp_path / path)
    before = cachekey.kernels_stamp(str(tmp_path))
    assert before == cachekey.kernels_stamp()  # names and contents only
    with open(tmp_path / "smallgemm.py", "a") as f:
        f.write("\n# an edit\n")
    cachekey.kernels_stamp.cache_clear()
    assert cachekey.kernels_stamp(str(tmp_path)) != before


def test_a_cache_written_under_other_kernel_files_is_not_loaded(tmp_path):
    assert "sequence.copy_" in compiled(tmp_path, "-")  # cold: compiles
    assert compiled(tmp_path, "-") == {}  # warm: loads
    assert "sequence.copy_" in compiled(tmp_path, "other kernel files")  # recompiles
    assert compiled(tmp_path, "other kernel files") == {}
