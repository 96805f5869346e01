"""Time-axis helpers for recurrent layers: reading the valid part backwards, masks."""

from __future__ import annotations

import numpy as np


def reverse_valid(x: np.ndarray, lengths: np.ndarray | None) -> np.ndarray:
    """Reverse each sequence's first ``lengths[b]`` steps; padding stays where it is.

    The bidirectional layer's reverse direction reads this, so it starts at each
    sequence's last valid step and never sees padding (SPEC, "A layer over a sequence").
    The map is its own inverse.

    Parameters
    ----------
    x : ndarray, shape (B, T, ...)
    lengths : array of int, shape (B,), or None (every sequence has T steps)

    Returns
    -------
    ndarray, shape (B, T, ...), a new array
    """
    if lengths is None:
        return np.ascontiguousarray(x[:, ::-1])
    B, T = x.shape[:2]
    t = np.arange(T)[None, :]
    L = np.asarray(lengths)[:, None]
    idx = np.where(t < L, L - 1 - t, t)  # (B, T)
    return x[np.arange(B)[:, None], idx]


def valid_mask(lengths: np.ndarray | None, B: int, T: int) -> np.ndarray:
    """``(B, T)`` bool, True at each sequence's valid steps."""
    if lengths is None:
        return np.ones((B, T), bool)
    return np.arange(T)[None, :] < np.asarray(lengths)[:, None]
