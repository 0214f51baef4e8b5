"""lock.py: one writer per directory, a refusal that names the holder, no stale locks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from spiral.core.lock import LOCK_NAME, DirLock, DirLockedError, holder


def test_second_lock_is_refused_naming_the_holder_then_released(tmp_path):
    d = tmp_path / "out"
    with DirLock(d, "--out") as lk:
        assert lk.held and (d / LOCK_NAME).exists()
        label = json.loads((d / LOCK_NAME).read_text())
        assert label["pid"] == os.getpid() and label["host"] and label["since"]
        assert holder(d)["pid"] == os.getpid()
        with pytest.raises(DirLockedError) as ei:
            DirLock(d, "--out").acquire()
        msg = str(ei.value)
        assert f"process {os.getpid()}" in msg and label["host"] in msg and "since" in msg
        assert "choose another --out" in msg
    assert holder(d) is None
    DirLock(d).acquire().release()  # free again; the file stays, as a label only
    assert (d / LOCK_NAME).exists()


def test_a_killed_holder_never_blocks(tmp_path):
    """The lock file of a SIGKILLed holder is stale: the next writer gets the lock."""
    d = tmp_path / "out"
    code = ("import sys, time; from spiral.core.lock import DirLock; DirLock(sys.argv[1]).acquire(); "
            "print('locked', flush=True); time.sleep(60)")
    p = subprocess.Popen([sys.executable, "-c", code, str(d)], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "locked"
        with pytest.raises(DirLockedError, match=f"process {p.pid}"):
            DirLock(d).acquire()
        p.send_signal(signal.SIGKILL)
        p.wait()
        t0 = time.monotonic()
        with DirLock(d):
            assert json.loads((d / LOCK_NAME).read_text())["pid"] == os.getpid()
        assert time.monotonic() - t0 < 1
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
