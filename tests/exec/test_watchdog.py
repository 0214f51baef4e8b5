"""The watchdog ends the processes it watches when its owner dies, and only then."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

psutil = pytest.importorskip("psutil")

OWNER = textwrap.dedent("""
    import subprocess, sys, time
    import psutil
    from spiral.exec import watchdog
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    dog = watchdog.start(grace_s=0.5)
    dog.watch([psutil.Process(child.pid)])
    print(child.pid, flush=True)
    if sys.argv[1] == "clean":
        dog.close()
        print("closed", flush=True)
    time.sleep(120)
""")


def _owner(mode: str) -> tuple[subprocess.Popen, int]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    p = subprocess.Popen([sys.executable, "-c", OWNER, mode], stdout=subprocess.PIPE, text=True, env=env)
    child = int(p.stdout.readline())
    if mode == "clean":
        assert p.stdout.readline().strip() == "closed"
    return p, child


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while True:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def test_killed_owner_takes_the_watched_processes_along():
    p, child = _owner("kill")
    try:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        assert _gone(child, 10), "the watched process outlived its killed owner"
    finally:
        if not _gone(child, 0):
            with contextlib.suppress(OSError):
                os.kill(child, signal.SIGKILL)


def test_clean_close_ends_nothing():
    p, child = _owner("clean")
    try:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        assert not _gone(child, 1.5), "a clean close still ended the watched process"
    finally:
        if not _gone(child, 0):
            with contextlib.suppress(OSError):
                os.kill(child, signal.SIGKILL)


DRIVER = textwrap.dedent("""
    import time
    import psutil
    from spiral.exec.ray_executor import RayExecutor
    ex = RayExecutor(num_cpus=1)
    ex.__enter__()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # Ray's agents (those that lingered) start a little later
        kids = psutil.Process().children(recursive=True)
        if sum("agent" in " ".join(c.cmdline()).lower() for c in kids) >= 2:
            break
        time.sleep(0.2)
    time.sleep(1.5)  # the watchdog's next look
    for c in psutil.Process().children(recursive=True):
        print(c.pid, " ".join(c.cmdline()).lower()[:300], flush=True)
    print("READY", flush=True)
    time.sleep(300)
""")


@pytest.mark.slow
def test_killed_driver_leaves_no_ray_process(tmp_path):
    pytest.importorskip("ray")
    rtmp = tempfile.mkdtemp(prefix="sr-")  # Ray's socket paths must stay under 107 bytes
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "HOME": str(tmp_path), "RAY_TMPDIR": rtmp,
           "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    p = subprocess.Popen([sys.executable, "-c", DRIVER], stdout=subprocess.PIPE, text=True, env=env)
    procs: dict[int, str] = {}
    try:
        for line in p.stdout:
            if line.strip() == "READY":
                break
            pid, _, cmd = line.strip().partition(" ")
            procs[int(pid)] = cmd
        assert any("raylet" in c for c in procs.values()), procs
        # those that lingered a minute without the watchdog
        assert any("dashboard" in c and "agent" in c for c in procs.values()), procs
        assert any("runtime" in c and "agent" in c for c in procs.values()), procs
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        left = {pid: cmd for pid, cmd in procs.items() if not _gone(pid, 10)}
        assert not left, f"Ray processes outlived the killed driver: {left}"
    finally:
        for pid in procs:
            if not _gone(pid, 0):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        shutil.rmtree(rtmp, ignore_errors=True)
