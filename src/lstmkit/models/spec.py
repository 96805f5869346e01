"""Compact model specs for the command line: ``lstm:64,lstm:32,dense:1``.

Grammar: layers separated by commas, each ``KIND:SIZE[:OPTION...]``.

=========  ==========  ==============================================================
kind       size        options
=========  ==========  ==============================================================
lstm       units       ``bi``, ``seq``, ``peephole``, ``proj=P``
gru        units       ``bi``, ``seq``, ``reset_before`` (reset_after=False)
rnn        units       ``bi``, ``seq``, ``relu`` or ``tanh``
dense      units       ``relu``, ``tanh``, ``sigmoid``, ``softmax``
dropout    rate
=========  ==========  ==============================================================

A recurrent layer followed (through dropout) by another recurrent layer returns its
whole sequence; otherwise it returns the last step unless ``seq`` is given.
"""

from __future__ import annotations

from lstmkit.layers import GRU, LSTM, RNN, Dense, Dropout
from lstmkit.layers.base import Layer
from lstmkit.models.sequential import Sequential

RECURRENT = {"lstm": LSTM, "gru": GRU, "rnn": RNN}
OPTIONS = {
    "lstm": ("bi", "seq", "peephole", "proj=P"),
    "gru": ("bi", "seq", "reset_before"),
    "rnn": ("bi", "seq", "relu", "tanh"),
    "dense": ("relu", "tanh", "sigmoid", "softmax"),
    "dropout": (),
}
EXAMPLE = "lstm:64,lstm:32,dense:1"


def _fail(item: str, why: str) -> ValueError:
    return ValueError(f"layer spec {item!r}: {why} (example: {EXAMPLE})")


def _size(item: str, text: str, kind: str) -> int | float:
    try:
        if kind == "dropout":
            rate = float(text)
            if not 0 <= rate < 1:
                raise ValueError
            return rate
        value = int(text)
        if value < 1:
            raise ValueError
        return value
    except ValueError:
        what = "a rate in [0, 1)" if kind == "dropout" else "a whole number of units >= 1"
        raise _fail(item, f"size must be {what}, got {text!r}") from None


def _parse_one(item: str) -> tuple[str, dict]:
    parts = [p.strip() for p in item.split(":")]
    kind = parts[0].lower()
    if kind not in OPTIONS:
        raise _fail(item, f"unknown layer kind {parts[0]!r}; use one of {', '.join(OPTIONS)}")
    if len(parts) < 2 or not parts[1]:
        raise _fail(item, "give a size after the kind, as in lstm:64")
    size = _size(item, parts[1], kind)
    kwargs: dict = {}
    for opt in parts[2:]:
        key = opt.lower()
        if kind in RECURRENT and key == "bi":
            kwargs["bidirectional"] = True
        elif kind in RECURRENT and key == "seq":
            kwargs["return_sequences"] = True
        elif kind == "lstm" and key == "peephole":
            kwargs["peephole"] = True
        elif kind == "lstm" and key.startswith("proj="):
            kwargs["proj_size"] = _size(item, key[5:], "lstm")
        elif kind == "gru" and key == "reset_before":
            kwargs["reset_after"] = False
        elif kind == "rnn" and key in ("relu", "tanh"):
            kwargs["activation"] = key
        elif kind == "dense" and key in OPTIONS["dense"]:
            kwargs["activation"] = key
        else:
            allowed = ", ".join(OPTIONS[kind]) or "none"
            raise _fail(item, f"unknown option {opt!r} for {kind} (options: {allowed})")
    key = "rate" if kind == "dropout" else "units"
    return kind, {key: size, **kwargs}


def layers_from_spec(spec: str) -> list[Layer]:
    """Layers described by ``spec`` (see the module docstring), not yet built."""
    items = [s.strip() for s in str(spec).split(",")]
    if not spec or not any(items):
        raise _fail(str(spec), "the spec is empty")
    if "" in items:
        raise _fail(spec, "an empty item between commas")
    parsed = [_parse_one(item) for item in items]
    layers: list[Layer] = []
    for k, (kind, kw) in enumerate(parsed):
        if kind in RECURRENT:
            later = [p[0] for p in parsed[k + 1 :] if p[0] != "dropout"]
            if later and later[0] in RECURRENT:
                kw["return_sequences"] = True
            layers.append(RECURRENT[kind](kw.pop("units"), **kw))
        elif kind == "dense":
            layers.append(Dense(kw.pop("units"), **kw))
        else:
            layers.append(Dropout(kw["rate"]))
    return layers


def model_from_spec(
    spec: str, input_size: int, *, seed: int = 0, allocate: bool = True
) -> Sequential:
    """A freshly initialised :class:`Sequential` from a compact spec.

    Parameters
    ----------
    spec : str, e.g. ``"lstm:64:bi,gru:32,dense:1"``
    input_size : features ``D`` per time step.
    seed : weight initialisation seed.
    allocate : False builds the architecture only (weights as zero-size views), which is
        all the cost analyzer reads: any size can be analyzed without memory for it.
    """
    return Sequential(layers_from_spec(spec), input_size=input_size, seed=seed,
                      allocate=allocate)  # fmt: skip
