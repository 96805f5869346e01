"""The job's pictures: the forecast, the loss curves, and the gate "valves" of an LSTM.

matplotlib runs on its file-only backend (Agg), so plotting works without a display.
Each ``plot_*`` function writes one PNG and returns its path; the ``*_figure`` function
beside it builds the Figure (which the tests read: labels, legends, panel positions).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def _x(index) -> np.ndarray:
    return np.asarray(index)


# The last steps (held-out window and forecast) must stay readable on long series: when
# they would take less than this share of the axis, a zoomed panel shows them beside it.
ZOOM_BELOW = 0.15


def _save(fig, path: str | Path) -> Path:
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def _draw_series(ax, panel, k, j, held, future, future_time, level, recommended, H,
                 first: int = 0) -> None:  # fmt: skip
    """One series from step ``first`` on: history, held-out truth, the test-window and
    future forecasts, each line named in the legend."""
    t, y = _x(panel.times[k])[first:], panel.values[k][first:]
    ax.plot(t, y, color="0.2", lw=1.2, label="data")
    pct = round(100 * level)
    if j is not None:
        tt = _x(panel.times[k])[-H:]
        ax.axvspan(tt[0], tt[-1], color="0.9", zorder=0, label=f"held-out test window ({H} steps)")
        ax.plot(tt, held["lstm"][j], color="tab:blue", lw=1.6,
                label="LSTM forecast of the test window")  # fmt: skip
        ax.fill_between(tt, held["lstm-lo"][j], held["lstm-hi"][j], color="tab:blue", alpha=0.15,
                        label=f"its {pct}% interval")  # fmt: skip
    ft = _x(future_time)
    ax.plot(ft, future["lstm"][k], color="tab:orange", lw=1.6,
            label="LSTM forecast beyond the data (refit on all of it)")  # fmt: skip
    ax.fill_between(ft, future["lstm-lo"][k], future["lstm-hi"][k], color="tab:orange", alpha=0.2,
                    label=f"its {pct}% interval")  # fmt: skip
    if recommended != "lstm":
        ax.plot(ft, future[recommended][k], color="tab:green", lw=1.2, ls="--",
                label=f"{recommended} (recommended) beyond the data")  # fmt: skip
    ax.grid(alpha=0.3)


def panel_figure(panel, scored, held, future, future_times, mase, *, level: float,
                 recommended: str):  # fmt: skip
    """The figure of :func:`plot_panel` (a matplotlib Figure, not yet saved)."""
    H = held["lstm"].shape[1] if len(scored) else future["lstm"].shape[1]
    ranked = sorted((v, i) for i, (k, v) in enumerate(zip(scored, mase.values(), strict=True))
                    if v is not None)  # fmt: skip
    if len(panel) == 1:
        picks = [(0, 0 if scored else None, "")]
    else:
        chosen = ranked[:2] + [r for r in ranked[-2:] if r not in ranked[:2]]
        picks = [(scored[i], i, f"{'smallest' if n < 2 else 'largest'} error, MASE {v:.2f}")
                 for n, (v, i) in enumerate(chosen)]  # fmt: skip
        picks = picks or [(0, None, "")]
    longest = max(len(panel.values[k]) for k, _, _ in picks)
    zoom = 3 * H / (longest + H) < ZOOM_BELOW
    rows = len(picks)
    fig, axes = plt.subplots(rows, 2 if zoom else 1, figsize=(14 if zoom else 10, 3.6 * rows),
                             dpi=100, squeeze=False,
                             gridspec_kw={"width_ratios": [2, 1]} if zoom else None)  # fmt: skip
    ylabel = f"{panel.target} (units of the file)"
    xlabel = panel.time_name or "step"
    for row, (k, j, why) in enumerate(picks):
        args = (panel, k, j, held, future, future_times[k], level, recommended, H)
        ax = axes[row, 0]
        _draw_series(ax, *args)
        ax.set_title(f"{panel.ids[k]}{': ' + why if why else ''}", fontsize=10)
        ax.set_ylabel(ylabel)
        ax.set_xlabel(xlabel)
        if zoom:
            first = max(len(panel.values[k]) - 4 * H, 0)
            _draw_series(axes[row, 1], *args, first=first)
            axes[row, 1].set_title(f"zoom: the last {len(panel.values[k]) - first} steps and "
                                   f"the {H}-step forecast", fontsize=10)  # fmt: skip
            axes[row, 1].set_xlabel(xlabel)
            axes[row, 1].tick_params(axis="x", labelrotation=20)
    axes[0, 0].legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    return fig


def plot_panel(path: str | Path, panel, scored, held, future, future_times, mase, *, level: float,
               recommended: str) -> Path:  # fmt: skip
    """The forecasts of one series, or of a panel's two best and two worst series (by the
    LSTM's MASE on the test window), with a zoomed panel of the last steps beside each
    when the series is long. ``held`` rows follow ``scored``; ``future`` rows follow the
    panel."""
    return _save(panel_figure(panel, scored, held, future, future_times, mase, level=level,
                              recommended=recommended), path)  # fmt: skip


def summary_figure(per_series: dict, summary: dict):
    """The figure of :func:`plot_summary`."""
    names = sorted((n for n in summary if summary[n]["MASE"] is not None),
                   key=lambda n: summary[n]["MASE"])  # fmt: skip
    data = [
        [m[n]["MASE"] for m in (r["metrics"] for r in per_series.values())
         if n in m and m[n]["MASE"] is not None]
        for n in names
    ]  # fmt: skip
    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=100)
    ax.boxplot(data, showfliers=False)
    ax.set_xticks(np.arange(1, len(names) + 1), names, rotation=20)
    ax.plot(np.arange(1, len(names) + 1), [summary[n]["MASE"] for n in names], "D",
            color="tab:red", label="mean MASE")  # fmt: skip
    ax.axhline(1.0, color="0.5", lw=0.8, ls=":")
    ax.set_ylabel("MASE on the test window (1 = in-sample naive)")
    ax.set_title(f"{len(per_series)} series: error per method (boxes: quartiles, whiskers 1.5 IQR)")
    ax.set_xlabel("method")
    ax.legend()
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


def plot_summary(path: str | Path, per_series: dict, summary: dict) -> Path:
    """Each method's MASE over the series (box plot) with its mean marked."""
    return _save(summary_figure(per_series, summary), path)


_LOSS_NAMES = {"mae": "mean absolute error", "mse": "mean squared error", "huber": "Huber loss"}


def training_figure(early: list, refit: list | None = None, loss: str = "mae"):
    """The figure of :func:`plot_training`."""
    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=110)
    labelled: set[str] = set()

    def once(label: str) -> str | None:
        if label in labelled:
            return None
        labelled.add(label)
        return label

    for histories, ls, what in ((early, "-", "early-stopping fit"),
                                (refit or [], "--", "refit on all the data")):  # fmt: skip
        for h in histories:
            loss_values = h.history.get("loss", [])
            ax.plot(np.arange(1, len(loss_values) + 1), loss_values, color="tab:blue", ls=ls,
                    alpha=0.7, label=once(f"training loss, {what}"))  # fmt: skip
            val = h.history.get("val_loss")
            if val:
                ax.plot(np.arange(1, len(val) + 1), val, color="tab:orange", ls=ls, alpha=0.7,
                        label=once(f"validation loss (held-back origins), {what}"))  # fmt: skip
            if h.best_epoch is not None:
                ax.axvline(
                    h.best_epoch + 1,
                    color="0.5",
                    lw=0.8,
                    ls=":",
                    label=once("epoch early stopping chose (best validation loss)"),
                )
    losses = [v for hs in (early, refit or []) for h in hs for vals in h.history.values()
              for v in vals]  # fmt: skip
    if losses and min(losses) > 0:  # a constant series trains to exactly 0
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"{_LOSS_NAMES.get(loss, loss)}\n(prepared, scaled series)")
    n = len(early or refit or [])
    ax.set_title(f"loss per epoch, one line per network of the ensemble ({n})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_training(path: str | Path, early: list, refit: list | None = None,
                  loss: str = "mae") -> Path:  # fmt: skip
    """Training and validation loss per epoch of each ensemble member: ``early`` the
    early-stopping fit's Histories (solid, with the chosen epoch dotted), ``refit`` those
    of the retraining on all the data (dashed)."""
    return _save(training_figure(early, refit, loss), path)


def gates_figure(window: np.ndarray, gates: dict[str, np.ndarray], title: str,
                 input_label: str = "input"):  # fmt: skip
    """The figure of :func:`plot_gates`."""
    names = [
        ("i", "input gate i"),
        ("f", "forget gate f"),
        ("o", "output gate o"),
        ("g", "candidate g"),
        ("c", "cell state c"),
    ]
    T = window.shape[0]
    rows = len(names) + 1
    fig = plt.figure(figsize=(9, 2.0 * rows), dpi=110)
    # A colorbar column for every row (empty for the input), so that every panel spans
    # the same time axis and step k sits above step k.
    grid = fig.add_gridspec(rows, 2, width_ratios=[40, 1], wspace=0.03)
    axes = [fig.add_subplot(grid[0, 0])]
    axes += [fig.add_subplot(grid[r, 0], sharex=axes[0]) for r in range(1, rows)]
    fig.add_subplot(grid[0, 1]).axis("off")
    steps = np.arange(T)
    axes[0].plot(steps, window, marker=".")
    axes[0].set_xlim(-0.5, T - 0.5)
    axes[0].set_ylabel(input_label)
    axes[0].set_title(title)
    for r, (ax, (key, label)) in enumerate(zip(axes[1:], names, strict=True), start=1):
        data = gates[key].T  # (H, T)
        if key in ("i", "f", "o"):
            vmin, vmax, cmap = 0.0, 1.0, "viridis"
        else:
            lim = float(np.max(np.abs(data))) or 1.0
            vmin, vmax, cmap = -lim, lim, "coolwarm"
        im = ax.imshow(data, aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax,
                       extent=(-0.5, T - 0.5, data.shape[0] - 0.5, -0.5))  # fmt: skip
        ax.set_ylabel(f"{label}\nunit")
        fig.colorbar(
            im,
            cax=fig.add_subplot(grid[r, 1]),
            label="0 closed … 1 open" if key in ("i", "f", "o") else "value",
        )
    for ax in axes[:-1]:
        ax.tick_params(labelbottom=False)
    axes[-1].set_xlabel("time step in the window (0 = oldest)")
    fig.subplots_adjust(left=0.11, right=0.9, top=0.95, bottom=0.05, hspace=0.15)
    return fig


def plot_gates(path: str | Path, window: np.ndarray, gates: dict[str, np.ndarray], title: str,
               input_label: str = "input") -> Path:  # fmt: skip
    """Heatmaps (units × time) of an LSTM's gates for one window, under its input.

    Parameters
    ----------
    window : ndarray (T, F), the input the gates responded to.
    gates : ``i``, ``f``, ``o``, ``g``, ``c`` each ``(T, H)``.
    input_label : the input panel's axis label (what the input is).
    """
    return _save(gates_figure(window, gates, title, input_label), path)
