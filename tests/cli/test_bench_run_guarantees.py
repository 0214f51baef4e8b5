"""`spiral bench run`: one benchmark per results directory, no worker outlives a killed
benchmark, a kill at every checkpoint resumes to the uninterrupted result, error rows and
foreign directories are refused (docs/guarantees.md)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spiral.bench.tasks import builtin_suite
from spiral.cli.main import app

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and SIGKILL")

ENV = {**os.environ, "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}


def _suite(tmp_path: Path, n: int) -> Path:
    lines = [ln for ln in builtin_suite().read_text().splitlines() if '"category":"single"' in ln][:n]
    p = tmp_path / "tasks.jsonl"
    p.write_text("\n".join(lines) + "\n")
    return p


def _cmd(tasks: Path, out: Path, workers: int = 2, *extra: str) -> list[str]:
    return [sys.executable, "-m", "spiral.cli.main", "bench", "run", "--tasks", str(tasks), "--out", str(out),
            "--workers", str(workers), "--generator", "sim", *extra]


def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d.name))
            except (OSError, IndexError, ValueError):
                continue
    return out


def _alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _rows(out: Path) -> list[dict]:
    f = out / "results.jsonl"
    rows = []
    for ln in (f.read_text().splitlines() if f.exists() else []):
        try:
            rows.append(json.loads(ln))
        except ValueError:
            pass
    return rows


def test_sigkill_of_a_benchmark_leaves_no_live_worker(tmp_path):
    tasks = _suite(tmp_path, 4)
    p = subprocess.Popen(_cmd(tasks, tmp_path / "res"), env=ENV, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while len(workers) < 2 and time.monotonic() < deadline and p.poll() is None:
            workers = [c for c in _children(p.pid) if _alive(c)]
            time.sleep(0.05)
        assert len(workers) >= 2, "the benchmark did not start its workers"
        p.send_signal(signal.SIGKILL)
        p.wait()
        deadline = time.monotonic() + 5
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [w for w in workers if _alive(w)], "a worker outlived the SIGKILLed benchmark"
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        for w in workers:
            if _alive(w):
                os.kill(w, signal.SIGKILL)


def test_two_benchmarks_on_one_results_directory_one_proceeds(tmp_path):
    tasks = _suite(tmp_path, 2)
    out = tmp_path / "res"
    a = subprocess.Popen(_cmd(tasks, out, 1), env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:  # the second starts once the first holds the directory
        deadline = time.monotonic() + 60
        while not (out / "config.json").exists() and time.monotonic() < deadline and a.poll() is None:
            time.sleep(0.02)
        b = subprocess.run(_cmd(tasks, out, 1), env=ENV, capture_output=True, text=True, timeout=120, check=False)
        _, err_a = a.communicate(timeout=300)
    finally:
        if a.poll() is None:
            a.kill()
            a.wait()
    assert a.returncode == 0, err_a
    assert b.returncode == 2 and f"process {a.pid}" in b.stderr and "being written by another" in b.stderr, b.stderr
    assert sorted(r["id"] for r in _rows(out)) == sorted(json.loads(x)["id"] for x in tasks.read_text().splitlines())


@pytest.mark.slow
def test_bench_killed_at_every_checkpoint_resumes_to_the_uninterrupted_result(tmp_path):
    """Killed right after each result line lands (and once before any), then resumed:
    every task exactly once, no error row, the same metrics as an uninterrupted benchmark."""
    from spiral.bench.runner import run_suite

    tasks = _suite(tmp_path, 5)
    run_suite(tasks, tmp_path / "ref", "closed-loop", {"generator": {"name": "sim"}}, workers=1)
    ref = {r["id"]: r for r in _rows(tmp_path / "ref")}
    out = tmp_path / "killed"
    kills, seen = 0, -1
    for _ in range(20):
        p = subprocess.Popen(_cmd(tasks, out), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while p.poll() is None and len(_rows(out)) <= seen and time.monotonic() < deadline:
            time.sleep(0.01)
        workers = _children(p.pid)
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait()
            kills += 1
            time.sleep(0.5)
            assert not [w for w in workers if _alive(w)]
        seen = len(_rows(out))
        if p.returncode == 0:
            break
        assert p.returncode == -signal.SIGKILL, p.stderr.read().decode()
    else:
        raise AssertionError("the benchmark never finished")
    assert kills >= 3
    rows = _rows(out)
    assert sorted(r["id"] for r in rows) == sorted(ref)
    assert not [r for r in rows if r["status"] == "error"]
    for r in rows:
        for k in ("status", "task_success", "subaction_completion", "generator_calls", "permanence"):
            assert r[k] == ref[r["id"]][k], (r["id"], k)


def test_bench_refuses_a_directory_that_holds_other_files_or_a_run(tmp_path):
    tasks = _suite(tmp_path, 1)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    r = CliRunner().invoke(app, ["bench", "run", "--tasks", str(tasks), "--out", str(other), "--generator", "sim"])
    assert r.exit_code == 2 and "not empty and holds no benchmark results" in r.output
    assert sorted(p.name for p in other.iterdir()) == ["notes.txt"]
    run_dir = tmp_path / "a-run"
    r = CliRunner().invoke(app, ["run", "--generator", "sim", "-q", "--out", str(run_dir), "--set", "output.report=false"])
    assert r.exit_code == 0, r.output
    before = sorted(p.name for p in run_dir.iterdir())
    r = CliRunner().invoke(app, ["bench", "run", "--tasks", str(tasks), "--out", str(run_dir), "--generator", "sim"])
    assert r.exit_code == 2 and "is a run directory" in r.output
    assert sorted(p.name for p in run_dir.iterdir()) == before


def test_error_rows_make_the_benchmark_exit_4_unless_allowed(tmp_path):
    good = json.loads(_suite(tmp_path, 1).read_text().splitlines()[0])
    tasks = tmp_path / "t.jsonl"
    tasks.write_text(json.dumps(good) + "\n" + json.dumps({"id": "needs-image", "goal": good["goal"],
                                                           "image": str(tmp_path / "missing.png")}) + "\n")
    args = ["bench", "run", "--tasks", str(tasks), "--workers", "1", "--generator", "sim"]
    r = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "a")])
    assert r.exit_code == 4 and "1 task(s) failed with an error" in r.output
    r = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "b"), "--allow-errors"])
    assert r.exit_code == 0, r.output
