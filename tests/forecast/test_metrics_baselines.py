"""Metrics and baselines on hand-checked numbers."""

import numpy as np
import pytest

from lstmkit.forecast import (
    all_baselines,
    all_metrics,
    drift,
    mae,
    mape,
    mase,
    mean,
    naive,
    rmse,
    seasonal_naive,
    smape,
)


def test_metrics():
    y, f = np.array([100.0, 200.0]), np.array([110.0, 180.0])
    assert mae(y, f) == 15
    assert rmse(y, f) == pytest.approx(np.sqrt((100 + 400) / 2))
    assert mape(y, f) == pytest.approx(10.0)
    assert smape(y, f) == pytest.approx(100 * (20 / 210 + 40 / 380) / 2)
    history = np.array([1.0, 3.0, 2.0, 6.0])  # naive in-sample errors 2, 1, 4: mean 7/3
    assert mase(y, f, history, 1) == pytest.approx(15 / (7 / 3))
    assert mase(y, f, history, 2) == pytest.approx(15 / ((1 + 3) / 2))


def test_edge_cases():
    assert np.isnan(mape([0.0, 1.0], [1.0, 1.0]))
    assert smape([0.0, 0.0], [0.0, 0.0]) == 0.0
    assert np.isnan(mase([1.0], [2.0], [5.0, 5.0]))
    with pytest.raises(ValueError, match="same non-empty shape"):
        mae([1.0, 2.0], [1.0])


def test_baselines():
    h = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 7.0])
    np.testing.assert_array_equal(naive(h, 3), [7, 7, 7])
    np.testing.assert_array_equal(seasonal_naive(h, 5, 3), [4, 5, 7, 4, 5])
    np.testing.assert_allclose(drift(h, 2), [7 + 1.2, 7 + 2.4])
    np.testing.assert_allclose(mean(h, 2), [22 / 6] * 2)
    assert set(all_baselines(h, 2, 1)) == {"naive", "drift", "mean"}
    assert set(all_baselines(h, 2, 3)) == {"naive", "seasonal naive", "drift", "mean"}


def test_all_metrics_keys():
    got = all_metrics([1.0, 2.0], [1.0, 2.5], [1.0, 2.0, 4.0], 1)
    assert list(got) == ["MAE", "RMSE", "MAPE", "sMAPE", "MASE"]
