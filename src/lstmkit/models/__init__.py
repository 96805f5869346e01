"""Models: :class:`Sequential` and its safetensors model files."""

from lstmkit.models.io import ModelFileError, ModelFileNotFoundError, load, save
from lstmkit.models.sequential import Sequential

__all__ = ["ModelFileError", "ModelFileNotFoundError", "Sequential", "load", "save"]
