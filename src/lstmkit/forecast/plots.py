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


def plot_forecast(
    path: str | Path,
    *,
    time,
    values: np.ndarray,
    holdout_time,
    holdout: dict[str, np.ndarray],
    future_time,
    future: dict[str, np.ndarray],
    title: str,
    level: float,
) -> Path:
    """History, held-out truth, the held-out forecast and the future forecast, with
    intervals. ``holdout``/``future`` hold ``mean``, ``lower``, ``upper``."""
    fig, ax = plt.subplots(figsize=(10, 4.8), dpi=110)
    n_hold = len(holdout["mean"])
    ax.plot(
        _x(time)[: len(values) - n_hold],
        values[: len(values) - n_hold],
        color="0.2",
        lw=1.4,
        label="history",
    )
    joined = np.concatenate([_x(time)[-n_hold - 1 : -n_hold], _x(holdout_time)])
    ax.plot(joined, values[-n_hold - 1 :], color="black", lw=1.4, ls="--", label="held-out truth")
    for name, part, t, color in (
        ("forecast of the held-out part", holdout, holdout_time, "tab:blue"),
        ("forecast beyond the data", future, future_time, "tab:orange"),
    ):
        ax.plot(_x(t), part["mean"], color=color, lw=1.8, label=name)
        ax.fill_between(
            _x(t),
            part["lower"],
            part["upper"],
            color=color,
            alpha=0.2,
            label=f"{round(100 * level)}% interval",
        )
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
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
