"""Per-series preparation for the global forecaster: log, deseasonalization and a
scale, fitted on the part of the series the model may learn from, and their inverse.

``u_t = (log y_t or y_t) − s[t mod m]``, divided by ``scale`` (the mean absolute step
change of the deseasonalized training part), so that every series of a panel reaches
the network in the same units: typical step changes. Windows then subtract their own
last level (:func:`~lstmkit.forecast.windows.origin_windows`); what the network learns
is the shape of the future relative to the present, the recipe of Smyl (2020) and
Hewamalage, Bergmeir and Bandara (2021).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstmkit.forecast.seasonality import is_seasonal, seasonal_indices


def mase_scale(y: np.ndarray, m: int) -> float:
    """In-sample MAE of the seasonal naive forecast of ``y (N,)`` (naive when ``m < 2`` or
    the series is shorter than two seasons); 1 for a constant or one-step series."""
    m = m if m > 1 and y.size > m else 1
    if y.size <= m:
        return 1.0
    s = float(np.mean(np.abs(y[m:] - y[:-m])))
    return s if s > 0 else 1.0


@dataclass
class SeriesPrep:
    """The fitted preparation of one series.

    Attributes
    ----------
    log : whether logs were taken (every value positive).
    indices : ndarray (m,) additive seasonal indices (of the logs when ``log``), or None.
    scale : divides the deseasonalized series.
    mase_scale : the raw series' in-sample seasonal-naive MAE (interval and MASE units).
    """

    log: bool
    indices: np.ndarray | None
    scale: float
    mase_scale: float

    @classmethod
    def fit(cls, y: np.ndarray, season: int, log: bool | str, deseasonalize: bool | str):
        """Fit on ``y (N,)``, the part of the series the model learns from."""
        use_log = bool(np.all(y > 0)) if log == "auto" else bool(log)
        if use_log and np.any(y <= 0):
            raise ValueError(
                f"log=True needs positive values; {int(np.sum(y <= 0))} value(s) are <= 0 "
                "(use log='auto' or log=False)"
            )
        v = np.log(y) if use_log else y
        indices = None
        if season > 1 and deseasonalize and v.size >= 2 * season:
            if deseasonalize != "auto" or is_seasonal(v, season):
                indices = seasonal_indices(v, season)
        prep = cls(use_log, indices, 1.0, mase_scale(y, season))
        u = prep._deseasonalized(v, 0)
        step = float(np.mean(np.abs(np.diff(u)))) if u.size > 1 else 0.0
        prep.scale = step if step > 0 else 1.0
        return prep

    def _season(self, start: int, n: int) -> np.ndarray:
        m = self.indices.size
        return self.indices[(start + np.arange(n)) % m]

    def _deseasonalized(self, v: np.ndarray, start: int) -> np.ndarray:
        return v if self.indices is None else v - self._season(start, v.size)

    def transform(self, y: np.ndarray) -> np.ndarray:
        """``y (N,)`` from the series' first step → ``u (N,)``."""
        v = np.log(y) if self.log else y
        return self._deseasonalized(v, 0) / self.scale

    def inverse(self, u_future: np.ndarray, start: int) -> np.ndarray:
        """``u (..., H)`` of steps ``start .. start + H − 1`` → the series' units."""
        v = np.asarray(u_future, dtype=np.float64) * self.scale
        if self.indices is not None:
            v = v + self._season(start, v.shape[-1])
        if self.log:
            # A forecast beyond float64's range is a diverged network, not a number.
            return np.exp(np.minimum(v, 700.0))
        return v

    def to_dict(self) -> dict:
        return {
            "log": self.log,
            "indices": None if self.indices is None else self.indices.tolist(),
            "scale": self.scale,
            "mase_scale": self.mase_scale,
        }

    @classmethod
    def from_dict(cls, d: dict) -> SeriesPrep:
        idx = d.get("indices")
        return cls(
            bool(d["log"]),
            None if idx is None else np.asarray(idx, dtype=np.float64),
            float(d["scale"]),
            float(d["mase_scale"]),
        )
