"""Reading a panel in chunks keeps a process's peak memory bounded by the chunk, not by
the file: measured on a generated panel of 20,000 series, in fresh processes (the peak
resident size, VmHWM, grown from after the imports)."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

CHILD = """
import json, sys
from lstmkit.forecast.chunks import plan_chunks, read_chunk
from lstmkit.forecast.panel import read_panel_csv
def peak_mb():
    with open("/proc/self/status") as f:
        return next(int(ln.split()[1]) for ln in f if ln.startswith("VmHWM")) / 1024
path, mode, per = sys.argv[1], sys.argv[2], int(sys.argv[3])
base = peak_mb()
if mode == "chunks":  # what a driver does: the plan, then one chunk at a time
    plan = plan_chunks(path, chunk_series=per)
    n = sum(len(read_chunk(spec, plan.layout).meta()["ids"]) for spec in plan.specs)
else:
    n = len(read_panel_csv(path))
print(json.dumps({"grew_mb": peak_mb() - base, "series": n}))
"""


def generated_panel(path, n_series, length=48, seed=0):
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2015-01-01", periods=length, freq="MS").strftime("%Y-%m-%d")
    ids = np.repeat([f"series_{k:06d}" for k in range(n_series)], length)
    y = (100 + rng.normal(0, 10, n_series)[:, None] + rng.normal(0, 1, (n_series, length))).ravel()
    pd.DataFrame({"unique_id": ids, "ds": np.tile(ds, n_series), "y": y.round(2)}).to_csv(
        path, index=False
    )
    return path


def grown(path, mode, per=500) -> float:
    done = subprocess.run([sys.executable, "-c", CHILD, str(path), mode, str(per)],
                          capture_output=True, text=True, timeout=600, check=True)  # fmt: skip
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["series"], result["grew_mb"]


@pytest.mark.one_backend
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads VmHWM from /proc")
def test_peak_memory_is_bounded_by_the_chunk_not_the_panel(tmp_path):
    big = generated_panel(tmp_path / "big.csv", 20_000)
    small = generated_panel(tmp_path / "small.csv", 5_000)
    n_whole, whole = grown(big, "whole")
    n_big, chunked_big = grown(big, "chunks")
    n_small, chunked_small = grown(small, "chunks")
    assert n_whole == n_big == 20_000 and n_small == 5_000
    print(f"peak growth: whole file {whole:.0f} MB; chunks of 500 series: {chunked_big:.0f} MB "
          f"(20,000 series), {chunked_small:.0f} MB (5,000 series)")  # fmt: skip
    assert chunked_big < whole / 4
    # Four times the series, the same chunk: the peak does not follow the panel's size.
    assert chunked_big < chunked_small + 0.25 * (whole - chunked_small)
