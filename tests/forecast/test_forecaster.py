"""The Forecaster: estimator manners, multi-step alignment, global models, intervals."""

import inspect
import warnings

import numpy as np
import pytest

from lstmkit.forecast import Forecaster, ForecastWarning
from lstmkit.forecast.backtest import backtest, summarize

FAST = {"epochs": 40, "ensemble": 1, "hidden_size": 8, "patience": 10}


def test_init_only_stores_and_params_round_trip():
    f = Forecaster(lag=5, horizon=3, cell="gru")
    params = f.get_params()
    assert list(params) == [p for p in inspect.signature(Forecaster).parameters]
    assert params["lag"] == 5 and params["cell"] == "gru"
    assert not [k for k in vars(f) if k.endswith("_")]  # nothing learned yet
    assert f.set_params(hidden_size=4, strategy="recursive") is f
    assert f.hidden_size == 4 and Forecaster(**f.get_params()).get_params() == f.get_params()
    assert (
        repr(f) == "Forecaster(lag=5, horizon=3, cell='gru', hidden_size=4, strategy='recursive')"
    )
    with pytest.raises(ValueError, match="unknown parameter 'units'"):
        f.set_params(units=3)


def test_fit_returns_self_and_learned_attributes_end_in_underscore():
    y = np.sin(np.arange(80) / 3) + 2
    f = Forecaster(lag=6, horizon=3, **FAST)
    assert f.fit(y) is f
    for name in ("models_", "transforms_", "residuals_", "histories_", "best_epochs_",
                 "series_", "n_features_in_"):  # fmt: skip
        assert hasattr(f, name)
    with pytest.raises(RuntimeError, match="call fit"):
        Forecaster().predict()


@pytest.mark.parametrize("strategy", ["direct", "recursive"])
def test_a_ramp_continues_exactly(strategy):
    """After first differences a ramp is constant (0 once scaled): the untrained-bias
    network outputs exactly 0, so any off-by-one in windows or inversion would show as a
    shift of one slope (3.0)."""
    y = 3.0 * np.arange(60) + 5
    f = Forecaster(lag=8, horizon=5, strategy=strategy, log=False, difference=1, **FAST).fit(y)
    np.testing.assert_allclose(f.predict().mean, 3.0 * np.arange(60, 65) + 5, rtol=0, atol=1e-9)


@pytest.mark.parametrize("strategy", ["direct", "recursive"])
def test_a_pure_sine_continues_exactly_after_seasonal_differencing(strategy):
    t = np.arange(72)
    y = 10 + np.sin(2 * np.pi * t / 12)
    f = Forecaster(lag=6, horizon=7, strategy=strategy, season=12, seasonal_difference=True,
                   difference=0, log=False, **FAST).fit(y)  # fmt: skip
    expected = 10 + np.sin(2 * np.pi * np.arange(72, 79) / 12)
    np.testing.assert_allclose(f.predict().mean, expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize("strategy", ["direct", "recursive"])
def test_a_learned_sine_is_aligned(strategy):
    """Without transforms the network must learn the sine; a one-step shift would cost
    about 0.5 (amplitude 1, period 12), far above the error allowed."""
    y = np.sin(2 * np.pi * np.arange(150) / 12)
    f = Forecaster(lag=12, horizon=4, strategy=strategy, log=False, difference=0, epochs=150,
                   ensemble=1, hidden_size=16, patience=40, seed=1).fit(y)  # fmt: skip
    truth = np.sin(2 * np.pi * np.arange(150, 154) / 12)
    assert np.abs(f.predict().mean - truth).max() < 0.12
    shifted = np.sin(2 * np.pi * np.arange(149, 153) / 12)
    assert np.abs(shifted - truth).max() > 0.4


def test_predict_from_a_new_history():
    y = 3.0 * np.arange(60) + 5
    f = Forecaster(lag=8, horizon=5, log=False, **FAST).fit(y[:40])
    np.testing.assert_allclose(f.predict(y).mean, 3.0 * np.arange(60, 65) + 5, atol=1e-9)


def test_global_model_over_several_series():
    a = 2.0 * np.arange(50) + 1
    b = -1.0 * np.arange(70) + 500
    f = Forecaster(lag=6, horizon=4, log=False, **FAST).fit([a, b])
    fa, fb = f.predict()
    assert len(f.transforms_) == 2 and len(f.models_) == 1
    np.testing.assert_allclose(fa.mean, 2.0 * np.arange(50, 54) + 1, atol=1e-9)
    np.testing.assert_allclose(fb.mean, -1.0 * np.arange(70, 74) + 500, atol=1e-9)


def test_covariates_are_inputs():
    rng = np.random.default_rng(0)
    cov = rng.normal(size=(90, 2))
    y = np.cumsum(rng.normal(size=90)) + 50
    f = Forecaster(lag=6, horizon=3, **FAST).fit(y, covariates=cov)
    assert f.n_features_in_ == 3
    assert f.predict().mean.shape == (3,)
    with pytest.raises(ValueError, match="recursive strategy cannot use covariates"):
        Forecaster(lag=6, horizon=3, strategy="recursive", **FAST).fit(y, covariates=cov)
    with pytest.raises(ValueError, match="covariates have 80 rows, the series 90"):
        Forecaster(lag=6, horizon=3, **FAST).fit(y, covariates=cov[:80])


def test_intervals_come_from_validation_residuals():
    rng = np.random.default_rng(3)
    y = 20 + np.sin(np.arange(120) / 2) + 0.3 * rng.normal(size=120)
    f = Forecaster(lag=10, horizon=4, validation=16, level=0.8, **FAST).fit(y)
    p = f.predict()
    res = f.residuals_[0]
    assert res.shape == (16 - 4 + 1, 4)
    np.testing.assert_allclose(p.lower, p.mean + np.quantile(res, 0.1, axis=0))
    np.testing.assert_allclose(p.upper, p.mean + np.quantile(res, 0.9, axis=0))
    assert np.all(p.lower <= p.upper) and p.level == 0.8
    wider = f.predict(level=0.98)
    assert np.all(wider.upper - wider.lower >= p.upper - p.lower)


def test_ensemble_mean_of_members_and_reproducible():
    y = np.sin(np.arange(80) / 4) + 3
    kw = {**FAST, "ensemble": 3, "lag": 8, "horizon": 3}
    p = Forecaster(**kw).fit(y).predict()
    assert p.members.shape == (3, 3)
    np.testing.assert_allclose(p.mean, p.members.mean(axis=0))
    np.testing.assert_array_equal(Forecaster(**kw).fit(y).predict().mean, p.mean)


def test_too_short_says_the_minimum():
    f = Forecaster(lag=10, horizon=5, **FAST)  # 1 (difference) + 10 + 5 + 10 = 26
    with pytest.raises(ValueError, match=r"has 25 steps; .* need at least 26"):
        f.fit(np.arange(1.0, 26.0))


def test_constant_series_works_and_warns():
    with pytest.warns(ForecastWarning, match="constant"):
        f = Forecaster(lag=4, horizon=2, **FAST).fit(np.full(30, 7.0))
    np.testing.assert_allclose(f.predict().mean, 7.0)


def test_missing_values_are_refused():
    y = np.arange(1.0, 50.0)
    y[7] = np.nan
    with pytest.raises(ValueError, match=r"1 missing or infinite value.*position 7"):
        Forecaster(**FAST).fit(y)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"cell": "tcn"}, "cell must be one of"),
        ({"strategy": "dirrec"}, "strategy must be"),
        ({"lag": 0}, "lag must be"),
        ({"level": 1.5}, "level must be"),
        ({"seasonal_difference": True}, "needs season >= 2"),
        ({"log": "yes"}, "log must be"),
    ],
)
def test_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Forecaster(**kwargs).fit(np.arange(1.0, 200.0))


def test_backtest_scores_model_and_baselines_per_fold():
    y = 3.0 * np.arange(80) + 5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        folds = backtest(Forecaster(lag=6, horizon=4, log=False, **FAST), y, folds=3)
    assert [f.origin for f in folds] == [68, 72, 76]
    assert set(folds[0].metrics) == {"model", "naive", "drift", "mean"}
    summary = summarize(folds)
    assert summary["model"]["MAE"] < 1e-6  # the ramp is continued exactly
    assert summary["drift"]["MAE"] < 1e-6 and summary["naive"]["MAE"] > 1
    with pytest.raises(ValueError, match="use fewer folds"):
        backtest(Forecaster(lag=6, horizon=4, **FAST), y, folds=30)
