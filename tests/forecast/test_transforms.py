"""Transforms invert exactly, and are fitted on the training part only."""

import numpy as np
import pytest

from lstmkit.forecast import SeriesTransform

SERIES = np.exp(np.linspace(0, 2, 72)) * (2 + np.sin(np.arange(72) * 2 * np.pi / 12))

COMBOS = [
    {},
    {"scaling": "minmax"},
    {"scaling": "none", "difference": 1},
    {"log": True},
    {"log": True, "difference": 1},
    {"log": True, "seasonal_period": 12},
    {"log": True, "seasonal_period": 12, "difference": 1},
    {"seasonal_period": 4, "difference": 1, "scaling": "minmax"},
]


@pytest.mark.parametrize("kwargs", COMBOS)
def test_inverse_rebuilds_the_future_from_the_history(kwargs):
    t = SeriesTransform(**kwargs).fit(SERIES[:48])
    z = t.transform(SERIES)
    assert z.size == SERIES.size - t.offset
    future = z[48 - t.offset :]  # the transformed values of steps 48..71
    np.testing.assert_allclose(t.inverse(future, SERIES[:48]), SERIES[48:], rtol=1e-12)


def test_inverse_works_on_a_batch_of_forecasts():
    t = SeriesTransform(log=True, seasonal_period=12, difference=1).fit(SERIES[:48])
    future = t.transform(SERIES)[48 - t.offset :]
    both = t.inverse(np.stack([future, future]), SERIES[:48])
    np.testing.assert_allclose(both, np.stack([SERIES[48:]] * 2), rtol=1e-12)


def test_the_test_part_never_influences_the_fitted_numbers():
    a = SeriesTransform(log=True, difference=1).fit(SERIES[:48])
    changed = SERIES.copy()
    changed[48:] *= 50  # a wildly different future
    b = SeriesTransform(log=True, difference=1).fit(changed[:48])
    assert (a.center_, a.scale_) == (b.center_, b.scale_)
    c = SeriesTransform(log=True, difference=1).fit(changed)
    assert (a.center_, a.scale_) != (c.center_, c.scale_)  # the check can fail


def test_standard_and_minmax_ranges():
    z = SeriesTransform().fit(SERIES[:48]).transform(SERIES[:48])
    assert abs(z.mean()) < 1e-12 and abs(z.std() - 1) < 1e-12
    z = SeriesTransform(scaling="minmax").fit(SERIES[:48]).transform(SERIES[:48])
    assert z.min() == 0 and z.max() == 1


def test_constant_series_is_shifted_not_divided_by_zero():
    t = SeriesTransform().fit(np.full(10, 5.0))
    assert t.scale_ == 1.0
    np.testing.assert_array_equal(t.transform(np.full(10, 5.0)), 0.0)


@pytest.mark.parametrize(
    "kwargs, series, message",
    [
        ({"log": True}, np.array([1.0, 0.0, 2.0]), "needs positive values; 1 value"),
        ({}, np.array([1.0, np.nan, 2.0]), "1 missing or infinite value"),
        ({"seasonal_period": 12}, np.arange(1.0, 10.0), "leave nothing after differencing"),
    ],
)
def test_errors(kwargs, series, message):
    with pytest.raises(ValueError, match=message):
        SeriesTransform(**kwargs).fit(series)


def test_bad_settings():
    with pytest.raises(ValueError, match="scaling must be one of"):
        SeriesTransform(scaling="robust")
    with pytest.raises(ValueError, match="difference must be 0 or 1"):
        SeriesTransform(difference=2)


def test_chronological_split_and_no_leakage_through_the_forecaster():
    from lstmkit.forecast import Forecaster, chronological_split

    train, val, test = chronological_split(SERIES, test=12, validation=6)
    assert (train.size, val.size, test.size) == (54, 6, 12)
    np.testing.assert_array_equal(np.concatenate([train, val, test]), SERIES)
    other = SERIES.copy()
    other[-12:] = 1e6  # a different test part
    kw = {"lag": 8, "horizon": 4, "epochs": 5, "ensemble": 1, "hidden_size": 4}
    a = Forecaster(**kw).fit(np.concatenate([train, val]))
    b = Forecaster(**kw).fit(np.concatenate(chronological_split(other, test=12, validation=6)[:2]))
    assert a.preps_[0].to_dict() == b.preps_[0].to_dict()
    np.testing.assert_array_equal(a.predict().mean, b.predict().mean)
    # Inside fit, the validation tail (horizon + calibration - 1 = 6 steps with 3
    # origins) does not reach the preparation either.
    c_series = np.concatenate([train, val * 3])
    c = Forecaster(**kw, calibration=3).fit(c_series)
    d = Forecaster(**kw, calibration=3).fit(np.concatenate([train, val]))
    assert c.preps_[0].to_dict() == d.preps_[0].to_dict()
    e = Forecaster(**kw, calibration=1).fit(c_series)  # only 4 held back: the 6th-last is seen
    assert e.preps_[0].to_dict() != d.preps_[0].to_dict()


def test_chronological_split_errors():
    from lstmkit.forecast import chronological_split

    with pytest.raises(ValueError, match="leave no training data"):
        chronological_split(np.arange(5.0), test=3, validation=2)
    with pytest.raises(ValueError, match="test must be"):
        chronological_split(np.arange(5.0), test=-1)
