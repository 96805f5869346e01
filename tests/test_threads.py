"""Thread control: LSTMKIT_NUM_THREADS, then NUMBA_NUM_THREADS, set the threads of the
matrix products (NumPy's OpenBLAS); set_num_threads changes them at run time."""

import os
import subprocess
import sys

import pytest

import lstmkit
from lstmkit.threads import find_openblas

pytestmark = pytest.mark.skipif(
    find_openblas() is None, reason="NumPy here does not bundle OpenBLAS; nothing to set"
)


def threads_in_fresh_process(**env):
    """``lstmkit.get_num_threads()`` and stderr of a new interpreter with ``env`` added."""
    clean = {k: v for k, v in os.environ.items() if not k.endswith("NUM_THREADS")}
    done = subprocess.run(
        [sys.executable, "-c", "import lstmkit; print(lstmkit.get_num_threads())"],
        env={**clean, **env}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return int(done.stdout), done.stderr


@pytest.mark.one_backend
def test_lstmkit_num_threads_wins_over_numbas_setting():
    assert threads_in_fresh_process(LSTMKIT_NUM_THREADS="1", NUMBA_NUM_THREADS="2")[0] == 1
    assert threads_in_fresh_process(NUMBA_NUM_THREADS="1")[0] == 1


@pytest.mark.one_backend
def test_a_bad_value_warns_in_one_line_and_is_ignored():
    n, err = threads_in_fresh_process(LSTMKIT_NUM_THREADS="many", OPENBLAS_NUM_THREADS="2")
    assert n == 2
    assert "LSTMKIT_NUM_THREADS must be a positive integer, got 'many'; ignored" in err


def test_set_num_threads_changes_and_checks():
    before = lstmkit.get_num_threads()
    try:
        lstmkit.set_num_threads(1)
        assert lstmkit.get_num_threads() == 1
    finally:
        lstmkit.set_num_threads(before)
    for bad in (0, -2, 1.5, "2", True):
        with pytest.raises(ValueError, match="positive integer"):
            lstmkit.set_num_threads(bad)
