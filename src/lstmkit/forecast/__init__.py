"""Time-series forecasting: windows, transforms, the Forecaster, baselines, metrics and
rolling-origin backtests (docs/forecasting.md)."""

from lstmkit.forecast.backtest import Fold, backtest, summarize
from lstmkit.forecast.baselines import all_baselines, drift, mean, naive, seasonal_naive
from lstmkit.forecast.forecaster import Forecast, Forecaster, ForecastWarning, NotFittedError
from lstmkit.forecast.metrics import all_metrics, mae, mape, mase, rmse, smape
from lstmkit.forecast.panel import Panel, from_frame, read_panel_csv
from lstmkit.forecast.splits import chronological_split
from lstmkit.forecast.transforms import ColumnScaler, SeriesTransform
from lstmkit.forecast.windows import last_window, make_windows, n_windows

__all__ = [
    "ColumnScaler",
    "Fold",
    "Forecast",
    "ForecastWarning",
    "Forecaster",
    "NotFittedError",
    "Panel",
    "SeriesTransform",
    "all_baselines",
    "all_metrics",
    "backtest",
    "chronological_split",
    "drift",
    "from_frame",
    "last_window",
    "mae",
    "make_windows",
    "mape",
    "mase",
    "mean",
    "n_windows",
    "naive",
    "read_panel_csv",
    "rmse",
    "seasonal_naive",
    "smape",
    "summarize",
]
