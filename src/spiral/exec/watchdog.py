"""Processes that must not outlive this one, ended by a small watchdog process when it dies.

A local Ray instance started by ``ray.init`` mostly dies with its driver (Ray ties the GCS
server, the raylet and the monitors to it), but after a ``kill -9`` of the driver Ray 2.60's
``ray::DashboardAgent`` and ``ray::RuntimeEnvAgent`` stay for about a minute: they notice
the raylet's death at once, then wait for the dead GCS server to take an error report
(a fixed 60 s timeout inside Ray) before they exit.

:func:`start` launches this file as a separate process (no ``spiral`` import, a few ms) that
reads ``PID START`` lines from a pipe and, every second, adds the children those processes
started since (Ray's agents start after ``ray.init`` returns); when the pipe closes without
a ``bye`` line (the owner was killed), it sends SIGTERM to those that still run (the same
ones: the start time must match), waits ``grace`` seconds, and SIGKILLs what is left. A clean
:meth:`Watchdog.close` says ``bye`` first and nothing is killed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable

GRACE_S = 2.0


class Watchdog:
    """The owner's end of the pipe to a watchdog process."""

    def __init__(self, proc: subprocess.Popen):
        self.proc = proc

    def watch(self, processes: Iterable) -> None:
        """Add processes (``psutil.Process`` objects) to end if the owner dies."""
        lines = []
        for p in processes:
            try:
                lines.append(f"{p.pid} {p.create_time()!r}\n")
            except Exception:  # noqa: BLE001,S112 - gone already: nothing to end
                continue
        if lines and self.proc.stdin is not None:
            self.proc.stdin.write("".join(lines))
            self.proc.stdin.flush()

    def close(self) -> None:
        """The owner ends normally: the watchdog exits without ending anything."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            try:
                self.proc.stdin.write("bye\n")
                self.proc.stdin.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start(grace_s: float = GRACE_S) -> Watchdog:
    """A watchdog process for this one (in its own session, so a Ctrl-C to the terminal's
    process group reaches the owner, which then shuts down cleanly)."""
    import psutil

    psutil_dir = os.path.dirname(os.path.dirname(os.path.abspath(psutil.__file__)))
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), psutil_dir, repr(float(grace_s))],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            text=True, start_new_session=True, close_fds=True)
    return Watchdog(proc)


def _main(psutil_dir: str, grace_s: float, poll_s: float = 1.0) -> None:
    sys.path.insert(0, psutil_dir)
    import selectors

    import psutil

    watched: dict[int, float] = {}  # pid -> start time
    sel = selectors.DefaultSelector()
    sel.register(sys.stdin, selectors.EVENT_READ)
    buf = ""
    while True:
        if not sel.select(timeout=poll_s):
            # the watched processes' children too (Ray's agents start after ray.init returns);
            # found now, while their parent lives: after the owner's death they are orphans
            for pid in list(watched):
                try:
                    for c in psutil.Process(pid).children(recursive=True):
                        watched.setdefault(c.pid, c.create_time())
                except psutil.Error:
                    continue
            continue
        chunk = os.read(sys.stdin.fileno(), 65536).decode()
        if not chunk:
            break  # the owner is gone
        buf += chunk
        *lines, buf = buf.split("\n")
        for line in lines:
            if line.strip() == "bye":
                return
            pid, _, created = line.partition(" ")
            try:
                watched[int(pid)] = float(created)
            except ValueError:
                continue
    procs = []
    for pid, created in watched.items():
        p = same_process(pid, created)
        if p is not None:
            try:
                p.terminate()
                procs.append(p)
            except psutil.Error:
                continue
    kill_survivors(procs, grace_s)


def same_process(pid: int, created: float):
    """The psutil process ``pid`` if it is still the one started at ``created`` (its
    ``create_time``), not another that got the pid since; else ``None``."""
    import psutil

    try:
        p = psutil.Process(pid)
        return p if abs(p.create_time() - created) < 1e-3 else None
    except psutil.Error:
        return None


def kill_survivors(procs: list, grace_s: float) -> list:
    """Wait up to ``grace_s`` for ``procs`` (psutil processes already asked to end) to
    exit, SIGKILL the ones that did not, and return those."""
    import psutil

    _, alive = psutil.wait_procs(procs, timeout=grace_s)
    for p in alive:
        try:
            p.kill()
        except psutil.Error:
            pass
    return alive


if __name__ == "__main__":
    _main(sys.argv[1], float(sys.argv[2]))
