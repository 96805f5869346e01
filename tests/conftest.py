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


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "one_backend: the test does not depend on the backend (it runs compiled C, or "
        "compares both backends itself); collect it once, with the last backend",
    )


def pytest_collection_modifyitems(config, items):
    """Deselect the extra backend copies of ``one_backend`` tests, and the NumPy copies
    of tests parametrized ``split="split"`` (the batch split is the compiled backend's;
    under NumPy the copy would repeat the whole-batch check). Deselected, not skipped:
    nothing is left out."""
    keep, drop = [], []
    for item in items:
        spec = getattr(item, "callspec", None)
        params = spec.params if spec is not None else {}
        backend = params.get("backend", BACKENDS[-1])
        extra = backend != BACKENDS[-1] and item.get_closest_marker("one_backend")
        numpy_split = backend == "numpy" and params.get("split") == "split"
        (drop if extra or numpy_split else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
