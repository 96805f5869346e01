"""int8 export: the C code is bit-exact with the Python model of its integer arithmetic
(lstmkit.export.int8) on random models, streaming, and on an emulated Cortex-M4F; the
Python model stays close to the float model; memory equals the analyzer's int8 figures."""

import shutil
import subprocess

import numpy as np
import pytest

import lstmkit as lk
from lstmkit.export import to_c
from lstmkit.export.harness import harness_source
from lstmkit.export.int8 import quantize
from lstmkit.export.plan import make_plan
from tests.export.conftest import CFLAGS, GCC, needs_gcc, state_sizes
from tests.export.test_c_float import random_model, trained_airline_model

pytestmark = [needs_gcc, pytest.mark.one_backend]


def build(model, x, folder, cal, *, mode="run", max_steps=None, compiler=None, flags=CFLAGS,
          link=(), runner=()):  # fmt: skip
    """Export as int8, compile a harness for ``x``, run it; the printed float32 numbers."""
    folder.mkdir(parents=True, exist_ok=True)
    files = to_c(model, folder, name="net", dtype="int8", calibration=cal, max_steps=max_steps)
    size = model.layers[-1].output_size
    (folder / "main.c").write_text(harness_source("net", x, mode=mode, output_size=size))
    exe = folder / "run"
    objs = []
    for src in ["main.c", *(f.name for f in files if f.suffix == ".c")]:
        obj = folder / (src + ".o")
        subprocess.run([compiler or GCC, *flags, "-c", "-o", str(obj), str(folder / src)],
                       check=True)  # fmt: skip
        objs.append(str(obj))
    subprocess.run([compiler or GCC, *flags, "-o", str(exe), *link[:1], *objs, *link[1:]],
                   check=True, capture_output=True)  # fmt: skip
    out = subprocess.run([*runner, str(exe)], check=True, capture_output=True, text=True)
    return np.array([float(v) for v in out.stdout.split()], np.float32)


def python_int8(model, x, cal, max_steps=None):
    q = quantize(make_plan(model, "net", max_steps), model, cal)
    return q, np.concatenate([np.ravel(q.run(xi)) for xi in x]).astype(np.float32)


@pytest.mark.parametrize("seed", range(30))
def test_c_is_bit_exact_with_the_python_integer_model(seed, tmp_path):
    model = random_model(seed)
    rng = np.random.default_rng(seed)
    cal = rng.normal(size=(16, 6, model.input_size))
    x = rng.normal(size=(3, 6, model.input_size)).astype(np.float32) * 1.3  # some saturate
    got = build(model, x, tmp_path, cal, max_steps=6)
    _, ref = python_int8(model, x, cal, 6)
    np.testing.assert_array_equal(got, ref)


def test_streaming_is_bit_exact(tmp_path):
    layers = [lk.LSTM(8, peephole=True, return_sequences=True), lk.GRU(5, reset_after=False),
              lk.Dense(2)]  # fmt: skip
    model = lk.Sequential(layers, input_size=3, seed=3)
    xs = np.random.default_rng(4).normal(size=(3000, 3)).astype(np.float32)
    got = build(model, xs, tmp_path, xs[None], mode="step")
    q, _ = python_int8(model, xs[:1, None], xs[None])
    q.reset()
    ref = np.concatenate([q.step(x) for x in xs])
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("seed", range(0, 30, 2))
def test_the_integer_model_stays_close_to_the_float_model(seed):
    model = random_model(seed)
    rng = np.random.default_rng(seed)
    cal = rng.normal(size=(32, 6, model.input_size))
    x = rng.normal(size=(8, 6, model.input_size)).astype(np.float32)
    _, got = python_int8(model, x, cal, 6)
    ref = model.predict(x).astype(np.float32).ravel()
    # int8 weights (1/254 of each row's range), 2^-15 states, tables good to 4e-4.
    assert np.abs(got - ref).max() <= 0.05 * max(1.0, float(np.abs(ref).max()))


@pytest.mark.skipif(shutil.which("nm") is None, reason="nm (binutils) is not installed")
@pytest.mark.parametrize("seed", range(1, 30, 4))
def test_symbol_sizes_equal_the_analyzers_int8_memory(seed, tmp_path):
    model = random_model(seed)
    T = 7
    cal = np.random.default_rng(seed).normal(size=(4, T, model.input_size))
    to_c(model, tmp_path, name="net", dtype="int8", calibration=cal, max_steps=T)
    obj = tmp_path / "net.o"
    subprocess.run([GCC, *CFLAGS, "-c", "-o", str(obj), str(tmp_path / "net.c")], check=True)
    out = subprocess.run(["nm", "--print-size", "--size-sort", str(obj)], check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    sizes = {line.split()[3]: int(line.split()[1], 16) for line in out.splitlines()}
    group = lambda prefix: sum(v for k, v in sizes.items() if k.startswith(prefix))  # noqa: E731
    report = lk.analyze(model, T, weights="int8", state="int16")
    assert group("net_w_") == report.weights_bytes
    st = state_sizes(tmp_path)
    assert sum(v for k, v in st.items() if k.startswith("s_")) == report.state_bytes
    assert 0 <= st["scratch"] - report.scratch_bytes < 4  # struct padding only
    if not report.streaming:
        assert st["sequence"] == report.feature_map_sequence_bytes
    members = sum(v for k, v in st.items() if k != "total")
    assert 0 <= st["total"] - members < 8  # padding before the int32 union and at the end


ARM_GCC, QEMU = shutil.which("arm-none-eabi-gcc"), shutil.which("qemu-system-arm")


needs_m4 = pytest.mark.skipif(
    ARM_GCC is None or QEMU is None, reason="needs arm-none-eabi-gcc, newlib and qemu-system-arm"
)


def run_int8_on_m4(model, x, cal, folder, max_steps=None):
    """Export as int8, cross-compile for the Cortex-M4F (its DSP extension: the SMLAD
    loop), run ``x (B, T, D)`` on QEMU; the printed float32 numbers."""
    from lstmkit.export import mcu

    flags = [*mcu.CPU_FLAGS, "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2"]
    files = to_c(model, folder, name="net", dtype="int8", calibration=cal, max_steps=max_steps)
    size = model.layers[-1].output_size
    (folder / "main.c").write_text(harness_source("net", x, output_size=size))
    objs = []
    for src in ["main.c", *(f.name for f in files if f.suffix == ".c")]:
        obj = folder / (src + ".o")
        subprocess.run([ARM_GCC, *flags, "-c", "-o", str(obj), str(folder / src)], check=True)
        objs.append(str(obj))
    elf = folder / "run.elf"
    subprocess.run([ARM_GCC, *mcu.CPU_FLAGS, "-O2", "-o", str(elf), str(mcu.STARTUP), *objs,
                    *mcu.link_flags()], check=True, capture_output=True)  # fmt: skip
    out = subprocess.run([QEMU, *mcu.QEMU_ARGS, "-kernel", str(elf)], check=True,
                         capture_output=True, text=True, timeout=120).stdout  # fmt: skip
    return np.array([float(v) for v in out.split()], np.float32)


@needs_m4
def test_the_airline_forecaster_on_the_emulated_m4_is_bit_exact(tmp_path):
    model, X = trained_airline_model()
    got = run_int8_on_m4(model, X[-24:], X, tmp_path)
    _, ref = python_int8(model, X[-24:], X)
    np.testing.assert_array_equal(got, ref)


@needs_m4
@pytest.mark.parametrize("seed", [0, 3, 4, 9])
def test_random_models_on_the_m4s_dual_mac_are_bit_exact(seed, tmp_path):
    """SMLAD on the M4 and the portable C on the host read the same reordered weights;
    random sizes exercise full groups of four and every tail length."""
    model = random_model(seed)
    rng = np.random.default_rng(seed)
    cal = rng.normal(size=(8, 6, model.input_size))
    x = rng.normal(size=(2, 6, model.input_size)).astype(np.float32) * 1.3
    got = run_int8_on_m4(model, x, cal, tmp_path, max_steps=6)
    _, ref = python_int8(model, x, cal, 6)
    np.testing.assert_array_equal(got, ref)


def airline_mape(predict_one):
    """MAPE (%) of one-step-ahead forecasts of 1960's passengers from a model of the
    standardised log-differences (as trained_airline_model), given ``predict_one(window)``."""
    from lstmkit.datasets import load_series

    y = load_series("airline")["passengers"].to_numpy(np.float64)
    d = np.diff(np.log(y))
    mean, std = d.mean(), d.std()
    z = (d - mean) / std
    errors = []
    for t in range(len(y) - 12, len(y)):  # forecast y[t] from the 12 differences before it
        window = z[t - 13 : t - 1][:, None].astype(np.float32)
        step = float(predict_one(window)) * std + mean
        errors.append(abs(np.exp(np.log(y[t - 1]) + step) - y[t]) / y[t])
    return 100 * float(np.mean(errors))


def test_int8_costs_little_accuracy_on_the_airline_forecaster():
    model, X = trained_airline_model()
    q = quantize(make_plan(model, "net"), model, X)
    float_mape = airline_mape(lambda w: model.predict(w[None])[0, 0])
    int8_mape = airline_mape(lambda w: q.run(w)[0])
    assert float_mape < 10
    assert abs(int8_mape - float_mape) < 0.5  # percentage points


@pytest.mark.skipif(shutil.which("valgrind") is None,
                    reason="valgrind is not installed (apt-get install valgrind)")  # fmt: skip
def test_valgrind_memcheck_finds_no_error_in_int8_code(tmp_path):
    model = random_model(5)
    rng = np.random.default_rng(0)
    cal = rng.normal(size=(4, 5, model.input_size))
    x = rng.normal(size=(2, 5, model.input_size)).astype(np.float32)
    runner = ("valgrind", "--error-exitcode=3", "--leak-check=full", "--quiet")
    got = build(model, x, tmp_path, cal, max_steps=5, runner=runner)
    np.testing.assert_array_equal(got, python_int8(model, x, cal, 5)[1])
