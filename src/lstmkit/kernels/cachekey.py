"""Cached kernels are keyed on every kernel source file, not only their own.

Numba keys a cached function on its own file's contents. A kernel compiled into its
caller (``gemm`` and the register-blocked products inside every time loop, the cells
inside the streaming steps) is part of the caller's cached code, so after a change to
``smallgemm.py`` alone the loops of ``lstm.py`` kept loading the old products from the
cache. Here every function defined in ``lstmkit/kernels`` gets as its source stamp its
own file's plus a hash of all the kernel files, so any change to any of them (an edit,
an upgrade that left old caches behind) recompiles them all.

This uses Numba's cache locator classes (``numba.core.caching``), which are not a public
API: if they change, :func:`install` does nothing and the caches are keyed as Numba
keys them.
"""

from __future__ import annotations

import glob
import hashlib
import os
from functools import cache

KERNELS = os.path.dirname(os.path.abspath(__file__))


@cache
def kernels_stamp(folder: str = KERNELS) -> str:
    """A hash of the names and contents of every ``.py`` file in ``folder`` (the
    kernels'), read once per process."""
    digest = hashlib.sha256()
    for path in sorted(glob.glob(os.path.join(folder, "*.py"))):
        digest.update(os.path.basename(path).encode())
        with open(path, "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()


def _is_kernel(py_file: str) -> bool:
    return os.path.dirname(os.path.abspath(py_file)) == KERNELS


def install() -> bool:
    """Put the kernel-keyed locators first in Numba's list (``CacheImpl``; older Numba
    names it ``_CacheImpl``); True if it could."""
    try:
        from numba.core import caching
    except ImportError:  # pragma: no cover - numba missing
        return False
    impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)
    classes = getattr(impl, "_locator_classes", None)
    if not isinstance(classes, list):  # pragma: no cover - Numba changed
        return False
    if any(getattr(c, "_lstmkit", False) for c in classes):
        return True
    made = []
    for base in classes:
        if base.__name__ not in ("UserProvidedCacheLocator", "InTreeCacheLocator",
                                 "UserWideCacheLocator"):  # fmt: skip
            continue
        made.append(_keyed(base))
    classes[:0] = made
    return bool(made)


def _keyed(base: type) -> type:
    class Keyed(base):
        _lstmkit = True

        def get_source_stamp(self):
            return (super().get_source_stamp(), kernels_stamp())

        @classmethod
        def from_function(cls, py_func, py_file):
            if not _is_kernel(py_file):
                return None  # the next locator in Numba's list takes it
            return super().from_function(py_func, py_file)

    Keyed.__name__ = Keyed.__qualname__ = f"Kernels{base.__name__}"
    return Keyed
