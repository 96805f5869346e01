"""``Forecaster``: a recurrent network that reads the last ``lag`` steps and predicts the
next ``horizon``, with scikit-learn's estimator manners.

How ``fit`` works, for each series (one model is fitted over all of them):

1. The last ``validation`` steps are the validation part; the transforms
   (:class:`~lstmkit.forecast.transforms.SeriesTransform`) are fitted on the part before
   it only.
2. The transformed series (plus scaled covariates) is cut into windows
   (:func:`~lstmkit.forecast.windows.make_windows`); windows whose targets lie entirely
   in the training part train, windows whose targets lie entirely in the validation part
   validate (early stopping).
3. Each ensemble member is trained with early stopping, then forecasts the validation
   part from every origin there: the residuals (truth − forecast, in the series' units)
   give the prediction intervals, per step ahead, as empirical quantiles.
4. With ``refit=True`` (default) each member is retrained from scratch on every window
   for the number of epochs early stopping chose, so the latest data shapes the weights.

``strategy="direct"`` predicts all ``horizon`` steps at once (a Dense head of that size);
``"recursive"`` predicts one step and feeds it back ``horizon`` times.
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from lstmkit.forecast.transforms import ColumnScaler, SeriesTransform
from lstmkit.forecast.windows import make_windows
from lstmkit.layers import GRU, LSTM, RNN, Dense, Dropout
from lstmkit.models.sequential import Sequential
from lstmkit.training.callbacks import EarlyStopping

CELLS = {"lstm": LSTM, "gru": GRU, "rnn": RNN}
STRATEGIES = ("direct", "recursive")


class ForecastWarning(UserWarning):
    """Something about the data the user should know (e.g. a constant series)."""


@dataclass(frozen=True)
class Forecast:
    """Forecast of one series: the next ``H`` steps after its last value.

    Attributes
    ----------
    mean : ndarray (H,), the point forecast (ensemble mean).
    lower, upper : ndarray (H,), the prediction interval at ``level``.
    level : coverage the interval aims at, e.g. 0.9.
    members : ndarray (E, H), each ensemble member's forecast.
    """

    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    level: float
    members: np.ndarray


def _as_series_list(y: Any, name: str) -> tuple[list[np.ndarray], bool]:
    """One series or a list of series → list of float arrays, and whether it was a list."""
    if isinstance(y, list | tuple) and len(y) and np.ndim(y[0]) >= 1:
        items, many = list(y), True
    else:
        items, many = [y], False
    out = []
    for k, item in enumerate(items):
        arr = np.asarray(item, dtype=np.float64).reshape(-1)
        if not np.all(np.isfinite(arr)):
            bad = np.flatnonzero(~np.isfinite(arr))
            where = f"series {k}, " if many else ""
            raise ValueError(
                f"{name}: {bad.size} missing or infinite value(s) ({where}first at position "
                f"{bad[0]}); fill them first"
            )
        out.append(arr)
    return out, many


class Forecaster:
    """Recurrent forecaster with baselines-friendly, scikit-learn-style manners.

    Parameters
    ----------
    lag : input steps per window.
    horizon : steps forecast.
    cell : "lstm", "gru" or "rnn".
    hidden_size : units per recurrent layer.
    layers : stacked recurrent layers.
    strategy : "direct" (one output per step ahead, default) or "recursive".
    ensemble : members trained with seeds ``seed, seed + 1, ...``; the forecast is their mean.
    season : season length ``m`` (12 for monthly data); used by ``seasonal_difference``.
    log, seasonal_difference, difference, scaling : the target transforms (transforms.py);
        ``log="auto"`` (default) takes logs when every value of every series is positive.
        The defaults (log, first differences, standard scaling) keep trends from turning
        into flat forecasts.
    validation : steps at the end of each series used for early stopping and the
        intervals (default ``2·horizon``).
    epochs, batch_size, lr, patience, dropout : training settings.
    refit : retrain on all windows for the chosen number of epochs.
    level : coverage of the prediction intervals.
    seed : seeds initialisation and shuffling (same seed, same forecast).
    verbose : 0 silent, 1 a progress bar per member.

    Attributes (learned, set by :meth:`fit`)
    ----------------------------------------
    models_ : list of Sequential, one per ensemble member.
    transforms_ : list of SeriesTransform, one per series.
    scalers_ : list of ColumnScaler or None, one per series (covariates).
    series_ : list of the training series (the forecast starts after each one's end).
    covariates_ : list of covariate arrays or None.
    residuals_ : list of ndarray (origins, horizon), one per series: truth − ensemble-mean
        forecast from each origin in the validation part (before any refit).
    histories_ : list of History, the early-stopping run of each member.
    best_epochs_ : list of int, epochs each member was (re)trained for.
    n_features_in_ : input features per step (1 + covariates).
    """

    def __init__(
        self,
        lag: int = 24,
        horizon: int = 12,
        *,
        cell: str = "lstm",
        hidden_size: int = 16,
        layers: int = 1,
        strategy: str = "direct",
        ensemble: int = 5,
        season: int = 1,
        log: bool | str = "auto",
        seasonal_difference: bool = False,
        difference: int = 1,
        scaling: str = "standard",
        validation: int | None = None,
        epochs: int = 300,
        batch_size: int = 16,
        lr: float = 3e-3,
        patience: int = 30,
        dropout: float = 0.0,
        refit: bool = True,
        level: float = 0.9,
        seed: int = 0,
        verbose: int = 0,
    ) -> None:
        self.lag = lag
        self.horizon = horizon
        self.cell = cell
        self.hidden_size = hidden_size
        self.layers = layers
        self.strategy = strategy
        self.ensemble = ensemble
        self.season = season
        self.log = log
        self.seasonal_difference = seasonal_difference
        self.difference = difference
        self.scaling = scaling
        self.validation = validation
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.patience = patience
        self.dropout = dropout
        self.refit = refit
        self.level = level
        self.seed = seed
        self.verbose = verbose

    # -- scikit-learn manners -----------------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor arguments (``deep`` is accepted for scikit-learn)."""
        return {k: getattr(self, k) for k in self._param_names()}

    def set_params(self, **params: Any) -> Forecaster:
        """Change constructor arguments; returns self."""
        names = set(self._param_names())
        for k, v in params.items():
            if k not in names:
                raise ValueError(f"Forecaster: unknown parameter {k!r}; known: {sorted(names)}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        defaults = type(self)().get_params()
        changed = {k: v for k, v in self.get_params().items() if defaults[k] != v}
        return f"Forecaster({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    # -- configuration checks -----------------------------------------------------------
    def check_params(self) -> None:
        """Raise ValueError naming the first invalid constructor argument."""
        for k in (
            "lag",
            "horizon",
            "hidden_size",
            "layers",
            "ensemble",
            "season",
            "epochs",
            "batch_size",
            "patience",
        ):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
                raise ValueError(f"Forecaster: {k} must be a whole number >= 1, got {v!r}")
        if self.cell not in CELLS:
            raise ValueError(
                f"Forecaster: cell must be one of {', '.join(CELLS)}, got {self.cell!r}"
            )
        if self.strategy not in STRATEGIES:
            raise ValueError(
                f"Forecaster: strategy must be 'direct' or 'recursive', got {self.strategy!r}"
            )
        if not 0 < self.level < 1:
            raise ValueError(f"Forecaster: level must be in (0, 1), got {self.level!r}")
        if self.log not in (True, False, "auto"):
            raise ValueError(f"Forecaster: log must be True, False or 'auto', got {self.log!r}")
        if self.seasonal_difference and self.season < 2:
            raise ValueError(
                "Forecaster: seasonal_difference needs season >= 2 (e.g. 12 for monthly data)"
            )

    @property
    def validation_steps(self) -> int:
        return 2 * self.horizon if self.validation is None else int(self.validation)

    def _uses_log(self, series: list[np.ndarray] | None = None) -> bool:
        if self.log == "auto":
            series = series if series is not None else getattr(self, "series_", [])
            return bool(series) and all(np.all(s > 0) for s in series)
        return bool(self.log)

    def _transform(self, series: list[np.ndarray] | None = None) -> SeriesTransform:
        return SeriesTransform(
            log=self._uses_log(series),
            seasonal_period=self.season if self.seasonal_difference else 0,
            difference=self.difference,
            scaling=self.scaling,
        )

    @property
    def differencing_steps(self) -> int:
        """Leading steps the differencing transforms use up."""
        return self._transform().offset

    def min_length(self) -> int:
        """Shortest series ``fit`` accepts: differencing, one training window, validation."""
        return self.differencing_steps + self.lag + self.horizon + self.validation_steps

    # -- data preparation ---------------------------------------------------------------
    def _features(self, k: int, y: np.ndarray, cov: np.ndarray | None) -> np.ndarray:
        """Transformed target (and scaled covariates) of series ``k``: ``(N − offset, F)``."""
        z = self.transforms_[k].transform(y)[:, None]
        if cov is None:
            return z
        return np.concatenate(
            [z, self.scalers_[k].transform(cov)[self.transforms_[k].offset :]], axis=1
        )

    def _windows(self, feats: np.ndarray, split: int):
        """Training and validation windows of one series' features ``(M, F)``; ``split`` is
        the first step (in feature rows) of the validation part."""
        out_h = self.horizon if self.strategy == "direct" else 1
        X, Y = make_windows(feats, self.lag, out_h)
        ends = feats.shape[0] - np.arange(X.shape[0] - 1, -1, -1)  # exclusive target ends
        starts = ends - out_h
        train, val = ends <= split, starts >= split
        return (X[train], Y[train]), (X[val], Y[val])

    def _build(self, n_features: int, seed: int) -> Sequential:
        Cell = CELLS[self.cell]
        layers: list = []
        for k in range(self.layers):
            layers.append(Cell(self.hidden_size, return_sequences=k < self.layers - 1))
            if self.dropout:
                layers.append(Dropout(self.dropout))
        layers.append(Dense(self.horizon if self.strategy == "direct" else 1))
        return Sequential(layers, input_size=n_features, seed=seed, name=f"forecaster_{self.cell}")

    # -- fit ----------------------------------------------------------------------------
    def fit(self, y: Any, covariates: Any = None) -> Forecaster:
        """Fit on one series ``(N,)`` or a list of series (one global model).

        Parameters
        ----------
        y : array (N,), or list of arrays (N_k,)
        covariates : array (N, C) aligned with ``y`` (a list of them for a list of series),
            optional; used as inputs over the lag window only (past covariates).

        Returns
        -------
        self
        """
        self.check_params()
        series, many = _as_series_list(y, "fit")
        covs = self._covariates(covariates, series, many)
        if covs[0] is not None and self.strategy == "recursive":
            raise ValueError(
                "Forecaster: the recursive strategy cannot use covariates (their "
                "future values are unknown); use strategy='direct'"
            )
        need = self.min_length()
        for k, s in enumerate(series):
            if s.size < need:
                where = f"series {k} has" if many else "the series has"
                raise ValueError(
                    f"{where} {s.size} steps; lag {self.lag} + horizon {self.horizon} + "
                    f"validation {self.validation_steps} + differencing "
                    f"{self.differencing_steps} need at least {need}"
                )
            if np.ptp(s) == 0:
                warnings.warn(
                    "the series is constant; every forecast will be that constant",
                    ForecastWarning,
                    stacklevel=2,
                )
        V = self.validation_steps
        self.series_, self.covariates_ = series, covs
        self.transforms_, self.scalers_ = [], []
        train_sets, val_sets = [], []
        for s, c in zip(series, covs, strict=True):
            t = self._transform(series).fit(s[: s.size - V])  # never sees the validation part
            self.transforms_.append(t)
            self.scalers_.append(None if c is None else ColumnScaler().fit(c[: s.size - V]))
            feats = self._features(len(self.transforms_) - 1, s, c)
            tr, va = self._windows(feats, feats.shape[0] - V)
            train_sets.append(tr)
            val_sets.append(va)
        X = np.concatenate([t[0] for t in train_sets])
        Y = np.concatenate([t[1] for t in train_sets])
        Xv = np.concatenate([v[0] for v in val_sets])
        Yv = np.concatenate([v[1] for v in val_sets])
        self.n_features_in_ = X.shape[-1]
        self.models_, self.histories_, self.best_epochs_ = [], [], []
        forecasts = []  # per member: per series, (origins, H) validation forecasts
        for member in range(self.ensemble):
            seed = self.seed + member
            model = self._build(self.n_features_in_, seed)
            history = model.fit(
                X,
                Y,
                epochs=self.epochs,
                batch_size=self.batch_size,
                lr=self.lr,
                validation_data=(Xv, Yv) if len(Xv) else None,
                early_stopping=EarlyStopping(patience=self.patience),
                seed=seed,
                verbose=self.verbose,
            )
            self.histories_.append(history)
            best = (history.best_epoch or 0) + 1
            self.models_.append(model)
            forecasts.append(self._validation_forecasts(member))
            if self.refit:
                model = self._build(self.n_features_in_, seed)
                allX = np.concatenate([X, Xv]) if len(Xv) else X
                allY = np.concatenate([Y, Yv]) if len(Yv) else Y
                model.fit(
                    allX,
                    allY,
                    epochs=best,
                    batch_size=self.batch_size,
                    lr=self.lr,
                    seed=seed,
                    verbose=self.verbose,
                )
                self.models_[member] = model
            self.best_epochs_.append(best)
        self.residuals_ = [
            truth - np.mean([f[k] for f in forecasts], axis=0)  # the ensemble mean's errors
            for k, truth in enumerate(self._validation_truth())
        ]
        return self

    def _covariates(self, covariates, series, many):
        if covariates is None:
            return [None] * len(series)
        items = list(covariates) if many else [covariates]
        if len(items) != len(series):
            raise ValueError(f"fit: {len(series)} series but {len(items)} covariate tables")
        out = []
        for s, c in zip(series, items, strict=True):
            arr = np.asarray(c, dtype=np.float64)
            arr = arr[:, None] if arr.ndim == 1 else arr
            if arr.shape[0] != s.size:
                raise ValueError(f"fit: covariates have {arr.shape[0]} rows, the series {s.size}")
            if not np.all(np.isfinite(arr)):
                raise ValueError("fit: covariates contain missing or infinite values")
            out.append(arr)
        return out

    def _origins(self, s: np.ndarray) -> range:
        """Forecast origins inside the validation part: the forecast covers it entirely."""
        return range(s.size - self.validation_steps, s.size - self.horizon + 1)

    def _validation_truth(self) -> list[np.ndarray]:
        H = self.horizon
        return [
            np.array([s[o : o + H] for o in self._origins(s)]).reshape(-1, H) for s in self.series_
        ]

    def _validation_forecasts(self, member: int) -> list[np.ndarray]:
        """One member's forecasts from every validation origin, per series ``(origins, H)``."""
        out = []
        for k, s in enumerate(self.series_):
            cov = self.covariates_[k]
            rows = [
                self._member_forecast(member, k, s[:o], None if cov is None else cov[:o])
                for o in self._origins(s)
            ]
            out.append(np.array(rows).reshape(-1, self.horizon))
        return out

    # -- predict ------------------------------------------------------------------------
    def _member_forecast(self, member: int, k: int, history: np.ndarray, cov) -> np.ndarray:
        """One member's forecast ``(H,)`` of the steps after ``history`` (series ``k``'s
        transforms)."""
        model = self.models_[member]
        feats = self._features(k, history, cov)
        if feats.shape[0] < self.lag:
            raise ValueError(
                f"predict: need at least {self.lag + self.transforms_[k].offset} steps of history, "
                f"got {history.size}"
            )
        window = feats[None, -self.lag :]
        if self.strategy == "direct":
            z = model.predict(window)[0]
        else:
            z = np.empty(self.horizon)
            for step in range(self.horizon):
                z[step] = model.predict(window)[0, 0]
                window = np.concatenate([window[:, 1:], [[[z[step]]]]], axis=1)
        return self.transforms_[k].inverse(z, history)

    def predict(self, y: Any = None, covariates: Any = None, *, level: float | None = None):
        """Forecast the ``horizon`` steps after the end of each training series, or after
        the end of ``y`` when given (same number of series as in ``fit``).

        Returns
        -------
        Forecast, or a list of them when ``fit`` was given a list.
        The interval: the point forecast plus the empirical ``(1 − level)/2`` and
        ``(1 + level)/2`` quantiles of the validation residuals at each step ahead.
        """
        if not hasattr(self, "models_"):
            raise RuntimeError("Forecaster: call fit() before predict()")
        level = self.level if level is None else level
        if y is None:
            series, many, covs = self.series_, len(self.series_) > 1, self.covariates_
        else:
            series, many = _as_series_list(y, "predict")
            if len(series) != len(self.series_):
                raise ValueError(f"predict: fit saw {len(self.series_)} series, got {len(series)}")
            covs = self._covariates(covariates, series, many)
        lo_q, hi_q = (1 - level) / 2, (1 + level) / 2
        out = []
        for k, (s, c) in enumerate(zip(series, covs, strict=True)):
            members = np.array(
                [self._member_forecast(m, k, s, c) for m in range(len(self.models_))]
            )
            mean = members.mean(axis=0)
            res = self.residuals_[k]
            if len(res):
                lower = mean + np.quantile(res, lo_q, axis=0)
                upper = mean + np.quantile(res, hi_q, axis=0)
            else:
                lower = upper = mean.copy()
            out.append(Forecast(mean=mean, lower=lower, upper=upper, level=level, members=members))
        return out if many else out[0]
