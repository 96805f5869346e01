"""Optimizers that update a list of parameter arrays in place from their gradients.

Update rules follow PyTorch's definitions (``torch.optim``), so hyperparameters carry
over. State (moments, velocities) is kept per parameter position, so the same list, in
the same order, must be passed at every step.
"""

from __future__ import annotations

import math
import numbers
from typing import ClassVar

import numpy as np

from lstmkit.backend import get_backend
from lstmkit.layers.base import weights_changed


class Optimizer:
    """Base class. ``lr`` is the base learning rate; ``fit`` may scale it by a schedule."""

    name: ClassVar[str] = ""

    def __init__(self, lr: float = 1e-3) -> None:
        if (
            isinstance(lr, bool)
            or not isinstance(lr, numbers.Real)
            or not math.isfinite(lr)
            or lr <= 0
        ):
            raise ValueError(f"{type(self).__name__}: lr must be a finite number > 0, got {lr!r}")
        self.lr = float(lr)
        self.state: list[dict[str, np.ndarray]] = []
        self.t = 0

    def step(self, params: list[np.ndarray], grads: list[np.ndarray], lr: float | None = None):
        """Apply one update to every ``params[k]`` (in place) from ``grads[k]`` (same shape)."""
        lr = self.lr if lr is None else lr
        if not self.state:
            self.state = [{} for _ in params]
        self.t += 1
        for p, g, s in zip(params, grads, self.state, strict=True):
            self._update(p, g.astype(p.dtype, copy=False), s, p.dtype.type(lr))
        weights_changed()

    def _update(self, p, g, s, lr) -> None:
        raise NotImplementedError


def _moment(state: dict, name: str, p: np.ndarray) -> np.ndarray:
    """The optimizer's running array ``name`` for parameter ``p`` (zeros at first)."""
    arr = state.get(name)
    if arr is None:
        arr = state[name] = np.zeros_like(p)
    return arr


def _compiled(*arrays: np.ndarray) -> bool:
    """Whether an update can run as a compiled kernel: the compiled backend, and arrays
    of one dtype laid out contiguously (so their flat views are the arrays)."""
    if get_backend() != "numba":
        return False
    dtype = arrays[0].dtype
    return all(a.dtype == dtype and a.flags.c_contiguous for a in arrays)


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum.

    ``v ← μ v + g``; ``p ← p − lr·v``, or ``p ← p − lr·(g + μ v)`` with Nesterov.
    """

    name = "sgd"

    def __init__(self, lr: float = 1e-2, momentum: float = 0.0, nesterov: bool = False) -> None:
        super().__init__(lr)
        if not 0 <= momentum < 1:
            raise ValueError(f"SGD: momentum must be in [0, 1), got {momentum}")
        if nesterov and momentum == 0:
            raise ValueError("SGD: nesterov=True needs momentum > 0")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def _update(self, p, g, s, lr):
        if self.momentum == 0:
            p -= lr * g
            return
        mu = p.dtype.type(self.momentum)
        v = _moment(s, "v", p)
        v *= mu
        v += g
        p -= lr * (g + mu * v) if self.nesterov else lr * v


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with bias correction; ``weight_decay`` adds ``wd·p`` to the
    gradient (L2), as PyTorch's Adam does. See :class:`AdamW` for decoupled decay."""

    name = "adam"

    def __init__(
        self,
        lr: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(lr)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.weight_decay = float(weight_decay)

    def _decay(self, p, g, lr):
        return g + p.dtype.type(self.weight_decay) * p if self.weight_decay else g

    def _update(self, p, g, s, lr):
        g = self._decay(p, g, lr)
        b1, b2 = self.beta1, self.beta2
        m = _moment(s, "m", p)
        v = _moment(s, "v", p)
        if _compiled(p, g, m, v):  # the same arithmetic in one call
            from lstmkit.kernels.optim import adam_

            one = p.dtype.type
            adam_(p.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1), one(b1),
                  one(1 - b1), one(b2), one(1 - b2), lr / one(1 - b1**self.t),
                  one(1 - b2**self.t), one(self.eps))  # fmt: skip
            return
        m *= p.dtype.type(b1)
        m += p.dtype.type(1 - b1) * g
        v *= p.dtype.type(b2)
        v += p.dtype.type(1 - b2) * (g * g)
        step = lr / p.dtype.type(1 - b1**self.t)
        denom = np.sqrt(v / p.dtype.type(1 - b2**self.t))
        denom += p.dtype.type(self.eps)
        p -= step * m / denom


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019): ``p ← p(1 − lr·wd)``
    before the Adam step. Default ``weight_decay=0.01`` as in PyTorch."""

    name = "adamw"

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
        super().__init__(lr, beta1, beta2, eps, weight_decay)

    def _decay(self, p, g, lr):
        p *= p.dtype.type(1) - lr * p.dtype.type(self.weight_decay)
        return g


class RMSprop(Optimizer):
    """RMSprop: ``s ← ρ s + (1 − ρ) g²``; ``p ← p − lr·g / (√s + eps)``.

    Defaults ``ρ = 0.9`` as in Keras and Hinton's lecture (PyTorch uses 0.99).
    """

    name = "rmsprop"

    def __init__(self, lr: float = 1e-3, rho: float = 0.9, eps: float = 1e-8) -> None:
        super().__init__(lr)
        self.rho, self.eps = float(rho), float(eps)

    def _update(self, p, g, s, lr):
        sq = _moment(s, "s", p)
        sq *= p.dtype.type(self.rho)
        sq += p.dtype.type(1 - self.rho) * (g * g)
        denom = np.sqrt(sq)
        denom += p.dtype.type(self.eps)
        p -= lr * g / denom


OPTIMIZERS: dict[str, type[Optimizer]] = {c.name: c for c in (SGD, Adam, AdamW, RMSprop)}


def get_optimizer(optimizer: str | Optimizer, lr: float | None = None) -> Optimizer:
    """An optimizer from its name (``sgd``, ``adam``, ``adamw``, ``rmsprop``) or the
    instance itself; ``lr`` overrides the instance's base rate when given."""
    if isinstance(optimizer, Optimizer):
        if lr is not None:
            optimizer.lr = float(lr)
        return optimizer
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
    cls = OPTIMIZERS[optimizer]
    return cls() if lr is None else cls(lr=lr)
