"""The job's pictures: the forecast, the loss curves, and the gate "valves" of an LSTM.

matplotlib runs on its file-only backend (Agg), so plotting works without a display.
Each function writes one PNG and returns its path.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def _x(index) -> np.ndarray:
    return np.asarray(index)


def _draw_series(ax, panel, k, j, held, future, future_time, level, recommended, H) -> None:
    """One series: history, held-out truth, the test-window and future forecasts."""
    t, y = _x(panel.times[k]), panel.values[k]
    ax.plot(t, y, color="0.2", lw=1.2, label="data")
    pct = round(100 * level)
    if j is not None:
        tt = t[-H:]
        ax.plot(tt, held["lstm"][j], color="tab:blue", lw=1.6, label="LSTM on the test window")
        ax.fill_between(tt, held["lstm-lo"][j], held["lstm-hi"][j], color="tab:blue", alpha=0.15,
                        label=f"its {pct}% interval")  # fmt: skip
    ft = _x(future_time)
    ax.plot(ft, future["lstm"][k], color="tab:orange", lw=1.6, label="LSTM beyond the data")
    ax.fill_between(ft, future["lstm-lo"][k], future["lstm-hi"][k], color="tab:orange", alpha=0.2,
                    label=f"its {pct}% interval")  # fmt: skip
    if recommended != "lstm":
        ax.plot(ft, future[recommended][k], color="tab:green", lw=1.2, ls="--",
                label=f"{recommended} (recommended) beyond the data")  # fmt: skip
    if j is not None:
        ax.axvspan(t[-H], t[-1], color="0.9", zorder=0)
    ax.grid(alpha=0.3)


def plot_panel(path: str | Path, panel, scored, held, future, future_times, mase, *, level: float,
               recommended: str) -> Path:  # fmt: skip
    """The forecasts of one series, or of a panel's two best and two worst series (by the
    LSTM's MASE on the test window). ``held`` rows follow ``scored``; ``future`` rows
    follow the panel."""
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
    rows = len(picks)
    fig, axes = plt.subplots(rows, 1, figsize=(10, 3.6 * rows), dpi=100, squeeze=False)
    for ax, (k, j, why) in zip(axes[:, 0], picks, strict=True):
        _draw_series(ax, panel, k, j, held, future, future_times[k], level, recommended, H)
        ax.set_title(f"{panel.ids[k]}{': ' + why if why else ''}", fontsize=10)
        ax.set_ylabel(panel.target)
    axes[0, 0].legend(loc="upper left", fontsize=7)
    axes[-1, 0].set_xlabel(panel.time_name or "step")
    fig.suptitle("shaded: the held-out test window", fontsize=9, y=0.995)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def plot_summary(path: str | Path, per_series: dict, summary: dict) -> Path:
    """Each method's MASE over the series (box plot) with its mean marked."""
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
    ax.legend()
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def plot_training(path: str | Path, histories: list, title: str) -> Path:
    """Training and validation loss per epoch of each ensemble member."""
    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=110)
    for k, h in enumerate(histories):
        loss = h.history.get("loss", [])
        ax.plot(
            np.arange(1, len(loss) + 1),
            loss,
            color="tab:blue",
            alpha=0.7,
            label="training" if k == 0 else None,
        )
        val = h.history.get("val_loss")
        if val:
            ax.plot(
                np.arange(1, len(val) + 1),
                val,
                color="tab:orange",
                alpha=0.7,
                label="validation" if k == 0 else None,
            )
        if h.best_epoch is not None:
            ax.axvline(h.best_epoch + 1, color="0.6", lw=0.8, ls=":")
    losses = [v for h in histories for vals in h.history.values() for v in vals]
    if losses and min(losses) > 0:  # a constant series trains to exactly 0
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE (scaled)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def plot_gates(
    path: str | Path, window: np.ndarray, gates: dict[str, np.ndarray], title: str
) -> Path:
    """Heatmaps (units × time) of an LSTM's gates for one window.

    Parameters
    ----------
    window : ndarray (T, F), the input the gates responded to.
    gates : ``i``, ``f``, ``o``, ``g``, ``c`` each ``(T, H)``.
    """
    names = [
        ("i", "input gate i"),
        ("f", "forget gate f"),
        ("o", "output gate o"),
        ("g", "candidate g"),
        ("c", "cell state c"),
    ]
    fig, axes = plt.subplots(
        len(names) + 1, 1, figsize=(9, 2.0 * (len(names) + 1)), dpi=110, sharex=True
    )
    T = window.shape[0]
    axes[0].plot(np.arange(T), window)
    axes[0].set_ylabel("input")
    axes[0].set_title(title)
    for ax, (key, label) in zip(axes[1:], names, strict=True):
        data = gates[key].T  # (H, T)
        if key in ("i", "f", "o"):
            vmin, vmax, cmap = 0.0, 1.0, "viridis"
        else:
            lim = float(np.max(np.abs(data))) or 1.0
            vmin, vmax, cmap = -lim, lim, "coolwarm"
        im = ax.imshow(
            data,
            aspect="auto",
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            extent=(-0.5, T - 0.5, data.shape[0] - 0.5, -0.5),
        )
        ax.set_ylabel(f"{label}\nunit")
        fig.colorbar(im, ax=ax, pad=0.01)
    axes[-1].set_xlabel("time step in the window")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
