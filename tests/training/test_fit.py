"""Sequential.fit: learning, reproducibility, early stopping, NaN recovery, clipping,
schedules, truncated BPTT, validation, progress output."""

import itertools

import numpy as np
import pytest

from lstmkit import GRU, LSTM, SGD, Adam, Dense, Dropout, EarlyStopping, Sequential
from lstmkit.training import StepDecay, TrainingWarning


def sum_task(n=96, T=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, T, 2))
    return x, x[:, :, 0].sum(axis=1, keepdims=True) / 4


def small(seed=0, **kw):
    return Sequential([LSTM(8, return_sequences=True), Dropout(0.1), GRU(6), Dense(1)],
                      input_size=2, seed=seed, **kw)  # fmt: skip


def test_fit_learns_a_simple_task():
    x, y = sum_task()
    m = small()
    before = m.evaluate(x, y)
    h = m.fit(x, y, epochs=40, batch_size=16, lr=1e-2, verbose=0)
    assert h.history["loss"][-1] < 0.1 * h.history["loss"][0]
    assert m.evaluate(x, y) < 0.05 * before


def test_same_seed_gives_bit_identical_weights_and_losses():
    x, y = sum_task()

    def run(fit_seed):
        m = small()
        h = m.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, seed=fit_seed, verbose=0)
        return m.get_weights(), h.history

    (w1, h1), (w2, h2), (_, h3) = run(5), run(5), run(6)
    assert h1 == h2
    assert all(np.array_equal(w1[k], w2[k]) for k in w1)
    assert h1["loss"] != h3["loss"]  # the seed drives shuffling and dropout


def test_validation_split_holds_out_the_last_samples():
    x, y = sum_task()
    m = small()
    h = m.fit(x, y, epochs=2, validation_split=0.25, verbose=0)
    assert h.history["val_loss"][-1] == pytest.approx(m.evaluate(x[72:], y[72:]), rel=1e-12)


def test_early_stopping_restores_the_best_epoch():
    x, y = sum_task()
    # Validation targets of the opposite sign: fitting the data soon worsens val_loss.
    val = (x[:32], -y[:32])
    m = small()
    h = m.fit(x, y, epochs=30, batch_size=16, lr=1e-2, validation_data=val, verbose=0,
              early_stopping=EarlyStopping(patience=3))  # fmt: skip
    best = int(np.argmin(h.history["val_loss"]))
    assert h.stopped_early and h.best_epoch == best and h.epochs == best + 4
    assert "did not improve for 3 epochs" in h.stop_reason
    ref = small()  # the same run, stopped by hand after the best epoch
    ref.fit(x, y, epochs=best + 1, batch_size=16, lr=1e-2, verbose=0)
    w, w_ref = m.get_weights(), ref.get_weights()
    assert all(np.array_equal(w[k], w_ref[k]) for k in w)


def test_early_stopping_needs_validation_for_val_loss():
    x, y = sum_task()
    with pytest.raises(ValueError, match="needs validation data"):
        small().fit(x, y, verbose=0, early_stopping=EarlyStopping(monitor="val_loss"))
    h = small().fit(x, y, epochs=3, verbose=0, early_stopping=2)  # monitors loss
    assert h.best_epoch is not None


def test_nan_loss_stops_training_and_restores_the_last_good_weights():
    x, y = sum_task()
    m = small()
    with pytest.warns(TrainingWarning, match="became NaN or infinite.*restored"):
        h = m.fit(x, y * 1e30, epochs=5, optimizer=SGD(lr=1e30), verbose=0)
    assert "NaN or infinite" in h.stop_reason
    assert h.epochs == 0
    assert all(np.isfinite(w).all() for w in m.get_weights().values())
    assert np.isfinite(m.predict(x)).all()


def test_clip_norm_bounds_the_update():
    x, y = sum_task(n=16)
    m = small()
    w0 = m.get_weights()
    h = m.fit(x, y * 100, epochs=1, batch_size=16, optimizer=SGD(lr=1.0), clip_norm=0.01,
              verbose=0)  # fmt: skip
    assert h.history["grad_norm"][0] > 0.01  # the raw gradient was larger
    w1 = m.get_weights()
    step = np.sqrt(sum(np.sum((w1[k].astype(float) - w0[k]) ** 2) for k in w0))
    assert step == pytest.approx(0.01, rel=1e-4)


def test_schedules_set_the_learning_rate_per_epoch():
    x, y = sum_task(n=16)
    h = small().fit(x, y, epochs=5, lr=0.1, schedule="cosine", verbose=0)
    lr = h.history["lr"]
    assert lr[0] == 0.1 and all(a > b for a, b in itertools.pairwise(lr))
    assert lr[-1] == pytest.approx(0.1 * 0.5 * (1 + np.cos(np.pi * 4 / 5)))
    h = small().fit(x, y, epochs=5, lr=0.1, schedule=StepDecay(2, 0.5), verbose=0)
    assert h.history["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])


@pytest.mark.parametrize("many", [True, False])
def test_truncated_bptt_is_stateful_chunked_training(many):
    """tbptt=k equals training on chunks of k steps with the state carried (detached)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 12, 2))
    y = rng.standard_normal((8, 12, 1)) if many else rng.standard_normal((8, 1))

    def model(stateful):
        return Sequential([LSTM(5, return_sequences=True, stateful=stateful),
                           GRU(4, return_sequences=many, stateful=stateful), Dense(1)],
                          input_size=2, dtype="float64", seed=2)  # fmt: skip

    a = model(False)
    a.fit(x, y, epochs=1, batch_size=8, tbptt=5, optimizer=SGD(lr=0.1), shuffle=False, verbose=0)
    b = model(True)
    opt = SGD(lr=0.1)
    params, _ = b.parameter_list()
    from lstmkit.training import get_loss

    for start in (0, 5, 10):
        xc = x[:, start : start + 5]
        pred = b.forward(xc, training=True)
        if not many and start < 10:
            continue  # many-to-one: the loss is only at the end
        _, grad = get_loss("mse")(pred, y[:, start : start + 5] if many else y)
        b.backward(grad)
        opt.step(params, b.gradient_list())
    wa, wb = a.get_weights(), b.get_weights()
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    # tbptt=T is plain BPTT.
    c, d = model(False), model(False)
    c.fit(x, y, epochs=2, batch_size=4, tbptt=12, verbose=0)
    d.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert all(np.array_equal(c.get_weights()[k], d.get_weights()[k]) for k in wa)


def test_tbptt_refuses_lengths_and_bidirectional():
    x, y = sum_task(n=8)
    with pytest.raises(ValueError, match="equal length"):
        small().fit(x, y, lengths=np.full(8, 7), tbptt=4, verbose=0)
    bi = Sequential([LSTM(3, bidirectional=True), Dense(1)], input_size=2)
    with pytest.raises(ValueError, match="bidirectional"):
        bi.fit(x, y, tbptt=4, verbose=0)


def test_stateful_training_needs_ordered_batches():
    m = Sequential([LSTM(3, stateful=True), Dense(1)], input_size=2)
    x, y = sum_task(n=8)
    with pytest.raises(ValueError, match="shuffle=False"):
        m.fit(x, y, verbose=0)
    m.fit(x, y, shuffle=False, batch_size=4, epochs=2, verbose=0)


def test_many_to_many_with_lengths_ignores_padding():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((10, 6, 2))
    lengths = rng.integers(1, 7, size=10)
    y = np.cumsum(x[:, :, :1], axis=1)
    m = Sequential([LSTM(6, return_sequences=True), Dense(1)], input_size=2)
    y_pad = y.copy()
    y_pad[np.arange(6)[None, :] >= lengths[:, None]] = 1e6  # would dominate if read
    m2 = Sequential([LSTM(6, return_sequences=True), Dense(1)], input_size=2)
    h1 = m.fit(x, y, lengths=lengths, epochs=3, verbose=0)
    h2 = m2.fit(x, y_pad, lengths=lengths, epochs=3, verbose=0)
    assert h1.history["loss"] == h2.history["loss"]


def test_classification_with_cross_entropy():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((200, 5, 1))
    labels = (x.sum(axis=(1, 2)) > 0).astype(int)
    m = Sequential([GRU(8), Dense(2)], input_size=1)
    m.fit(x, labels, loss="cross_entropy", epochs=30, lr=1e-2, verbose=0)
    accuracy = (m.predict(x).argmax(axis=1) == labels).mean()
    assert accuracy > 0.9


def test_classification_losses_refuse_a_probability_output():
    m = Sequential([GRU(4), Dense(1, activation="sigmoid")], input_size=1)
    with pytest.raises(ValueError, match="takes raw scores"):
        m.fit(np.zeros((4, 3, 1)), np.zeros((4, 1)), loss="bce", verbose=0)


def test_progress_output(capsys):
    x, y = sum_task(n=16)
    small().fit(x, y, epochs=2, verbose=0)
    small().fit(x, y, epochs=2, verbose=1)  # not a terminal here: tqdm stays silent
    assert capsys.readouterr() == ("", "")
    small().fit(x, y, epochs=2, verbose=2, validation_split=0.25)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and out[1].startswith("epoch 2/2  loss ") and "val_loss" in out[1]


def test_progress_bar_on_a_terminal(monkeypatch):
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    x, y = sum_task(n=16)
    small().fit(x, y, epochs=3, verbose=1, validation_split=0.25)
    text = term.getvalue()
    assert "fit: 100%" in text and "3/3" in text and "loss=" in text and "val_loss=" in text


def test_optimizer_instance_keeps_state_across_fit_calls():
    x, y = sum_task(n=16)
    opt = Adam(lr=1e-2)
    m = small()
    m.fit(x, y, epochs=1, optimizer=opt, verbose=0)
    t = opt.t
    m.fit(x, y, epochs=1, optimizer=opt, verbose=0)
    assert opt.t == 2 * t


@pytest.mark.parametrize("lr", [float("nan"), float("inf"), 0.0, -1e-3, "0.01", True])
def test_learning_rate_must_be_finite_and_positive(lr):
    m = Sequential([LSTM(2), Dense(1)], input_size=1)
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        m.fit(np.zeros((4, 3, 1)), np.zeros((4, 1)), lr=lr, verbose=0)
