"""The finite-difference helpers themselves."""

import numpy as np
import pytest

from lstmkit.gradcheck import numerical_grad, rel_error


def test_numerical_grad_of_a_known_function():
    a = np.array([[0.3, -1.2], [2.0, 0.5]])
    g = numerical_grad(lambda: float(np.sum(np.sin(a) * a)), a)
    np.testing.assert_allclose(g, np.cos(a) * a + np.sin(a), rtol=1e-8)
    np.testing.assert_allclose(
        numerical_grad(lambda: float(np.sum(a**3)), a, indices=[2, 0]),
        3 * a.reshape(-1)[[2, 0]] ** 2,
        rtol=1e-8,
    )
    assert a[0, 0] == 0.3  # restored


def test_rejects_float32():
    with pytest.raises(TypeError, match="must be float64"):
        numerical_grad(lambda: 0.0, np.zeros(2, np.float32))


def test_rel_error():
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error(np.array([1.0, 0.0]), np.array([1.0, 1e-3])) == pytest.approx(1e-3, rel=1e-6)


def test_fourth_order_stencil_is_more_accurate_at_a_larger_step():
    a = np.array([0.3, -1.2, 2.0])
    exact = np.cos(a) * a + np.sin(a)

    def f():
        return float(np.sum(np.sin(a) * a))

    err2 = np.abs(numerical_grad(f, a, eps=1e-3) - exact).max()
    err4 = np.abs(numerical_grad(f, a, eps=1e-3, order=4) - exact).max()
    assert err4 < 1e-11 < 1e-8 < err2  # O(ε⁴) against O(ε²)
    assert a[0] == 0.3
    with pytest.raises(ValueError, match="order must be 2 or 4"):
        numerical_grad(f, a, order=3)
