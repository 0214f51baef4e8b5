"""The stop of a local Ray instance the executor started: quick (the autoscaler monitor is
ended first, not waited on for a second), and nothing of the instance is left running
after `spiral bench run --executor ray` returns, with every result on disk."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from spiral.exec.ray_executor import _end_monitor


class FakeProcess:
    def __init__(self, cmdline: list[str], error: Exception | None = None):
        self._cmdline, self.error, self.killed = cmdline, error, False

    def cmdline(self) -> list[str]:
        if self.error is not None:
            raise self.error
        return self._cmdline

    def kill(self) -> None:
        self.killed = True


def test_only_the_autoscaler_monitor_is_ended_before_the_stop():
    site = "/venv/lib/python3.11/site-packages/ray"
    monitor = FakeProcess(["/venv/bin/python", "-u", f"{site}/autoscaler/_private/monitor.py", "--logs-dir=/x"])
    others = [FakeProcess([f"{site}/core/src/ray/gcs/gcs_server", "--log_dir=/x"]),
              FakeProcess(["/venv/bin/python", "-u", f"{site}/_private/log_monitor.py", "--session-dir=/x"]),
              FakeProcess(["/venv/bin/python", f"{site}/dashboard/dashboard.py", "--host=127.0.0.1"]),
              FakeProcess([f"{site}/core/src/ray/raylet/raylet", "--raylet_socket_name=/x"]),
              FakeProcess(["ray::IDLE"]), FakeProcess(["ray::DashboardAgent"])]
    gone = FakeProcess([], error=ProcessLookupError())  # ended meanwhile: no error
    _end_monitor([*others, gone, monitor])
    assert monitor.killed
    assert not any(p.killed for p in others)


psutil = pytest.importorskip("psutil")


@pytest.mark.slow
def test_cli_leaves_no_ray_process_and_every_result(tmp_path):
    pytest.importorskip("ray")
    rtmp = tempfile.mkdtemp(prefix="sr-")  # Ray's socket paths must stay under 107 bytes
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "HOME": str(tmp_path / "home"), "RAY_TMPDIR": rtmp,
           "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    (tmp_path / "home").mkdir()
    out = tmp_path / "results"
    cmd = [sys.executable, "-m", "spiral.cli.main", "bench", "run", "--executor", "ray", "--generator", "sim",
           "--limit", "3", "--workers", "2", "--out", str(out)]
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen: dict[int, float] = {}  # every process the command started (Ray's start some after others)
    try:
        while p.poll() is None:
            with contextlib.suppress(psutil.Error):
                for c in psutil.Process(p.pid).children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        seen.setdefault(c.pid, c.create_time())
            time.sleep(0.05)
        err = p.stderr.read()
        assert p.returncode == 0, err
        assert len(seen) >= 5, seen  # the instance was seen: GCS server, raylet, monitors, workers…
        rows = [json.loads(ln) for ln in (out / "results.jsonl").read_text().splitlines()]
        assert sorted(r["id"] for r in rows) == sorted({r["id"] for r in rows}) and len(rows) == 3
        assert (out / "summary.json").is_file()
        assert sorted(d.name for d in (out / "runs").iterdir()) == sorted(r["id"] for r in rows)
        time.sleep(1.0)  # a short grace for what the raylet ends as it exits (its workers, its agents)
        left = []
        for pid, created in seen.items():
            with contextlib.suppress(psutil.Error):
                q = psutil.Process(pid)
                if abs(q.create_time() - created) < 1e-3 and q.status() != psutil.STATUS_ZOMBIE:
                    left.append((pid, " ".join(q.cmdline())[:120]))
        # nothing of this instance either, started out of sight (its files are under rtmp)
        pgrep = subprocess.run(["pgrep", "-f", rtmp], check=False, capture_output=True, text=True)
        assert not left and not pgrep.stdout.strip(), f"left running: {left} {pgrep.stdout}"
        assert "monitor died" not in err.lower() and "traceback" not in err.lower(), err
        assert "`spiral ray start`, then --ray-address spiral" in err  # the kept instance is suggested
    finally:
        for pid in seen:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(rtmp, ignore_errors=True)
