"""Ctrl-C: one line, exit code 130, no output files, no process left behind."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        out += [int(c) for c in text]
    return out


@pytest.mark.one_backend
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux's /proc")
def test_ctrl_c_during_training_exits_130_with_one_line(tmp_path):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "lstmkit", "forecast", "--quiet", "--out", str(out)]
    # A first run fills the kernel cache: a Ctrl-C that lands inside LLVM's compiler
    # (a ctypes callback) is swallowed by CPython ("Exception ignored"), which says
    # nothing about lstmkit's handling.
    warm = subprocess.run([*cmd[:-1], str(tmp_path / "warm")], capture_output=True, timeout=600)
    assert warm.returncode == 0, warm.stderr

    # A terminal's foreground job has SIGINT's default action; a test runner started in
    # the background (`cmd &`) ignores SIGINT, and its children inherit that (Python then
    # installs no KeyboardInterrupt handler), so the child gets the terminal's disposition.
    def terminal_sigint():
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True, cwd=tmp_path,
                         preexec_fn=terminal_sigint)  # fmt: skip
    try:
        # Wait for the anchors' worker (a second process) so that the job is training.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and p.poll() is None:
            if any("multiprocessing.spawn" in Path(f"/proc/{c}/cmdline").read_text()
                   for c in children(p.pid) if Path(f"/proc/{c}").exists()):  # fmt: skip
                break
            time.sleep(0.05)
        time.sleep(0.3)
        worker = [c for c in children(p.pid)
                  if "multiprocessing.spawn" in Path(f"/proc/{c}/cmdline").read_text()]  # fmt: skip
        # What a terminal's Ctrl-C does; pressed again (as a user would) if the first one
        # landed in a finalizer, where CPython ignores it.
        for _ in range(3):
            os.killpg(p.pid, signal.SIGINT)
            try:
                _, err = p.communicate(timeout=2)
                break
            except subprocess.TimeoutExpired:
                continue
        else:
            _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
    assert p.returncode == 130, err
    assert err.strip().splitlines() == ["lstmkit forecast: interrupted"]
    assert not out.exists()
    assert not [f for f in tmp_path.iterdir() if f.name.startswith(".lstmkit-")]
    # The worker is stopped, not left running (a moment for it to be reaped).
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{c}").exists() for c in worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert worker and not any(Path(f"/proc/{c}").exists() for c in worker)
