"""The C API a firmware ships: independent instances (one net_state_t each), save and
restore as a struct copy, runs that continue a stream, C++ callers, headers that cannot
collide, shared int8 tables, configurable alignment, and code clean under strict warnings
of gcc, clang and g++."""

import copy
import shutil
import subprocess

import numpy as np
import pytest

import lstmkit as lk
from lstmkit.export import to_c
from lstmkit.export.harness import _floats
from tests.export.conftest import CFLAGS, GCC, needs_gcc

pytestmark = [needs_gcc, pytest.mark.one_backend]
GXX, CLANG = shutil.which("g++"), shutil.which("clang")
STRICT = ["-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Wshadow", "-Wdouble-promotion",
          "-Werror", "-O2"]  # fmt: skip


def small(seed=0, **kw):
    return lk.Sequential([lk.LSTM(6, peephole=True, return_sequences=True), lk.GRU(4),
                          lk.Dense(1)], input_size=3, seed=seed, **kw)  # fmt: skip


def export(model, folder, dtype, name="net", **kw):
    cal = np.random.default_rng(0).normal(size=(4, 30, model.input_size))
    files = to_c(model, folder, name=name, dtype=dtype,
                 calibration=cal if dtype == "int8" else None, **kw)  # fmt: skip
    return [f for f in files if f.suffix == ".c"]


VALGRIND = shutil.which("valgrind")


def build_and_run(folder, main_name, sources, compiler=GCC, flags=CFLAGS, cxx=False,
                  runner=()):  # fmt: skip
    """Compile the C sources with gcc, the main with ``compiler``, link, run (under
    ``runner``, such as valgrind)."""
    objs = []
    for src in sources:
        obj = src.with_suffix(".o")
        subprocess.run([GCC, *CFLAGS, "-c", "-o", str(obj), str(src)], check=True)
        objs.append(str(obj))
    main = folder / main_name
    obj = main.with_suffix(".o")
    subprocess.run([compiler, *flags, "-c", "-o", str(obj), str(main)], check=True)
    exe = folder / "prog"
    subprocess.run([GXX if cxx else GCC, "-o", str(exe), str(obj), *objs, "-lm"], check=True)
    out = subprocess.run([*runner, str(exe)], check=True, capture_output=True, text=True).stdout
    return np.array([float(v) for v in out.split()])


def python_stream(model, xs, dtype):
    """Outputs of streaming ``xs (S, D)`` through a fresh copy of the model."""
    if dtype == "int8":
        from lstmkit.export.int8 import quantize
        from lstmkit.export.plan import make_plan

        cal = np.random.default_rng(0).normal(size=(4, 30, model.input_size))
        q = quantize(make_plan(model, "net"), model, cal)
        q.reset()
        return np.concatenate([q.step(x) for x in xs]).astype(np.float64)
    m = copy.deepcopy(model)
    return np.concatenate([np.ravel(m.step(x[None])) for x in xs]).astype(np.float64)


CPP_MAIN = """#include <cstdio>
#include "net.h"

{data}
int main()
{{
    net_state_t a, b, saved;
    float y[net_OUTPUT_SIZE];
    net_init(&a);
    net_init(&b);
    for (int t = 0; t < {S}; ++t) {{  // two sensor channels, interleaved
        net_step(&a, XA + t * net_INPUT_SIZE, y);
        std::printf("%.9g\\n", (double)y[0]);
        net_step(&b, XB + t * net_INPUT_SIZE, y);
        std::printf("%.9g\\n", (double)y[0]);
        if (t == {K}) saved = a;  // save a stream: a struct copy
    }}
    a = saved;  // restore it and replay the steps after the save
    for (int t = {K} + 1; t < {S}; ++t) {{
        net_step(&a, XA + t * net_INPUT_SIZE, y);
        std::printf("%.9g\\n", (double)y[0]);
    }}
    return 0;
}}
"""


@pytest.mark.skipif(GXX is None, reason="g++ is not installed (apt-get install g++)")
@pytest.mark.parametrize("dtype", ["float32", "int8"])
def test_two_instances_from_cpp_with_save_and_restore(dtype, tmp_path):
    model = small()
    rng = np.random.default_rng(1)
    S, K = 12, 5
    xa, xb = rng.normal(size=(2, S, 3)).astype(np.float32)
    sources = export(model, tmp_path, dtype)
    data = _floats("XA", xa) + _floats("XB", xb)
    (tmp_path / "main.cpp").write_text(CPP_MAIN.format(data=data, S=S, K=K))
    flags = ["-std=c++11", *STRICT]
    # Under valgrind where it is installed: the instances touch only their own memory.
    runner = (VALGRIND, "--error-exitcode=3", "--leak-check=full", "--quiet") if VALGRIND else ()
    got = build_and_run(tmp_path, "main.cpp", sources, compiler=GXX, flags=flags, cxx=True,
                        runner=runner)  # fmt: skip
    got = got.astype(np.float32)  # %.9g reads back a float32 exactly
    ya, yb = python_stream(model, xa, dtype), python_stream(model, xb, dtype)
    interleaved, replay = got[: 2 * S], got[2 * S :]
    if dtype == "int8":  # bit-exact with the Python integer model
        ya, yb = np.float32(ya), np.float32(yb)
    tol = 1e-5 if dtype == "float32" else 0.0
    np.testing.assert_allclose(interleaved[0::2], ya, atol=tol, rtol=0)
    np.testing.assert_allclose(interleaved[1::2], yb, atol=tol, rtol=0)
    np.testing.assert_array_equal(replay, interleaved[0::2][K + 1 :])  # exactly the same


RUN_MAIN = """#include <stdio.h>
#include "net.h"

{data}
static net_state_t st;
static float whole[{T}], parts[{T}];

int main(void)
{{
    int t;
    if (net_run(&st, X, {T}, whole, 1) != 0) return 1;
    if (net_run(&st, X, {K}, parts, 1) != 0) return 1;  /* the first K steps, fresh */
    if (net_run(&st, X + {K} * net_INPUT_SIZE, {T} - {K}, parts + {K}, 0) != 0) return 1;
    for (t = 0; t < {T}; ++t)
        printf("%.9g %.9g\\n", (double)whole[t], (double)parts[t]);
    return 0;
}}
"""


@pytest.mark.parametrize("dtype", ["float32", "int8"])
def test_run_with_reset_0_continues_the_stream(dtype, tmp_path):
    model = lk.Sequential([lk.LSTM(5, return_sequences=True), lk.Dense(1)], input_size=3, seed=2)
    T, K = 10, 4
    x = np.random.default_rng(3).normal(size=(T, 3)).astype(np.float32)
    sources = export(model, tmp_path, dtype)
    (tmp_path / "main.c").write_text(RUN_MAIN.format(data=_floats("X", x), T=T, K=K))
    got = build_and_run(tmp_path, "main.c", sources).reshape(T, 2)
    np.testing.assert_array_equal(got[:, 1], got[:, 0])


def test_models_whose_names_differ_in_case_link_together(tmp_path):
    a, b = small(seed=0), small(seed=1)
    sources = export(a, tmp_path, "float32", name="Net") + export(b, tmp_path, "int8", name="NET")
    guard = lambda n: next(ln for ln in (tmp_path / f"{n}.h").read_text().splitlines()  # noqa: E731
                           if ln.startswith("#ifndef"))  # fmt: skip
    assert guard("Net") != guard("NET") and guard("Net").startswith("#ifndef LSTMKIT_NET_")
    (tmp_path / "main.c").write_text(
        '#include <stdio.h>\n#include "Net.h"\n#include "NET.h"\n'
        "static Net_state_t s1;\nstatic NET_state_t s2;\n"
        "int main(void)\n{\n    float x[3] = {0.5f, -1.0f, 2.0f}, y1[1], y2[1];\n"
        "    Net_init(&s1);\n    NET_init(&s2);\n    Net_step(&s1, x, y1);\n"
        '    NET_step(&s2, x, y2);\n    printf("%.9g %.9g\\n", (double)y1[0], (double)y2[0]);\n'
        "    return 0;\n}\n"
    )
    got = build_and_run(tmp_path, "main.c", sorted(set(sources)))
    assert got.shape == (2,) and np.all(np.isfinite(got))


def test_int8_models_in_one_folder_share_one_copy_of_the_tables(tmp_path):
    first = export(small(seed=0), tmp_path, "int8", name="m1")
    second = export(small(seed=1), tmp_path, "int8", name="m2")
    tables = [f for f in first if f.name.startswith("lstmkit_tables_")]
    assert len(tables) == 1 and tables[0] in second
    for f in (tmp_path / "m1.c", tmp_path / "m2.c"):
        assert "static const int16_t" not in f.read_text()  # no private copy
    # Both models link against the one copy.
    (tmp_path / "main.c").write_text(
        '#include <stdio.h>\n#include "m1.h"\n#include "m2.h"\n'
        "static m1_state_t a;\nstatic m2_state_t b;\n"
        "int main(void)\n{\n    float x[3] = {0.1f, 0.2f, 0.3f}, y[1], z[1];\n"
        "    m1_init(&a);\n    m2_init(&b);\n    m1_step(&a, x, y);\n    m2_step(&b, x, z);\n"
        '    printf("%.9g %.9g\\n", (double)y[0], (double)z[0]);\n    return 0;\n}\n'
    )
    got = build_and_run(tmp_path, "main.c", sorted(set(first + second)))
    assert got.shape == (2,) and got[0] != got[1]


ALIGN_MAIN = """#include <stdint.h>
#include <stdio.h>
#include "net.h"

extern const float net_w_l0f_Wx[];
static char pad;
static net_state_t st;

int main(void)
{
    printf("%u %u %u\\n", (unsigned)((uintptr_t)net_w_l0f_Wx % 16u),
           (unsigned)((uintptr_t)&st % 16u), (unsigned)pad);
    return 0;
}
"""


def test_alignment_is_configurable(tmp_path):
    sources = export(small(), tmp_path, "float32")
    (tmp_path / "main.c").write_text(ALIGN_MAIN)
    flags = [*CFLAGS, "-Dnet_ALIGN=16"]
    objs = []
    for src in [*sources, tmp_path / "main.c"]:
        obj = src.with_suffix(".o")
        subprocess.run([GCC, *flags, "-c", "-o", str(obj), str(src)], check=True)
        objs.append(str(obj))
    subprocess.run([GCC, "-o", str(tmp_path / "prog"), *objs, "-lm"], check=True)
    out = subprocess.run([str(tmp_path / "prog")], check=True, capture_output=True, text=True)
    assert out.stdout.split() == ["0", "0", "0"]
    assert "#define net_ALIGN 4" in (tmp_path / "net.h").read_text()  # the default


def _models():
    yield "stack", small()
    yield (
        "relu-softmax",
        lk.Sequential(
            [
                lk.LSTM(5, proj_size=3, return_sequences=True),
                lk.RNN(4, activation="relu"),
                lk.Dense(3, activation="softmax"),
            ],
            input_size=2,
            seed=4,
        ),
    )
    yield (
        "bidirectional",
        lk.Sequential(
            [
                lk.LSTM(4, bidirectional=True, return_sequences=True),
                lk.GRU(3, bidirectional=True, reset_after=False),
                lk.Dense(1, activation="tanh"),
            ],
            input_size=2,
            seed=5,
        ),
    )


COMPILERS = [
    ("gcc", GCC, ["-std=c99"]),
    ("clang", CLANG, ["-std=c99"]),
    ("g++", GXX, ["-x", "c++", "-std=c++11"]),
]


@pytest.mark.parametrize("compiler", COMPILERS, ids=[c[0] for c in COMPILERS])
@pytest.mark.parametrize("dtype", ["float32", "int8"])
def test_clean_under_strict_warnings(compiler, dtype, tmp_path):
    label, exe, lang = compiler
    if exe is None:
        pytest.skip(f"{label} is not installed (apt-get install {label}; .ci/run does)")
    for name, model in _models():
        folder = tmp_path / name
        sources = export(model, folder, dtype, max_steps=6 if name == "bidirectional" else None)
        for src in sources:
            subprocess.run([exe, *lang, *STRICT, "-c", "-o", str(src.with_suffix(".o")), str(src)],
                           check=True)  # fmt: skip


INT_MAIN = """#include <stdio.h>
#include "net.h"

{data}
static net_state_t st;
static int32_t y[{Y}];

int main(void)
{{
    int b, i;
{body}    return 0;
}}
"""


def _ints16(name, values):
    flat = np.asarray(values, np.int64).ravel()
    return f"static const int16_t {name}[{flat.size}] = {{{', '.join(map(str, flat))}}};\n"


@pytest.mark.parametrize("seed", [0, 2, 4, 6, 9, 13])
def test_the_integer_api_is_bit_exact_with_the_python_integer_model(seed, tmp_path):
    """N_step_int / N_run_int, compiled with N_NO_FLOAT: int16 in, int32 out."""
    from lstmkit.export.int8 import quantize
    from lstmkit.export.plan import make_plan
    from tests.export.test_c_float import random_model

    model = random_model(seed)
    rng = np.random.default_rng(seed)
    T, D = 6, model.input_size
    cal = rng.normal(size=(4, 30, D))
    q = quantize(make_plan(model, "net", T), model, cal)
    xq = rng.integers(-30000, 30000, size=(2, T, D))
    files = to_c(model, tmp_path, name="net", dtype="int8", calibration=cal, max_steps=T)
    bidirectional = any(getattr(la, "bidirectional", False) for la in model.layers)
    out = T * model.layers[-1].output_size
    body = (f"    for (b = 0; b < 2; ++b) {{\n"
            f"        if (net_run_int(&st, X + b * {T * D}, {T}, y, 1) != 0) return 1;\n"
            f"        for (i = 0; i < (net_OUTPUT_IS_SEQUENCE ? {out} : net_OUTPUT_SIZE); ++i)\n"
            '            printf("%ld\\n", (long)y[i]);\n    }\n')  # fmt: skip
    if not bidirectional:
        body += (f"    net_init(&st);\n    for (b = 0; b < {T}; ++b) {{\n"
                 f"        net_step_int(&st, X + b * {D}, y);\n"
                 "        for (i = 0; i < net_OUTPUT_SIZE; ++i)\n"
                 '            printf("%ld\\n", (long)y[i]);\n    }\n')  # fmt: skip
    (tmp_path / "main.c").write_text(INT_MAIN.format(data=_ints16("X", xq), Y=out, body=body))
    sources = [f for f in files if f.suffix == ".c"] + [tmp_path / "main.c"]
    exe = tmp_path / "prog"
    subprocess.run([GCC, *CFLAGS, "-Dnet_NO_FLOAT", "-o", str(exe), *map(str, sources)],
                   check=True)  # fmt: skip
    got = np.array(subprocess.run([str(exe)], check=True, capture_output=True,
                                  text=True).stdout.split(), np.int64)  # fmt: skip
    ref = [np.ravel(q.run_int(x)) for x in xq]
    if not bidirectional:
        q.reset()
        ref += [np.ravel(q.step_int(x)) for x in xq[0]]
    np.testing.assert_array_equal(got, np.concatenate(ref))
    # The float API is the integer one, scaled: the same numbers from float inputs.
    np.testing.assert_allclose(np.ravel(q.run(xq[0] * q.input_scale)) / q.output_scale,
                               ref[0], atol=0.51)  # fmt: skip


ARM_GCC = shutil.which("arm-none-eabi-gcc")


@pytest.mark.skipif(ARM_GCC is None, reason="needs arm-none-eabi-gcc (.ci/run installs it)")
@pytest.mark.parametrize("name", ["stack", "relu-softmax", "bidirectional"])
def test_the_int8_code_needs_no_floating_point_on_a_cortex_m0plus(name, tmp_path):
    """With N_NO_FLOAT the int8 object calls no float or double helper (__aeabi_f*,
    __aeabi_d*) and no libm: it runs on an FPU-less core such as the Cortex-M0+."""
    model = dict(_models())[name]
    sources = export(model, tmp_path, "int8", max_steps=6 if name == "bidirectional" else None)
    flags = ["-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft", "-std=c99", *STRICT]
    nm = shutil.which("arm-none-eabi-nm")
    for src in sources:
        obj = src.with_suffix(".m0.o")
        subprocess.run([ARM_GCC, *flags, "-Dnet_NO_FLOAT", "-c", "-o", str(obj), str(src)],
                       check=True)  # fmt: skip
        undefined = subprocess.run([nm, "-u", str(obj)], check=True, capture_output=True,
                                   text=True).stdout.split()  # fmt: skip
        floaty = [u for u in undefined if u.startswith(("__aeabi_f", "__aeabi_d", "__aeabi_i2f",
                                                         "__aeabi_l2f")) or (u.endswith("f")
                  and u in ("tanhf", "expf", "sqrtf"))]  # fmt: skip
        assert not floaty, floaty
