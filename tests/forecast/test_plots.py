"""Every figure is rendered and read back: axis labels, legends that name every line, a
zoomed panel on long series, and gate panels on one time axis."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.dates import date2num

from lstmkit.forecast import from_frame
from lstmkit.forecast.plots import (
    gates_figure,
    panel_figure,
    plot_gates,
    plot_panel,
    summary_figure,
    training_figure,
)
from lstmkit.training.callbacks import History

H = 14


def one_series(n: int, freq: str = "D"):
    ds = pd.date_range("2020-01-01", periods=n, freq=freq)
    df = pd.DataFrame({"unique_id": "shop", "ds": ds, "y": 10 + np.sin(np.arange(n))})
    panel = from_frame(df)
    rng = np.random.default_rng(0)
    table = {k: rng.normal(10, 1, (1, H)) for k in ("lstm", "auto_ets")}
    table["lstm-lo"], table["lstm-hi"] = table["lstm"] - 1, table["lstm"] + 1
    future_times = [panel.future_times(0, H)]
    return panel, table, future_times


def texts(legend) -> list[str]:
    return [t.get_text() for t in legend.get_texts()]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("n, zoomed", [(150, False), (3 * 365, True)])
def test_forecast_figure_labels_legend_and_zoom(n, zoomed):
    panel, table, future_times = one_series(n)
    fig = panel_figure(panel, [0], table, table, future_times, {"shop": 0.9}, level=0.9,
                       recommended="auto_ets")  # fmt: skip
    axes = fig.axes
    assert len(axes) == (2 if zoomed else 1)
    for ax in axes:
        assert ax.get_xlabel() == "ds"
    assert axes[0].get_ylabel() == "y (units of the file)"
    labels = texts(axes[0].get_legend())
    for expected in ("data", f"held-out test window ({H} steps)",
                     "LSTM forecast of the test window", "its 90% interval",
                     "LSTM forecast beyond the data (refit on all of it)",
                     "auto_ets (recommended) beyond the data"):  # fmt: skip
        assert expected in labels
    if zoomed:
        # The zoom shows the held-out window and the forecast over most of its width.
        lo, hi = axes[1].get_xlim()
        start, end = date2num(panel.times[0][-4 * H]), date2num(future_times[0][-1])
        assert lo <= start + 1 and hi >= end - 1
        assert (hi - lo) < 8 * H and "zoom" in axes[1].get_title()


def test_forecast_figure_is_written(tmp_path):
    panel, table, future_times = one_series(60)
    path = plot_panel(tmp_path / "f.png", panel, [0], table, table, future_times, {"shop": 1.0},
                      level=0.9, recommended="lstm")  # fmt: skip
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def history(loss, val=None, best=None):
    h = History()
    h.history["loss"] = list(loss)
    if val is not None:
        h.history["val_loss"] = list(val)
    h.best_epoch = best
    return h


def test_training_figure_explains_every_line():
    early = [history([3, 2, 1.5, 1.4], [3.1, 2.2, 1.9, 2.0], best=2) for _ in range(2)]
    refit = [history([3, 2, 1.5]) for _ in range(2)]
    ax = training_figure(early, refit, loss="mae").axes[0]
    assert ax.get_xlabel() == "epoch"
    assert ax.get_ylabel().startswith("mean absolute error")
    assert texts(ax.get_legend()) == [
        "training loss, early-stopping fit",
        "validation loss (held-back origins), early-stopping fit",
        "epoch early stopping chose (best validation loss)",
        "training loss, refit on all the data",
    ]
    dotted = [ln for ln in ax.get_lines() if ln.get_linestyle() == ":"]
    assert len(dotted) == 2 and dotted[0].get_xdata()[0] == 3


def test_summary_figure_labels():
    per_series = {f"s{k}": {"metrics": {"lstm": {"MASE": 1.0 + k}, "naive": {"MASE": 2.0}}}
                  for k in range(3)}  # fmt: skip
    summary = {"lstm": {"MASE": 2.0}, "naive": {"MASE": 2.0}}
    ax = summary_figure(per_series, summary).axes[0]
    assert ax.get_xlabel() == "method" and ax.get_ylabel().startswith("MASE")
    assert texts(ax.get_legend()) == ["mean MASE"]


def test_gate_panels_share_one_time_axis(tmp_path):
    T, units = 15, 4
    rng = np.random.default_rng(1)
    gates = {k: rng.uniform(0, 1, (T, units)) for k in "ifogc"}
    fig = gates_figure(rng.normal(size=(T, 1)), gates, "gates", "input\n(prepared)")
    panels = [ax for ax in fig.axes if ax.get_subplotspec().colspan.start == 0]
    bars = [ax for ax in fig.axes if ax.get_subplotspec().colspan.start == 1 and ax.axison]
    assert [ax.get_ylabel() for ax in bars] == ["0 closed … 1 open"] * 3 + ["value"] * 2
    assert [ax.get_ylabel().split("\n")[0] for ax in panels] == [
        "input", "input gate i", "forget gate f", "output gate o", "candidate g", "cell state c"
    ]  # fmt: skip
    fig.canvas.draw()
    boxes = [ax.get_position() for ax in panels]
    for box in boxes[1:]:  # step k of the input sits above step k of every heatmap
        assert box.x0 == pytest.approx(boxes[0].x0) and box.x1 == pytest.approx(boxes[0].x1)
    for ax in panels:
        assert ax.get_xlim() == pytest.approx((-0.5, T - 0.5))
    assert panels[-1].get_xlabel() == "time step in the window (0 = oldest)"
    assert plot_gates(tmp_path / "g.png", rng.normal(size=(T, 1)), gates, "g").is_file()
