"""Fully connected layer, applied to a vector ``(B, F)`` or to every step ``(B, T, F)``.

``y = φ(W x + b)`` with ``W (units, F)`` (the ``W @ x`` layout of SPEC and PyTorch's
``nn.Linear``), ``b (units,)``. On a sequence with ``lengths``, outputs at padded
steps are 0, like the recurrent layers' outputs, and receive no gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lstmkit.layers.base import Layer, whole_number
from lstmkit.layers.directions import valid_mask
from lstmkit.layers.init import glorot_uniform
from lstmkit.ops.activations import relu, sigmoid, tanh


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# name → (φ(z), dL/dz from dL/dy, y = φ(z) and z)
ACTIVATIONS = {
    None: (lambda z: z, lambda dy, y, z: dy),
    "relu": (relu, lambda dy, y, z: dy * (z > 0)),
    "tanh": (tanh, lambda dy, y, z: dy * (1 - y * y)),
    "sigmoid": (sigmoid, lambda dy, y, z: dy * (y - y * y)),
    # Forward: y = exp(z) / Σ exp(z), so dz = y ⊙ (dy − Σ dy ⊙ y).
    "softmax": (_softmax, lambda dy, y, z: y * (dy - (dy * y).sum(axis=-1, keepdims=True))),
}


class Dense(Layer):
    """Fully connected layer.

    Parameters
    ----------
    units : int
        Output features.
    activation : None, "relu", "tanh", "sigmoid" or "softmax"
        Applied to ``W x + b``. Leave it None before a classification loss, which
        takes raw scores (logits).
    """

    kind = "dense"

    def __init__(self, units: int, activation: str | None = None, *, name: str | None = None):
        super().__init__(name=name)
        units = whole_number("Dense", "units", units)
        if activation == "linear":
            activation = None
        if activation not in ACTIVATIONS:
            names = ", ".join(repr(a) for a in ACTIVATIONS)
            raise ValueError(f"Dense: activation must be one of {names}; got {activation!r}")
        self.units = int(units)
        self.activation = activation
        self._cache: tuple | None = None

    def build(self, input_size, rng, dtype, *, allocate=True):
        super().build(input_size, rng, dtype)
        if not allocate:
            self.params = self._shape_only(self.describe_params())
            self.grads = {}
            return
        self.params = {
            "W": glorot_uniform(rng, (self.units, self.input_size), self.dtype),
            "b": np.zeros(self.units, self.dtype),
        }
        self.grads = {}

    @property
    def output_size(self) -> int:
        return self.units

    def get_config(self) -> dict[str, Any]:
        return {"units": self.units, "activation": self.activation, "name": self.name}

    def describe_params(self):
        F, U = self.input_size, self.units
        return [("W", (U, F), "input → output"), ("b", (U,), "bias")]

    def forward(self, x, lengths=None, *, training=False, rng=None):
        """``x (B, F)`` → ``(B, units)``, or ``x (B, T, F)`` → ``(B, T, units)``."""
        x = np.asarray(x)
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{self.name}: input must have shape (B, F) or (B, T, F) with "
                f"F = {self.input_size}, got {x.shape}"
            )
        z = x @ self.params["W"].T
        z += self.params["b"]
        y = ACTIVATIONS[self.activation][0](z)
        mask = None
        if x.ndim == 3 and lengths is not None:
            mask = valid_mask(lengths, x.shape[0], x.shape[1])[:, :, None]
            y = np.where(mask, y, 0).astype(y.dtype, copy=False)
        self._cache = (x, z, y, mask) if training else None
        return y

    def backward(self, dout, *, input_grad=True):
        if self._cache is None:
            raise RuntimeError(f"{self.name}: backward() needs a forward(..., training=True)")
        x, z, y, mask = self._cache
        if mask is not None:
            dout = np.where(mask, dout, 0).astype(dout.dtype, copy=False)
        dz = ACTIVATIONS[self.activation][1](dout, y, z)
        dz2 = dz.reshape(-1, self.units)
        self.grads = {
            "W": dz2.T @ x.reshape(-1, self.input_size),
            "b": dz2.sum(axis=0),
        }
        return dz @ self.params["W"] if input_grad else None
