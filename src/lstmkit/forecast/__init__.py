"""Time-series forecasting: windows, transforms, the Forecaster, baselines, metrics and
rolling-origin backtests (docs/forecasting.md)."""

from lstmkit.forecast.baselines import all_baselines, drift, mean, naive, seasonal_naive
from lstmkit.forecast.forecaster import Forecast, Forecaster, ForecastWarning
from lstmkit.forecast.metrics import all_metrics, mae, mape, mase, rmse, smape
from lstmkit.forecast.splits import chronological_split
from lstmkit.forecast.transforms import ColumnScaler, SeriesTransform
from lstmkit.forecast.windows import last_window, make_windows, n_windows

__all__ = [
    "ColumnScaler",
    "Forecast",
    "ForecastWarning",
    "Forecaster",
    "SeriesTransform",
    "all_baselines",
    "all_metrics",
    "chronological_split",
    "drift",
    "last_window",
    "mae",
    "make_windows",
    "mape",
    "mase",
    "mean",
    "n_windows",
    "naive",
    "rmse",
    "seasonal_naive",
    "smape",
]
