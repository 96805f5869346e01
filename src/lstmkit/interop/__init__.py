"""Import and export: PyTorch, Keras and ONNX (docs/interop.md).

Each converter imports its framework only when it runs; all of them are optional.
"""

from lstmkit.interop.errors import InteropError
from lstmkit.interop.keras_io import InteropWarning, from_keras, to_keras
from lstmkit.interop.onnx_export import to_onnx
from lstmkit.interop.onnx_import import from_onnx
from lstmkit.interop.torch_io import from_torch, to_torch

__all__ = [
    "InteropError",
    "InteropWarning",
    "from_keras",
    "from_onnx",
    "from_torch",
    "to_keras",
    "to_onnx",
    "to_torch",
]
