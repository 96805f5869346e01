"""Keras 3 ``.keras`` files ⇄ lstmkit, without TensorFlow or Keras (needs ``h5py``).

A ``.keras`` file is a zip of ``config.json`` (the architecture), ``metadata.json`` and
``model.weights.h5`` (weights under ``layers/<name>/[cell/]vars/<k>``); a legacy HDF5
model (``.h5``: Keras 3's ``model.save('m.h5')``, tf.keras 2.x) keeps the architecture in
its ``model_config`` attribute and the weights under ``model_weights/<layer>``, listed by
each group's ``weight_names``. Keras stores
kernels as ``(D, G·H)`` (the transpose of lstmkit's ``(G·H, D)``) with LSTM gates
``i, f, c, o`` and GRU gates ``z, r, h`` (layouts.py). A GRU with ``reset_after=True``
keeps two biases, ``(2, 3H)``; with ``reset_after=False`` one, which becomes ``bx``
(``bh = 0``). Supported: ``Sequential`` (or a Functional chain) of ``InputLayer``,
``LSTM``, ``GRU``, ``SimpleRNN`` (tanh, relu), ``Bidirectional`` (concat) of those,
``Dense`` (linear, relu, tanh, sigmoid, softmax), ``TimeDistributed(Dense)`` (the same as
Dense on a sequence) and ``Dropout``. A ``Masking`` layer on the input becomes the model's
``mask_value`` (trailing padding read as lengths); elsewhere it is refused by name.
"""

from __future__ import annotations

import io
import json
import warnings
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from lstmkit.fileio import first_line
from lstmkit.interop.assemble import assemble
from lstmkit.interop.errors import InteropError
from lstmkit.interop.layouts import from_framework, to_framework
from lstmkit.layers import GRU, LSTM, RNN, Dense, Dropout
from lstmkit.layers.recurrent import Recurrent
from lstmkit.models.sequential import Sequential

RECURRENT = {"LSTM": "lstm", "GRU": "gru", "SimpleRNN": "rnn"}
DENSE_ACTS = {
    "linear": None,
    None: None,
    "relu": "relu",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
    "softmax": "softmax",
}


class InteropWarning(UserWarning):
    """Something of the source model that has no effect at inference was left out."""


def _h5py():
    try:
        import h5py
    except ImportError:  # pragma: no cover
        raise InteropError(
            "reading and writing .keras files needs h5py; pip install h5py"
        ) from None
    return h5py


# -- reading ---------------------------------------------------------------------------------
def _layer_list(config: dict) -> list[dict]:
    cls = config.get("class_name")
    layers = config.get("config", {}).get("layers")
    if cls not in ("Sequential", "Functional") or layers is None:
        raise InteropError(f"unsupported Keras model class {cls!r} (Sequential or Functional)")
    if cls == "Functional":
        names = [la["config"]["name"] for la in layers]
        for k, la in enumerate(layers[1:], start=1):
            inbound = json.dumps(la.get("inbound_nodes", []))
            if names[k - 1] not in inbound or sum(n in inbound for n in names) != 1:
                raise InteropError(
                    f"Keras layer {la['config']['name']!r}: only a chain of "
                    "layers (each reading the previous one) can be imported"
                )
    return layers


def _check_rnn_config(name: str, cls: str, c: dict) -> None:
    if c.get("return_state"):
        raise InteropError(f"Keras layer {name!r}: return_state=True is not supported")
    if c.get("go_backwards") and c.get("return_sequences"):
        raise InteropError(
            f"Keras layer {name!r}: go_backwards=True with return_sequences=True returns the "
            "steps in reversed order, which lstmkit's reverse layers do not (they keep the "
            "input's order); only its many-to-one form (return_sequences=False) imports"
        )
    if cls in ("LSTM", "GRU"):
        if (
            c.get("activation", "tanh") != "tanh"
            or c.get("recurrent_activation", "sigmoid") != "sigmoid"
        ):
            raise InteropError(
                f"Keras layer {name!r}: activation {c.get('activation')!r} / recurrent_activation "
                f"{c.get('recurrent_activation')!r} (lstmkit uses tanh / sigmoid)"
            )
    elif c.get("activation", "tanh") not in ("tanh", "relu"):
        raise InteropError(
            f"Keras layer {name!r}: activation {c.get('activation')!r} is not supported"
        )
    if c.get("dropout") or c.get("recurrent_dropout"):
        warnings.warn(
            f"Keras layer {name!r}: dropout/recurrent_dropout act only in training and are not "
            "imported",
            InteropWarning,
            stacklevel=4,
        )


def _cell_params(cls: str, c: dict, vars_: list[np.ndarray], name: str) -> dict[str, np.ndarray]:
    kernel, recurrent = vars_[0], vars_[1]
    bias = vars_[2] if len(vars_) > 2 else None
    kind = RECURRENT[cls]
    if kind == "lstm":
        b = np.zeros(kernel.shape[1], kernel.dtype) if bias is None else bias
        return {
            "Wx": from_framework(kernel.T, "lstm", "keras"),
            "Wh": from_framework(recurrent.T, "lstm", "keras"),
            "b": from_framework(b, "lstm", "keras"),
        }
    if kind == "gru":
        H3 = kernel.shape[1]
        if bias is None:
            bx = bh = np.zeros(H3, kernel.dtype)
        elif bias.ndim == 2:
            bx, bh = bias[0], bias[1]
        else:
            bx, bh = bias, np.zeros(H3, kernel.dtype)
        return {
            "Wx": from_framework(kernel.T, "gru", "keras"),
            "Wh": from_framework(recurrent.T, "gru", "keras"),
            "bx": from_framework(bx, "gru", "keras"),
            "bh": from_framework(bh, "gru", "keras"),
        }
    b = np.zeros(kernel.shape[1], kernel.dtype) if bias is None else bias
    return {"Wx": kernel.T.copy(), "Wh": recurrent.T.copy(), "b": b}


def _flag(c: dict, key: str, default: bool) -> bool:
    """A true/false entry of a layer's config; anything else is an error, not a guess."""
    value = c.get(key, default)
    if not isinstance(value, bool):
        raise InteropError(f"Keras layer {c.get('name')!r}: {key} is {value!r}, not true or false")
    return value


def _make_rnn(cls: str, c: dict, bidirectional: bool) -> Recurrent:
    # units go to the layer as written: it refuses what is not a whole number (8.5, "8").
    common = {
        "return_sequences": _flag(c, "return_sequences", False),
        "bidirectional": bidirectional,
        "stateful": _flag(c, "stateful", False) and not bidirectional,
        "go_backwards": _flag(c, "go_backwards", False) and not bidirectional,
    }
    if cls == "LSTM":
        return LSTM(c["units"], **common)
    if cls == "GRU":
        return GRU(c["units"], reset_after=_flag(c, "reset_after", True), **common)
    return RNN(c["units"], activation=c.get("activation", "tanh"), **common)


SNAKE = {
    "LSTM": "lstm",
    "GRU": "gru",
    "SimpleRNN": "simple_rnn",
    "Bidirectional": "bidirectional",
    "Dense": "dense",
    "Dropout": "dropout",
    "TimeDistributed": "time_distributed",
}


class _Paths:
    """Where Keras keeps a layer's weights: ``layers/<class in snake_case>[_k]``, numbered
    per class in layer order (not the layer's name)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def next(self, cls: str) -> str:
        base = SNAKE[cls]
        k = self.counts.get(base, 0)
        self.counts[base] = k + 1
        return f"layers/{base}" if k == 0 else f"layers/{base}_{k}"


def _vars(h5, path: str) -> list[np.ndarray]:
    if path not in h5:
        raise InteropError(f"the weights file has no entry {path!r}")
    group = h5[path]
    datasets = [group[str(k)] for k in range(len(group))]
    # A dataset's declared size is checked before it is read: an uncompressed one (what
    # Keras writes) cannot hold more than the file, a compressed one no more than the limit.
    size = sum(int(np.prod(d.shape, dtype=np.float64)) * d.dtype.itemsize for d in datasets)
    compressed = any(d.compression is not None for d in datasets)
    limit = MAX_WEIGHTS_BYTES if compressed else min(MAX_WEIGHTS_BYTES, h5.id.get_filesize())
    if size > limit:
        raise InteropError(
            f"the weights under {path!r} claim {size:,} bytes, more than the {limit:,} they "
            "can hold (a damaged file or a bomb); refused"
        )
    return [np.asarray(d) for d in datasets]


#: The most a .keras archive entry may unpack to; the size an entry declares is checked
#: before it is read (zipfile never reads past it), so a zip bomb costs nothing.
MAX_CONFIG_BYTES = 16 << 20
MAX_WEIGHTS_BYTES = 1 << 30


def _bounded_read(z: zipfile.ZipFile, name: str, limit: int, path: Path) -> bytes:
    info = z.getinfo(name)
    if info.file_size > limit:
        raise InteropError(
            f"{str(path)!r}: entry {name!r} unpacks to {info.file_size:,} bytes, more than the "
            f"{limit:,} lstmkit reads from a .keras file (a damaged file or a zip bomb); "
            "refused"
        )
    return z.read(name)


def from_keras(path: str | Path) -> Sequential:
    """An lstmkit model from a Keras 3 ``.keras`` file or a legacy HDF5 ``.h5`` model (Keras
    3's ``model.save('m.h5')``, tf.keras 2.x); see the module docstring."""
    h5py = _h5py()
    path = Path(path)
    if not path.is_file():
        raise InteropError(f"no Keras file at {str(path)!r}")
    if not zipfile.is_zipfile(path) and h5py.is_hdf5(str(path)):
        return _from_legacy_h5(h5py, path)
    try:
        with zipfile.ZipFile(path) as z:
            config = json.loads(_bounded_read(z, "config.json", MAX_CONFIG_BYTES, path))
            weights = _bounded_read(z, "model.weights.h5", MAX_WEIGHTS_BYTES, path)
    except InteropError:
        raise
    # zipfile and zlib raise many types for damaged archives (NotImplementedError for an
    # unknown compression, zlib.error, EOFError, ...): all mean "not a .keras file".
    except (zipfile.BadZipFile, KeyError, ValueError, NotImplementedError, EOFError, OSError,
            RuntimeError, zlib.error) as exc:  # fmt: skip
        raise InteropError(
            f"{str(path)!r} is not a Keras 3 .keras file ({type(exc).__name__}: {first_line(exc)})"
        ) from None
    with _named_errors(path, "its model.weights.h5 is not a readable HDF5 file ({why}); the "
                       ".keras file is damaged", "config.json and model.weights.h5"):  # fmt: skip
        return _from_keras(h5py, path, config, weights)


@contextmanager
def _named_errors(path: Path, unreadable: str, parts: str):
    """Every error of reading ``path`` as one InteropError that names it: h5py's (``OSError``,
    ``RuntimeError``: ``unreadable``, with ``{why}``) and a config that does not describe
    a model (``parts`` say which)."""
    try:
        yield
    except InteropError as exc:
        text = str(exc)
        raise InteropError(text if str(path) in text else f"{str(path)!r}: {text}") from None
    except (OSError, RuntimeError) as exc:  # h5py: "Unable to synchronously open file (...)"
        raise InteropError(f"{str(path)!r}: " + unreadable.format(why=first_line(exc))) from None
    except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
        raise InteropError(
            f"{str(path)!r}: {parts} do not describe a Keras model lstmkit can read "
            f"({type(exc).__name__}: {first_line(exc)})"
        ) from None


class _ZipWeights:
    """Weights of a ``.keras`` file: ``layers/<class>[_k]/...``, numbered per class."""

    def __init__(self, h5) -> None:
        self.h5, self.paths = h5, _Paths()

    def cell(self, cls: str, name: str) -> list[np.ndarray]:
        return _vars(self.h5, f"{self.paths.next(cls)}/cell/vars")

    def bidirectional(self, name: str) -> tuple[list, list]:
        where = self.paths.next("Bidirectional")
        return (_vars(self.h5, f"{where}/forward_layer/cell/vars"),
                _vars(self.h5, f"{where}/backward_layer/cell/vars"))  # fmt: skip

    def dense(self, name: str, wrapped: bool = False) -> list[np.ndarray]:
        if wrapped:
            return _vars(self.h5, f"{self.paths.next('TimeDistributed')}/layer/vars")
        return _vars(self.h5, f"{self.paths.next('Dense')}/vars")

    def skip(self, cls: str) -> None:
        if cls in SNAKE:
            self.paths.next(cls)


class _LegacyWeights:
    """Weights of a legacy HDF5 file (``model.save('m.h5')`` in Keras 3 and tf.keras 2):
    ``model_weights/<layer name>``, whose ``weight_names`` attribute lists its arrays in
    order (kernel, recurrent kernel, bias; forward before backward)."""

    def __init__(self, h5) -> None:
        if "model_weights" in h5:
            self.root = h5["model_weights"]
        elif "layer_names" in h5.attrs:  # model.save_weights layout: the groups at the top
            self.root = h5
        else:
            raise InteropError("the file has no model_weights group (not a saved Keras model)")
        self.h5 = h5

    def _arrays(self, name: str) -> list[np.ndarray]:
        if name not in self.root:
            raise InteropError(f"the weights file has no weights for layer {name!r}")
        group = self.root[name]
        names = [n.decode() if isinstance(n, bytes) else str(n)
                 for n in group.attrs.get("weight_names", [])]  # fmt: skip
        datasets = [group[n] for n in names]
        size = sum(int(np.prod(d.shape, dtype=np.float64)) * d.dtype.itemsize for d in datasets)
        compressed = any(d.compression is not None for d in datasets)
        limit = MAX_WEIGHTS_BYTES if compressed else min(MAX_WEIGHTS_BYTES,
                                                         self.h5.id.get_filesize())  # fmt: skip
        if size > limit:
            raise InteropError(
                f"the weights of layer {name!r} claim {size:,} bytes, more than the {limit:,} "
                "they can hold (a damaged file or a bomb); refused"
            )
        return [np.asarray(d) for d in datasets]

    def cell(self, cls: str, name: str) -> list[np.ndarray]:
        return self._arrays(name)

    def bidirectional(self, name: str) -> tuple[list, list]:
        arrays = self._arrays(name)
        half = len(arrays) // 2
        return arrays[:half], arrays[half:]

    def dense(self, name: str, wrapped: bool = False) -> list[np.ndarray]:
        return self._arrays(name)

    def skip(self, cls: str) -> None:
        pass


def _from_keras(h5py, path: Path, config: dict, weights: bytes) -> Sequential:
    with h5py.File(io.BytesIO(weights), "r") as h5:
        return _build(config, _ZipWeights(h5))


def _input_size(c: dict) -> int | None:
    shape = c.get("batch_shape") or c.get("batch_input_shape")
    return int(shape[-1]) if shape else None


def _build(config: dict, source) -> Sequential:
    layers, params = [], []
    input_size, mask_value = None, None
    for entry in _layer_list(config):
        cls, c = entry.get("class_name"), entry.get("config", {})
        name = c.get("name", cls)
        if input_size is None and not layers:
            input_size = _input_size(c)  # InputLayer, or tf.keras 2's first layer
        if cls == "InputLayer":
            continue
        if cls in RECURRENT:
            _check_rnn_config(name, cls, c)
            layers.append(_make_rnn(cls, c, False))
            p = _cell_params(cls, c, source.cell(cls, name), name)
            sfx = "_reverse" if layers[-1].go_backwards else ""
            params.append({k + sfx: v for k, v in p.items()})
        elif cls == "Bidirectional":
            if c.get("merge_mode", "concat") != "concat":
                raise InteropError(
                    f"Keras layer {name!r}: merge_mode {c.get('merge_mode')!r} "
                    "(lstmkit concatenates [forward | backward])"
                )
            inner = c["layer"]
            icls, ic = inner["class_name"], inner["config"]
            if icls not in RECURRENT:
                raise InteropError(f"Keras layer {name!r}: Bidirectional({icls}) is not supported")
            _check_rnn_config(name, icls, ic)
            layers.append(_make_rnn(icls, ic, True))
            fwd_vars, bwd_vars = source.bidirectional(name)
            fwd = _cell_params(icls, ic, fwd_vars, name)
            bwd = _cell_params(icls, ic, bwd_vars, name)
            params.append({**fwd, **{k + "_reverse": v for k, v in bwd.items()}})
        elif cls == "Dense" or cls == "TimeDistributed":
            wrapped = cls == "TimeDistributed"
            if wrapped:
                inner = c.get("layer", {})
                if inner.get("class_name") != "Dense":
                    raise InteropError(f"Keras layer {name!r}: TimeDistributed("
                                       f"{inner.get('class_name')}) is not supported (only "
                                       "Dense)")  # fmt: skip
                dc = inner.get("config", {})
                if not layers or not getattr(layers[-1], "return_sequences", True):
                    raise InteropError(f"Keras layer {name!r}: TimeDistributed needs a "
                                       "sequence input")  # fmt: skip
            else:
                dc = c
            act = dc.get("activation", "linear")
            if act not in DENSE_ACTS:
                raise InteropError(f"Keras layer {name!r}: activation {act!r} is not supported")
            vars_ = source.dense(name, wrapped)
            W = vars_[0].T.copy()
            b = vars_[1] if len(vars_) > 1 else np.zeros(W.shape[0], W.dtype)
            # Dense on a sequence applies to every step, as TimeDistributed(Dense) does.
            layers.append(Dense(dc["units"], activation=DENSE_ACTS[act]))
            params.append({"W": W, "b": b})
        elif cls == "Dropout":
            source.skip(cls)
            layers.append(Dropout(float(c.get("rate", 0.0))))
            params.append({})
        elif cls == "Masking":
            if layers:
                raise InteropError(
                    f"Keras layer {name!r}: Masking after other layers has no lstmkit form "
                    "(lstmkit reads padding from the model's input only)"
                )
            mask_value = c.get("mask_value", 0.0)
            if isinstance(mask_value, bool) or not isinstance(mask_value, int | float):
                raise InteropError(f"Keras layer {name!r}: mask_value {mask_value!r} is not a "
                                   "number")  # fmt: skip
            source.skip(cls)
        else:
            raise InteropError(
                f"unsupported Keras layer {cls} ({name!r}); supported: InputLayer, LSTM, GRU, "
                "SimpleRNN, Bidirectional, Dense, TimeDistributed(Dense), Dropout"
            )
    if not layers:
        raise InteropError("the Keras model has no layers to import")
    if input_size is None:
        shape = config.get("config", {}).get("build_input_shape")
        if not shape:
            raise InteropError("the Keras model does not say its input size (no InputLayer)")
        input_size = int(shape[-1])
    dtype = next((next(iter(p.values())).dtype for p in params if p), np.float32)
    model = assemble(layers, params, input_size, dtype)
    if mask_value is not None:
        model.mask_value = float(mask_value)  # the model's trailing padding (lengths)
    return model


def _from_legacy_h5(h5py, path: Path) -> Sequential:
    """A legacy HDF5 Keras model: ``model_config`` (JSON) and ``model_weights``."""
    size = path.stat().st_size
    if size > MAX_WEIGHTS_BYTES + MAX_CONFIG_BYTES:
        raise InteropError(f"{str(path)!r} has {size:,} bytes, more than lstmkit reads from a "
                           "Keras .h5 file; refused")  # fmt: skip
    with (
        _named_errors(
            path, "it is not a readable HDF5 file ({why})", "its model_config and model_weights"
        ),
        h5py.File(path, "r") as h5,
    ):
        raw = h5.attrs.get("model_config")
        if raw is None:
            raise InteropError(
                f"{str(path)!r} holds weights but no model_config (saved with "
                "save_weights?); save the whole model with model.save('m.h5') or as .keras"
            )
        raw = raw.decode() if isinstance(raw, bytes) else str(raw)
        if len(raw) > MAX_CONFIG_BYTES:
            raise InteropError(f"{str(path)!r}: its model_config is larger than "
                               f"{MAX_CONFIG_BYTES:,} bytes; refused")  # fmt: skip
        return _build(json.loads(raw), _LegacyWeights(h5))


def _rnn_config(layer: Recurrent, name: str, backwards: bool = False) -> dict[str, Any]:
    kind = type(layer).__name__
    cls = {"LSTM": "LSTM", "GRU": "GRU", "RNN": "SimpleRNN"}[kind]
    c: dict[str, Any] = {
        "name": name,
        "units": layer.hidden_size,
        "return_sequences": layer.return_sequences,
        "go_backwards": backwards,
        "stateful": layer.stateful,
        "use_bias": True,
    }
    if kind == "GRU":
        c["reset_after"] = layer.cell.reset_after
    if kind == "RNN":
        c["activation"] = layer.cell.activation
    return {"module": "keras.layers", "class_name": cls, "config": c, "registered_name": None}


def _cell_vars(layer: Recurrent, sfx: str) -> list[np.ndarray]:
    p = {
        k[: len(k) - len(sfx)] if sfx else k: v
        for k, v in layer.params.items()
        if k.endswith(sfx) or not sfx
    }
    kind = type(layer).__name__
    if kind == "LSTM":
        return [
            to_framework(p["Wx"], "lstm", "keras").T,
            to_framework(p["Wh"], "lstm", "keras").T,
            to_framework(p["b"], "lstm", "keras"),
        ]
    if kind == "GRU":
        kernel = to_framework(p["Wx"], "gru", "keras").T
        rec = to_framework(p["Wh"], "gru", "keras").T
        bx, bh = to_framework(p["bx"], "gru", "keras"), to_framework(p["bh"], "gru", "keras")
        if layer.cell.reset_after:
            return [kernel, rec, np.stack([bx, bh])]
        return [kernel, rec, bx + bh]  # Keras keeps one bias here; both add outside r
    return [p["Wx"].T, p["Wh"].T, p["b"]]


def to_keras(model: Sequential, path: str | Path) -> Path:
    """Write ``model`` as a Keras 3 ``.keras`` file that ``keras.saving.load_model`` reads.

    Keras has no peepholes and no projection; those layers are refused. A GRU with
    ``reset_after=False`` exports ``bx + bh`` as Keras's single bias.
    """
    h5py = _h5py()
    D = model.input_size
    entries = [
        {
            "module": "keras.layers",
            "class_name": "InputLayer",
            "config": {"batch_shape": [None, None, D], "name": "input_layer"},
            "registered_name": None,
        }
    ]
    if getattr(model, "mask_value", None) is not None:
        entries.append({"module": "keras.layers", "class_name": "Masking",
                        "config": {"name": "masking", "mask_value": model.mask_value},
                        "registered_name": None})  # fmt: skip
    weights: dict[str, list[np.ndarray]] = {}
    paths = _Paths()
    for layer in model.layers:
        name = layer.name
        if isinstance(layer, Recurrent):
            if isinstance(layer, LSTM) and (layer.cell.peephole or layer.cell.P):
                raise InteropError(f"{name}: Keras's LSTM has no peepholes or projection")
            if layer.bidirectional:
                fwd, bwd = (
                    _rnn_config(layer, f"forward_{name}"),
                    _rnn_config(layer, f"backward_{name}", True),
                )
                entries.append(
                    {
                        "module": "keras.layers",
                        "class_name": "Bidirectional",
                        "config": {
                            "name": name,
                            "merge_mode": "concat",
                            "layer": fwd,
                            "backward_layer": bwd,
                        },
                        "registered_name": None,
                    }
                )
                where = paths.next("Bidirectional")
                weights[f"{where}/forward_layer/cell/vars"] = _cell_vars(layer, "")
                weights[f"{where}/backward_layer/cell/vars"] = _cell_vars(layer, "_reverse")
            else:
                if layer.go_backwards and layer.return_sequences:
                    raise InteropError(
                        f"{layer.name}: Keras' go_backwards returns the steps reversed, lstmkit's "
                        "in the input's order; only a many-to-one go_backwards layer has a "
                        "Keras form"
                    )
                entry = _rnn_config(layer, name, layer.go_backwards)
                entries.append(entry)
                sfx = "_reverse" if layer.go_backwards else ""
                weights[f"{paths.next(entry['class_name'])}/cell/vars"] = _cell_vars(layer, sfx)
        elif isinstance(layer, Dense):
            entries.append(
                {
                    "module": "keras.layers",
                    "class_name": "Dense",
                    "config": {
                        "name": name,
                        "units": layer.units,
                        "activation": layer.activation or "linear",
                        "use_bias": True,
                    },
                    "registered_name": None,
                }
            )
            weights[f"{paths.next('Dense')}/vars"] = [layer.params["W"].T, layer.params["b"]]
        elif isinstance(layer, Dropout):
            paths.next("Dropout")
            entries.append(
                {
                    "module": "keras.layers",
                    "class_name": "Dropout",
                    "config": {"name": name, "rate": layer.rate},
                    "registered_name": None,
                }
            )
        else:
            raise InteropError(f"{name}: {type(layer).__name__} has no Keras export")
    config = {
        "module": "keras",
        "class_name": "Sequential",
        "config": {"name": model.name, "layers": entries, "build_input_shape": [None, None, D]},
        "registered_name": None,
        "build_config": {"input_shape": [None, None, D]},
    }
    buf = io.BytesIO()
    with h5py.File(buf, "w") as h5:
        h5.create_group("vars")
        for group, arrays in weights.items():
            g = h5.create_group(group)
            for k, arr in enumerate(arrays):
                g.create_dataset(str(k), data=np.ascontiguousarray(arr))
    from lstmkit.fileio import write_atomic

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w") as z:
            z.writestr(
                "metadata.json", json.dumps({"keras_version": "3.0.0", "producer": "lstmkit"})
            )
            z.writestr("config.json", json.dumps(config))
            z.writestr("model.weights.h5", buf.getvalue())

    return write_atomic(path, write)
