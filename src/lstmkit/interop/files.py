"""Reading and writing models by file extension, for ``lstmkit convert``.

``.safetensors`` lstmkit model files; ``.keras`` Keras 3 (and ``.h5``/``.hdf5`` legacy
Keras models, read only); ``.onnx`` ONNX; ``.pt``/``.pth`` PyTorch state dicts. A state
dict holds no architecture: writing one also writes a sidecar ``<file>.json`` with
lstmkit's architecture, and reading one takes that sidecar,
an explicit architecture (``input_size`` and a layer spec), or, for the state dict of a
bare ``nn.LSTM``/``nn.GRU``/``nn.RNN``, infers the module from the weight names and
shapes. State dicts are read with ``torch.load(weights_only=True)``, PyTorch's loader
that rebuilds tensors only and runs no code from the file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from lstmkit.fileio import first_line, one_line
from lstmkit.interop.errors import InteropError

FORMATS = (".safetensors", ".keras", ".h5", ".hdf5", ".onnx", ".pt", ".pth")
#: Formats read but not written: lstmkit writes Keras 3's own format.
READ_ONLY = (".h5", ".hdf5")


def _format(path: Path, write: bool = False) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InteropError(
            f"{str(path)!r}: unknown format {suffix or '(no extension)'!r}; use one of "
            + ", ".join(FORMATS)
        )
    if write and suffix in READ_ONLY:
        raise InteropError(
            f"{str(path)!r}: lstmkit reads legacy Keras {suffix} files but writes Keras 3's "
            ".keras format (which Keras 3 and tf.keras 2.13+ load); use a .keras name"
        )
    return {".pth": ".pt", ".hdf5": ".keras", ".h5": ".keras"}.get(suffix, suffix)


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
            f"the state dict does not fit {type(module).__name__}: {one_line(str(exc))}"
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
    from lstmkit.models.spec import model_from_spec

    _check_pt_size(path)
    try:
        sd = torch.load(str(path), weights_only=True, map_location="cpu")
    except Exception as exc:  # torch raises several error types for bad files
        raise InteropError(_pt_error(path, exc)) from None
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        what = type(sd).__name__ if not isinstance(sd, dict) else "dict with non-tensor values"
        raise InteropError(
            f"{str(path)!r} holds a {what}, not a state dict of tensors; save "
            "module.state_dict() with torch.save"
        )
    if layers or input_size:
        if not (layers and input_size):
            raise InteropError("an architecture needs both --input-size and --layers")
        model = model_from_spec(layers, input_size)
    elif _sidecar(path).is_file():
        model = _read_pt_sidecar(_sidecar(path), sum(t.numel() for t in sd.values()))
    elif any(k.startswith("lstmkit_blocks.") for k in sd):
        raise InteropError(
            f"no architecture for {str(path)!r}: give --input-size and --layers, "
            f"or keep its sidecar {_sidecar(path).name}"
        )
    else:
        return from_torch(_bare_module(sd, rnn_activation))
    module = to_torch(model)
    module.load_state_dict(_by_order(sd, module, model, path))
    return from_torch(module)


def _by_order(sd: dict, module, model, path: Path) -> dict:
    """``sd`` under the keys of ``module`` (what ``to_torch(model)`` builds): by name when
    they are its own, else by order and shape, as a custom module (``lstm.weight_ih_l0``,
    ``fc.weight``) or an ``nn.Sequential`` (``0.weight_ih_l0``) registers them. A tensor
    that does not fit is named with the parameter it would have been."""
    target = module.state_dict()
    if list(sd) == list(target) and all(sd[k].shape == target[k].shape for k in sd):
        return sd
    names = _lstmkit_names(model)
    if len(sd) != len(target):
        raise InteropError(
            f"{str(path)!r}: the state dict does not match the architecture: it has "
            f"{len(sd)} tensors where --layers needs {len(target)} "
            f"({', '.join(names[k] for k in target)}); check the layer spec"
        )
    out = {}
    for (src, tensor), (key, want) in zip(sd.items(), target.items(), strict=True):
        if tuple(tensor.shape) != tuple(want.shape):
            raise InteropError(
                f"{str(path)!r}: the state dict does not match the architecture: tensor "
                f"{src!r} has shape {tuple(tensor.shape)}, but in "
                f"the file's order it is {names[key]}, of shape {tuple(want.shape)}; check "
                "--input-size and --layers (and that the module registers its layers in "
                "the order they run)"
            )
        out[key] = tensor
    return out


def _lstmkit_names(model) -> dict[str, str]:
    """``to_torch`` state-dict key → the lstmkit layer and torch parameter it holds."""
    from lstmkit.interop.torch_io import to_torch

    names = {}
    for k, block in enumerate(to_torch(model).lstmkit_blocks):
        layer = model.layers[k]
        for pname, _ in block.named_parameters():
            names[f"lstmkit_blocks.{k}.{pname}"] = f"{layer.name}'s {pname}"
    return names


# A state dict is its tensors' bytes: a file that unpacks to more is damaged or a bomb.
MAX_PT_BYTES = 1 << 30
MAX_SIDECAR_BYTES = 16 << 20


def _check_pt_size(path: Path) -> None:
    """Refuse a .pt file (a zip archive since PyTorch 1.6) that unpacks to more than
    MAX_PT_BYTES, before torch reads any of it."""
    import zipfile

    size = path.stat().st_size
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as z:
                size = max(size, sum(i.file_size for i in z.infolist()))
        except zipfile.BadZipFile:
            pass  # torch reports the damage below
    if size > MAX_PT_BYTES:
        raise InteropError(
            f"{str(path)!r} unpacks to {size:,} bytes, more than the {MAX_PT_BYTES:,} lstmkit "
            "reads from a .pt file (a damaged file or a zip bomb); refused"
        )


def _pt_error(path: Path, exc: Exception) -> str:
    """Why torch.load(weights_only=True) refused a file, without torch's advice to load
    it with weights_only=False (which for a file from elsewhere means running its code)."""
    text = str(exc)
    found = re.search(r"WeightsUnpickler error: ([^\n]*?)(?: was not an allowed| Please|$)", text)
    if found or "Weights only load failed" in text:
        why = found.group(1).strip().rstrip(".") if found else "it holds Python objects"
        return (
            f"{str(path)!r} holds more than tensors ({why}); lstmkit reads state dicts of "
            "tensors only and never runs code from a file: save module.state_dict() instead"
        )
    return f"{str(path)!r} is not a readable PyTorch state dict: {first_line(exc)}"


def _read_pt_sidecar(path: Path, numbers: int):
    """The model of a .pt file's ``<file>.json`` sidecar, or an error naming it; its
    sizes are checked against the ``numbers`` the state dict holds before any weight is
    allocated (a sidecar edited to say a billion units costs nothing)."""
    from lstmkit.jsonio import read_json_file
    from lstmkit.models.sequential import Sequential

    fix = "give --input-size and --layers instead, or rewrite it with lstmkit convert"
    try:
        doc = read_json_file(path, MAX_SIDECAR_BYTES, fix)
    except ValueError as exc:
        raise InteropError(str(exc)) from None
    try:
        if not isinstance(doc, dict) or doc.get("format") != "lstmkit.torch_state_dict":
            raise ValueError("it is not the sidecar lstmkit writes beside a .pt file")
        need = Sequential.from_config(doc["config"], allocate=False).count_params()
        if need > numbers:
            raise ValueError(
                f"its architecture has {need:,} parameters, the state dict {numbers:,}"
            )
        return Sequential.from_config(doc["config"])
    except KeyError as exc:
        why = f"it has no {exc}"
    except (ValueError, TypeError, AttributeError) as exc:
        why = first_line(exc)
    raise InteropError(f"{str(path)!r}: {why}; {fix}")


def write_model(model, path, *, lengths: bool = False) -> Path:
    """Write ``model`` in the format of ``path``'s extension; returns the paths written."""
    from lstmkit.interop import to_keras, to_onnx, to_torch

    path = Path(path)
    fmt = _format(path, write=True)
    if fmt == ".safetensors":
        model.save(str(path))
    elif fmt == ".keras":
        to_keras(model, path)
    elif fmt == ".onnx":
        to_onnx(model, path, lengths=lengths)
    else:
        import torch

        from lstmkit.fileio import write_atomic

        module = to_torch(model)
        write_atomic(path, lambda tmp: torch.save(module.state_dict(), str(tmp)))
        sidecar = {"format": "lstmkit.torch_state_dict", "config": model.get_config()}
        write_atomic(_sidecar(path), (json.dumps(sidecar, indent=2) + "\n").encode())
    return path
