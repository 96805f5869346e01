"""Sliding windows: a series to ``X (samples, lag, features)`` and ``Y (samples, horizon)``.

Alignment (the fourth seed's lag/horizon picture). With ``N`` time steps, window ``s``
reads the ``lag`` steps ``[t, t + lag)`` and its targets are the next ``horizon`` steps
``[t + lag, t + lag + horizon)`` of the target column, never overlapping the inputs.
Windows are aligned to the **end** of the series: the last window's targets end at the
last step, and each earlier window starts ``stride`` steps before the next, so the most
recent data is always used whatever the stride::

    t_s = N − lag − horizon − (S − 1 − s)·stride,   S = (N − lag − horizon) // stride + 1
"""

from __future__ import annotations

import numpy as np


def n_windows(N: int, lag: int, horizon: int, stride: int = 1) -> int:
    """How many windows a series of ``N`` steps gives (0 when it is too short)."""
    if N < lag + horizon:
        return 0
    return (N - lag - horizon) // stride + 1


def make_windows(
    values: np.ndarray,
    lag: int,
    horizon: int,
    *,
    target: int = 0,
    stride: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Cut ``values`` into input and target windows.

    Parameters
    ----------
    values : array, shape (N,) or (N, F)
        One series, or a table whose column ``target`` is the series to forecast and
        whose other columns are covariates (inputs only).
    lag : int
        Input steps per window.
    horizon : int
        Target steps per window.
    target : int
        Column of the target in a table.
    stride : int
        Steps between consecutive windows.

    Returns
    -------
    X : ndarray, shape (S, lag, F)  (F = 1 for a series)
    Y : ndarray, shape (S, horizon)
    """
    for name, v in (("lag", lag), ("horizon", horizon), ("stride", stride)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise ValueError(f"make_windows: {name} must be a whole number >= 1, got {v!r}")
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"make_windows: values must have shape (N,) or (N, F), got {arr.shape}")
    N, F = arr.shape
    if not 0 <= target < F:
        raise ValueError(f"make_windows: target column {target} is out of range for {F} columns")
    S = n_windows(N, lag, horizon, stride)
    if S == 0:
        raise ValueError(
            f"make_windows: a series of {N} steps is too short for lag {lag} + horizon "
            f"{horizon} = {lag + horizon} steps"
        )
    starts = N - lag - horizon - stride * np.arange(S - 1, -1, -1)  # (S,), ascending
    X = arr[starts[:, None] + np.arange(lag)[None, :]]  # (S, lag, F)
    Y = arr[starts[:, None] + lag + np.arange(horizon)[None, :], target]  # (S, horizon)
    return X, Y


def last_window(values: np.ndarray, lag: int) -> np.ndarray:
    """The input window that ends at the last step: shape ``(1, lag, F)``."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.shape[0] < lag:
        raise ValueError(f"last_window: need at least lag = {lag} steps, got {arr.shape[0]}")
    return arr[None, arr.shape[0] - lag :]


def window_levels(u: np.ndarray, origins: np.ndarray, lag: int, normalize: str) -> np.ndarray:
    """The level ``(S,)`` each window of ``u (N,)`` is expressed against: the last input
    value (``"last"``) or the mean of the window's inputs (``"mean"``)."""
    o = np.asarray(origins, dtype=np.int64)
    if normalize == "last":
        return u[o - 1]
    if normalize != "mean":
        raise ValueError(f"normalize must be 'last' or 'mean', got {normalize!r}")
    csum = np.concatenate([[0.0], np.cumsum(u)])
    lengths = np.minimum(o, lag)
    return (csum[o] - csum[o - lengths]) / lengths


def origin_windows(
    feats: np.ndarray,
    origins: np.ndarray,
    lag: int,
    horizon: int,
    *,
    targets: bool = True,
    normalize: str = "last",
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Windows that end at given forecast origins, shorter than ``lag`` where the series
    is, normalized by their level.

    Window ``s`` reads the ``ℓ_s = min(lag, origins[s])`` steps before its origin
    ``o_s`` and targets the ``horizon`` steps from ``o_s`` on. Column 0 of ``feats`` is
    the (transformed) target; it is expressed relative to the window's level
    (:func:`window_levels`: its last input value, or the mean of its inputs), in inputs and
    targets alike, so every window's future is measured from 0 whatever the series'
    level. Other columns (covariates) are copied as they are. Short windows are padded at
    the end with zeros: feed ``lengths`` to the model.

    Parameters
    ----------
    feats : ndarray (N, F)
    origins : ndarray (S,) of ints in ``1..N`` (``1..N − horizon`` with ``targets``)
    lag, horizon : int
    targets : whether to build ``Y`` (forecasting from the last origin has none)
    normalize : "last" or "mean" (:func:`window_levels`)

    Returns
    -------
    X : ndarray (S, lag, F), zero past each window's length
    lengths : ndarray (S,) int64, ``ℓ_s``
    Y : ndarray (S, horizon), or None without ``targets``
    """
    o = np.asarray(origins, dtype=np.int64)
    lengths = np.minimum(o, lag)
    pos = (o - lengths)[:, None] + np.arange(lag)[None, :]  # (S, lag)
    valid = np.arange(lag)[None, :] < lengths[:, None]
    X = feats[np.where(valid, pos, 0)]  # (S, lag, F)
    level = window_levels(feats[:, 0], o, lag, normalize)  # (S,)
    X[..., 0] -= level[:, None]
    X[~valid] = 0.0
    Y = None
    if targets:
        Y = feats[o[:, None] + np.arange(horizon)[None, :], 0] - level[:, None]
    return X, lengths, Y
