"""Writing files whole or not at all, and operating-system errors in words.

Every file lstmkit writes goes to a temporary file beside its target and is renamed into
place only when complete, so a crash or Ctrl-C never leaves a half-written file; an error
names the file the user asked for, never the temporary one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def one_line(text: str) -> str:
    """All of ``text`` on one line (its lines joined with "; "): a message is never cut."""
    return "; ".join(part.strip() for part in str(text).splitlines() if part.strip())


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message (a library's may run to a page)."""
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else type(exc).__name__


def os_error_message(exc: OSError) -> str:
    """``'path': reason`` for an OSError (Python's text is ``[Errno 17] File exists: ...``)."""
    reason = exc.strerror or str(exc)
    names = [n for n in (exc.filename, exc.filename2) if n is not None]
    if not names:
        return reason[:1].lower() + reason[1:] if exc.strerror else reason
    return f"{' -> '.join(repr(str(n)) for n in names)}: {reason[:1].lower() + reason[1:]}"


def _default_file_mode() -> int:
    """The permissions ``open(path, "w")`` would give a new file (0666 minus the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomic(path: str | os.PathLike, write: bytes | Callable[[Path], None]) -> Path:
    """Write ``path`` whole or not at all.

    Parameters
    ----------
    path : the file to write (its folder must exist).
    write : the bytes, or a function that writes the file at the temporary path it gets.

    Raises
    ------
    OSError
        The folder is missing, the path is a folder, or the disk refused; the message names
        ``path`` (not the temporary file) and the reason.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(2, "its folder does not exist", str(path))
    if path.is_dir():
        raise IsADirectoryError(21, "is a folder; give a file name", str(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise type(exc)(exc.errno, exc.strerror, str(path)) from None
    try:
        with os.fdopen(fd, "wb") as f:
            if isinstance(write, bytes | bytearray):
                f.write(write)
        if not isinstance(write, bytes | bytearray):
            write(Path(tmp))
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, _default_file_mode())  # mkstemp makes it private (0600)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise type(exc)(exc.errno, exc.strerror or str(exc), str(path)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
