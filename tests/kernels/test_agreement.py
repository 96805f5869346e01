"""The compiled backend agrees with the NumPy reference: 1e-5 in float32, 1e-12 in
float64, for forward outputs, final states and every gradient."""

import numpy as np
import pytest

from lstmkit.backend import numba_available, use_backend
from lstmkit.ops import lstm as lstm_ops
from lstmkit.ops import lstm_backward, lstm_forward, lstm_step
from tests.ops.conftest import lstm_params

pytestmark = pytest.mark.skipif(not numba_available(), reason="numba is not installed")
TOL = {np.float32: 1e-5, np.float64: 1e-12}


def random_sizes(rng):
    """Batch, steps, features and units for one random case."""
    return tuple(int(rng.integers(1, n)) for n in (6, 9, 5, 9))


def assert_backends_agree(run, dtype):
    """Run ``run() -> {name: array}`` under both backends and compare every array."""
    results = {}
    for backend in ("numpy", "numba"):
        with use_backend(backend):
            results[backend] = run()
    for k, ref in results["numpy"].items():
        scale = max(1.0, float(np.abs(ref).max()))
        np.testing.assert_allclose(
            results["numba"][k], ref, rtol=0, atol=TOL[dtype] * scale, err_msg=k
        )


def run_lstm(backend, x, lengths, p, seed):
    rng = np.random.default_rng(seed)
    B, H, P = x.shape[0], p["Wx"].shape[0] // 4, p["Wh"].shape[1]
    h0, c0 = (rng.normal(size=(B, n)).astype(x.dtype) for n in (P, H))
    if seed % 3 != 1:
        h0 = c0 = None
    with use_backend(backend):
        hs, hT, cT, cache = lstm_forward(x, h0, c0, lengths=lengths, **p)
        # Some cases send no output gradient (a loss on the final state only).
        dhs = None if seed % 5 == 4 else rng.normal(size=hs.shape).astype(x.dtype)
        grads = lstm_backward(dhs, np.ones_like(hT), np.ones_like(cT), cache)
    return {"hs": hs, "hT": hT, "cT": cT, **{f"d{k}": v for k, v in grads.items()}}


@pytest.mark.parametrize("fold", [True, False], ids=["folded", "two-products"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(16))
def test_lstm_forward_and_backward(dtype, seed, fold, monkeypatch):
    """Both forms of the compiled forward: the input projection folded into each step's
    product, and the projection of every step first (ops.lstm.FOLD_MAX_WORK)."""
    monkeypatch.setattr(lstm_ops, "FOLD_MAX_WORK", 10**12 if fold else 0)
    lstm_case(dtype, seed)


def lstm_case(dtype, seed):
    """One random LSTM case (sizes, peepholes, projection, lengths from ``seed``)."""
    rng = np.random.default_rng(seed)
    B, T, D, H = random_sizes(rng)
    P = int(rng.integers(1, H)) if H > 1 and seed % 3 == 0 else None
    p = lstm_params(rng, D, H, dtype, peephole=seed % 2 == 1, P=P)
    x = rng.normal(size=(B, T, D)).astype(dtype)
    lengths = rng.integers(1, T + 1, size=B) if seed % 4 >= 2 else None
    ref = run_lstm("numpy", x, lengths, p, seed)
    got = run_lstm("numba", x, lengths, p, seed)
    for k in ref:
        scale = max(1.0, float(np.abs(ref[k]).max()))
        np.testing.assert_allclose(got[k], ref[k], rtol=0, atol=TOL[dtype] * scale, err_msg=k)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lstm_step(dtype):
    rng = np.random.default_rng(0)
    p = lstm_params(rng, 3, 5, dtype, peephole=True)
    x, h, c = (rng.normal(size=s).astype(dtype) for s in ((2, 3), (2, 5), (2, 5)))
    with use_backend("numpy"):
        ref = lstm_step(x, h, c, **p)
    with use_backend("numba"):
        got = lstm_step(x, h, c, **p)
    for a, b in zip(got, ref, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(8))
def test_lstm_infer_gives_the_forward_outputs(dtype, seed):
    from lstmkit.ops.lstm import lstm_infer

    rng = np.random.default_rng(seed)
    B, T, D, H = random_sizes(rng)
    p = lstm_params(rng, D, H, dtype, peephole=seed % 2 == 1, P=2 if seed == 6 and H > 2 else None)
    P = p["Wh"].shape[1]
    x = rng.normal(size=(B, T, D)).astype(dtype)
    h0 = rng.normal(size=(B, P)).astype(dtype) if seed % 3 == 0 else None
    c0 = rng.normal(size=(B, H)).astype(dtype) if seed % 3 == 0 else None
    lengths = rng.integers(1, T + 1, size=B) if seed % 4 >= 2 else None
    with use_backend("numpy"):
        ref = lstm_forward(x, h0, c0, lengths=lengths, **p)[:3]
    for backend in ("numpy", "numba"):
        with use_backend(backend):
            got = lstm_infer(x, h0, c0, lengths=lengths, **p)
        for a, b in zip(got, ref, strict=True):
            np.testing.assert_allclose(a, b, rtol=0, atol=TOL[dtype] * max(1.0, np.abs(b).max()))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("seed", range(6))
def test_gru_forward_and_backward(dtype, reset_after, seed):
    from lstmkit.ops import gru_backward, gru_forward
    from tests.ops.conftest import gru_params

    rng = np.random.default_rng(seed)
    B, T, D, H = random_sizes(rng)
    p = gru_params(rng, D, H, dtype)
    x = rng.normal(size=(B, T, D)).astype(dtype)
    h0 = rng.normal(size=(B, H)).astype(dtype) if seed % 2 else None
    lengths = rng.integers(1, T + 1, size=B) if seed % 3 == 2 else None
    dhs = rng.normal(size=(B, T, H)).astype(dtype)

    def run():
        hs, hT, cache = gru_forward(x, h0, reset_after=reset_after, lengths=lengths, **p)
        return {"hs": hs, "hT": hT, **gru_backward(dhs, np.ones_like(hT), cache)}

    assert_backends_agree(run, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("seed", range(6))
def test_rnn_forward_and_backward(dtype, activation, seed):
    from lstmkit.ops import rnn_backward, rnn_forward

    rng = np.random.default_rng(seed)
    B, T, D, H = random_sizes(rng)
    p = {
        "Wx": rng.normal(scale=0.5, size=(H, D)).astype(dtype),
        "Wh": rng.normal(scale=0.5, size=(H, H)).astype(dtype),
        "b": rng.normal(scale=0.5, size=H).astype(dtype),
    }
    x = rng.normal(size=(B, T, D)).astype(dtype)
    h0 = rng.normal(size=(B, H)).astype(dtype) if seed % 2 else None
    lengths = rng.integers(1, T + 1, size=B) if seed % 3 == 2 else None
    dhs = None if seed == 5 else rng.normal(size=(B, T, H)).astype(dtype)

    def run():
        hs, hT, cache = rnn_forward(x, h0, activation=activation, lengths=lengths, **p)
        return {"hs": hs, "hT": hT, **rnn_backward(dhs, np.ones_like(hT), cache)}

    assert_backends_agree(run, dtype)


@pytest.mark.one_backend
def test_the_compiled_kernels_work_without_numpys_openblas(tmp_path):
    """Where NumPy links no OpenBLAS that Numba can call, kernels use compiled loops for
    their products; run a few agreement cases that way, in a fresh process with its own
    kernel cache (cached code is not keyed on which product it calls)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "LSTMKIT_NO_BLAS": "1", "NUMBA_CACHE_DIR": str(tmp_path)}
    code = (
        "import lstmkit.kernels.blas as b; assert not b.HAVE_BLAS;"
        "from tests.kernels import test_agreement as t;"
        "[(setattr(t.lstm_ops, 'FOLD_MAX_WORK', f), t.lstm_case(d, s))"
        " for f in (0, 10**12) for d in (t.np.float32, t.np.float64) for s in (0, 1, 2)];"
        "[t.test_gru_forward_and_backward(t.np.float64, r, 2) for r in (True, False)];"
        "t.test_rnn_forward_and_backward(t.np.float64, 'tanh', 2)"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
