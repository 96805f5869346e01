"""The batch split of the compiled backend (ops/batch_split.py): when it applies, that
its parts run on their own threads with single-threaded BLAS, that its numbers are
bit-identical for a given thread count, and that errors and inspection see the whole
batch. Its agreement with PyTorch is checked in test_torch_parity.py (``split``)."""

import threading

import numpy as np
import pytest

from lstmkit.backend import numba_available, use_backend
from lstmkit.layers import LSTM
from lstmkit.ops import batch_split, lstm_backward, lstm_forward
from lstmkit.ops.lstm import lstm_infer
from lstmkit.threads import get_num_threads, parts_of

pytestmark = [
    pytest.mark.one_backend,
    pytest.mark.skipif(not numba_available(), reason="the batch split is the numba backend's"),
]


@pytest.fixture(autouse=True)
def compiled():
    with use_backend("numba"):
        yield


def lstm_args(B, T=20, D=4, H=64, seed=0, dtype=np.float64):
    """Sizes where one part holds 20·256·68·B/2 multiply-adds: above MIN_WORK at B=64."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((B, T, D)).astype(dtype)
    Wx = (rng.standard_normal((4 * H, D)) * 0.3).astype(dtype)
    Wh = (rng.standard_normal((4 * H, H)) * 0.3).astype(dtype)
    b = (rng.standard_normal(4 * H) * 0.1).astype(dtype)
    return x, Wx, Wh, b


def test_plan_splits_large_calls_only():
    x = lstm_args(64)[0]
    macs = 20 * 256 * 68
    assert macs * 32 >= batch_split.MIN_WORK  # the sizes are what the test assumes
    with parts_of(2):
        assert batch_split.plan(x, (), None, macs) == [(0, 32), (32, 64)]
        assert batch_split.plan(x[:16], (), None, macs) is None  # too few per part
        assert batch_split.plan(x, (), None, 100) is None  # too little work
        with use_backend("numpy"):
            assert batch_split.plan(x, (), None, macs) is None
        with batch_split.whole_batches():
            assert batch_split.plan(x, (), None, macs) is None
        # Anything unusual runs whole, where the op's own checks word the error.
        assert batch_split.plan(x, (np.zeros((63, 64)),), None, macs) is None
        assert batch_split.plan(x, (), np.ones(5), macs) is None
    with parts_of(3):
        assert batch_split.plan(x, (), None, macs * 2) == [(0, 21), (21, 42), (42, 64)]
    with parts_of(1):
        assert batch_split.plan(x, (), None, macs) is None


def test_parts_run_side_by_side_with_single_threaded_blas(monkeypatch):
    x, Wx, Wh, b = lstm_args(64)
    seen = []
    real = batch_split._as_part

    def spy(op, *args, **kwargs):
        seen.append((threading.current_thread().name, get_num_threads()))
        return real(op, *args, **kwargs)

    monkeypatch.setattr(batch_split, "_as_part", spy)
    before = get_num_threads()
    with parts_of(2):
        *_, cache = lstm_forward(x, None, None, Wx, Wh, b)
    assert isinstance(cache, batch_split.SplitCache)
    names = sorted(name for name, _ in seen)  # one part on the caller's thread
    here = threading.current_thread().name
    assert len(names) == 2 and here in names, names
    assert next(n for n in names if n != here).startswith("lstmkit-batch"), names
    if before is not None:
        assert {n for _, n in seen} == {1}  # each part's products on its own thread
        assert get_num_threads() == before  # and the count is given back


def test_bit_identical_for_a_thread_count():
    x, Wx, Wh, b = lstm_args(64, dtype=np.float32)
    lengths = np.random.default_rng(1).integers(1, 21, 64)

    def train():
        hs, hT, cT, cache = lstm_forward(x, None, None, Wx, Wh, b, lengths=lengths)
        g = lstm_backward(np.ones_like(hs), None, None, cache)
        return [hs, hT, cT, *g.values()]

    with parts_of(2):
        first, again = train(), train()
    for a, c in zip(first, again, strict=True):
        assert a.tobytes() == c.tobytes()
    with parts_of(3):
        other = train()  # another split: the same numbers up to rounding
    for a, c in zip(first, other, strict=True):
        np.testing.assert_allclose(a, c, rtol=1e-4, atol=1e-5)


def test_large_products_run_whole():
    """A layer with MAX_WEIGHTS or more per step keeps two-threaded BLAS busy alone."""
    H = 384
    x, Wx, Wh, b = lstm_args(64, T=3, D=H, H=H)
    assert Wx.shape[0] * (Wx.shape[1] + Wh.shape[1]) >= batch_split.MAX_WEIGHTS
    with parts_of(2):
        *_, cache = lstm_forward(x, None, None, Wx, Wh, b)
    assert not isinstance(cache, batch_split.SplitCache)


def test_inference_split_matches_whole():
    x, Wx, Wh, b = lstm_args(64)
    with parts_of(2):
        split = lstm_infer(x, None, None, Wx, Wh, b)
        with batch_split.whole_batches():
            whole = lstm_infer(x, None, None, Wx, Wh, b)
    for a, c in zip(split, whole, strict=True):
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-12)


def test_errors_name_the_whole_batch():
    x, Wx, Wh, b = lstm_args(64)
    with parts_of(2), pytest.raises(ValueError, match=r"\(64, 64\), got \(64, 65\)"):
        lstm_forward(x, np.zeros((64, 65)), None, Wx, Wh, b)
    with parts_of(2):
        hs, _, _, cache = lstm_forward(x, None, None, Wx, Wh, b)
        with pytest.raises(ValueError, match="batch size 64"):
            lstm_backward(hs[:10], None, None, cache)


def test_trace_reads_a_split_batch_whole():
    x, *_ = lstm_args(64)
    layer = LSTM(64, return_sequences=True)
    layer.build(4, np.random.default_rng(0), np.float64)
    with parts_of(2):
        out, traces = layer.trace(x)
        np.testing.assert_allclose(out, layer.forward(x), rtol=1e-12, atol=1e-12)
    assert traces["forward"]["i"].shape == (64, 20, 64)


def test_dask_tasks_carry_the_split():
    from lstmkit.forecast import engine

    with parts_of(3):
        assert engine._settings() == ("numba", 3)
        seen = engine._in_backend(("numba", 2), lambda: batch_split.batch_parts())
    assert seen == 2


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_a_forked_child_splits_with_a_new_pool():
    """The parent's pool threads do not exist in a child made by fork; the child must
    not wait for them forever."""
    import multiprocessing

    x, Wx, Wh, b = lstm_args(64)
    with parts_of(2):
        lstm_forward(x, None, None, Wx, Wh, b)  # the parent's pool exists now
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        result = pool.apply_async(_split_in_child, (x, Wx, Wh, b))
        assert result.get(timeout=60) is True


def _split_in_child(x, Wx, Wh, b):
    with use_backend("numba"), parts_of(2):
        *_, cache = lstm_forward(x, None, None, Wx, Wh, b)
    return isinstance(cache, batch_split.SplitCache)


needs_two_cpus = pytest.mark.skipif(
    not hasattr(__import__("os"), "sched_getaffinity")
    or len(__import__("os").sched_getaffinity(0)) < 2,
    reason="needs Linux CPU affinity and two CPUs",
)


def _cpus_of_parts(monkeypatch):
    """Run a split forward; each part's CPU set while it ran, and the caller's after."""
    import os

    x, Wx, Wh, b = lstm_args(64)
    seen = []

    def op(*args, **kwargs):
        seen.append((threading.current_thread().name, frozenset(os.sched_getaffinity(0))))
        return lstm_forward(*args, **kwargs)

    before = os.sched_getaffinity(0)
    with parts_of(2):
        batch_split.run_parts(op, [([x[:32], None, None, Wx, Wh, b], {}),
                                   ([x[32:], None, None, Wx, Wh, b], {})])  # fmt: skip
    return seen, before, os.sched_getaffinity(0)


@needs_two_cpus
def test_parts_keep_to_different_cpus_while_they_run(monkeypatch):
    """After an idle pause Linux woke both parts' threads on one CPU; the split keeps
    the caller on its CPU and the pool on the others for the call, then allows all."""
    seen, before, after = _cpus_of_parts(monkeypatch)
    here = threading.current_thread().name
    mine = next(c for n, c in seen if n == here)
    theirs = next(c for n, c in seen if n != here)
    assert len(mine) == 1 and not mine & theirs and mine | theirs == before
    assert after == before


@needs_two_cpus
def test_parts_are_not_pinned_when_asked_not_to(monkeypatch):
    monkeypatch.setenv("LSTMKIT_PIN_PARTS", "0")
    seen, before, after = _cpus_of_parts(monkeypatch)
    assert all(c == before for _, c in seen) and after == before


@needs_two_cpus
def test_a_caller_on_one_cpu_is_left_there(monkeypatch):
    import os

    before = os.sched_getaffinity(0)
    one = {min(before)}
    os.sched_setaffinity(0, one)
    try:
        seen, _, after = _cpus_of_parts(monkeypatch)
    finally:
        os.sched_setaffinity(0, before)
    here = threading.current_thread().name
    assert next(c for n, c in seen if n == here) == one and after == one


def test_split_outputs_are_joined_into_one_contiguous_array():
    """Each part hands its outputs over as transposed views; the join's one copy makes
    the batch-first array (no copy per part before it)."""
    x, Wx, Wh, b = lstm_args(64)
    with batch_split.whole_batches():
        ref, *_ = lstm_forward(x, None, None, Wx, Wh, b)
    with parts_of(2):
        hs, *_, cache = lstm_forward(x, None, None, Wx, Wh, b)
    assert isinstance(cache, batch_split.SplitCache)
    assert hs.flags.c_contiguous and hs.shape == ref.shape
    # The parts fold the input projection and use the register-blocked products, the
    # whole batch does neither: the last bits may differ (docs/performance.md).
    np.testing.assert_allclose(hs, ref, rtol=0, atol=1e-13)
    part_out = batch_split.run_parts(lstm_forward, [([x[:32], None, None, Wx, Wh, b], {})])[0][0]
    assert not part_out.flags.c_contiguous  # a view of the part's (T, H, B) states


@needs_two_cpus
@pytest.mark.parametrize("limit, pinned", [(0, True), (10**12, False)])
def test_parts_are_kept_apart_from_pin_min_work_on(monkeypatch, limit, pinned):
    """Small parts run loose (moving a thread costs what it saves); the backward follows
    its forward's choice."""
    x, Wx, Wh, b = lstm_args(64)
    monkeypatch.setattr(batch_split, "PIN_MIN_WORK", limit)
    calls = []
    real = batch_split._set_cpus
    monkeypatch.setattr(batch_split, "_set_cpus", lambda cpus: (calls.append(cpus), real(cpus)))
    with parts_of(2):
        hs, _, _, cache = lstm_forward(x, None, None, Wx, Wh, b)
        forward_calls = len(calls)
        lstm_backward(np.ones_like(hs), None, None, cache)
    assert cache.pin is pinned
    assert (forward_calls > 0) is pinned and (len(calls) > forward_calls) is pinned
