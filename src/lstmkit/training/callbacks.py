"""What ``fit`` reports and how it decides to stop early."""

from __future__ import annotations

from dataclasses import dataclass, field


class TrainingWarning(UserWarning):
    """Training stopped or changed course for a reason the user should know about."""


@dataclass
class EarlyStopping:
    """Stop when the monitored loss has not improved for ``patience`` epochs.

    Parameters
    ----------
    patience : epochs without an improvement of more than ``min_delta`` before stopping.
    min_delta : smallest decrease that counts as an improvement.
    restore_best : at the end of ``fit`` (stopped early or not), put back the weights of
        the best epoch.
    monitor : ``"val_loss"``, ``"loss"``, or ``"auto"`` (val_loss when there is
        validation data).
    """

    patience: int = 10
    min_delta: float = 0.0
    restore_best: bool = True
    monitor: str = "auto"

    def __post_init__(self) -> None:
        if self.patience < 1:
            raise ValueError(f"EarlyStopping: patience must be >= 1, got {self.patience}")
        if self.monitor not in ("auto", "loss", "val_loss"):
            raise ValueError("EarlyStopping: monitor must be 'auto', 'loss' or 'val_loss'")


@dataclass
class History:
    """Per-epoch record of a ``fit`` run.

    Attributes
    ----------
    history : ``"loss"``, ``"val_loss"`` (with validation data), ``"lr"`` and
        ``"grad_norm"`` (mean global gradient norm before clipping), one value per epoch.
    best_epoch : epoch (0-based) with the best monitored loss, when early stopping is on.
    stopped_early : early stopping ended the run.
    stop_reason : why training ended before ``epochs``, or None.
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    best_epoch: int | None = None
    stopped_early: bool = False
    stop_reason: str | None = None

    def record(self, **values: float) -> None:
        for k, v in values.items():
            self.history.setdefault(k, []).append(float(v))

    @property
    def epochs(self) -> int:
        return len(self.history.get("loss", []))
