"""The last step of every import: an lstmkit model from layers and their weights."""

from __future__ import annotations

import copy

import numpy as np

from lstmkit.interop.errors import InteropError
from lstmkit.layers.base import weights_changed
from lstmkit.models.sequential import Sequential


def assemble(
    layers: list, params: list[dict[str, np.ndarray]], input_size: int, dtype
) -> Sequential:
    """Build ``Sequential(layers)`` and copy in ``params`` (one dict per layer, canonical
    names), checking every shape; ``dtype`` is the source's float type."""
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise InteropError(f"unsupported weight dtype {dtype}; convert the source to float32")
    # Shapes first, with nothing allocated: a config that claims a billion units beside
    # small weights is refused before it can ask for terabytes.
    shapes = Sequential(copy.deepcopy(layers), input_size=int(input_size), dtype=str(dtype),
                        allocate=False)  # fmt: skip
    _check_shapes(shapes, params)
    model = Sequential(layers, input_size=int(input_size), dtype=str(dtype))
    for layer, p in zip(model.layers, params, strict=True):
        for k, v in p.items():
            layer.params[k][...] = v
    weights_changed()
    return model


def _check_shapes(model: Sequential, params: list[dict[str, np.ndarray]]) -> None:
    for layer, p in zip(model.layers, params, strict=True):
        for k, v in p.items():
            if k not in layer.params:
                raise InteropError(f"{layer.name}: the file has a weight {k!r} it does not use")
            if layer.params[k].shape != v.shape:
                raise InteropError(
                    f"{layer.name}.{k}: shape {v.shape} does not match the layer's "
                    f"{layer.params[k].shape}"
                )
