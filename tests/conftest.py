"""Every test runs once per backend (docs/performance.md): the NumPy reference and the
compiled Numba kernels serve the same ops, so the whole suite checks both. The choice is
also put in ``LSTMKIT_BACKEND`` so that command-line tests run in subprocesses use it."""

import pytest

from lstmkit.backend import numba_available, use_backend

BACKENDS = ["numpy", "numba"] if numba_available() else ["numpy"]


@pytest.fixture(autouse=True, params=BACKENDS)
def backend(request, monkeypatch):
    monkeypatch.setenv("LSTMKIT_BACKEND", request.param)
    with use_backend(request.param):
        yield request.param
