"""Locks: one build at a time for a folder (the site's cache, an output folder).

Owns exclusive `flock`s on lock files. A build waits for another to let go (up to a
timeout, then stops with an error naming the folder); the kernel drops a lock when
its process dies, so a killed build never leaves a stale one; a forked worker closes
its copies, so a lock goes with the process that took it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from pathlib import Path

from generator.diagnostics import BuildError, error

if sys.platform != "win32":
    import fcntl

LOCK_TIMEOUT = 300.0
"""Seconds a build waits for another build to let go of a lock."""
NOTES = logging.getLogger("broadsheet")
"""Where a build says what it is waiting for; the command line shows it as it happens
(a program using the library sees nothing unless it adds a handler)."""
NOTES.addHandler(logging.NullHandler())
_HELD: set[int] = set()
"""Descriptors of the lock files this process holds."""


def _drop_inherited_locks() -> None:
    # A forked worker shares its parent's locks. If the parent is killed while a worker
    # lingers, the locks must go with the parent, so workers close their copies.
    for fd in _HELD:
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_drop_inherited_locks)


def acquire(path: Path, timeout: float, holder: str, advice: str) -> int:
    """An open descriptor of the lock file at `path` (made, with its folder, if need
    be), exclusively locked; `BuildError` once `timeout` seconds pass while `holder`
    (another build) holds it, with `advice` on what to do."""
    deadline = time.monotonic() + timeout
    waited = False
    while True:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        if sys.platform == "win32":
            return fd  # no flock: concurrent builds are not guarded there
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if not waited:
                        waited = True
                        NOTES.warning("%s; waiting up to %g s for it to finish", holder, timeout)
                    if time.monotonic() >= deadline:
                        message = f"{holder}; waited {timeout:g} s for it to finish. {advice}"
                        raise BuildError((error(str(path), None, message),)) from None
                    time.sleep(0.05)
            # The holder may have deleted the folder (a first build that failed): then
            # this lock guards nothing, so take the lock of the folder as it is now.
            if os.path.exists(path) and os.stat(path).st_ino == os.fstat(fd).st_ino:
                _HELD.add(fd)
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


def release(fd: int) -> None:
    """Let go of a lock `acquire` gave."""
    _HELD.discard(fd)
    os.close(fd)  # closing the descriptor releases the flock
