"""Losses and their gradients against torch.nn.functional, with and without masks."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

from lstmkit.training import get_loss  # noqa: E402

REFS = {
    "mse": lambda p, y: F.mse_loss(p, y, reduction="none"),
    "mae": lambda p, y: F.l1_loss(p, y, reduction="none"),
    "huber": lambda p, y: F.huber_loss(p, y, reduction="none", delta=1.0),
    "bce": lambda p, y: F.binary_cross_entropy_with_logits(p, y, reduction="none"),
    "cross_entropy": lambda p, y: F.cross_entropy(p.movedim(-1, 1), y, reduction="none"),
}


def data(name, rng, shape):
    pred = rng.standard_normal(shape) * 3
    if name == "cross_entropy":
        return pred, rng.integers(0, shape[-1], size=shape[:-1])
    if name == "bce":
        return pred, rng.random(shape)
    return pred, rng.standard_normal(shape) * 3


@pytest.mark.parametrize("name", list(REFS))
@pytest.mark.parametrize("shape", [(6, 3), (4, 5, 3)])
@pytest.mark.parametrize("masked", [False, True])
def test_loss_and_gradient_match_torch(name, shape, masked):
    rng = np.random.default_rng(len(name) + len(shape) + masked)
    pred, y = data(name, rng, shape)
    mask = None
    if masked and len(shape) == 3:
        mask = np.arange(shape[1])[None, :] < rng.integers(1, shape[1] + 1, size=shape[0])[:, None]
    value, grad = get_loss(name)(pred, y, mask)

    p = torch.tensor(pred, requires_grad=True)
    e = REFS[name](p, torch.tensor(y))
    if mask is not None:
        w = torch.tensor(mask if name == "cross_entropy" else mask[..., None], dtype=e.dtype)
        ref = (e * w).sum() / w.expand_as(e).sum()
    else:
        ref = e.mean()
    ref.backward()
    np.testing.assert_allclose(value, ref.item(), rtol=1e-12)
    np.testing.assert_allclose(grad, p.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_regression_target_may_drop_a_single_feature_axis():
    pred = np.arange(4.0)[:, None]
    v1, _ = get_loss("mse")(pred, np.zeros(4))
    v2, _ = get_loss("mse")(pred, np.zeros((4, 1)))
    assert v1 == v2 == (0 + 1 + 4 + 9) / 4


def test_targets_are_checked():
    with pytest.raises(ValueError, match=r"y must have the model output's shape \(B, K\)"):
        get_loss("mse")(np.zeros((4, 2)), np.zeros(4))
    with pytest.raises(ValueError, match=r"labels must be in 0..2"):
        get_loss("cross_entropy")(np.zeros((4, 3)), np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        get_loss("bce")(np.zeros((2, 1)), np.array([[0.5], [2.0]]))
    with pytest.raises(ValueError, match="unknown loss 'rmse'"):
        get_loss("rmse")


def test_huber_is_quadratic_inside_delta_and_linear_outside():
    loss = get_loss("huber")
    v, g = loss(np.array([[0.5], [3.0]]), np.zeros((2, 1)))
    assert v == pytest.approx((0.125 + 2.5) / 2)
    np.testing.assert_allclose(g[:, 0], [0.25, 0.5])


def test_cross_entropy_is_stable_for_huge_logits():
    v, g = get_loss("cross_entropy")(np.array([[1e4, -1e4, 0.0]]), np.array([1]))
    assert v == pytest.approx(2e4)
    assert np.isfinite(g).all()
