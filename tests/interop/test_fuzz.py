"""Fuzzed model files: truncations, byte flips and header edits of safetensors, ONNX,
.keras and the HDF5 weights inside it. Every reader either returns a model or raises its
documented error (ModelFileError, InteropError) with one line naming the file, and the
process reading all of them stays within a stated memory bound (no header, config or
archive entry can make it allocate what it claims)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from lstmkit.layers import GRU, LSTM, Dense
from lstmkit.models.sequential import Sequential

PER_KIND = 60  # mutants of each kind and format
MAX_RSS_MIB = 400  # the reading process's own peak, imports included (about 50 MiB of it)


def _model() -> Sequential:
    return Sequential([LSTM(6, return_sequences=True), GRU(5), Dense(2)], input_size=3, seed=0)


def _truncations(rng, blob: bytes, n: int):
    for k in rng.choice(np.arange(1, len(blob)), size=n, replace=False):
        yield f"cut{k}", blob[:k]


def _flips(rng, blob: bytes, n: int, lo: int = 0):
    for k in range(n):
        data = bytearray(blob)
        for at in rng.integers(lo, len(blob), size=rng.integers(1, 9)):
            data[at] ^= int(rng.integers(1, 256))
        yield f"flip{k}", bytes(data)


def _edits_of(value, rng, n: int):
    """Header values a hostile or careless edit might put there."""
    choices = [10**12, -1, 0, 8.5, "8", None, [], {}, 2**63, "x" * 50]
    return [choices[int(i)] for i in rng.integers(0, len(choices), size=n)]


def _safetensors(rng, d: Path):
    from lstmkit.models.io import _canonical  # noqa: F401 - the writer must stay canonical

    path = d / "base.safetensors"
    _model().save(str(path))
    blob = path.read_bytes()
    yield from _truncations(rng, blob, PER_KIND)
    yield from _flips(rng, blob, PER_KIND)
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8 : 8 + n])
    tensors = sorted(k for k in header if k != "__metadata__")
    for k, value in enumerate(_edits_of(None, rng, PER_KIND)):
        h = json.loads(json.dumps(header))
        target = int(rng.integers(0, 4))
        if target == 0:  # a size in the architecture
            arch = json.loads(h["__metadata__"]["architecture"])
            layer = arch["layers"][int(rng.integers(0, len(arch["layers"])))]["config"]
            layer[str(rng.choice([*list(layer), "hidden_size", "units"]))] = value
            h["__metadata__"]["architecture"] = json.dumps(arch)
        elif target == 1:  # a tensor's shape
            h[tensors[int(rng.integers(0, len(tensors)))]]["shape"] = [value, 4]
        elif target == 2:  # a tensor's offsets or dtype
            t = h[tensors[int(rng.integers(0, len(tensors)))]]
            t["data_offsets" if k % 2 else "dtype"] = [0, value] if k % 2 else str(value)
        else:  # a metadata entry
            h["__metadata__"][str(rng.choice(["format", "format_version", "extra"]))] = str(value)
        raw = json.dumps(h).encode()
        raw += b" " * (-len(raw) % 8)
        yield f"edit{k}", len(raw).to_bytes(8, "little") + raw + blob[8 + n :]


def _keras(rng, d: Path):
    pytest.importorskip("h5py")
    from lstmkit.interop import to_keras

    path = d / "base.keras"
    to_keras(_model(), path)
    blob = path.read_bytes()
    yield from _truncations(rng, blob, PER_KIND)
    yield from _flips(rng, blob, PER_KIND)
    with zipfile.ZipFile(path) as z:
        entries = {i.filename: z.read(i.filename) for i in z.infolist()}

    def pack(**changed) -> bytes:
        out = d / "pack.keras"
        with zipfile.ZipFile(out, "w") as z:
            for name, data in {**entries, **changed}.items():
                z.writestr(name, data)
        return out.read_bytes()

    config = json.loads(entries["config.json"])
    for k, value in enumerate(_edits_of(None, rng, PER_KIND)):
        c = json.loads(json.dumps(config))
        layers = c["config"]["layers"]
        layer = layers[int(rng.integers(0, len(layers)))]
        field = str(rng.choice(["units", "class_name", "batch_shape", "merge_mode", "layer"]))
        (layer if field == "class_name" else layer["config"])[field] = value
        yield f"config{k}", pack(**{"config.json": json.dumps(c).encode()})
    h5 = entries["model.weights.h5"]
    for name, data in _flips(rng, h5, PER_KIND, lo=0):
        yield f"h5{name}", pack(**{"model.weights.h5": data})
    for name, data in _truncations(rng, h5, PER_KIND // 2):
        yield f"h5{name}", pack(**{"model.weights.h5": data})


def _onnx(rng, d: Path):
    onnx = pytest.importorskip("onnx")
    from lstmkit.interop import to_onnx

    path = d / "base.onnx"
    to_onnx(_model(), path)
    blob = path.read_bytes()
    yield from _truncations(rng, blob, PER_KIND)
    yield from _flips(rng, blob, PER_KIND)
    proto = onnx.load(str(path))
    for k in range(PER_KIND):
        p = onnx.ModelProto()
        p.CopyFrom(proto)
        if k % 2:  # an initializer claims other dimensions than its data
            t = p.graph.initializer[int(rng.integers(0, len(p.graph.initializer)))]
            t.dims[int(rng.integers(0, len(t.dims)))] = int(rng.choice([10**9, 0, 7]))
        else:  # an attribute claims another size
            nodes = [n for n in p.graph.node if n.attribute]
            node = nodes[int(rng.integers(0, len(nodes)))]
            attr = node.attribute[int(rng.integers(0, len(node.attribute)))]
            if attr.type == onnx.AttributeProto.INT:
                attr.i = int(rng.choice([10**12, -5, 0]))
            else:
                attr.name = "unexpected_" + attr.name
        yield f"edit{k}", p.SerializeToString()


FORMATS = {"safetensors": _safetensors, "keras": _keras, "onnx": _onnx}

READER = textwrap.dedent(
    """
    import json, sys
    from lstmkit.interop import from_keras, from_onnx
    from lstmkit.interop.errors import InteropError
    from lstmkit.models.io import ModelFileError, load

    readers = {".safetensors": (load, ModelFileError), ".keras": (from_keras, InteropError),
               ".onnx": (from_onnx, InteropError)}
    out = []
    for path in sys.argv[1:]:
        read, documented = readers[path[path.rindex("."):]]
        try:
            read(path)
            out.append([path, "ok", ""])
        except documented as exc:
            out.append([path, "documented", str(exc)])
        except BaseException as exc:
            out.append([path, type(exc).__name__, str(exc)[:300]])
    # VmHWM: this process's own peak (ru_maxrss would include the parent's at the fork).
    status = open("/proc/self/status").read()
    peak = int(status.split("VmHWM:")[1].split()[0]) // 1024
    print(json.dumps({"results": out, "peak_mib": peak}))
    """
)


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads Linux's VmHWM")
@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_fuzzed_files_fail_cleanly_in_bounded_memory(fmt, tmp_path):
    rng = np.random.default_rng(list(FORMATS).index(fmt))
    paths = []
    for name, data in FORMATS[fmt](rng, tmp_path):
        path = tmp_path / f"{name}.{fmt}"
        path.write_bytes(data)
        paths.append(str(path))
    assert len(paths) >= 3 * PER_KIND
    res = subprocess.run([sys.executable, "-c", READER, *paths], capture_output=True, text=True,
                         timeout=600)  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    report = json.loads(res.stdout.strip().splitlines()[-1])
    undocumented = [r for r in report["results"] if r[1] not in ("ok", "documented")]
    assert not undocumented, sorted({(r[1], r[2][:80]) for r in undocumented})
    errors = [r for r in report["results"] if r[1] == "documented"]
    assert len(errors) > len(paths) // 2  # most mutants are broken files, and are refused
    for path, _, message in errors:
        assert "\n" not in message.strip(), message
        assert Path(path).name in message, message
    assert report["peak_mib"] < MAX_RSS_MIB, report["peak_mib"]
    if os.environ.get("LSTMKIT_FUZZ_REPORT"):  # what the mutants did, for a reader
        kinds = Counter((Path(p).stem.rstrip("0123456789"), r) for p, r, _ in report["results"])
        print(fmt, report["peak_mib"], "MiB", sorted(kinds.items()))
        for _, _, message in errors[:: max(1, len(errors) // 12)]:
            print("  ", message[:160])
