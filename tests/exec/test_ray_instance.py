"""The local Ray instance kept between commands (``spiral ray start|status|stop``,
``--ray-address spiral``): its record, a refused second start, a stop that ends exactly
it, clear errors. The fast tests use a stand-in for ``ray start --head --block`` (a
process that prints what Ray prints and waits for SIGTERM); the slow one runs Ray."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spiral.errors import ConfigError
from spiral.exec import ray_instance

psutil = pytest.importorskip("psutil")

FAKE_RAY = r"""
import pathlib, signal, sys, time
d = pathlib.Path(sys.argv[1])
(d / "ray_current_cluster").write_text("127.0.0.1:6399")
(d / "session_2026-01-01_00-00-00_1").mkdir(exist_ok=True)
print("Ray runtime started.", flush=True)
if sys.argv[2] == "deaf":  # a Ray that ignores SIGTERM: killed after the grace
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
while True:
    time.sleep(0.05)
"""


@pytest.fixture
def fake_ray(monkeypatch):
    mode = {"v": "normal"}

    def cmd(d, num_cpus, num_gpus):
        return [sys.executable, "-c", FAKE_RAY, str(d), mode["v"]]

    monkeypatch.setattr(ray_instance, "_ray_start_command", cmd)
    return mode


@pytest.fixture
def short_dir():
    d = Path(tempfile.mkdtemp(prefix="sr-"))  # Ray's socket paths must stay under 107 bytes
    inst = None
    yield d
    with contextlib.suppress(ConfigError):
        inst = ray_instance.status(d)
    if inst is not None:  # a failed test: end what it started
        with contextlib.suppress(psutil.Error):
            psutil.Process(inst.pid).kill()
    import shutil

    shutil.rmtree(d, ignore_errors=True)


def test_start_records_status_refuses_a_second_and_stop_ends_exactly_it(fake_ray, short_dir):
    assert ray_instance.status(short_dir) is None
    short_dir.chmod(0o755)  # start makes it private whatever it was
    inst = ray_instance.start(short_dir, num_cpus=2)
    assert inst.address == "127.0.0.1:6399" and inst.num_cpus == 2
    assert json.loads((short_dir / "instance.json").read_text())["pid"] == inst.pid
    assert oct(short_dir.stat().st_mode & 0o777) == oct(0o700)  # private
    assert ray_instance.status(short_dir) == inst
    assert ray_instance.address(short_dir) == "127.0.0.1:6399"
    with pytest.raises(ConfigError, match="already runs at 127.0.0.1:6399"):
        ray_instance.start(short_dir)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])  # not the instance's
    try:
        t0 = time.monotonic()
        assert ray_instance.stop(short_dir, grace_s=5) == inst
        assert time.monotonic() - t0 < 4  # SIGTERM, not the grace
        assert not psutil.pid_exists(inst.pid) or psutil.Process(inst.pid).status() == psutil.STATUS_ZOMBIE
        assert other.poll() is None  # another process is left alone
    finally:
        other.kill()
        other.wait()
    assert ray_instance.status(short_dir) is None
    assert not (short_dir / "instance.json").exists() and not list(short_dir.glob("session_*"))
    assert ray_instance.stop(short_dir) is None  # nothing to stop: no error


def test_stop_kills_an_instance_that_ignores_sigterm(fake_ray, short_dir):
    fake_ray["v"] = "deaf"
    inst = ray_instance.start(short_dir)
    time.sleep(0.3)  # its SIGTERM handler is set
    t0 = time.monotonic()
    ray_instance.stop(short_dir, grace_s=0.5)
    assert time.monotonic() - t0 < 4
    assert not psutil.pid_exists(inst.pid) or psutil.Process(inst.pid).status() == psutil.STATUS_ZOMBIE


def test_a_dead_instance_is_forgotten_and_bad_records_and_dirs_are_refused(short_dir, tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (short_dir / "instance.json").write_text(json.dumps({
        "address": "127.0.0.1:1", "pid": dead.pid, "created": 1.0, "dir": str(short_dir), "num_cpus": None,
        "num_gpus": None, "started": 1.0}))
    assert ray_instance.status(short_dir) is None
    assert not (short_dir / "instance.json").exists()  # stale: removed
    with pytest.raises(ConfigError, match="no Ray instance of `spiral ray start` runs") as e:
        ray_instance.address(short_dir)
    assert "spiral ray start" in e.value.hint
    # a live process that got the recorded pid later (its start time differs) is not the instance,
    # and stop leaves it alone
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (short_dir / "instance.json").write_text(json.dumps({
            "address": "127.0.0.1:1", "pid": other.pid, "created": 1.0, "dir": str(short_dir), "num_cpus": None,
            "num_gpus": None, "started": 1.0}))
        assert ray_instance.stop(short_dir, grace_s=0.5) is None
        assert other.poll() is None
        ray_instance._end(other.pid, 1.0, grace_s=0.5)  # the start time does not match: nothing sent
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()
    (short_dir / "instance.json").write_text("{not json")
    with pytest.raises(ConfigError, match="is not a record of `spiral ray start`"):
        ray_instance.status(short_dir)
    not_a_dir = short_dir / "f"  # a file
    not_a_dir.write_text("")
    with pytest.raises(ConfigError, match="cannot use .* as the Ray instance's directory"):
        ray_instance.start(not_a_dir)
    long = tmp_path / ("x" * 60)
    with pytest.raises(ConfigError, match="too long for Ray's socket paths"):
        ray_instance.start(long)


def test_start_reports_a_failed_ray_start(monkeypatch, short_dir):
    monkeypatch.setattr(ray_instance, "_ray_start_command", lambda d, c, g: [
        sys.executable, "-c", "import sys; print('ValueError: port 1 is taken'); sys.exit(3)"])
    with pytest.raises(ConfigError, match=r"`ray start` failed \(exit 3\): ValueError: port 1 is taken"):
        ray_instance.start(short_dir)
    assert ray_instance.status(short_dir) is None


def test_default_dir_is_per_user_or_from_the_environment(monkeypatch):
    monkeypatch.delenv("SPIRAL_RAY_DIR", raising=False)
    assert ray_instance.default_dir().name == f"spiral-ray-{os.getuid()}"
    monkeypatch.setenv("SPIRAL_RAY_DIR", "/tmp/x-ray")
    assert ray_instance.default_dir() == Path("/tmp/x-ray")


def test_cli_status_start_stop(fake_ray, short_dir):
    from spiral.cli.main import app

    runner = CliRunner()
    r = runner.invoke(app, ["ray", "status", "--dir", str(short_dir)])
    assert r.exit_code == 1 and "no Ray instance" in r.output
    r = runner.invoke(app, ["ray", "start", "--dir", str(short_dir), "--num-cpus", "2"])
    assert r.exit_code == 0, r.output
    assert "127.0.0.1:6399" in r.output and "--ray-address spiral" in r.output
    r = runner.invoke(app, ["ray", "start", "--dir", str(short_dir)])
    assert r.exit_code == 2 and "already runs" in r.output
    r = runner.invoke(app, ["ray", "status", "--dir", str(short_dir), "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["address"] == "127.0.0.1:6399"
    r = runner.invoke(app, ["ray", "stop", "--dir", str(short_dir)])
    assert r.exit_code == 0 and "stopped" in r.output
    r = runner.invoke(app, ["ray", "stop", "--dir", str(short_dir)])
    assert r.exit_code == 0 and "nothing to stop" in r.output


def test_executor_with_address_spiral_and_no_instance_is_a_clear_error(monkeypatch, short_dir):
    pytest.importorskip("ray")
    from spiral.exec.ray_executor import RayExecutor

    monkeypatch.setenv("SPIRAL_RAY_DIR", str(short_dir))
    with pytest.raises(ConfigError, match="--ray-address spiral: no Ray instance"):
        RayExecutor(address="spiral").__enter__()


@pytest.mark.slow
def test_real_instance_serves_runs_and_stops_without_a_trace(tmp_path, monkeypatch):
    pytest.importorskip("ray")
    d = Path(tempfile.mkdtemp(prefix="sr-"))
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("SPIRAL_RAY_DIR", str(d))
    inst = ray_instance.start(num_cpus=2)
    try:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        for k in range(2):  # two runs, one instance
            out = tmp_path / f"results-{k}"
            r = subprocess.run([sys.executable, "-m", "spiral.cli.main", "bench", "run", "--executor", "ray",
                                "--ray-address", "spiral", "--generator", "sim", "--limit", "2", "--out", str(out)],
                               env=env, capture_output=True, text=True, check=False)
            assert r.returncode == 0, r.stderr
            assert len((out / "results.jsonl").read_text().splitlines()) == 2
            assert ray_instance.status() == inst  # still running
        from spiral.exec.ray_executor import RayExecutor

        with RayExecutor(address="spiral") as ex:  # this machine's one node: tasks write in place
            assert ex._ship is False
        family = [psutil.Process(inst.pid), *psutil.Process(inst.pid).children(recursive=True)]
        assert len(family) >= 5  # GCS server, raylet, monitors…
    finally:
        ray_instance.stop(grace_s=10)
    time.sleep(1.0)
    left = [p.pid for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    pgrep = subprocess.run(["pgrep", "-f", str(d)], check=False, capture_output=True, text=True)
    assert not left and not pgrep.stdout.strip(), (left, pgrep.stdout)
    import shutil

    shutil.rmtree(d, ignore_errors=True)
