"""Write several files so that either all of them change or none does.

Every new content is first written in full to a temporary file next to its target (same folder, so the
final rename never crosses file systems) and flushed to disk. Only when every temporary file is complete
are they renamed over their targets, with Ctrl-C held back for that short moment. A failure while writing
(disk full, permission denied, Ctrl-C) removes the temporary files and leaves every target as it was.
"""

from __future__ import annotations

import os
import signal
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path


def _write_all(descriptor: int, data: bytes) -> None:
    """Write ``data`` to an open file descriptor, however many calls the operating system needs."""
    view = memoryview(data)
    while view:
        written = os.write(descriptor, view)
        view = view[written:]


@contextmanager
def _sigint_deferred():
    """Hold back Ctrl-C (SIGINT) until the block ends, then deliver it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            raise KeyboardInterrupt


def write_files(contents: dict[Path, bytes]) -> None:
    """Replace each path's content with its bytes, all or nothing (new files are created)."""
    staged: list[tuple[Path, Path]] = []
    try:
        for target, data in contents.items():
            descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            staged.append((Path(temporary), target))
            try:
                _write_all(descriptor, data)
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
            if target.exists():
                os.chmod(temporary, target.stat().st_mode & 0o7777)
            else:
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(temporary, 0o666 & ~umask)
        with _sigint_deferred():
            for temporary, target in staged:
                os.replace(temporary, target)
            staged = []
    finally:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
