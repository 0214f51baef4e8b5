"""workers.py: pool workers die with their parent, even when it is SIGKILLed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from spiral.core.workers import process_pool

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl(PR_SET_PDEATHSIG) is Linux's")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _pids_of(out):
    return [int(x) for x in out.read_text().split()] if out.exists() else []


def test_workers_die_when_the_parent_is_sigkilled(tmp_path):
    out = tmp_path / "pids"
    code = textwrap.dedent(f"""
        import os, time
        from spiral.core.workers import process_pool

        def work(i):
            with open({str(out)!r}, "a") as f:
                f.write(f"{{os.getpid()}}\\n")
            time.sleep(60)

        if __name__ == "__main__":
            with process_pool(2) as ex:
                for f in [ex.submit(work, i) for i in range(4)]:
                    f.result()
    """)
    script = tmp_path / "parent.py"
    script.write_text(code)
    p = subprocess.Popen([sys.executable, str(script)])
    try:
        deadline = time.monotonic() + 30
        while len(_pids_of(out)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        pids = _pids_of(out)
        assert len(pids) == 2 and all(_alive(x) for x in pids)
        p.send_signal(signal.SIGKILL)
        p.wait()
        deadline = time.monotonic() + 5
        while any(_alive(x) for x in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [x for x in pids if _alive(x)], "a worker outlived its SIGKILLed parent"
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        for x in _pids_of(out):
            if _alive(x):
                os.kill(x, signal.SIGKILL)


def test_a_worker_whose_parent_is_already_gone_exits():
    code = "from spiral.core.workers import die_with_parent; die_with_parent(1); print('ran on')"
    r = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "ran on" not in r.stdout


def test_leaving_the_block_cancels_pending_work():
    with pytest.raises(RuntimeError), process_pool(1) as ex:
        futs = [ex.submit(time.sleep, 0.2) for _ in range(20)]
        raise RuntimeError("the caller failed")
    assert sum(f.cancelled() for f in futs) >= 15
