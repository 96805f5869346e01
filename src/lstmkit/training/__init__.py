"""Training: losses, optimizers, schedules, clipping, early stopping and the fit loop."""

from lstmkit.training.callbacks import EarlyStopping, History, TrainingWarning
from lstmkit.training.clipping import clip_by_global_norm, global_norm
from lstmkit.training.losses import (
    MAE,
    MSE,
    BinaryCrossEntropy,
    CrossEntropy,
    Huber,
    Loss,
    get_loss,
)
from lstmkit.training.optimizers import SGD, Adam, AdamW, Optimizer, RMSprop, get_optimizer
from lstmkit.training.schedules import Constant, CosineDecay, Schedule, StepDecay, get_schedule

__all__ = [
    "MAE",
    "MSE",
    "SGD",
    "Adam",
    "AdamW",
    "BinaryCrossEntropy",
    "Constant",
    "CosineDecay",
    "CrossEntropy",
    "EarlyStopping",
    "History",
    "Huber",
    "Loss",
    "Optimizer",
    "RMSprop",
    "Schedule",
    "StepDecay",
    "TrainingWarning",
    "clip_by_global_norm",
    "get_loss",
    "get_optimizer",
    "get_schedule",
    "global_norm",
]
