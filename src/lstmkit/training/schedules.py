"""Learning-rate schedules: a factor applied to the base rate at the start of each epoch."""

from __future__ import annotations

import math


class Schedule:
    """``factor(epoch, epochs)`` multiplies the optimizer's base learning rate."""

    def factor(self, epoch: int, epochs: int) -> float:
        raise NotImplementedError


class Constant(Schedule):
    def factor(self, epoch, epochs):
        return 1.0


class StepDecay(Schedule):
    """Multiply by ``gamma`` every ``step_size`` epochs (PyTorch's ``StepLR``)."""

    def __init__(self, step_size: int, gamma: float = 0.1) -> None:
        if step_size < 1 or not 0 < gamma <= 1:
            raise ValueError("StepDecay: step_size must be >= 1 and gamma in (0, 1]")
        self.step_size, self.gamma = int(step_size), float(gamma)

    def factor(self, epoch, epochs):
        return self.gamma ** (epoch // self.step_size)


class CosineDecay(Schedule):
    """Half a cosine from 1 to ``min_factor`` over the run (PyTorch's ``CosineAnnealingLR``
    with ``T_max = epochs``)."""

    def __init__(self, min_factor: float = 0.0) -> None:
        self.min_factor = float(min_factor)

    def factor(self, epoch, epochs):
        progress = epoch / max(epochs, 1)
        return self.min_factor + (1 - self.min_factor) * 0.5 * (1 + math.cos(math.pi * progress))


def get_schedule(schedule: str | Schedule | None, epochs: int) -> Schedule:
    """``None`` (constant), ``"cosine"``, ``"step"`` (×0.1 at each third of the run) or an
    instance."""
    if schedule is None:
        return Constant()
    if isinstance(schedule, Schedule):
        return schedule
    if schedule == "cosine":
        return CosineDecay()
    if schedule == "step":
        return StepDecay(max(1, epochs // 3))
    raise ValueError(f"unknown schedule {schedule!r}; choose None, 'cosine', 'step' or a Schedule")
