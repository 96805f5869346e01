"""Keep freed memory in the process instead of handing it back to the system.

A training step allocates its caches (gates, states, gradients of every step) and frees
them at the next step. With glibc's defaults, blocks of a few hundred KB and more are
mapped fresh from the kernel or trimmed back to it, so every step touches new pages:
measured up to 1,700 page faults per step on small LSTM training steps (T=24, B=256,
H=64: a third of the step's time; benchmarks/bench_overheads.py). Setting
glibc's mmap and trim thresholds keeps up to :data:`TRIM_BYTES` of freed memory per
malloc arena for reuse, and maps only blocks above :data:`MMAP_BYTES` on their own.

Applied once, when the compiled kernels are first loaded; ``LSTMKIT_MALLOC_TUNING=0``
leaves the allocator as it is. It is a setting of the whole process (glibc has no other
kind), affects only glibc's malloc (Linux), and does nothing elsewhere.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

MMAP_BYTES = 32 * 1024 * 1024
TRIM_BYTES = 64 * 1024 * 1024
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_done = {"applied": None}


def tune_malloc() -> bool:
    """Set glibc's thresholds (once per process); whether they are set."""
    if _done["applied"] is not None:
        return _done["applied"]
    applied = False
    if os.environ.get("LSTMKIT_MALLOC_TUNING", "1").strip() != "0":
        name = ctypes.util.find_library("c")
        try:
            libc = ctypes.CDLL(name) if name else None
            mallopt = getattr(libc, "mallopt", None)
        except OSError:
            mallopt = None
        if mallopt is not None and "glibc" in (os.confstr("CS_GNU_LIBC_VERSION") or ""):
            applied = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_BYTES)) and bool(
                mallopt(_M_TRIM_THRESHOLD, TRIM_BYTES)
            )
    _done["applied"] = applied
    return applied
