"""Gate orders of every framework, in one place (docs/conventions.md's layout table).

Canonical lstmkit blocks: LSTM ``[i | f | o | g]``, GRU ``[r | z | n]``. Each framework's
order is written as the canonical indices of its blocks, so converting is taking row
blocks in that order (to the framework) or in the inverse order (from it).

======================  ============  ===========================================
framework               LSTM          GRU
======================  ============  ===========================================
lstmkit (canonical)     i, f, o, g    r, z, n
PyTorch                 i, f, g, o    r, z, n
Keras                   i, f, c, o    z, r, h
ONNX                    i, o, f, c    z, r, h
======================  ============  ===========================================
"""

from __future__ import annotations

import numpy as np

CANONICAL = {"lstm": ("i", "f", "o", "g"), "gru": ("r", "z", "n")}
# Each framework's block order in canonical names (Keras and ONNX call g "c" and n "h").
ORDERS = {
    "torch": {"lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")},
    "keras": {"lstm": ("i", "f", "g", "o"), "gru": ("z", "r", "n")},
    "onnx": {"lstm": ("i", "o", "f", "g"), "gru": ("z", "r", "n")},
}
#: ONNX's peephole vector ``P`` is ordered i, o, f; lstmkit's ``peepholes`` i, f, o.
ONNX_PEEPHOLES = ("i", "o", "f")


def _blocks(arr: np.ndarray, n: int, axis: int) -> list[np.ndarray]:
    if arr.shape[axis] % n:
        raise ValueError(f"a gate axis of size {arr.shape[axis]} does not split into {n} blocks")
    return np.split(arr, n, axis=axis)


def reorder(arr: np.ndarray, src: tuple[str, ...], dst: tuple[str, ...], axis: int = 0):
    """Gate blocks of ``arr`` along ``axis`` from the order ``src`` to the order ``dst``."""
    blocks = dict(zip(src, _blocks(np.asarray(arr), len(src), axis), strict=True))
    return np.concatenate([blocks[name] for name in dst], axis=axis)


def to_framework(arr: np.ndarray, cell: str, framework: str, axis: int = 0) -> np.ndarray:
    """Canonical gate blocks → ``framework``'s order."""
    return reorder(arr, CANONICAL[cell], ORDERS[framework][cell], axis)


def from_framework(arr: np.ndarray, cell: str, framework: str, axis: int = 0) -> np.ndarray:
    """``framework``'s gate blocks → canonical order."""
    return reorder(arr, ORDERS[framework][cell], CANONICAL[cell], axis)


def peepholes_to_onnx(p: np.ndarray) -> np.ndarray:
    return reorder(p, ("i", "f", "o"), ONNX_PEEPHOLES)


def peepholes_from_onnx(p: np.ndarray) -> np.ndarray:
    return reorder(p, ONNX_PEEPHOLES, ("i", "f", "o"))
