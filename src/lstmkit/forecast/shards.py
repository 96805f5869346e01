"""One global network fitted over shards of series, its ensemble members as tasks.

The :class:`~lstmkit.forecast.forecaster.Forecaster` recipe, cut where the work is:

- :func:`prepare_shard` prepares each series of a shard (a chunk of series) and cuts its
  windows, where the shard is: the series never travel to the driver;
- :func:`train_member` trains one ensemble member on the windows of every shard,
  concatenated in shard order (so the pooled windows are the same arrays whatever the
  shards, and each member is the same bits as in one process);
- :func:`shard_residuals` turns the members' mean validation forecast of a shard's
  windows into residuals, pooled by the driver into the conformal half-widths;
- :func:`predict_shard` forecasts a shard's series.

:func:`fit_global`, :func:`extend_global` and :func:`predict_global` run them on an
engine (:mod:`lstmkit.forecast.engine`): one process, or a Dask cluster.
``Forecaster.fit`` and ``extend`` use them with a single shard; the job uses the chunks
of a panel as shards.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lstmkit.forecast.conformal import conformal_quantiles
from lstmkit.forecast.forecaster import Forecaster, ForecastWarning, member_seeds
from lstmkit.training.callbacks import EarlyStopping


@dataclass
class GlobalFit:
    """The fitted ensemble and where its shards are.

    Attributes
    ----------
    params : the Forecaster's constructor arguments.
    resolved : ``(lag, min_lag, calibration)``.
    shards : one engine reference per shard (a Forecaster holding the shard's series,
        preparations and windows).
    models, histories, best_epochs : per member.
    n_features, batch_size : as the Forecaster's ``n_features_in_``, ``batch_size_``.
    residuals : per shard, per series ``(origins, H)``.
    scaled : per shard, the residuals in MASE units ``(rows, H)``.
    quantiles : ``(H,)`` conformal half-widths at ``params["level"]``.
    """

    params: dict
    resolved: tuple[int, int, int]
    shards: list
    models: list = field(default_factory=list)
    histories: list = field(default_factory=list)
    best_epochs: list = field(default_factory=list)
    n_features: int = 1
    batch_size: int = 16
    residuals: list = field(default_factory=list)
    scaled: list = field(default_factory=list)
    quantiles: np.ndarray | None = None

    def quantiles_at(self, level: float) -> np.ndarray:
        pooled = np.concatenate(self.scaled) if self.scaled else np.zeros((0, 0))
        return conformal_quantiles(pooled, level)


# -- tasks (module functions of plain data, so that any worker can run them) -----------
def prepare_shard(item: Any, params: dict, resolved: tuple, V: int, pick=None) -> Forecaster:
    """A Forecaster holding one shard: its series (``item``, or ``pick(item)``:
    ``(series, covariates, many)``), their preparations and windows."""
    series, covs, many = item if pick is None else pick(item)
    f = Forecaster(**params)
    f.lag_, f.min_lag_, f.calibration_ = resolved
    f.windows_ = f._prepare(series, covs, many, V)
    return f


def shard_counts(shard: Forecaster) -> tuple[int, int, int, int | None]:
    """Windows of a shard for training, validation and the full fit, and the features
    per step (None without windows)."""
    train, val, full, _ = shard.windows_
    counts = tuple(sum(len(w[1]) for w in part) for part in (train, val, full))
    n_features = next((w[0].shape[-1] for w in full if len(w[1])), None)
    return (*counts, n_features)


def _pooled(shards, which: int):
    return Forecaster._stack([w for s in shards for w in s.windows_[which]])


def train_member(seed: int, shards: list[Forecaster], early_stopping: bool, batch_size: int,
                 epochs: int | None = None, verbose: int = 0) -> dict:  # fmt: skip
    """Train one member on every shard's windows (see :meth:`Forecaster.fit`): early
    stopping on the validation windows and a refit on all of them, or (``epochs``
    given, the shards prepared with nothing held back) all windows for that many epochs.

    Returns dict ``model``, ``history``, ``best`` (epochs) and ``val_z`` (the early-
    stopping model's forecasts of the validation windows, or None).
    """
    f = shards[0]
    al = _pooled(shards, 2)
    tr, va = (_pooled(shards, 0), _pooled(shards, 1)) if early_stopping else (al, None)
    n_features = al[0].shape[-1]
    fit_args = {"batch_size": batch_size, "lr": f.lr, "loss": f.loss, "seed": seed,
                "verbose": verbose}  # fmt: skip
    model = f._build(n_features, seed)
    if epochs is not None:
        history = model.fit(al[0], al[2], lengths=al[1], epochs=epochs, **fit_args)
        return {"model": model, "history": history, "best": epochs, "val_z": None}
    history = model.fit(
        tr[0], tr[2], lengths=tr[1], epochs=f.epochs,
        validation_data=None if va is None else (va[0], va[2], va[1]),
        early_stopping=None if va is None else EarlyStopping(patience=f.patience), **fit_args,
    )  # fmt: skip
    best = f.epochs if history.best_epoch is None else history.best_epoch + 1
    val_z = None if va is None else model.predict(va[0], va[1])
    if f.refit and va is not None:
        model = f._build(n_features, seed)
        model.fit(al[0], al[2], lengths=al[1], epochs=best, **fit_args)
    return {"model": model, "history": history, "best": best, "val_z": val_z}


def shard_residuals(shard: Forecaster, z: np.ndarray | None):
    """Per series, truth − forecast from each validation origin ``(origins, H)``, and
    all of them in MASE units ``(rows, H)``."""
    return shard._residuals(z, shard.windows_[3])


def predict_shard(shard: Forecaster, models: list, quantiles: np.ndarray,
                  level: float | None = None) -> list:  # fmt: skip
    """The forecasts of a shard's series (a list of Forecast, one per series)."""
    return shard._forecast(shard.series_, shard.covariates_, models, quantiles,
                           shard.level if level is None else level)  # fmt: skip


def shard_attr(shard: Forecaster, name: str):
    """A shard's attribute (``skipped_``, ``preps_``, ``series_``...), for the driver."""
    return getattr(shard, name)


# -- the driver -------------------------------------------------------------------------
def resolve(f: Forecaster, n_series: int) -> tuple[tuple[int, int, int], int]:
    """``(lag, min_lag, calibration)`` over ``n_series`` series, and ``V``, the steps of
    each series whose targets are held back for validation."""
    L, Lmin, K = f.resolved_lag(), f.resolved_min_lag(), f.resolved_calibration(n_series)
    return (L, Lmin, K), f.horizon + K - 1


def fit_global(f: Forecaster, engine, items: list, n_series: int, pick=None) -> GlobalFit:
    """Fit ``f``'s recipe over shards (``items``: one per shard, each
    ``(series, covariates, many)`` or what ``pick`` turns into that), on ``engine``."""
    f.check_params()
    resolved, V = resolve(f, n_series)
    params = f.get_params()
    shards = engine.map(prepare_shard, items, params, resolved, V, pick, keep=True)
    counts = engine.map(shard_counts, shards)
    n_train, n_full = sum(c[0] for c in counts), sum(c[2] for c in counts)
    H, Lmin = f.horizon, resolved[1]
    if n_full == 0:
        raise ValueError(
            f"no series is long enough for one training window: each needs at least "
            f"min_lag {Lmin} + horizon {H} = {Lmin + H} steps"
        )
    early = n_train > 0  # else too little data to hold any back: all windows, no stopping
    n_features = next(c[3] for c in counts if c[3] is not None)
    fit = GlobalFit(params, resolved, shards, n_features=n_features,
                    batch_size=f.resolved_batch_size(n_train if early else n_full))  # fmt: skip
    seeds = member_seeds(f.seed, f.ensemble)
    members = engine.map(train_member, seeds, shards, early, fit.batch_size, None, f.verbose,
                         desc="ensemble members")  # fmt: skip
    fit.models = [m["model"] for m in members]
    fit.histories = [m["history"] for m in members]
    fit.best_epochs = [m["best"] for m in members]
    val_z = [m["val_z"] for m in members if m["val_z"] is not None]
    z = np.mean(val_z, axis=0) if val_z else None
    rows = [c[1] for c in counts]
    ends = np.cumsum(rows)
    parts = [None if z is None else z[e - n : e] for e, n in zip(ends, rows, strict=True)]
    res = engine.map(_residuals_task, list(zip(shards, parts, strict=True)))
    fit.residuals = [r[0] for r in res]
    fit.scaled = [r[1] for r in res]
    fit.quantiles = fit.quantiles_at(f.level)
    if np.isnan(fit.quantiles).any():
        warnings.warn(
            "the series are too short to hold back a validation window, so the "
            "prediction intervals cannot be calibrated (they are NaN); give longer "
            "series or a smaller horizon",
            ForecastWarning,
            stacklevel=3,
        )
    return fit


def _residuals_task(pair):
    return shard_residuals(*pair)


def extend_global(fit: GlobalFit, engine, items: list, pick=None, verbose: int = 0) -> GlobalFit:
    """The members retrained on all windows of longer series (``items`` as in
    :func:`fit_global`) for the epochs early stopping chose; the half-widths are kept."""
    shards = engine.map(prepare_shard, items, fit.params, fit.resolved, 0, pick, keep=True)
    seeds = member_seeds(fit.params["seed"], fit.params["ensemble"])
    members = engine.map(_extend_task, list(zip(seeds, fit.best_epochs, strict=True)), shards,
                         fit.batch_size, verbose, desc="ensemble members")  # fmt: skip
    new = GlobalFit(fit.params, fit.resolved, shards, n_features=fit.n_features,
                    batch_size=fit.batch_size, residuals=fit.residuals, scaled=fit.scaled,
                    quantiles=fit.quantiles)  # fmt: skip
    new.models = [m["model"] for m in members]
    new.histories = [m["history"] for m in members]
    new.best_epochs = list(fit.best_epochs)
    return new


def _extend_task(seed_epochs, shards, batch_size, verbose):
    seed, epochs = seed_epochs
    return train_member(seed, shards, False, batch_size, epochs, verbose)


def predict_global(fit: GlobalFit, engine, level: float | None = None, keep: bool = False):
    """Every shard's forecasts (per shard, a list of Forecast), or references to them."""
    q = fit.quantiles if level is None or level == fit.params["level"] else fit.quantiles_at(level)
    return engine.map(predict_shard, fit.shards, fit.models, q, level, keep=keep)
