"""Invertible transforms of a series, fitted on the training part only.

The target goes through, in order: an optional log, optional seasonal differencing
``v_t − v_{t−m}``, optional first differencing, then scaling (standard or min-max).
Scaling is the only step with fitted numbers, and :meth:`SeriesTransform.fit` computes
them from the part it is given and nothing else, so data after it (validation, test)
cannot leak into them. Differencing loses the first ``offset = m + d`` steps; inverting a
forecast needs the raw history up to the forecast origin, which it rebuilds from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SCALINGS = ("standard", "minmax", "none")


def _check_series(name: str, y) -> np.ndarray:
    arr = np.asarray(y, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D series, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = np.flatnonzero(~np.isfinite(arr))
        raise ValueError(
            f"{name}: the series has {bad.size} missing or infinite value(s), the first at "
            f"position {bad[0]}; fill them first"
        )
    return arr


@dataclass
class SeriesTransform:
    """log → seasonal difference → difference → scaling, and back.

    Parameters
    ----------
    log : take ``log(y)`` first (every value must be positive).
    seasonal_period : ``m > 1`` applies ``v_t − v_{t−m}``; 0 or 1 skips it.
    difference : 0 or 1 first differences after that.
    scaling : ``"standard"`` (mean 0, std 1), ``"minmax"`` (to [0, 1]) or ``"none"``.

    Attributes (after :meth:`fit`)
    ------------------------------
    center_, scale_ : ``z = (u − center_) / scale_``.
    """

    log: bool = False
    seasonal_period: int = 0
    difference: int = 0
    scaling: str = "standard"

    def __post_init__(self) -> None:
        if self.scaling not in SCALINGS:
            raise ValueError(f"scaling must be one of {', '.join(SCALINGS)}, got {self.scaling!r}")
        if self.difference not in (0, 1):
            raise ValueError(f"difference must be 0 or 1, got {self.difference!r}")
        if int(self.seasonal_period) < 0:
            raise ValueError(f"seasonal_period must be >= 0, got {self.seasonal_period!r}")

    @property
    def m(self) -> int:
        return int(self.seasonal_period) if self.seasonal_period and self.seasonal_period > 1 else 0

    @property
    def offset(self) -> int:
        """Leading steps lost to differencing."""
        return self.m + self.difference

    # -- the unscaled steps ---------------------------------------------------------------
    def _log(self, y: np.ndarray) -> np.ndarray:
        if not self.log:
            return y
        if np.any(y <= 0):
            raise ValueError(
                f"the log transform needs positive values; {int(np.sum(y <= 0))} value(s) are "
                "<= 0 (turn the log off)"
            )
        return np.log(y)

    def _differenced(self, y: np.ndarray) -> np.ndarray:
        """Log and differences of ``y (N,)`` → ``(N − offset,)``."""
        u = self._log(y)
        if self.m:
            u = u[self.m :] - u[: -self.m]
        if self.difference:
            u = np.diff(u)
        return u

    # -- fit / transform / inverse --------------------------------------------------------
    def fit(self, y_train) -> SeriesTransform:
        """Fit the scaling on the training part ``y_train (N,)`` only."""
        y = _check_series("fit", y_train)
        if y.size <= self.offset:
            raise ValueError(
                f"fit: {y.size} steps leave nothing after differencing ({self.offset} steps lost)"
            )
        u = self._differenced(y)
        if self.scaling == "standard":
            center, scale = float(u.mean()), float(u.std())
        elif self.scaling == "minmax":
            center, scale = float(u.min()), float(u.max() - u.min())
        else:
            center, scale = 0.0, 1.0
        self.center_ = center
        self.scale_ = scale if scale > 0 else 1.0  # a constant series: shift only
        return self

    def transform(self, y) -> np.ndarray:
        """``y (N,)`` → ``z (N − offset,)``; ``z[i]`` belongs to step ``i + offset``."""
        y = _check_series("transform", y)
        return (self._differenced(y) - self.center_) / self.scale_

    def inverse(self, z_future, history) -> np.ndarray:
        """Transformed forecasts of the steps after ``history`` → forecasts in the units of
        ``history``.

        Parameters
        ----------
        z_future : array, shape (..., H): transformed values of the next ``H`` steps.
        history : array, shape (N,): the raw series up to the forecast origin
            (``N >= offset``).

        Returns
        -------
        ndarray, shape (..., H)
        """
        z = np.asarray(z_future, dtype=np.float64)
        hist = _check_series("inverse", history)
        if hist.size < max(self.offset, 1):
            raise ValueError(f"inverse: need at least {max(self.offset, 1)} steps of history")
        d = z * self.scale_ + self.center_
        v_hist = self._log(hist)
        if self.difference:
            u_hist = v_hist[self.m :] - v_hist[: -self.m] if self.m else v_hist
            d = u_hist[-1] + np.cumsum(d, axis=-1)
        if self.m:
            H = d.shape[-1]
            v = np.concatenate(
                [np.broadcast_to(v_hist[-self.m :], (*d.shape[:-1], self.m)), d], axis=-1
            )
            for k in range(H):
                v[..., self.m + k] += v[..., k]
            d = v[..., self.m :]
        return np.exp(d) if self.log else d


@dataclass
class ColumnScaler:
    """Standard scaling of covariate columns, fitted on the training part only."""

    def fit(self, X_train) -> ColumnScaler:
        X = np.asarray(X_train, dtype=np.float64)
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        self.std_ = np.where(std > 0, std, 1.0)
        return self

    def transform(self, X) -> np.ndarray:
        return (np.asarray(X, dtype=np.float64) - self.mean_) / self.std_
