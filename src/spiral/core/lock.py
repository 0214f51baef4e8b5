"""One writer per directory: an exclusive ``flock`` on ``DIR/.spiral.lock``.

Every command that writes a directory holds its lock for as long as it writes: ``spiral
run`` (fresh and ``--resume``) its run directory, ``spiral bench run`` its results
directory (the per-task run directories inside are covered by it; each task's run also
locks its own run directory, which no other process touches), ``spiral dataset build``
its dataset directory and ``spiral train world-model`` its output directory.

A second writer is refused at once with :class:`DirLockedError` (exit 2 from the CLI),
naming the holder (pid, host, command, since when) and the fix. The kernel releases a
``flock`` when its holder dies, however it dies (SIGKILL included), so a lock file left
behind by a killed process never blocks anyone: the file is only a label, the lock is the
kernel's. The file is never deleted (deleting it would let a second process lock a new
file while the first still holds the old one). Where ``fcntl`` does not exist (Windows)
locking is a no-op. A process forked while holding a lock (a worker of a pool) holds it
too until it exits: that is what keeps a resumed benchmark off the directory of a worker
that outlived its parent.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from spiral.errors import RunDirError

log = logging.getLogger(__name__)

LOCK_NAME = ".spiral.lock"

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Linux/macOS
    fcntl = None  # type: ignore[assignment]


class DirLockedError(RunDirError):
    """Another live process writes this directory."""


def _command() -> str:
    argv = [os.path.basename(sys.argv[0])] + sys.argv[1:] if sys.argv else []
    text = " ".join(argv)
    return text if len(text) <= 200 else text[:197] + "..."


def holder(path: str | Path) -> dict[str, Any] | None:
    """Who holds the lock of directory ``path`` now (its label), or ``None`` if nobody does."""
    f = Path(path) / LOCK_NAME
    if fcntl is None or not f.exists():
        return None
    try:
        fd = os.open(f, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_label(f)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_label(f: Path) -> dict[str, Any]:
    try:
        info = json.loads(f.read_text() or "{}")
        return info if isinstance(info, dict) else {}
    except (OSError, ValueError):
        return {}


def describe(info: dict[str, Any]) -> str:
    who = f"process {info.get('pid', '?')} on {info.get('host', '?')}"
    if info.get("since"):
        who += f" since {info['since']}"
    if info.get("command"):
        who += f" ({info['command']})"
    return who


class DirLock:
    """An exclusive lock on a directory (created if missing). Use as a context manager, or
    :meth:`acquire` / :meth:`release`; ``what`` names the directory in messages."""

    def __init__(self, path: str | Path, what: str = "directory"):
        self.path = Path(path)
        self.what = what
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> DirLock:
        if self._fd is not None or fcntl is None:
            return self
        f = self.path / LOCK_NAME
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            fd = os.open(f, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise RunDirError(f"cannot create the lock file {f}: {exc.strerror}",
                              "choose a writable output directory") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            info = _read_label(f)
            for _ in range(50):  # the holder writes its label just after locking: wait for it briefly
                if "pid" in info:
                    break
                time.sleep(0.01)
                info = _read_label(f)
            raise DirLockedError(
                f"{self.path} is being written by another {describe(info)}",
                f"wait for it to finish (or stop it), or choose another {self.what}; the lock goes with its "
                f"process, so a killed holder never blocks") from None
        except OSError as exc:  # a file system without flock (some network mounts)
            os.close(fd)
            log.warning("cannot lock %s (%s): another process could write it at the same time", f, exc.strerror)
            return self
        label = {"pid": os.getpid(), "host": socket.gethostname(),
                 "since": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "command": _command()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(label) + "\n").encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> DirLock:  # noqa: PYI034
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
