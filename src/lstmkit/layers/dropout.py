"""Inverted dropout: at training time each entry is zeroed with probability ``rate`` and
the survivors are scaled by ``1 / (1 - rate)``; at inference it is the identity."""

from __future__ import annotations

from typing import Any

import numpy as np

from lstmkit.layers.base import Layer


class Dropout(Layer):
    """Dropout on ``(B, F)`` or ``(B, T, F)``; between stacked recurrent layers it drops
    entries of the sequence the next layer reads (independently per step).

    Parameters
    ----------
    rate : float in [0, 1)
        Probability of zeroing an entry during training.
    """

    kind = "dropout"

    def __init__(self, rate: float, *, name: str | None = None) -> None:
        super().__init__(name=name)
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate}")
        self.rate = float(rate)
        self._mask: np.ndarray | None = None

    @property
    def output_size(self) -> int:
        return self.input_size

    def get_config(self) -> dict[str, Any]:
        return {"rate": self.rate, "name": self.name}

    def forward(self, x, lengths=None, *, training=False, rng=None):
        x = np.asarray(x)
        if not training or self.rate == 0.0:
            self._mask = None
            return x
        if rng is None:
            raise ValueError(f"{self.name}: training-mode dropout needs a random generator")
        keep = rng.random(x.shape) >= self.rate
        self._mask = keep * x.dtype.type(1.0 / (1.0 - self.rate))
        return x * self._mask

    def backward(self, dout, *, input_grad=True):
        if not input_grad:
            return None
        return dout if self._mask is None else dout * self._mask
