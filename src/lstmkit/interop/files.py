"""Reading and writing models by file extension, for ``lstmkit convert``.

``.safetensors`` lstmkit model files; ``.keras`` Keras 3; ``.onnx`` ONNX; ``.pt``/``.pth``
PyTorch state dicts. A state dict holds no architecture: writing one also writes a
sidecar ``<file>.json`` with lstmkit's architecture, and reading one takes that sidecar,
an explicit architecture (``input_size`` and a layer spec), or, for the state dict of a
bare ``nn.LSTM``/``nn.GRU``/``nn.RNN``, infers the module from the weight names and
shapes. State dicts are read with ``torch.load(weights_only=True)``, PyTorch's loader
that rebuilds tensors only and runs no code from the file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from lstmkit.interop.errors import InteropError

FORMATS = (".safetensors", ".keras", ".onnx", ".pt", ".pth")


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InteropError(
            f"{str(path)!r}: unknown format {suffix or '(no extension)'!r}; use one of "
            + ", ".join(FORMATS)
        )
    return ".pt" if suffix == ".pth" else suffix


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _bare_module(sd: dict, rnn_activation: str):
    """The nn.LSTM/GRU/RNN whose state dict ``sd`` is (by weight names and shapes)."""
    import torch

    layers = {int(m.group(1)) for k in sd if (m := re.fullmatch(r"weight_ih_l(\d+)(_reverse)?", k))}
    if not layers:
        raise InteropError("the state dict is neither lstmkit's nor a bare nn.LSTM/GRU/RNN's")
    W_ih, W_hh = sd["weight_ih_l0"], sd["weight_hh_l0"]
    proj = sd["weight_hr_l0"].shape[0] if "weight_hr_l0" in sd else 0
    H = sd["weight_hr_l0"].shape[1] if proj else W_hh.shape[1]
    gates = W_ih.shape[0] // H
    common = {
        "num_layers": max(layers) + 1,
        "bidirectional": "weight_ih_l0_reverse" in sd,
        "bias": "bias_ih_l0" in sd,
        "batch_first": True,
        "dtype": W_ih.dtype,
    }
    if gates == 4:
        module = torch.nn.LSTM(W_ih.shape[1], H, proj_size=proj, **common)
    elif gates == 3:
        module = torch.nn.GRU(W_ih.shape[1], H, **common)
    elif gates == 1:
        module = torch.nn.RNN(W_ih.shape[1], H, nonlinearity=rnn_activation, **common)
    else:
        raise InteropError(
            f"cannot tell the recurrent module from weight_ih_l0 {tuple(W_ih.shape)}"
        )
    try:
        module.load_state_dict(sd)
    except RuntimeError as exc:
        raise InteropError(
            f"the state dict does not fit {type(module).__name__}: {str(exc).splitlines()[0]}"
        ) from None
    return module


def read_model(path, *, input_size: int | None = None, layers: str | None = None,
               rnn_activation: str = "tanh"):  # fmt: skip
    """An lstmkit model from any supported file."""
    from lstmkit.interop import from_keras, from_onnx, from_torch
    from lstmkit.models.io import load

    path = Path(path)
    fmt = _format(path)
    if not path.is_file():
        raise InteropError(f"no file at {str(path)!r}")
    if fmt == ".safetensors":
        return load(str(path))
    if fmt == ".keras":
        return from_keras(path)
    if fmt == ".onnx":
        return from_onnx(path)
    try:
        import torch
    except ImportError:  # pragma: no cover
        raise InteropError("reading .pt files needs PyTorch; pip install torch") from None
    from lstmkit.interop.torch_io import to_torch
    from lstmkit.models.sequential import Sequential
    from lstmkit.models.spec import model_from_spec

    try:
        sd = torch.load(str(path), weights_only=True, map_location="cpu")
    except Exception as exc:  # torch raises several error types for bad files
        raise InteropError(
            f"{str(path)!r} is not a readable PyTorch state dict: {str(exc).splitlines()[0]}"
        ) from None
    if not isinstance(sd, dict):
        raise InteropError(f"{str(path)!r} holds a {type(sd).__name__}, not a state dict")
    if layers or input_size:
        if not (layers and input_size):
            raise InteropError("an architecture needs both --input-size and --layers")
        model = model_from_spec(layers, input_size)
    elif _sidecar(path).is_file():
        config = json.loads(_sidecar(path).read_text())
        model = Sequential.from_config(config["config"])
    elif any(k.startswith("lstmkit_blocks.") for k in sd):
        raise InteropError(
            f"no architecture for {str(path)!r}: give --input-size and --layers, "
            f"or keep its sidecar {_sidecar(path).name}"
        )
    else:
        return from_torch(_bare_module(sd, rnn_activation))
    module = to_torch(model)
    try:
        module.load_state_dict(sd)
    except RuntimeError as exc:
        raise InteropError(
            f"the state dict does not match the architecture: {str(exc).splitlines()[0]}"
        ) from None
    return from_torch(module)


def write_model(model, path, *, lengths: bool = False) -> Path:
    """Write ``model`` in the format of ``path``'s extension; returns the paths written."""
    from lstmkit.interop import to_keras, to_onnx, to_torch

    path = Path(path)
    fmt = _format(path)
    if fmt == ".safetensors":
        model.save(str(path))
    elif fmt == ".keras":
        to_keras(model, path)
    elif fmt == ".onnx":
        to_onnx(model, path, lengths=lengths)
    else:
        import torch

        module = to_torch(model)
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            torch.save(module.state_dict(), str(tmp))
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
        sidecar = {"format": "lstmkit.torch_state_dict", "config": model.get_config()}
        _sidecar(path).write_text(json.dumps(sidecar, indent=2) + "\n")
    return path
