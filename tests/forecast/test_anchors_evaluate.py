"""statsforecast's anchors as lstmkit calls them, and panel scoring."""

import json

import numpy as np
import pytest

from lstmkit.datasets import load_airline
from lstmkit.forecast import anchors as anchors_mod
from lstmkit.forecast.anchors import anchor_forecasts
from lstmkit.forecast.conformal import conformal_quantiles
from lstmkit.forecast.evaluate import score_panel, series_metrics, undefined_reasons
from lstmkit.jsonio import strict_json


def test_anchors_match_statsforecast_called_directly():
    from statsforecast.models import AutoETS, SeasonalNaive

    y = load_airline()["passengers"].to_numpy(float)
    out = anchor_forecasts([y, y[:100]], 12, 12)
    assert set(out) == {"naive", "seasonal_naive", "auto_ets", "auto_theta"}
    np.testing.assert_array_equal(out["naive"].mean[1], np.full(12, y[99]))
    np.testing.assert_array_equal(
        out["seasonal_naive"].mean[0], SeasonalNaive(12).forecast(y, 12)["mean"]
    )
    direct = AutoETS(season_length=12).forecast(y=y, h=12, level=[90])
    np.testing.assert_allclose(out["auto_ets"].mean[0], direct["mean"])
    np.testing.assert_allclose(out["auto_ets"].upper[0], direct["hi-90"])
    assert not out["auto_ets"].fallbacks


def test_a_failing_anchor_falls_back_to_naive_and_says_so(monkeypatch):
    class Broken:
        def forecast(self, **kw):
            raise ValueError("too short")

    real = anchors_mod._model
    monkeypatch.setattr(
        anchors_mod, "_model", lambda n, m: Broken() if n == "auto_ets" else real(n, m)
    )
    out = anchor_forecasts([np.arange(1.0, 30.0)], 3, 1)
    assert out["auto_ets"].fallbacks == {0: "ValueError: too short"}
    np.testing.assert_array_equal(out["auto_ets"].mean[0], [29.0, 29.0, 29.0])


def test_score_panel_ranks_wins_and_undefined():
    hist = [np.arange(1.0, 25.0), np.full(24, 5.0)]
    truth = [np.array([25.0, 26.0]), np.array([0.0, 5.0])]
    fc = {"seasonal_naive": np.array([[13.0, 14.0], [5.0, 5.0]]),
          "good": np.array([[25.0, 26.0], [5.0, 5.0]]),
          "bad": np.array([[0.0, 0.0], [5.0, 5.0]])}  # fmt: skip
    per, summary = score_panel(truth, hist, fc, 12)
    assert per[0]["good"]["MASE"] == 0.0 and per[0]["seasonal_naive"]["MASE"] == 1.0
    assert per[1]["good"]["MASE"] is None and per[1]["good"]["MAPE"] is None
    assert summary["good"]["series"] == 1  # the constant series has no MASE
    assert summary["good"]["rank"] == 1.0 and summary["bad"]["rank"] == 3.0
    assert summary["good"]["wins_vs_seasonal_naive"] == 1
    assert summary["seasonal_naive"]["wins_vs_seasonal_naive"] is None
    why = undefined_reasons(truth[1], hist[1], 12)
    assert set(why) == {"MAPE", "MASE"}
    json.loads(strict_json({"per": per, "summary": summary, "x": float("nan")}))


def test_series_metrics_values():
    m = series_metrics([2.0, 4.0], [1.0, 5.0], [1.0, 2.0, 3.0], 1)
    assert m["MAE"] == 1.0 and m["MASE"] == 1.0 and m["MAPE"] == pytest.approx(37.5)


def test_conformal_quantile_is_the_finite_sample_order_statistic():
    r = np.arange(1.0, 20.0)[:, None]  # 19 residuals: ceil(20 * 0.9) = 18th smallest
    assert conformal_quantiles(r, 0.9)[0] == 18.0
    assert conformal_quantiles(r[:5], 0.9)[0] == 5.0  # too few: the largest


def test_auto_arima_on_request():
    y = load_airline()["passengers"].to_numpy(float)[:60]
    out = anchor_forecasts([y], 6, 12, methods=("naive", "auto_arima"))
    assert set(out) == {"naive", "auto_arima"} and not out["auto_arima"].fallbacks
    assert np.all(out["auto_arima"].lower[0] < out["auto_arima"].mean[0])
