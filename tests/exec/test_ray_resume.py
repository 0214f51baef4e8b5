"""A `spiral bench run --executor ray` driver killed with SIGKILL, then run again: every
task ends up in results.jsonl exactly once (the local executor's resume, on Ray)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

pytest.importorskip("ray")
psutil = pytest.importorskip("psutil")


@pytest.mark.slow
def test_killed_driver_resumes_every_task_once(tmp_path):
    rtmp = tempfile.mkdtemp(prefix="sr-")  # Ray's socket paths must stay under 107 bytes
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "HOME": str(tmp_path / "home"),
           "RAY_TMPDIR": rtmp, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    (tmp_path / "home").mkdir()
    out = tmp_path / "results"
    cmd = [sys.executable, "-m", "spiral.cli.main", "bench", "run", "--executor", "ray", "--generator", "sim-faulty",
           "--set", "generator.latency_s=0.3", "--limit", "6", "--workers", "2", "--out", str(out)]
    res = out / "results.jsonl"
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=(tmp_path / "err.txt").open("w"))
    started: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and p.poll() is None:
            if res.exists() and len(res.read_text().splitlines()) >= 2:
                break
            time.sleep(0.2)
        assert p.poll() is None, (tmp_path / "err.txt").read_text()
        started = [c.pid for c in psutil.Process(p.pid).children(recursive=True)]
        before = len(res.read_text().splitlines())
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        assert before < 6
        r = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        ids = [json.loads(ln)["id"] for ln in res.read_text().splitlines()]
        assert len(ids) == len(set(ids)) == 6
        assert sorted(d.name for d in (out / "runs").iterdir()) == sorted(ids)
    finally:
        if p.poll() is None:
            p.kill()
        for pid in started:  # belt and braces: the watchdog ends what Ray leaves (docs/ray.md)
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        shutil.rmtree(rtmp, ignore_errors=True)
