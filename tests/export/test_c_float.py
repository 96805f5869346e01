"""The exported float32 C code against the Python model: compiled with gcc -std=c99
-Wall -Wextra -Werror -pedantic, on random models of every supported kind, on a trained
forecaster, streaming for 10,000 steps, under valgrind, counting its operations, and
with its symbol sizes against the analyzer's memory figures."""

import shutil
import subprocess

import numpy as np
import pytest

import lstmkit as lk
from lstmkit.export import to_c
from tests.export.conftest import CFLAGS, GCC, compile_and_run, needs_gcc, state_sizes

pytestmark = needs_gcc
TOL = 1e-5


def random_model(seed):
    """A random stack: 1-2 recurrent layers of random kinds and options, sometimes
    bidirectional, many-to-one or many-to-many, a Dense head with a random activation."""
    rng = np.random.default_rng(seed)
    D = int(rng.integers(1, 5))
    n_rec = int(rng.integers(1, 3))
    many = bool(rng.integers(2))
    layers = []
    for k in range(n_rec):
        H = int(rng.integers(1, 7))
        seq = k < n_rec - 1 or many
        bi = bool(rng.integers(4) == 0)
        kind = ("lstm", "gru", "rnn")[(seed + k) % 3]
        if kind == "lstm":
            P = int(rng.integers(1, H)) if H > 1 and rng.integers(3) == 0 else None
            layers.append(lk.LSTM(H, peephole=bool(rng.integers(2)), proj_size=P,
                                  bidirectional=bi, return_sequences=seq))  # fmt: skip
        elif kind == "gru":
            layers.append(lk.GRU(H, reset_after=bool(rng.integers(2)), bidirectional=bi,
                                 return_sequences=seq))  # fmt: skip
        else:
            layers.append(lk.RNN(H, activation=("tanh", "relu")[int(rng.integers(2))],
                                 bidirectional=bi, return_sequences=seq))  # fmt: skip
    if rng.integers(3) == 0:
        layers.append(lk.Dropout(0.3))
    if rng.integers(3) == 0:
        layers.append(lk.Dense(int(rng.integers(1, 5)), activation="tanh"))
    act = (None, "sigmoid", "tanh", "relu", "softmax")[int(rng.integers(5))]
    layers.append(lk.Dense(int(rng.integers(1, 4)), activation=act))
    model = lk.Sequential(layers, input_size=D, seed=seed)
    for layer in model.layers:  # larger weights than the initialiser's, to reach saturation
        for key in layer.params:
            layer.params[key] = layer.params[key] * 1.5
    return model


def describe(model):
    """Features of a model, for the coverage check."""
    out = set()
    for la in model.layers:
        cell = getattr(la, "cell", None)
        if cell is None:
            out.add(f"dense:{getattr(la, 'activation', 'dropout')}")
            continue
        kind = type(cell).__name__
        out.add(kind)
        out.add(f"{kind}:bi" if la.bidirectional else f"{kind}:uni")
        out.add("seq" if la.return_sequences else "last")
        for opt in ("peephole", "reset_after"):
            if getattr(cell, opt, None) is not None:
                out.add(f"{opt}={getattr(cell, opt)}")
        if getattr(cell, "P", None):
            out.add("proj")
        if getattr(cell, "activation", None):
            out.add(f"rnn:{cell.activation}")
    return out


SEEDS = range(30)


def test_the_random_models_cover_every_supported_kind():
    seen = set().union(*(describe(random_model(s)) for s in SEEDS))
    need = {"LSTMCell", "GRUCell", "RNNCell", "peephole=True", "proj", "reset_after=True",
            "reset_after=False", "rnn:tanh", "rnn:relu", "LSTMCell:bi", "GRUCell:bi",
            "RNNCell:bi", "seq", "last", "dense:None", "dense:sigmoid", "dense:tanh",
            "dense:relu", "dense:softmax", "dense:dropout"}  # fmt: skip
    assert need <= seen, need - seen


@pytest.mark.parametrize("seed", SEEDS)
def test_c_matches_predict(seed, tmp_path):
    model = random_model(seed)
    rng = np.random.default_rng(100 + seed)
    T = int(rng.integers(1, 9))
    x = rng.normal(size=(3, T, model.input_size)).astype(np.float32)
    got, _ = compile_and_run(model, x, tmp_path, max_steps=T + 2)
    ref = model.predict(x).astype(np.float64).ravel()
    np.testing.assert_allclose(got, ref, rtol=0, atol=TOL * max(1.0, np.abs(ref).max()))


def test_streaming_10000_steps_match_the_python_stream(tmp_path):
    model = lk.Sequential([lk.LSTM(8, peephole=True, return_sequences=True), lk.GRU(6),
                           lk.Dense(2, activation="tanh")], input_size=3, seed=1)  # fmt: skip
    xs = np.random.default_rng(2).normal(size=(10_000, 3)).astype(np.float32)
    got, _ = compile_and_run(model, xs, tmp_path, mode="step")
    model.reset_states()
    ref = np.concatenate([model.step(x[None])[0] for x in xs]).astype(np.float64)
    np.testing.assert_allclose(got, ref, rtol=0, atol=TOL)


def test_run_rejects_a_length_out_of_range(tmp_path):
    model = lk.Sequential([lk.LSTM(3, bidirectional=True), lk.Dense(1)], input_size=2, seed=0)
    to_c(model, tmp_path, name="bi", max_steps=4)
    (tmp_path / "main.c").write_text(
        '#include "bi.h"\nstatic bi_state_t st;\nint main(void)\n{\n'
        "    float x[10 * 2] = {0}, y[1] = {0};\n"
        "    return (bi_run(&st, x, 5, y, 1) == -1 && bi_run(&st, x, 0, y, 1) == -1\n"
        "            && bi_run(&st, x, 4, y, 0) == -1 && bi_run(&st, x, 4, y, 1) == 0)\n"
        "           ? 0 : 1;\n}\n"
    )
    exe = tmp_path / "t"
    subprocess.run([GCC, *CFLAGS, "-o", str(exe), str(tmp_path / "main.c"),
                    str(tmp_path / "bi.c"), "-lm"], check=True)  # fmt: skip
    assert subprocess.run([str(exe)]).returncode == 0


def trained_airline_model():
    """An LSTM forecaster trained briefly on the bundled airline series (its scaled,
    differenced windows), as ``lstmkit forecast`` builds them."""
    from lstmkit.datasets import load_series

    y = np.log(load_series("airline")["passengers"].to_numpy(np.float64))
    d = np.diff(y)
    d = (d - d.mean()) / d.std()
    lag = 12
    X = np.stack([d[i : i + lag] for i in range(len(d) - lag)])[:, :, None]
    Y = d[lag:][:, None]
    model = lk.Sequential([lk.LSTM(16), lk.Dense(1)], input_size=1, seed=0)
    model.fit(X.astype(np.float32), Y.astype(np.float32), epochs=30, lr=0.01, verbose=0)
    return model, X.astype(np.float32)


def test_the_trained_airline_forecaster(tmp_path):
    model, X = trained_airline_model()
    got, _ = compile_and_run(model, X, tmp_path)
    ref = model.predict(X).astype(np.float64).ravel()
    np.testing.assert_allclose(got, ref, rtol=0, atol=TOL * max(1.0, np.abs(ref).max()))


@pytest.mark.skipif(shutil.which("valgrind") is None,
                    reason="valgrind is not installed (apt-get install valgrind)")  # fmt: skip
def test_valgrind_memcheck_finds_no_error(tmp_path):
    model = random_model(4)
    x = np.random.default_rng(0).normal(size=(2, 5, model.input_size)).astype(np.float32)
    runner = ("valgrind", "--error-exitcode=3", "--leak-check=full", "--quiet")
    got, _ = compile_and_run(model, x, tmp_path, max_steps=5, runner=runner)
    assert got.size


@pytest.mark.parametrize("seed", range(0, 30, 3))
def test_counted_operations_equal_the_analyzer(seed, tmp_path):
    model = random_model(seed)
    T, B = 5, 2
    x = np.random.default_rng(seed).normal(size=(B, T, model.input_size)).astype(np.float32)
    _, rows = compile_and_run(model, x, tmp_path, count_ops=True, max_steps=T)
    report = lk.analyze(model, T, batch=B)
    expected = {}
    for r in report.rows:
        if r.kind == "Dropout":
            continue
        label = r.layer if r.direction is None else f"{r.layer}/{r.direction}"
        t = r.total
        expected[label] = (t.macc, t.elementwise, t.sigmoid, t.tanh, t.relu, t.exp)
    assert rows == expected


@pytest.mark.skipif(shutil.which("nm") is None, reason="nm (binutils) is not installed")
@pytest.mark.parametrize("seed", range(1, 30, 4))
def test_symbol_sizes_equal_the_analyzers_memory(seed, tmp_path):
    model = random_model(seed)
    T = 7
    to_c(model, tmp_path, name="net", max_steps=T)
    obj = tmp_path / "net.o"
    subprocess.run([GCC, *CFLAGS, "-c", "-o", str(obj), str(tmp_path / "net.c")], check=True)
    out = subprocess.run(["nm", "--print-size", "--size-sort", str(obj)], check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    sizes = {}
    for line in out.splitlines():
        _, size, _, sym = line.split()
        sizes[sym] = int(size, 16)
    group = lambda prefix: sum(v for k, v in sizes.items() if k.startswith(prefix))  # noqa: E731
    report = lk.analyze(model, T)
    assert group("net_w_") == report.weights_bytes
    # RAM is one net_state_t per stream, nothing global.
    assert not any(k.startswith(("net_s_", "net_scratch", "net_sequence")) for k in sizes)
    st = state_sizes(tmp_path)
    assert sum(v for k, v in st.items() if k.startswith("s_")) == report.state_bytes
    assert st["scratch"] == report.scratch_bytes
    if not report.streaming:
        assert st["sequence"] == report.feature_map_sequence_bytes
    else:
        assert "sequence" not in st
    members = sum(v for k, v in st.items() if k != "total")
    assert 0 <= st["total"] - members < 4  # alignment padding only


@pytest.mark.parametrize("seed", [0, 4])
def test_fused_multiply_add_is_opt_in_and_stays_within_tolerance(seed, tmp_path):
    """LSTMKIT_USE_FMA rounds each product-sum once (fmaf): other last bits, same model."""
    model = random_model(seed)
    x = np.random.default_rng(seed).normal(size=(2, 5, model.input_size)).astype(np.float32)
    got, _ = compile_and_run(model, x, tmp_path, max_steps=5, defines=("LSTMKIT_USE_FMA",))
    ref = model.predict(x).astype(np.float64).ravel()
    np.testing.assert_allclose(got, ref, rtol=0, atol=TOL * max(1.0, np.abs(ref).max()))
    assert "fmaf(" in (tmp_path / "net.c").read_text()
