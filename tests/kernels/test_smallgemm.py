"""The register-blocked products (kernels/smallgemm.py) against NumPy's matmul, and which
products they take."""

import numpy as np
import pytest

from lstmkit.backend import numba_available

pytestmark = [
    pytest.mark.one_backend,
    pytest.mark.skipif(not numba_available(), reason="numba is not installed"),
]


@pytest.fixture(scope="module")
def smallgemm():
    from lstmkit.kernels import smallgemm

    return smallgemm


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("beta", [0.0, 1.0])
@pytest.mark.parametrize(
    "M, K, N",
    [(512, 137, 16), (64, 18, 32), (16, 5, 48), (8, 1, 16), (24, 3, 64), (8, 300, 80)],
)
def test_product_matches_matmul(smallgemm, dtype, trans_a, beta, M, K, N):
    rng = np.random.default_rng(M * K + N)
    lanes = 64 // np.dtype(dtype).itemsize
    N = max(lanes, N - N % lanes)
    A = rng.uniform(-1, 1, (K, M) if trans_a else (M, K)).astype(dtype)
    B = rng.uniform(-1, 1, (K, N)).astype(dtype)
    C0 = rng.uniform(-1, 1, (M, N)).astype(dtype)
    C = C0.copy()
    smallgemm.product(trans_a, A, B, beta, C)
    ref = (A.T if trans_a else A).astype(np.float64) @ B.astype(np.float64) + beta * C0
    tol = {np.float32: 2e-6, np.float64: 1e-14}[dtype] * K
    np.testing.assert_allclose(C, ref, rtol=0, atol=tol)


def test_product_reads_and_writes_row_strided_views(smallgemm):
    """Per-step views of (T, N, B) arrays and slices of wider buffers, as the kernels pass."""
    rng = np.random.default_rng(0)
    A = rng.normal(size=(40, 30)).astype(np.float32)[4:28, 2:25]  # (24, 23), row stride 30
    At = rng.normal(size=(23, 50)).astype(np.float32)[:, 10:34]  # (23, 24), transposed
    big_B = rng.normal(size=(3, 23, 48)).astype(np.float32)
    B = big_B[1, :, 16:48]  # (23, 32), row stride 48
    out = np.zeros((24, 64), np.float32)
    C = out[:, 16:48]
    smallgemm.product(False, A, B, 0.0, C)
    np.testing.assert_allclose(C, A @ B, rtol=1e-5, atol=1e-5)
    assert not out[:, :16].any() and not out[:, 48:].any()  # nothing written outside C
    smallgemm.product(True, At, B, 0.0, C)
    np.testing.assert_allclose(C, At.T @ B, rtol=1e-5, atol=1e-5)


def test_which_products_it_takes(smallgemm):
    C32 = np.zeros((64, 32), np.float32)
    take = smallgemm.eligible
    assert take(False, 1.0, 0.0, C32, 18, 2) == smallgemm.simd.WIDE
    assert not take(True, 1.0, 0.0, C32, 18, 1)  # B transposed: BLAS
    assert not take(False, 2.0, 0.0, C32, 18, 1)  # alpha other than 1
    assert not take(False, 1.0, 0.5, C32, 18, 1)  # beta other than 0 or 1
    assert not take(False, 1.0, 0.0, np.zeros((64, 20), np.float32), 18, 1)  # not whole vectors
    assert not take(False, 1.0, 0.0, np.zeros((60, 32), np.float32), 18, 1)  # rows: not blocks
    assert not take(False, 1.0, 0.0, C32, smallgemm.MAX_INNER + 1, 1)
    big = np.zeros((512, 64), np.float32)  # 512 x 137 x 64: two BLAS threads are faster
    assert not take(False, 1.0, 0.0, big, 137, 2)
    assert take(False, 1.0, 0.0, big, 137, 1) == smallgemm.simd.WIDE
    assert take(False, 1.0, 1.0, np.zeros((8, 8)), 5, 1) == smallgemm.simd.WIDE  # float64: 8 lanes


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("width", [16, 5])  # whole vectors (copied transposed) and not
def test_projection_and_weight_gradients_through_the_transposed_copy(smallgemm, dtype, width):
    """``project_inputs`` and ``weight_grad`` copy each step's operand transposed where
    the register-blocked kernels take the product; the numbers stay NumPy's."""
    from lstmkit.kernels import sequence

    rng = np.random.default_rng(width)
    T, B, G = 5, 16, 64
    xt = rng.uniform(-1, 1, (T, B, width)).astype(dtype)  # (T, B, D)
    W = rng.uniform(-1, 1, (G, width)).astype(dtype)
    b = rng.uniform(-1, 1, G).astype(dtype)
    out = np.empty((T, G, B), dtype)
    sequence.project_inputs(W, xt, b, out)
    ref = np.einsum("gd,tbd->tgb", W, xt) + b[None, :, None]
    tol = {np.float32: 1e-5, np.float64: 1e-13}[dtype]
    np.testing.assert_allclose(out, ref, rtol=0, atol=tol)
    da = rng.uniform(-1, 1, (T, G, B)).astype(dtype)
    states = rng.uniform(-1, 1, (T, width, B)).astype(dtype)  # (T, K, B)
    grad = np.empty((G, width), dtype)
    sequence.weight_grad(da, states, True, T - 1, grad)
    ref = np.einsum("tgb,tkb->gk", da[: T - 1], states[: T - 1])
    np.testing.assert_allclose(grad, ref, rtol=0, atol=10 * tol)
