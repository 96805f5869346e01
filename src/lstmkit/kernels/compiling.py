"""What compiling the kernels costs, and the one line a user sees while it happens.

Numba compiles a kernel on its first call and caches it on disk; a fresh install pays
seconds of compilation in its first run and nothing after. A listener on Numba's
``numba:compile`` event (fired for real compilations only, not cache loads) records the
time of each kernel, and when a compilation is still running after
:data:`NOTICE_AFTER` seconds it prints, once per process, on stderr::

    lstmkit: compiling kernels, once per install (later runs load them from the cache) ...

It prints when stderr is a terminal, or when ``LSTMKIT_COMPILE_NOTICE=1`` asks for it
(``0`` silences it); output piped into a file or a test stays unchanged.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from numba.core import event as ev

NOTICE_AFTER = 1.0
NOTICE = "lstmkit: compiling kernels, once per install (later runs load them from the cache) ..."


def _wanted() -> bool:
    choice = os.environ.get("LSTMKIT_COMPILE_NOTICE", "").strip()
    if choice in ("0", "1"):
        return choice == "1"
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class _Listener(ev.Listener):
    """Times every compilation (own time: nested compilations are subtracted) and starts
    the notice's timer when an outermost one begins."""

    def __init__(self) -> None:
        self.stack: list[list] = []  # [name, start, time in nested compilations]
        self.seconds: dict[str, float] = {}
        self.timer: threading.Timer | None = None
        self.told = False
        self.lock = threading.Lock()

    def on_start(self, event) -> None:
        f = event.data["dispatcher"].py_func
        # Our kernels by file and name ("lstm.seq_forward"); Numba's own helpers that
        # compile with them (string formatting for error messages, say) in full.
        module = f.__module__.removeprefix("lstmkit.kernels.")
        name = f"{module}.{f.__name__}"
        with self.lock:
            if not self.stack and not self.told and _wanted():
                self.timer = threading.Timer(NOTICE_AFTER, self._tell)
                self.timer.daemon = True
                self.timer.start()
            self.stack.append([name, time.perf_counter(), 0.0])

    def on_end(self, event) -> None:
        with self.lock:
            if not self.stack:  # pragma: no cover - an end without its start
                return
            name, start, nested = self.stack.pop()
            total = time.perf_counter() - start
            self.seconds[name] = self.seconds.get(name, 0.0) + total - nested
            if self.stack:
                self.stack[-1][2] += total
            elif self.timer is not None:
                self.timer.cancel()
                self.timer = None

    def _tell(self) -> None:
        with self.lock:
            if self.told or not self.stack:
                return
            self.told = True
        print(NOTICE, file=sys.stderr, flush=True)


_LISTENER = _Listener()
ev.register("numba:compile", _LISTENER)


def compile_times() -> dict[str, float]:
    """Seconds spent compiling each kernel in this process (its own time, without the
    kernels it called that compiled with it), largest first; empty when every kernel
    came from the disk cache."""
    with _LISTENER.lock:
        items = sorted(_LISTENER.seconds.items(), key=lambda kv: -kv[1])
    return dict(items)
