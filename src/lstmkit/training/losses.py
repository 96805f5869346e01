"""Losses with their gradients, averaged over the valid entries of a batch.

Shapes: predictions are ``(B, K)`` (many-to-one: one output per sequence, read at its
last valid step) or ``(B, T, K)`` (many-to-many: one per step), with ``mask (B, T)``
marking valid steps. Regression targets have the prediction's shape (the ``K`` axis may
be left out when ``K = 1``); ``cross_entropy`` takes integer class labels of shape
``(B,)`` or ``(B, T)``. Both classification losses take raw scores (logits), which is
numerically stable: leave the last Dense layer without activation.

The loss is the mean over valid entries (and over ``K`` for elementwise losses), so the
gradient is scaled by one over that count.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from lstmkit.ops.activations import sigmoid


class Loss:
    """Base class: subclasses define the elementwise loss and its derivative."""

    name: ClassVar[str] = ""
    #: The loss needs integer class labels instead of targets shaped like the predictions.
    labels: ClassVar[bool] = False

    def elementwise(self, pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(e, de)``: the loss per entry and its derivative with respect to ``pred``."""
        raise NotImplementedError

    def prepare_target(self, target: np.ndarray, pred_shape: tuple[int, ...]) -> np.ndarray:
        """Check ``target`` against the predictions' shape and bring it to a usable form."""
        target = np.asarray(target)
        if target.shape == pred_shape[:-1] and pred_shape[-1] == 1:
            target = target[..., None]
        if target.shape != pred_shape:
            dims = "(B, T, K)" if len(pred_shape) == 3 else "(B, K)"
            raise ValueError(
                f"loss '{self.name}': y must have the model output's shape {dims} = "
                f"{pred_shape}, got {target.shape}"
            )
        return target

    def weights(self, pred: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray | None, int]:
        """Valid-entry weights broadcastable to the elementwise loss, and their count."""
        per_entry = 1 if self.labels else pred.shape[-1]
        if mask is None:
            return None, int(np.prod(pred.shape[:-1])) * per_entry
        w = mask if self.labels else mask[..., None]
        return w, int(mask.sum()) * per_entry

    def total(self, pred, target, mask=None) -> tuple[float, int]:
        """``(sum of the loss over valid entries, their count)``, for averaging across batches."""
        target = self.prepare_target(target, pred.shape)
        e, _ = self.elementwise(pred, target)
        w, n = self.weights(pred, mask)
        if w is not None:
            e = np.where(w, e, 0)
        return float(np.sum(e, dtype=np.float64)), n

    def __call__(self, pred, target, mask=None) -> tuple[float, np.ndarray]:
        """Mean loss over valid entries and its gradient.

        Parameters
        ----------
        pred : ndarray, shape (B, K) or (B, T, K)
        target : ndarray, see the module docstring
        mask : ndarray of bool, shape (B, T), optional (sequence predictions only)

        Returns
        -------
        loss : float
        grad : ndarray, shape of ``pred``, dtype of ``pred``
        """
        target = self.prepare_target(target, pred.shape)
        e, de = self.elementwise(pred, target)
        w, n = self.weights(pred, mask)
        if w is not None:
            e = np.where(w, e, 0)
            de = np.where(w[..., None] if self.labels else w, de, 0)
        n = max(n, 1)
        grad = (de / n).astype(pred.dtype, copy=False)
        return float(np.sum(e, dtype=np.float64)) / n, grad


class MSE(Loss):
    """Mean squared error, ``(p − y)²``."""

    name = "mse"

    def elementwise(self, pred, target):
        r = pred - target
        return r * r, 2 * r


class MAE(Loss):
    """Mean absolute error, ``|p − y|`` (derivative ``sign(p − y)``, 0 at a tie)."""

    name = "mae"

    def elementwise(self, pred, target):
        r = pred - target
        return np.abs(r), np.sign(r)


class Huber(Loss):
    """Huber loss: ``r²/2`` for ``|r| ≤ δ``, else ``δ(|r| − δ/2)``; ``r = p − y``."""

    name = "huber"

    def __init__(self, delta: float = 1.0) -> None:
        if delta <= 0:
            raise ValueError(f"huber: delta must be > 0, got {delta}")
        self.delta = float(delta)

    def elementwise(self, pred, target):
        r = pred - target
        a = np.abs(r)
        d = self.delta
        e = np.where(a <= d, 0.5 * r * r, d * (a - 0.5 * d))
        return e, np.clip(r, -d, d)


class CrossEntropy(Loss):
    """Softmax cross-entropy from logits ``(…, K)`` and integer labels in ``0..K−1``."""

    name = "cross_entropy"
    labels = True

    def prepare_target(self, target, pred_shape):
        target = np.asarray(target)
        if target.shape != pred_shape[:-1]:
            raise ValueError(
                f"loss 'cross_entropy': y must hold one integer class label per output, "
                f"shape {pred_shape[:-1]}, got {target.shape}"
            )
        if target.size and not np.issubdtype(target.dtype, np.integer):
            if not np.array_equal(target, np.round(target)):
                raise ValueError("loss 'cross_entropy': y must hold integer class labels")
            target = target.astype(np.int64)
        K = pred_shape[-1]
        if target.size and (target.min() < 0 or target.max() >= K):
            raise ValueError(
                f"loss 'cross_entropy': labels must be in 0..{K - 1} (the model has {K} "
                f"outputs), got values from {target.min()} to {target.max()}"
            )
        return target

    def elementwise(self, pred, target):
        z = pred - pred.max(axis=-1, keepdims=True)
        ez = np.exp(z)
        s = ez.sum(axis=-1, keepdims=True)
        z_k = np.take_along_axis(z, target[..., None], axis=-1)[..., 0]
        e = np.log(s[..., 0]) - z_k
        # Forward: e = log Σ exp(z) − z_k, so de/dz = softmax(z) − onehot(k).
        de = ez / s
        np.put_along_axis(
            de, target[..., None], np.take_along_axis(de, target[..., None], -1) - 1, -1
        )
        return e, de


class BinaryCrossEntropy(Loss):
    """Binary cross-entropy from logits ``z`` and targets in [0, 1] (independent outputs)."""

    name = "bce"

    def prepare_target(self, target, pred_shape):
        target = super().prepare_target(target, pred_shape)
        if target.size and (target.min() < 0 or target.max() > 1):
            raise ValueError("loss 'bce': targets must be in [0, 1]")
        return target

    def elementwise(self, pred, target):
        # max(z, 0) − z·y + log(1 + exp(−|z|)) is the stable form of −y log σ(z) −
        # (1 − y) log(1 − σ(z)); its derivative is σ(z) − y.
        e = np.maximum(pred, 0) - pred * target + np.log1p(np.exp(-np.abs(pred)))
        return e, sigmoid(pred) - target


LOSSES: dict[str, type[Loss]] = {
    "mse": MSE,
    "mae": MAE,
    "huber": Huber,
    "cross_entropy": CrossEntropy,
    "bce": BinaryCrossEntropy,
}


def get_loss(loss: str | Loss) -> Loss:
    """A :class:`Loss` from its name (``mse``, ``mae``, ``huber``, ``cross_entropy``,
    ``bce``) or the instance itself."""
    if isinstance(loss, Loss):
        return loss
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
    return LOSSES[loss]()
