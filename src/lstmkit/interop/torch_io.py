"""PyTorch ⇄ lstmkit: ``from_torch(module)`` and ``to_torch(model)``.

PyTorch orders LSTM gates ``i, f, g, o`` and keeps two biases; lstmkit orders them
``i, f, o, g`` and keeps their sum (layouts.py). Importing folds ``bias_ih + bias_hh``
(one float rounding, as PyTorch itself adds them); exporting writes ``bias_ih = b`` and
``bias_hh = 0``, so lstmkit → PyTorch → lstmkit is bit-exact. GRU biases map one to one.
torch is imported only when these functions run: it is an optional dependency.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lstmkit.interop.assemble import assemble
from lstmkit.interop.errors import InteropError
from lstmkit.interop.layouts import from_framework, to_framework
from lstmkit.layers import GRU, LSTM, RNN, Dense, Dropout
from lstmkit.layers.recurrent import Recurrent
from lstmkit.models.sequential import Sequential

ACTIVATIONS = {"ReLU": "relu", "Tanh": "tanh", "Sigmoid": "sigmoid", "Softmax": "softmax"}


def _torch():
    try:
        import torch
    except ImportError:  # pragma: no cover - exercised only without torch
        raise InteropError("PyTorch is not installed; pip install torch") from None
    return torch


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy().copy()


# -- PyTorch → lstmkit -----------------------------------------------------------------------
def _recurrent_layers(m, last_is_sequence: bool) -> tuple[list, list[dict[str, np.ndarray]]]:
    """lstmkit layers (one per PyTorch layer) and their parameters."""
    torch = _torch()
    layers, params = [], []
    dirs = ("", "_reverse") if m.bidirectional else ("",)
    for k in range(m.num_layers):
        seq = k < m.num_layers - 1 or last_is_sequence
        common = {"return_sequences": seq, "bidirectional": m.bidirectional}
        p: dict[str, np.ndarray] = {}
        for sfx in dirs:
            W_ih = _np(getattr(m, f"weight_ih_l{k}{sfx}"))
            W_hh = _np(getattr(m, f"weight_hh_l{k}{sfx}"))
            b_ih = (
                _np(getattr(m, f"bias_ih_l{k}{sfx}"))
                if m.bias
                else np.zeros(W_ih.shape[0], W_ih.dtype)
            )
            b_hh = (
                _np(getattr(m, f"bias_hh_l{k}{sfx}"))
                if m.bias
                else np.zeros(W_ih.shape[0], W_ih.dtype)
            )
            if isinstance(m, torch.nn.LSTM):
                p["Wx" + sfx] = from_framework(W_ih, "lstm", "torch")
                p["Wh" + sfx] = from_framework(W_hh, "lstm", "torch")
                p["b" + sfx] = from_framework(b_ih + b_hh, "lstm", "torch")
                if m.proj_size:
                    p["Wr" + sfx] = _np(getattr(m, f"weight_hr_l{k}{sfx}"))
            elif isinstance(m, torch.nn.GRU):
                p.update({"Wx" + sfx: W_ih, "Wh" + sfx: W_hh, "bx" + sfx: b_ih, "bh" + sfx: b_hh})
            else:
                p.update({"Wx" + sfx: W_ih, "Wh" + sfx: W_hh, "b" + sfx: b_ih + b_hh})
        if isinstance(m, torch.nn.LSTM):
            layers.append(LSTM(m.hidden_size, proj_size=m.proj_size or None, **common))
        elif isinstance(m, torch.nn.GRU):
            layers.append(GRU(m.hidden_size, **common))
        else:
            layers.append(RNN(m.hidden_size, activation=m.nonlinearity, **common))
        params.append(p)
        if m.dropout and k < m.num_layers - 1:
            layers.append(Dropout(m.dropout))
            params.append({})
    return layers, params


def _modules(module) -> list:
    """The modules of a stack in order: a recurrent module alone, an ``nn.Sequential``,
    lstmkit's own exported module, or any module's direct children."""
    torch = _torch()
    if isinstance(module, torch.nn.RNNBase):
        return [module]
    exported = getattr(module, "lstmkit_blocks", None)
    if exported is not None:
        return list(exported)
    return list(module.children())


def from_torch(module: Any, *, last_step: bool = True) -> Sequential:
    """An lstmkit model with the weights of a PyTorch module.

    Parameters
    ----------
    module : torch.nn.LSTM, GRU or RNN (any ``num_layers``, ``bidirectional``,
        ``proj_size``, ``batch_first``); an ``nn.Sequential`` or any module whose
        children, in order, are such recurrent modules, ``nn.Linear`` heads (optionally
        followed by ReLU, Tanh, Sigmoid or Softmax), ``nn.Dropout`` and ``nn.Identity``;
        or a module made by :func:`to_torch`.
    last_step : when ``nn.Linear`` heads follow the recurrent modules, they read each
        sequence's last valid step (True: ``out[:, -1]`` of a unidirectional module, or
        ``h_n`` of both directions) or every step (False).

    Returns
    -------
    Sequential, batch-first, in the module's float dtype.
    """
    torch = _torch()
    mods = _modules(module)
    if not mods:
        raise InteropError(f"{type(module).__name__}: no layers to convert")
    flags = getattr(module, "lstmkit_sequences", None)
    rec_idx = [k for k, m in enumerate(mods) if isinstance(m, torch.nn.RNNBase)]
    layers: list = []
    params: list[dict[str, np.ndarray]] = []
    dtype = None
    k = 0
    while k < len(mods):
        m = mods[k]
        name = type(m).__name__
        if isinstance(m, torch.nn.RNNBase):
            if not isinstance(m, torch.nn.LSTM | torch.nn.GRU | torch.nn.RNN):
                raise InteropError(f"unsupported recurrent module {name}")
            later_linear = any(isinstance(x, torch.nn.Linear) for x in mods[k + 1 :])
            if flags is not None:
                seq = flags[k]
            else:
                seq = not (k == rec_idx[-1] and later_linear and last_step)
            new_layers, new_params = _recurrent_layers(m, seq)
            layers += new_layers
            params += new_params
            dtype = dtype or m.weight_ih_l0.dtype
        elif isinstance(m, torch.nn.Linear):
            act = None
            if k + 1 < len(mods) and type(mods[k + 1]).__name__ in ACTIVATIONS:
                nxt = mods[k + 1]
                if isinstance(nxt, torch.nn.Softmax) and nxt.dim not in (-1, None, 1, 2):
                    raise InteropError(
                        f"Softmax over dim {nxt.dim}: only the feature axis is supported"
                    )
                act = ACTIVATIONS[type(nxt).__name__]
                k += 1
            layers.append(Dense(m.out_features, activation=act))
            b = _np(m.bias) if m.bias is not None else np.zeros(m.out_features, _np(m.weight).dtype)
            params.append({"W": _np(m.weight), "b": b})
            dtype = dtype or m.weight.dtype
        elif isinstance(m, torch.nn.Dropout):
            layers.append(Dropout(m.p))
            params.append({})
        elif isinstance(m, torch.nn.Identity):
            pass
        else:
            raise InteropError(
                f"unsupported PyTorch module {name} (supported: LSTM, GRU, RNN, Linear with "
                "ReLU/Tanh/Sigmoid/Softmax, Dropout, Identity)"
            )
        k += 1
    first = mods[0]
    if isinstance(first, torch.nn.RNNBase):
        input_size = first.input_size
    elif isinstance(first, torch.nn.Linear):
        input_size = first.in_features
    else:
        raise InteropError(f"the first module, {type(first).__name__}, has no input size")
    if dtype not in (torch.float32, torch.float64):
        raise InteropError(f"unsupported parameter dtype {dtype}; convert the module to float32")
    return assemble(layers, params, input_size, "float64" if dtype == torch.float64 else "float32")


# -- lstmkit → PyTorch -----------------------------------------------------------------------
def to_torch(model: Sequential):
    """A ``torch.nn.Module`` computing what ``model`` computes.

    Its ``forward(x, lengths=None)`` takes batch-first ``x (B, T, D)`` and returns what
    ``model.predict(x, lengths)`` returns (variable lengths through packing). Each lstmkit
    recurrent layer becomes a one-layer ``nn.LSTM/GRU/RNN`` (``batch_first=True``), each
    Dense an ``nn.Linear`` plus its activation; PyTorch has no peepholes and no GRU with
    ``reset_after=False``, which are refused.
    """
    if getattr(model, "mask_value", None) is not None:
        raise InteropError(
            f"{model.name}: mask_value {model.mask_value:g} (padding read from the input) "
            "has no PyTorch form; give the lengths instead (forward(x, lengths))"
        )
    torch = _torch()
    from lstmkit.interop.torch_model import LstmkitTorchModel

    blocks, sequences, acts = [], [], []
    dtype = torch.float64 if model.dtype == np.float64 else torch.float32
    for layer in model.layers:
        if isinstance(layer, Recurrent):
            blocks.append(_torch_recurrent(layer, dtype))
            sequences.append(layer.return_sequences)
            acts.append(None)
        elif isinstance(layer, Dense):
            lin = torch.nn.Linear(layer.input_size, layer.units, dtype=dtype)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(layer.params["W"]))
                lin.bias.copy_(torch.from_numpy(layer.params["b"]))
            blocks.append(lin)
            sequences.append(None)
            acts.append(layer.activation)
        elif isinstance(layer, Dropout):
            blocks.append(torch.nn.Dropout(layer.rate))
            sequences.append(None)
            acts.append(None)
        else:
            raise InteropError(f"{layer.name}: {type(layer).__name__} has no PyTorch export")
    return LstmkitTorchModel(blocks, sequences, acts, model.get_config())


def _torch_recurrent(layer: Recurrent, dtype):
    torch = _torch()
    cell = layer.cell
    kind = type(layer).__name__
    if kind == "LSTM" and cell.peephole:
        raise InteropError(f"{layer.name}: PyTorch's LSTM has no peepholes")
    if kind == "GRU" and not cell.reset_after:
        raise InteropError(f"{layer.name}: PyTorch's GRU has only reset_after=True")
    if layer.go_backwards:
        raise InteropError(
            f"{layer.name}: PyTorch has no reverse-only recurrent layer "
            "(go_backwards); only bidirectional=True has a reverse direction"
        )
    common = {"batch_first": True, "bidirectional": layer.bidirectional, "dtype": dtype}
    if kind == "LSTM":
        m = torch.nn.LSTM(layer.input_size, layer.hidden_size, proj_size=cell.P or 0, **common)
    elif kind == "GRU":
        m = torch.nn.GRU(layer.input_size, layer.hidden_size, **common)
    else:
        m = torch.nn.RNN(
            layer.input_size, layer.hidden_size, nonlinearity=cell.activation, **common
        )
    with torch.no_grad():
        for d in layer.directions:
            sfx = layer.suffix(d)
            p = {
                k: layer.params[k + sfx]
                for k in ("Wx", "Wh", "b", "bx", "bh", "Wr")
                if k + sfx in layer.params
            }
            if kind == "LSTM":
                W_ih = to_framework(p["Wx"], "lstm", "torch")
                W_hh = to_framework(p["Wh"], "lstm", "torch")
                b_ih, b_hh = to_framework(p["b"], "lstm", "torch"), np.zeros_like(p["b"])
            elif kind == "GRU":
                W_ih, W_hh, b_ih, b_hh = p["Wx"], p["Wh"], p["bx"], p["bh"]
            else:
                W_ih, W_hh, b_ih, b_hh = p["Wx"], p["Wh"], p["b"], np.zeros_like(p["b"])
            for name, v in (
                ("weight_ih", W_ih),
                ("weight_hh", W_hh),
                ("bias_ih", b_ih),
                ("bias_hh", b_hh),
            ):
                getattr(m, f"{name}_l0{sfx}").copy_(torch.from_numpy(np.ascontiguousarray(v)))
            if kind == "LSTM" and cell.P:
                getattr(m, f"weight_hr_l0{sfx}").copy_(torch.from_numpy(p["Wr"]))
    return m
