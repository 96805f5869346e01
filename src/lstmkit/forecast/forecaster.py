"""``Forecaster``: one global recurrent network over every series of a panel (a single
series is a panel of one), with scikit-learn's estimator manners.

The recipe is the one the forecasting record says works for recurrent networks (Smyl
2020; Hewamalage, Bergmeir & Bandara 2021):

1. Each series is prepared on its own (:class:`~lstmkit.forecast.prep.SeriesPrep`): log
   when every value is positive, classical deseasonalization when the season is known,
   the series is long enough and the 90 % autocorrelation test finds a season, and a
   scale (its mean absolute step change).
2. Windows are pooled from every series and normalized by their last input level
   (:func:`~lstmkit.forecast.windows.origin_windows`). A series shorter than ``lag``
   still gives windows, shorter ones, fed with their lengths (variable-length
   sequences), down to ``min_lag`` steps.
3. The last ``calibration`` origins of each series are held out (their windows target
   the last ``horizon + calibration − 1`` steps). Each ensemble member trains on the
   windows before them with early stopping on them; their forecasts give the
   validation residuals behind the conformal intervals
   (:mod:`~lstmkit.forecast.conformal`), pooled across series per step ahead.
4. With ``refit=True`` each member is retrained from scratch on every window for the
   number of epochs early stopping chose, so the latest data shapes the weights.

The network is ``LSTM(hidden_size) → Dense(horizon)``: all steps ahead at once (the
multi-input multi-output strategy those studies found best).
"""

from __future__ import annotations

import inspect
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from lstmkit.forecast.conformal import conformal_quantiles
from lstmkit.forecast.prep import SeriesPrep
from lstmkit.forecast.transforms import ColumnScaler
from lstmkit.forecast.windows import origin_windows, window_levels
from lstmkit.layers import GRU, LSTM, RNN, Dense, Dropout
from lstmkit.models.sequential import Sequential

CELLS = {"lstm": LSTM, "gru": GRU, "rnn": RNN}
#: Residuals wanted per step ahead: a single series gets up to ``horizon + 1`` origins,
#: a panel of 100 series or more gets one each.
CALIBRATION_TARGET = 100


class ForecastWarning(UserWarning):
    """Something about the data the user should know (e.g. a constant series)."""


class NotFittedError(ValueError, AttributeError):
    """The forecaster is used before ``fit`` (scikit-learn's convention)."""


@dataclass(frozen=True)
class Forecast:
    """Forecast of one series: the next ``H`` steps after its last value.

    Attributes
    ----------
    mean : ndarray (H,), the point forecast (ensemble mean); NaN for a series the model
        could not forecast (see ``Forecaster.skipped_``).
    lower, upper : ndarray (H,), the conformal prediction interval at ``level``.
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


def member_seeds(seed: int, n: int) -> list[int]:
    """``n`` independent seeds from ``seed``: different seeds share no member."""
    children = np.random.SeedSequence(int(seed)).spawn(n)
    return [int(c.generate_state(1, dtype=np.uint32)[0]) for c in children]


class Forecaster:
    """Global recurrent forecaster with scikit-learn-style manners (module docstring).

    Parameters
    ----------
    lag : most input steps per window; None (default) takes ``⌈1.25·max(horizon,
        season)⌉``, the rule of Hewamalage et al.
    horizon : steps forecast.
    cell : "lstm", "gru" or "rnn".
    hidden_size : units per recurrent layer.
    layers : stacked recurrent layers.
    ensemble : members, each with its own seed drawn from ``seed``; the forecast is their
        mean.
    season : season length ``m`` (12 for monthly data; 1 for none).
    log : True, False or "auto" (logs when every value of a series is positive).
    deseasonalize : True, False or "auto" (when the autocorrelation test finds a season).
    normalize : each window is measured from its last input value ("last") or from the
        mean of its inputs ("mean").
    min_lag : shortest window; series with fewer steps are skipped (``skipped_``).
        None takes ``max(2, lag // 4)``.
    calibration : validation origins per series (None: enough for about 100 residuals
        per step ahead over the panel, at most ``horizon + 1``).
    batch_size : windows per update; None takes ``n_windows // 8`` clipped to 16..256, so
        a large panel trains in batches of 256 and a single short series still gets about
        eight updates per epoch.
    epochs, lr, patience, loss, dropout : training settings.
    refit : retrain on all windows for the chosen number of epochs.
    level : coverage of the prediction intervals.
    seed : seeds initialisation and shuffling (same seed, same forecast, bit for bit).
    verbose : 0 silent, 1 a progress bar per member.

    Attributes (learned, set by :meth:`fit`)
    ----------------------------------------
    models_ : list of Sequential, one per ensemble member.
    preps_ : list of SeriesPrep, one per series.
    scalers_ : list of ColumnScaler or None, one per series (covariates).
    series_ : list of the training series (the forecast starts after each one's end).
    covariates_ : list of covariate arrays or None.
    residuals_ : list of ndarray (origins, horizon), one per series: truth − ensemble-mean
        forecast from each validation origin (before any refit), in the series' units.
    quantiles_ : ndarray (horizon,), the conformal half-widths in MASE units.
    histories_ : list of History, the early-stopping run of each member.
    best_epochs_ : list of int, epochs each member was (re)trained for.
    skipped_ : dict series index → reason, for series the model cannot forecast.
    lag_, min_lag_, calibration_, batch_size_ : the resolved settings.
    n_features_in_ : input features per step (1 + covariates).
    """

    def __init__(
        self,
        lag: int | None = None,
        horizon: int = 12,
        *,
        cell: str = "lstm",
        hidden_size: int = 16,
        layers: int = 1,
        ensemble: int = 5,
        season: int = 1,
        log: bool | str = "auto",
        deseasonalize: bool | str = "auto",
        normalize: str = "last",
        min_lag: int | None = None,
        calibration: int | None = None,
        epochs: int = 100,
        batch_size: int | None = None,
        lr: float = 1e-3,
        patience: int = 10,
        loss: str = "mae",
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
        self.ensemble = ensemble
        self.season = season
        self.log = log
        self.deseasonalize = deseasonalize
        self.normalize = normalize
        self.min_lag = min_lag
        self.calibration = calibration
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.patience = patience
        self.loss = loss
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
        optional = {"lag", "min_lag", "calibration", "batch_size"}
        for k in ("lag", "horizon", "hidden_size", "layers", "ensemble", "season", "min_lag",
                  "calibration", "epochs", "batch_size", "patience"):  # fmt: skip
            v = getattr(self, k)
            if v is None and k in optional:
                continue
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
                raise ValueError(f"Forecaster: {k} must be a whole number >= 1, got {v!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int | np.integer):
            raise ValueError(f"Forecaster: seed must be a whole number, got {self.seed!r}")
        if self.seed < 0:
            raise ValueError(f"Forecaster: seed must be >= 0, got {self.seed!r}")
        if self.cell not in CELLS:
            raise ValueError(
                f"Forecaster: cell must be one of {', '.join(CELLS)}, got {self.cell!r}"
            )
        if not 0 < self.level < 1:
            raise ValueError(f"Forecaster: level must be in (0, 1), got {self.level!r}")
        for k in ("log", "deseasonalize"):
            if getattr(self, k) not in (True, False, "auto"):
                raise ValueError(
                    f"Forecaster: {k} must be True, False or 'auto', got {getattr(self, k)!r}"
                )
        if not (isinstance(self.lr, float | int) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"Forecaster: lr must be a finite number > 0, got {self.lr!r}")
        if self.normalize not in ("last", "mean"):
            raise ValueError(
                f"Forecaster: normalize must be 'last' or 'mean', got {self.normalize!r}"
            )
        if self.loss not in ("mae", "mse", "huber"):
            raise ValueError(f"Forecaster: loss must be mae, mse or huber, got {self.loss!r}")

    def resolved_lag(self) -> int:
        """``lag``, or the default ``⌈1.25·max(horizon, season)⌉``."""
        if self.lag is not None:
            return int(self.lag)
        return math.ceil(1.25 * max(self.horizon, self.season))

    def resolved_batch_size(self, n_windows: int) -> int:
        """``batch_size``, or ``n_windows // 8`` clipped to 16..256."""
        if self.batch_size is not None:
            return int(self.batch_size)
        return int(np.clip(n_windows // 8, 16, 256))

    def resolved_min_lag(self) -> int:
        lag = self.resolved_lag()
        return min(lag, int(self.min_lag)) if self.min_lag is not None else max(2, lag // 4)

    def resolved_calibration(self, n_series: int) -> int:
        if self.calibration is not None:
            return int(self.calibration)
        return int(np.clip(math.ceil(CALIBRATION_TARGET / max(n_series, 1)), 1, self.horizon + 1))

    def min_length(self) -> int:
        """Shortest series the model forecasts: ``min_lag`` steps of history."""
        return self.resolved_min_lag()

    def _not_fitted(self) -> None:
        if not hasattr(self, "models_"):
            raise NotFittedError(
                "this Forecaster is not fitted yet; call fit() with the training series first"
            )

    # -- data preparation ---------------------------------------------------------------
    def _features(self, k: int, y: np.ndarray, cov: np.ndarray | None) -> np.ndarray:
        """Prepared target (and scaled covariates) of series ``k``: ``(N, F)``."""
        u = self.preps_[k].transform(y)[:, None]
        if cov is None:
            return u
        return np.concatenate([u, self.scalers_[k].transform(cov)], axis=1)

    def _build(self, n_features: int, seed: int, allocate: bool = True) -> Sequential:
        Cell = CELLS[self.cell]
        layers: list = []
        for k in range(self.layers):
            layers.append(Cell(self.hidden_size, return_sequences=k < self.layers - 1))
            if self.dropout:
                layers.append(Dropout(self.dropout))
        layers.append(Dense(self.horizon))
        return Sequential(layers, input_size=n_features, seed=seed, name=f"forecaster_{self.cell}",
                          allocate=allocate)  # fmt: skip

    @staticmethod
    def _stack(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]):
        parts = [p for p in parts if len(p[1])]
        if not parts:
            return None
        return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))

    # -- fit ----------------------------------------------------------------------------
    def _prepare(self, series, covs, many, V):
        """Fit each series' preparation on all but its last ``V`` steps and cut its
        training (targets before those), validation (origins among them) and full windows.
        Sets ``series_``, ``covariates_``, ``preps_``, ``scalers_`` and ``skipped_``."""
        H, L, Lmin = self.horizon, self.lag_, self.min_lag_
        self.series_, self.covariates_ = series, covs
        self.preps_, self.scalers_, self.skipped_ = [], [], {}
        train, val, full, val_origins = [], [], [], []
        nz = {"normalize": self.normalize}
        for k, (s, c) in enumerate(zip(series, covs, strict=True)):
            # What the preparation may see: everything before the validation targets,
            # or the whole series when it is too short to hold any back.
            cut = s.size - V if s.size - V >= Lmin else s.size
            self.preps_.append(SeriesPrep.fit(s[:cut], self.season, self.log, self.deseasonalize))
            self.scalers_.append(None if c is None else ColumnScaler().fit(c[:cut]))
            if s.size < Lmin:
                self.skipped_[k] = (
                    f"{s.size} steps, fewer than the {Lmin} the shortest window needs"
                )
                val_origins.append(np.zeros(0, np.int64))
                continue
            if np.ptp(s) == 0:
                warnings.warn(
                    f"{'series ' + str(k) if many else 'the series'} is constant; its "
                    "forecast is that constant",
                    ForecastWarning,
                    stacklevel=3,
                )
            feats = self._features(k, s, c)
            va_o = np.arange(max(s.size - V, Lmin), s.size - H + 1)
            train.append(origin_windows(feats, np.arange(Lmin, s.size - V - H + 1), L, H, **nz))
            val.append(origin_windows(feats, va_o, L, H, **nz))
            full.append(origin_windows(feats, np.arange(Lmin, s.size - H + 1), L, H, **nz))
            val_origins.append(va_o)
        return train, val, full, val_origins

    def fit(self, y: Any, covariates: Any = None, *, engine: Any = None) -> Forecaster:
        """Fit one global network on one series ``(N,)`` or a list of series.

        Parameters
        ----------
        y : array (N,), or list of arrays (N_k,)
        covariates : array (N, C) aligned with ``y`` (a list of them for a list of series),
            optional; inputs over the lag window only (past covariates).
        engine : where the ensemble members train, each as a task: None (this process),
            a ``dask.distributed.Client``, or an engine of :mod:`lstmkit.forecast.engine`.
            The same seed gives the same bits on any of them.

        Returns
        -------
        self
        """
        from lstmkit.forecast.engine import make_engine
        from lstmkit.forecast.shards import fit_global

        self.check_params()
        series, many = _as_series_list(y, "fit")
        covs = self._covariates(covariates, series, many)
        fit = fit_global(self, make_engine(engine or "local"), [(series, covs, many)],
                         len(series))  # fmt: skip
        return self._adopt(fit, make_engine(engine or "local"))

    def _adopt(self, fit, engine) -> Forecaster:
        """Take the fitted members and the one shard of ``fit`` (its series, preparations)."""
        shard = engine.gather(fit.shards[0])
        self.lag_, self.min_lag_, self.calibration_ = fit.resolved
        for name in ("series_", "covariates_", "preps_", "scalers_", "skipped_"):
            setattr(self, name, getattr(shard, name))
        self.n_features_in_, self.batch_size_ = fit.n_features, fit.batch_size
        self.models_, self.histories_ = fit.models, fit.histories
        self.best_epochs_ = list(fit.best_epochs)
        self.residuals_, self.quantiles_ = fit.residuals[0], fit.quantiles
        return self

    def _residuals(self, z: np.ndarray | None, val_origins: list[np.ndarray]):
        """Per series, truth − forecast from each validation origin ``(origins, H)``,
        given the ensemble's mean normalized forecasts ``z`` of the validation windows
        (None: there were none), and all of them in MASE units ``(rows, H)``."""
        H = self.horizon
        residuals, row, scaled = [], 0, []
        for k, s in enumerate(self.series_):
            origins = val_origins[k]
            if z is None or not origins.size:
                residuals.append(np.zeros((0, H)))
                continue
            zk = z[row : row + origins.size]
            row += origins.size
            f = np.array([self._inverse(k, zk[j], s, o) for j, o in enumerate(origins)])
            truth = np.array([s[o : o + H] for o in origins])
            residuals.append(truth - f)
            scaled.append((truth - f) / self.preps_[k].mase_scale)
        return residuals, np.concatenate(scaled) if scaled else np.zeros((0, H))

    def extend(self, y: Any, covariates: Any = None, *, engine: Any = None) -> Forecaster:
        """A new Forecaster for the same series with more data (``y``, each at least as
        long as in ``fit``): every member is retrained from scratch on all of ``y``'s
        windows for the epochs early stopping chose in ``fit``, and the conformal
        half-widths of ``fit`` are kept. This is how the job turns the model it scored on
        the test window into the one that forecasts beyond the data, without a second
        early-stopping run. ``engine`` as in :meth:`fit`.

        Returns
        -------
        Forecaster, fitted; ``self`` is unchanged.
        """
        from lstmkit.forecast.engine import make_engine
        from lstmkit.forecast.shards import GlobalFit, extend_global

        self._not_fitted()
        series, many = _as_series_list(y, "extend")
        if len(series) != len(self.series_) or any(
            a.size < b.size for a, b in zip(series, self.series_, strict=True)
        ):
            raise ValueError(
                f"extend: give the {len(self.series_)} series of fit, each at least as long"
            )
        new = Forecaster(**self.get_params())
        covs = new._covariates(covariates, series, many)
        eng = make_engine(engine or "local")
        fitted = GlobalFit(self.get_params(), (self.lag_, self.min_lag_, self.calibration_), [],
                           best_epochs=self.best_epochs_, n_features=self.n_features_in_,
                           batch_size=self.batch_size_, residuals=[self.residuals_],
                           quantiles=self.quantiles_)  # fmt: skip
        fit = extend_global(fitted, eng, [(series, covs, many)], verbose=self.verbose)
        return new._adopt(fit, eng)

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

    # -- predict ------------------------------------------------------------------------
    def _inverse(self, k: int, z: np.ndarray, history: np.ndarray, origin: int) -> np.ndarray:
        """Normalized forecast ``z (..., H)`` from ``origin`` of series ``k`` → units."""
        prep = self.preps_[k]
        u = prep.transform(history[:origin])
        level = window_levels(u, np.array([origin]), self.lag_, self.normalize)[0]
        return prep.inverse(level + z, origin)

    def predict(self, y: Any = None, covariates: Any = None, *, level: float | None = None):
        """Forecast the ``horizon`` steps after the end of each training series, or after
        the end of ``y`` when given (same series, in the same order, as in ``fit``).

        Returns
        -------
        Forecast, or a list of them when ``fit`` was given a list. The interval is the
        point forecast ± the conformal half-width of each step ahead times the series'
        MASE scale (the lower bound of a positive series stops at 0); ``level`` other than
        the fitted one re-reads the pooled residuals.
        """
        self._not_fitted()
        if y is None:
            series, many, covs = self.series_, len(self.series_) > 1, self.covariates_
        else:
            series, many = _as_series_list(y, "predict")
            if len(series) != len(self.series_):
                raise ValueError(f"predict: fit saw {len(self.series_)} series, got {len(series)}")
            covs = self._covariates(covariates, series, many)
        q = self.quantiles_ if level is None or level == self.level else self._quantiles(level)
        level = self.level if level is None else level
        out = self._forecast(series, covs, self.models_, q, level)
        return out if many else out[0]

    def _forecast(self, series, covs, models, q, level) -> list[Forecast]:
        """Forecasts of ``series`` by ``models`` with half-widths ``q`` (MASE units)."""
        H, E = self.horizon, len(models)
        ok = [k for k, s in enumerate(series) if s.size >= self.min_lag_]
        out: list[Forecast | None] = [None] * len(series)
        if ok:
            feats = [self._features(k, series[k], covs[k]) for k in ok]
            parts = [
                origin_windows(
                    f, np.array([f.shape[0]]), self.lag_, H, targets=False, normalize=self.normalize
                )
                for f in feats
            ]
            X = np.concatenate([p[0] for p in parts])
            lengths = np.concatenate([p[1] for p in parts])
            z = np.stack([m.predict(X, lengths) for m in models])  # (E, S, H)
            for j, k in enumerate(ok):
                s = series[k]
                members = np.array([self._inverse(k, z[e, j], s, s.size) for e in range(E)])
                mean = self._inverse(k, z[:, j].mean(axis=0), s, s.size)
                half = q * self.preps_[k].mase_scale
                lower = mean - half
                if self.preps_[k].log:  # a positive series: no bound below zero
                    lower = np.maximum(lower, 0.0)
                out[k] = Forecast(mean, lower, mean + half, level, members)
        nan = np.full(H, np.nan)
        for k in range(len(series)):
            if out[k] is None:
                out[k] = Forecast(nan, nan, nan, level, np.full((E, H), np.nan))
        return out

    def _quantiles(self, level: float) -> np.ndarray:
        if not 0 < level < 1:
            raise ValueError(f"predict: level must be in (0, 1), got {level!r}")
        scaled = [r / p.mase_scale for r, p in zip(self.residuals_, self.preps_, strict=True)]
        return conformal_quantiles(np.concatenate(scaled), level)
