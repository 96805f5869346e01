"""The global Forecaster: estimator manners, exact invariances of its preparation,
variable-length windows, conformal intervals, seeds and reproducibility."""

import inspect
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

from lstmkit.forecast import Forecaster, ForecastWarning, NotFittedError
from lstmkit.forecast.backtest import backtest, summarize
from lstmkit.forecast.forecaster import member_seeds

FAST = {"epochs": 30, "ensemble": 1, "hidden_size": 8, "patience": 5}


def seasonal(n, level=100.0, phase=0):
    t = np.arange(n) + phase
    return level * (1 + 0.004 * t) * np.exp(0.1 * np.sin(2 * np.pi * t / 12))


def test_init_only_stores_and_params_round_trip():
    f = Forecaster(lag=5, horizon=3, cell="gru")
    params = f.get_params()
    assert list(params) == [p for p in inspect.signature(Forecaster).parameters]
    assert params["lag"] == 5 and params["cell"] == "gru"
    assert not [k for k in vars(f) if k.endswith("_")]  # nothing learned yet
    assert f.set_params(hidden_size=4, loss="mse") is f
    assert f.hidden_size == 4 and Forecaster(**f.get_params()).get_params() == f.get_params()
    assert repr(f) == "Forecaster(lag=5, horizon=3, cell='gru', hidden_size=4, loss='mse')"
    with pytest.raises(ValueError, match="unknown parameter 'units'"):
        f.set_params(units=3)


def test_fit_returns_self_and_not_fitted_error():
    y = seasonal(80)
    f = Forecaster(horizon=3, season=12, **FAST)
    with pytest.raises(NotFittedError, match="not fitted yet; call fit"):
        f.predict()
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    assert f.fit(y) is f
    learned = ["models_", "preps_", "residuals_", "quantiles_", "histories_", "best_epochs_"]
    learned += ["series_", "skipped_", "lag_", "min_lag_", "calibration_", "n_features_in_"]
    for name in learned:
        assert hasattr(f, name)
    assert f.lag_ == 15 and f.min_lag_ == 3  # ceil(1.25 * max(3, 12)), max(2, 15 // 4)


def test_a_constant_series_is_continued_exactly_and_warns():
    with pytest.warns(ForecastWarning, match="constant"):
        f = Forecaster(horizon=4, **FAST).fit(np.full(40, 7.0))
    p = f.predict()
    # Windows are all 0, so the network outputs 0: exact up to exp(log(7)) rounding.
    np.testing.assert_allclose(p.mean, 7.0, rtol=1e-15)
    np.testing.assert_allclose(p.upper - p.lower, 0.0, atol=1e-14)  # residuals are 0


def test_a_pure_multiplicative_season_is_continued_exactly():
    """Log and deseasonalization leave a constant, which every window sees as 0."""
    t = np.arange(72)
    y = 50 * np.exp(0.2 * np.sin(2 * np.pi * t / 12))
    f = Forecaster(horizon=7, season=12, deseasonalize=True, **FAST).fit(y)
    expected = 50 * np.exp(0.2 * np.sin(2 * np.pi * np.arange(72, 79) / 12))
    np.testing.assert_allclose(f.predict().mean, expected, rtol=1e-12)
    assert f.preps_[0].log and f.preps_[0].indices is not None


def test_each_series_is_normalized_by_its_own_level():
    """A series 1000 times another is the same series after the log and the window's
    level: the global model forecasts exactly 1000 times as much."""
    a = seasonal(90)
    f = Forecaster(horizon=6, season=12, **FAST).fit([a, 1000 * a, seasonal(70, 20, 3)])
    pa, pb, _ = f.predict()
    np.testing.assert_allclose(pb.mean, 1000 * pa.mean, rtol=1e-10)
    np.testing.assert_allclose(pb.upper - pb.mean, 1000 * (pa.upper - pa.mean), rtol=1e-10)


def test_a_learned_trend_beats_the_naive_forecast():
    """The network must learn to carry the trend forward (the naive forecast is off by
    about 1.8 on average over the six steps; an ensemble of three gets within a third)."""
    y = 10 + 0.5 * np.arange(120) + 0.2 * np.random.default_rng(0).normal(size=120)
    f = Forecaster(horizon=6, epochs=60, ensemble=3, seed=0).fit(y[:-6])
    err = np.abs(f.predict().mean - y[-6:]).mean()
    naive = np.abs(y[-7] - y[-6:]).mean()
    assert err < naive / 3


def test_short_series_get_shorter_windows_and_too_short_ones_are_skipped():
    long = [seasonal(100, 50 + 10 * k, k) for k in range(3)]
    short = seasonal(9, 70)  # fewer steps than the lag (15): a masked, shorter window
    tiny = np.array([5.0, 6.0])  # fewer than min_lag (3)
    f = Forecaster(horizon=4, season=12, **FAST).fit([*long, short, tiny])
    preds = f.predict()
    assert np.all(np.isfinite(preds[3].mean)) and np.all(preds[3].mean > 0)
    assert list(f.skipped_) == [4] and "fewer than the 3" in f.skipped_[4]
    assert np.all(np.isnan(preds[4].mean))
    with pytest.raises(ValueError, match="no series is long enough"):
        Forecaster(horizon=4, **FAST).fit([tiny, tiny])


def test_intervals_are_conformal_and_contain_the_forecast():
    rng = np.random.default_rng(3)
    panel = [20 + np.cumsum(rng.normal(size=90)) * 0.3 + rng.normal(size=90) for _ in range(30)]
    panel = [p - p.min() + 5 for p in panel]
    f = Forecaster(horizon=4, level=0.8, **FAST).fit([p[:-4] for p in panel])
    preds = f.predict()
    assert f.calibration_ == 4  # ceil(100 / 30) origins per series
    assert all(r.shape == (4, 4) for r in f.residuals_)
    for p in preds:
        assert np.all(p.lower <= p.mean) and np.all(p.mean <= p.upper)
        assert np.all(p.lower >= 0)  # positive series: the bound stops at 0
    truth = np.array([p[-4:] for p in panel])
    lo, hi = np.array([p.lower for p in preds]), np.array([p.upper for p in preds])
    covered = np.mean((truth >= lo) & (truth <= hi))
    assert 0.65 <= covered <= 0.95
    wider = f.predict(level=0.98)
    assert all(
        np.all(w.upper - w.lower >= p.upper - p.lower) for w, p in zip(wider, preds, strict=True)
    )


def test_ensemble_members_have_independent_seeds_and_reruns_are_identical():
    assert set(member_seeds(0, 5)).isdisjoint(member_seeds(1, 5))
    y = seasonal(80)
    kw = {**FAST, "ensemble": 3, "horizon": 3, "season": 12}
    p = Forecaster(**kw).fit(y).predict()
    assert p.members.shape == (3, 3)
    np.testing.assert_array_equal(Forecaster(**kw).fit(y).predict().mean, p.mean)
    other = Forecaster(**kw, seed=1).fit(y).predict()
    assert not np.array_equal(other.members[0], p.members[1])


FRESH = """
import numpy as np
from lstmkit.forecast import Forecaster
t = np.arange(96)
y = 100 * (1 + 0.01 * t) * np.exp(0.1 * np.sin(2 * np.pi * t / 12))
p = Forecaster(horizon=6, season=12, epochs=15, ensemble=2, hidden_size=8).fit(y).predict()
print(p.mean.tobytes().hex())
"""


@pytest.mark.one_backend
def test_same_seed_same_bits_whether_kernels_are_compiled_or_cached(tmp_path):
    """Two fresh processes on one private kernel cache: the first compiles, the second
    loads; both backends must give identical bits across the pair."""
    outs = {}
    for backend in ("numba", "numpy"):
        env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache"), "LSTMKIT_BACKEND": backend}
        runs = [
            subprocess.run([sys.executable, "-c", FRESH], env=env, capture_output=True,
                           text=True, timeout=600, check=True).stdout
            for _ in range(2)
        ]  # fmt: skip
        assert runs[0] == runs[1], backend
        outs[backend] = runs[0]
    assert len(outs["numba"]) > 10


def test_covariates_are_inputs():
    rng = np.random.default_rng(0)
    cov = rng.normal(size=(90, 2))
    y = np.cumsum(rng.normal(size=90)) + 50
    f = Forecaster(horizon=3, **FAST).fit(y, covariates=cov)
    assert f.n_features_in_ == 3
    assert f.predict().mean.shape == (3,)
    with pytest.raises(ValueError, match="covariates have 80 rows, the series 90"):
        Forecaster(horizon=3, **FAST).fit(y, covariates=cov[:80])


def test_predict_from_a_new_history():
    y = np.full(60, 4.0)
    with pytest.warns(ForecastWarning):
        f = Forecaster(horizon=5, **FAST).fit(y[:40])
    np.testing.assert_allclose(f.predict(np.full(50, 9.0)).mean, 9.0, rtol=1e-15)


def test_missing_values_are_refused():
    y = np.arange(1.0, 50.0)
    y[7] = np.nan
    with pytest.raises(ValueError, match=r"1 missing or infinite value.*position 7"):
        Forecaster(**FAST).fit(y)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"cell": "tcn"}, "cell must be one of"),
        ({"lag": 0}, "lag must be"),
        ({"level": 1.5}, "level must be"),
        ({"log": "yes"}, "log must be"),
        ({"deseasonalize": 2}, "deseasonalize must be"),
        ({"lr": float("nan")}, "lr must be a finite number"),
        ({"seed": -1}, "seed must be >= 0"),
        ({"loss": "pinball"}, "loss must be"),
        ({"log": True}, "log=True needs positive values"),
    ],
)
def test_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Forecaster(**kwargs).fit(np.arange(-1.0, 200.0))


def test_backtest_scores_model_and_baselines_per_fold():
    y = seasonal(100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        folds = backtest(Forecaster(horizon=4, season=12, **FAST), y, folds=3)
    assert [f.origin for f in folds] == [88, 92, 96]
    assert set(folds[0].metrics) == {"model", "naive", "seasonal naive", "drift", "mean"}
    summary = summarize(folds)
    assert summary["model"]["MAE"] < summary["naive"]["MAE"]
    with pytest.raises(ValueError, match="use fewer folds"):
        backtest(Forecaster(horizon=4, **FAST), y, folds=30)


def test_extend_retrains_on_more_data_for_the_chosen_epochs():
    y = seasonal(100)
    f = Forecaster(horizon=4, season=12, **{**FAST, "ensemble": 2}).fit(y[:-4])
    g = f.extend(y)
    assert g is not f and len(f.series_[0]) == 96 and len(g.series_[0]) == 100
    assert [len(h.history["loss"]) for h in g.histories_] == f.best_epochs_
    np.testing.assert_array_equal(g.quantiles_, f.quantiles_)
    p = g.predict()
    assert p.mean.shape == (4,) and np.all(p.lower <= p.mean)
    with pytest.raises(ValueError, match="give the 1 series of fit, each at least as long"):
        f.extend(y[:50])


def test_too_short_to_calibrate_gives_no_interval_and_says_so():
    y = seasonal(9)  # one training window or so: nothing can be held back for validation
    with pytest.warns(ForecastWarning, match="intervals cannot be calibrated"):
        f = Forecaster(horizon=4, lag=5, min_lag=2, **FAST).fit(y)
    p = f.predict()
    assert np.all(np.isfinite(p.mean)) and np.all(np.isnan(p.lower)) and np.all(np.isnan(p.upper))
