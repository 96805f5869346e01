"""Which implementation serves ``lstmkit.ops``: the NumPy reference or compiled kernels.

``auto`` (the default) uses the compiled Numba kernels when Numba imports, otherwise
NumPy; ``numpy`` and ``numba`` force one. The environment variable ``LSTMKIT_BACKEND``
sets the starting choice; :func:`set_backend` and :func:`use_backend` change it in code
(docs/performance.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

CHOICES = ("auto", "numpy", "numba")
_state: dict[str, str | None] = {"choice": None}


def numba_available() -> bool:
    """Whether Numba imports (it is a core dependency, but a broken install falls back)."""
    try:
        import numba  # noqa: F401
    except ImportError:  # pragma: no cover - numba is a dependency
        return False
    return True


def _check(name: str) -> str:
    name = str(name).strip().lower()
    if name not in CHOICES:
        raise ValueError(f"backend must be one of {', '.join(CHOICES)}, got {name!r}")
    if name == "numba" and not numba_available():  # pragma: no cover
        raise ValueError("backend 'numba' needs the numba package; pip install numba")
    return name


def set_backend(name: str) -> None:
    """Choose ``"auto"``, ``"numpy"`` or ``"numba"`` for every later op call."""
    _state["choice"] = _check(name)


def get_backend() -> str:
    """The backend in use: ``"numpy"`` or ``"numba"`` (``auto`` resolved)."""
    if _state["choice"] is None:
        _state["choice"] = _check(os.environ.get("LSTMKIT_BACKEND", "auto"))
    choice = _state["choice"]
    if choice == "auto":
        return "numba" if numba_available() else "numpy"
    return choice


@contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Run a block with another backend, then restore the previous choice."""
    previous = _state["choice"]
    set_backend(name)
    try:
        yield
    finally:
        _state["choice"] = previous
