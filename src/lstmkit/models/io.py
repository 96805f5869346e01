"""Model files: safetensors tensors plus the architecture as JSON metadata.

Layout: one tensor per parameter, named ``layer.param`` (``lstm.Wx``,
``lstm.Wx_reverse``, ``dense.W``), and string metadata::

    format          "lstmkit.model"
    format_version  "1"
    lstmkit_version the version that wrote the file
    architecture    JSON of Sequential.get_config()

safetensors stores raw little-endian arrays and a JSON header, so loading runs no code
(no pickle). Writes go to a temporary file in the same folder, renamed into place only
when complete, so a crash never leaves a half-written model behind. The header is
written with its keys in a fixed (sorted) order, so equal models give equal bytes and
files can be compared or cached by hash; a header with metadata keys other than the
four above is refused, not ignored.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from lstmkit.fileio import first_line, write_atomic
from lstmkit.models.sequential import Sequential

FORMAT = "lstmkit.model"
FORMAT_VERSION = 1
METADATA_KEYS = ("architecture", "format", "format_version", "lstmkit_version")
SUFFIX = ".safetensors"


class ModelFileError(ValueError):
    """A model file cannot be read: missing, corrupt, truncated, foreign, too new, or
    inconsistent."""


class ModelFileNotFoundError(ModelFileError, FileNotFoundError):
    """There is no model file at the path: a :class:`ModelFileError` that is also the
    ``FileNotFoundError`` code written for the standard library expects."""


def save(model: Sequential, path: str | os.PathLike) -> None:
    """Write ``model``'s architecture and weights to ``path``, which must end in
    ``.safetensors`` (other formats: :func:`lstmkit.interop.files.write_model`).

    The file is written atomically: a temporary file in the same folder, then a rename.
    Equal models give byte-identical files.
    """
    from safetensors.numpy import save as st_save

    from lstmkit import __version__

    params, names = model.parameter_list()
    tensors = {n: np.ascontiguousarray(p) for n, p in zip(names, params, strict=True)}
    metadata = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "lstmkit_version": __version__,
        "architecture": json.dumps(model.get_config()),
    }
    path = Path(path)
    if path.suffix.lower() != SUFFIX:
        raise ValueError(
            f"cannot save to {path}: model files end in {SUFFIX} (for .onnx, .keras or .pt "
            "use lstmkit.interop or 'lstmkit convert')"
        )
    blob = _canonical(st_save(tensors, metadata=metadata))
    write_atomic(path, blob)


def _canonical(blob: bytes) -> bytes:
    """The same safetensors file with its JSON header's keys sorted (safetensors writes
    the metadata in a random order), padded with spaces to 8 bytes as the format asks."""
    n = int.from_bytes(blob[:8], "little")
    header = json.dumps(json.loads(blob[8 : 8 + n]), sort_keys=True, separators=(",", ":"))
    raw = header.encode()
    raw += b" " * (-len(raw) % 8)
    return len(raw).to_bytes(8, "little") + raw + blob[8 + n :]


def load(path: str | os.PathLike) -> Sequential:
    """Read a model written by :func:`save`.

    Raises
    ------
    ModelFileNotFoundError
        No file at ``path`` (a ModelFileError and a FileNotFoundError).
    ModelFileError
        Not a safetensors file (corrupt or truncated), not an lstmkit model, written by a
        newer format version, or tensors that disagree with the architecture.
    """
    from safetensors.numpy import load as st_load

    path = Path(path)
    if not path.is_file():
        raise ModelFileNotFoundError(f"no model file at {path}")
    blob = path.read_bytes()
    try:
        metadata = _read_metadata(blob)
        tensors = st_load(blob)
    except ModelFileError as exc:
        raise ModelFileError(f"{path}: {exc}") from None
    except Exception as exc:  # safetensors reports damage with its own error types
        raise ModelFileError(
            f"{path} is not a readable safetensors file ({first_line(exc)}); it may be "
            "truncated or corrupt"
        ) from None
    unknown = sorted(set(metadata) - set(METADATA_KEYS))
    if unknown and metadata.get("format") == FORMAT:
        raise ModelFileError(
            f"{path}: unknown metadata entry {unknown[0]!r}; lstmkit writes only "
            f"{', '.join(METADATA_KEYS)} (the header was edited or comes from another tool)"
        )
    if metadata.get("format") != FORMAT:
        raise ModelFileError(
            f"{path} is a safetensors file but not an lstmkit model (its metadata has no "
            f"format '{FORMAT}'); convert it with lstmkit.interop if it comes from another tool"
        )
    try:
        version = int(metadata.get("format_version", ""))
    except ValueError:
        raise ModelFileError(f"{path}: format_version is not a number") from None
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} has model format version {version}, newer than this lstmkit reads "
            f"({FORMAT_VERSION}); upgrade lstmkit (the file was written by "
            f"{metadata.get('lstmkit_version', 'an unknown version')})"
        )
    try:
        config = json.loads(metadata["architecture"])
        # Shapes first: the file's own tensors must match them before any memory is
        # taken, so a header that claims a huge model costs nothing.
        shapes = Sequential.from_config(config, allocate=False)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: the architecture metadata is invalid ({exc})") from None
    _check_tensors(path, shapes, tensors)
    model = Sequential.from_config(config)
    model.set_weights(tensors)
    return model


def _read_metadata(blob: bytes) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors byte string (8-byte length, JSON header)."""
    if len(blob) < 8:
        raise ModelFileError(f"file too short ({len(blob)} bytes) to be a safetensors file")
    n = int.from_bytes(blob[:8], "little")
    if n > len(blob) - 8:
        raise ModelFileError(
            f"the safetensors header claims {n} bytes but the file has {len(blob) - 8}; "
            "the file is truncated or not safetensors"
        )
    try:
        header = json.loads(blob[8 : 8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelFileError(
            "the file's header is not JSON; it is not a safetensors file"
        ) from None
    meta = header.get("__metadata__", {}) if isinstance(header, dict) else {}
    return meta if isinstance(meta, dict) else {}


def _check_tensors(path, model: Sequential, tensors: dict[str, np.ndarray]) -> None:
    params, names = model.parameter_list()
    missing = [n for n in names if n not in tensors]
    extra = sorted(set(tensors) - set(names))
    if missing:
        instead = f", and the file has {extra[0]!r} instead" if extra else ""
        raise ModelFileError(
            f"{path}: tensor '{missing[0]}' is missing ({len(missing)} in all){instead}; the "
            "file was edited or damaged"
        )
    if extra:
        raise ModelFileError(f"{path}: tensor '{extra[0]}' does not belong to the architecture")
    for n, p in zip(names, params, strict=True):
        t = tensors[n]
        if t.shape != p.shape:
            raise ModelFileError(
                f"{path}: tensor '{n}' has shape {t.shape} but the architecture needs {p.shape}"
            )
        if t.dtype != p.dtype:
            raise ModelFileError(
                f"{path}: tensor '{n}' is {t.dtype} but the architecture says {p.dtype}"
            )
        if not np.isfinite(t).all():
            raise ModelFileError(f"{path}: tensor '{n}' holds NaN or infinite values")
