"""The training loop behind :meth:`lstmkit.Sequential.fit`.

One epoch: (optionally) shuffle, then for every mini-batch a forward in training mode,
the loss and its gradient, the backward through every layer, clipping by global norm,
and one optimizer update. With ``tbptt=k`` each batch is cut into chunks of ``k`` steps:
the state is carried from chunk to chunk but gradients stop at chunk borders.

All randomness (shuffling, dropout, the validation split is chronological) comes from
one generator seeded by ``seed``, so a rerun gives bit-identical weights and losses.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from lstmkit.layers.base import weights_changed
from lstmkit.training.callbacks import EarlyStopping, History, TrainingWarning
from lstmkit.training.clipping import clip_by_global_norm
from lstmkit.training.losses import Loss, get_loss
from lstmkit.training.optimizers import Optimizer, get_optimizer
from lstmkit.training.schedules import Schedule, get_schedule

if TYPE_CHECKING:
    from lstmkit.models.sequential import Sequential


@dataclass
class Data:
    """A prepared dataset: ``x (N, T, D)``, targets ``y`` (per sequence ``(N, ...)`` or per
    step ``(N, T, ...)`` when ``per_step``), ``lengths (N,)`` or None."""

    x: np.ndarray
    y: np.ndarray
    lengths: np.ndarray | None
    per_step: bool

    def __len__(self) -> int:
        return self.x.shape[0]

    def take(self, idx: np.ndarray | slice) -> Data:
        """The samples ``idx``, with time trimmed to the longest valid length among them
        (steps past every length would only be skipped by the ops)."""
        x, y = self.x[idx], self.y[idx]
        lengths = None if self.lengths is None else self.lengths[idx]
        if lengths is not None:
            T = int(lengths.max())
            x = x[:, :T]
            y = y[:, :T] if self.per_step else y
        return Data(x, y, lengths, self.per_step)


class _Snapshot:
    """A copy of every parameter, restorable in place (optimizer references stay valid)."""

    def __init__(self, params: list[np.ndarray]) -> None:
        self.params = params
        self.saved = [p.copy() for p in params]

    def take(self) -> None:
        for s, p in zip(self.saved, self.params, strict=True):
            np.copyto(s, p)

    def restore(self) -> None:
        for s, p in zip(self.saved, self.params, strict=True):
            np.copyto(p, s)
        weights_changed()


class _NonFinite(Exception):
    """A loss or gradient became NaN or infinite."""


def fit(
    model: Sequential,
    x: Any,
    y: Any,
    *,
    lengths: Any = None,
    epochs: int = 10,
    batch_size: int = 32,
    validation_data: tuple | None = None,
    validation_split: float = 0.0,
    loss: str | Loss = "mse",
    optimizer: str | Optimizer = "adam",
    lr: float | None = None,
    clip_norm: float | None = None,
    schedule: str | Schedule | None = None,
    early_stopping: EarlyStopping | int | None = None,
    tbptt: int | None = None,
    shuffle: bool = True,
    seed: int | None = 0,
    verbose: int = 1,
) -> History:
    """See :meth:`lstmkit.Sequential.fit`."""
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"fit: epochs and batch_size must be >= 1, got {epochs}, {batch_size}")
    loss_fn = get_loss(loss)
    model.check_loss(loss_fn)
    per_step = model.output_is_sequence
    train = Data(*model.prepare(x, y, lengths, loss_fn, what=("x", "y")), per_step)
    val = None
    if validation_data is not None:
        if not 2 <= len(validation_data) <= 3:
            raise ValueError("fit: validation_data must be (x, y) or (x, y, lengths)")
        xv, yv, *lv = validation_data
        val = Data(
            *model.prepare(xv, yv, lv[0] if lv else None, loss_fn, what=("x_val", "y_val")),
            per_step,
        )
    elif validation_split:
        if not 0 < validation_split < 1:
            raise ValueError(f"fit: validation_split must be in (0, 1), got {validation_split}")
        # The last samples, before any shuffling: chronological, so no look-ahead.
        n_val = round(len(train) * validation_split)
        if not 0 < n_val < len(train):
            raise ValueError(
                f"fit: validation_split={validation_split} leaves no samples on one side"
            )
        cut = len(train) - n_val
        train, val = train.take(slice(0, cut)), train.take(slice(cut, None))
    stateful = any(getattr(layer, "stateful", False) for layer in model.layers)
    if stateful and shuffle:
        raise ValueError(
            "fit: stateful layers carry state from one batch to the next, so fit needs "
            "shuffle=False"
        )
    if tbptt is not None:
        _check_tbptt(model, train, tbptt)
    if isinstance(early_stopping, int) and not isinstance(early_stopping, bool):
        early_stopping = EarlyStopping(patience=early_stopping)
    monitor = None
    if early_stopping is not None:
        monitor = early_stopping.monitor
        if monitor == "auto":
            monitor = "val_loss" if val is not None else "loss"
        if monitor == "val_loss" and val is None:
            raise ValueError("fit: early stopping on val_loss needs validation data")

    opt = get_optimizer(optimizer, lr)
    sched = get_schedule(schedule, epochs)
    rng = np.random.default_rng(seed)
    params, _ = model.parameter_list()
    good = _Snapshot(params)  # weights that last gave a finite loss
    best = _Snapshot(params) if early_stopping is not None else None
    best_value, wait = np.inf, 0
    history = History()

    bar = _progress(epochs, verbose)
    for epoch in bar:
        lr_e = opt.lr * sched.factor(epoch, epochs)
        order = rng.permutation(len(train)) if shuffle else np.arange(len(train))
        model.reset_states()
        total, count, norms = 0.0, 0, []
        try:
            for start in range(0, len(train), batch_size):
                batch = train.take(order[start : start + batch_size])
                s, n, batch_norms = _train_batch(
                    model, batch, loss_fn, opt, lr_e, clip_norm, tbptt, rng, params, good
                )
                total, count = total + s, count + n
                norms.extend(batch_norms)
            values = {"loss": total / max(count, 1)}
            if val is not None:
                values["val_loss"] = evaluate_data(model, val, loss_fn, batch_size)
                if not np.isfinite(values["val_loss"]):
                    raise _NonFinite("the validation loss")
        except _NonFinite as what:
            good.restore()
            history.stop_reason = (
                f"{what} became NaN or infinite in epoch {epoch + 1}; training stopped and "
                "the last weights that gave a finite loss were restored (try a lower lr or "
                "clip_norm)"
            )
            warnings.warn(history.stop_reason, TrainingWarning, stacklevel=3)
            break
        model.reset_states()
        history.record(**values, lr=lr_e, grad_norm=float(np.mean(norms)))
        _report(bar, verbose, epoch, epochs, values)

        if early_stopping is not None:
            current = values[monitor]
            if current < best_value - early_stopping.min_delta:
                best_value, wait, history.best_epoch = current, 0, epoch
                best.take()
            else:
                wait += 1
                if wait >= early_stopping.patience:
                    history.stopped_early = True
                    history.stop_reason = (
                        f"early stopping: {monitor} did not improve for "
                        f"{early_stopping.patience} epochs (best {best_value:.6g} in epoch "
                        f"{history.best_epoch + 1})"
                    )
                    break
    if hasattr(bar, "close"):
        bar.close()
    if (
        early_stopping is not None
        and early_stopping.restore_best
        and history.best_epoch is not None
    ):
        best.restore()
    model.reset_states()
    return history


def _check_tbptt(model: Sequential, train: Data, k: int) -> None:
    if int(k) < 1:
        raise ValueError(f"fit: tbptt must be >= 1 steps, got {k}")
    if train.lengths is not None:
        raise ValueError("fit: tbptt needs sequences of equal length (no lengths)")
    if any(getattr(layer, "bidirectional", False) for layer in model.layers):
        raise ValueError(
            "fit: tbptt cannot cut a bidirectional layer (its reverse direction reads the future)"
        )


def _train_batch(model, batch, loss_fn, opt, lr, clip_norm, tbptt, rng, params, good):
    """One optimizer update (or one per chunk with ``tbptt``); returns loss sum, count, norms."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        if tbptt is None:
            s, n, norm = _update(model, batch, loss_fn, opt, lr, clip_norm, rng, params, good)
            return s, n, [norm]
        model.set_carry(True)
        try:
            return _train_chunks(
                model, batch, loss_fn, opt, lr, clip_norm, tbptt, rng, params, good
            )
        finally:
            model.set_carry(False)


def _train_chunks(model, batch, loss_fn, opt, lr, clip_norm, k, rng, params, good):
    T = batch.x.shape[1]
    many = model.output_is_sequence
    total, count, norms = 0.0, 0, []
    model.reset_states()
    for start in range(0, T, k):
        end = min(start + k, T)
        xc = batch.x[:, start:end]
        if many:
            chunk = Data(xc, batch.y[:, start:end], None, True)
        elif end < T:
            # Carries the state; the loss is only at the end. A training forward, like
            # the chunks that get a loss: same dropout, and the same arithmetic as theirs.
            model.forward(xc, training=True, rng=rng)
            continue
        else:
            chunk = Data(xc, batch.y, None, False)
        s, n, norm = _update(model, chunk, loss_fn, opt, lr, clip_norm, rng, params, good)
        total, count = total + s, count + n
        norms.append(norm)
    return total, count, norms


def _update(model, batch, loss_fn, opt, lr, clip_norm, rng, params, good):
    pred = model.forward(batch.x, batch.lengths, training=True, rng=rng)
    mask = model.output_mask(batch.lengths, batch.x.shape[1])
    value, grad = loss_fn(pred, batch.y, mask)
    if not np.isfinite(value):
        raise _NonFinite("the training loss")
    model.backward(grad, input_grad=False)
    grads = model.gradient_list()
    norm = clip_by_global_norm(grads, clip_norm)
    if not np.isfinite(norm):
        raise _NonFinite("the gradient")
    good.take()
    opt.step(params, grads, lr)
    _, n = loss_fn.weights(pred, mask)
    return value * n, n, norm


def evaluate_data(model: Sequential, data: Data, loss_fn: Loss, batch_size: int) -> float:
    """Mean loss over every valid entry of ``data`` (batches weighted by their entries)."""
    total, count = 0.0, 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for start in range(0, len(data), batch_size):
            batch = data.take(slice(start, start + batch_size))
            pred = model.forward(batch.x, batch.lengths)
            s, n = loss_fn.total(pred, batch.y, model.output_mask(batch.lengths, batch.x.shape[1]))
            total, count = total + s, count + n
    return total / max(count, 1)


def _progress(epochs: int, verbose: int):
    """Epoch iterator: a tqdm bar (only on a terminal) for verbose=1, plain otherwise."""
    if verbose == 1:
        from tqdm.auto import tqdm

        # disable=None: tqdm switches itself off when stderr is not a terminal.
        return tqdm(range(epochs), desc="fit", unit="epoch", disable=None, file=sys.stderr)
    return range(epochs)


def _report(bar, verbose: int, epoch: int, epochs: int, values: dict[str, float]) -> None:
    text = {k: f"{v:.4g}" for k, v in values.items()}
    if verbose == 1 and hasattr(bar, "set_postfix"):
        bar.set_postfix(text, refresh=False)
    elif verbose >= 2:
        parts = "  ".join(f"{k} {v}" for k, v in text.items())
        print(f"epoch {epoch + 1}/{epochs}  {parts}", flush=True)
