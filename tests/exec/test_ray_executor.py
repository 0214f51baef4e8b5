"""The Ray executor on a local Ray instance that the tests start and stop (auth off,
Ray's files and HOME in a temporary directory: the user's home is not touched)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from spiral.bench.runner import run_suite
from spiral.exec import LocalExecutor
from spiral.exec.ray_executor import JOB_NAME, RayExecutor

SUITE = Path(__file__).parents[2] / "src" / "spiral" / "bench" / "suites" / "actwm-bench-lite.jsonl"
TIMING = {"wall_s", "loop_overhead_share"}


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory):
    """One local Ray instance (2 CPUs) for the module; stopped at the end."""
    from tests.ray_local import local_ray_instance

    tmp = tmp_path_factory.mktemp("ray")
    with local_ray_instance(tmp):
        yield tmp


def _rows(out: Path) -> dict[str, dict]:
    rows = [json.loads(ln) for ln in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == len({r["id"] for r in rows}), "a task was recorded twice"
    return {r["id"]: {k: v for k, v in r.items() if k not in TIMING} for r in rows}


def _trace(run: Path) -> list[dict]:
    """A run's trace without timings and without what names the directory it ran in."""
    out = []
    for ln in (run / "trace.jsonl").read_text().splitlines():
        ev = json.loads(ln)
        for k in ("t", "timing", "config_hash"):
            ev.pop(k, None)
        if ev["event"] == "scene":
            ev.pop("path", None)
        out.append(ev)
    return out


def _same_as_local(local: Path, other: Path) -> None:
    a, b = _rows(local), _rows(other)
    assert a == b
    for tid in a:
        assert _trace(local / "runs" / tid) == _trace(other / "runs" / tid), tid
        assert (other / "runs" / tid / "video.mp4").is_file()
        assert (other / "scenes" / f"{tid}.json").read_bytes() == (local / "scenes" / f"{tid}.json").read_bytes()


SIM = {"generator": {"name": "sim"}}


def test_ray_results_match_local(local_ray, tmp_path):
    run_suite(SUITE, tmp_path / "local", base=SIM, limit=6, executor=LocalExecutor(1))
    s = run_suite(SUITE, tmp_path / "ray", base=SIM, limit=6, executor=RayExecutor(max_in_flight=2))
    assert s["tasks"] == 6
    _same_as_local(tmp_path / "local", tmp_path / "ray")
    assert not [p for p in (tmp_path / "ray").iterdir() if p.name.startswith(".spiral-incoming-")]
    # what the shipped runs recorded names the driver's directory, never the node's scratch one
    for p in (tmp_path / "ray").rglob("*"):
        assert not p.is_file() or b"spiral-job-" not in p.read_bytes(), p
    cfg = json.loads((tmp_path / "ray" / "runs" / "lite-single-000" / "config.json").read_text())
    assert cfg["config"]["scene"]["file"] == str(tmp_path / "ray" / "scenes" / "lite-single-000.json")


@pytest.mark.slow
def test_shared_filesystem_mode_writes_in_place(local_ray, tmp_path):
    run_suite(SUITE, tmp_path / "local", base=SIM, limit=3, executor=LocalExecutor(1))
    run_suite(SUITE, tmp_path / "ray", base=SIM, limit=3, executor=RayExecutor(max_in_flight=2, ship_files=False))
    _same_as_local(tmp_path / "local", tmp_path / "ray")
    cfg = json.loads((tmp_path / "ray" / "runs" / "lite-single-000" / "config.json").read_text())
    assert cfg["config"]["scene"]["file"].startswith(str(tmp_path / "ray"))  # the driver's path, as locally


@pytest.mark.slow
def test_generator_actors_serve_every_episode(local_ray, tmp_path):
    run_suite(SUITE, tmp_path / "local", base=SIM, limit=6, executor=LocalExecutor(1))
    ex = RayExecutor(max_in_flight=4, task_num_cpus=0.5, actors=2, actor_config=SIM)
    with ex:
        run_suite(SUITE, tmp_path / "ray", base=SIM, limit=6, executor=ex)
        served = sum(sum(ray.get(h.stats.remote())["batches"]) for h in ex._handles)
    _same_as_local(tmp_path / "local", tmp_path / "ray")
    calls = sum(r["generator_calls"] for r in _rows(tmp_path / "ray").values())
    assert served == calls > 0  # every clip came from an actor, none from a per-task copy


@pytest.mark.slow
def test_dataset_shards_match_local(local_ray, tmp_path):
    from spiral.data.actwm_lite import DatasetSpec, build

    spec = DatasetSpec(train=8, validation=4, test=0, shard_size=4, max_steps=2)
    a = build(tmp_path / "local", spec, workers=1)
    b = build(tmp_path / "ray", spec, executor=RayExecutor(max_in_flight=2))
    assert a["shards"] == b["shards"]
    for sh in b["shards"]:
        assert hashlib.sha256((tmp_path / "ray" / sh["shard"]).read_bytes()).hexdigest() == sh["sha256"]


def _job_workers() -> list[int]:
    """Pids of Ray workers (descendants of this test process) running a SPIRAL job now."""
    import psutil

    out = []
    for p in psutil.Process().children(recursive=True):
        try:
            if " ".join(p.cmdline()).startswith(f"ray::{JOB_NAME}"):
                out.append(p.pid)
        except psutil.Error:
            continue
    return out


@pytest.mark.slow
@pytest.mark.parametrize("ship_files", [True, False])  # shipped back, or written in place (a local instance)
def test_killed_worker_reruns_its_task_exactly_once(local_ray, tmp_path, ship_files):
    base = {"generator": {"name": "sim-faulty", "latency_s": 0.3, "fault_rate": 0.0}}
    killed: list[int] = []

    def killer():
        deadline = time.monotonic() + 60
        while not killed and time.monotonic() < deadline:
            pids = _job_workers()
            if pids:
                time.sleep(0.5)  # mid-episode
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])
            time.sleep(0.1)

    t = threading.Thread(target=killer)
    t.start()
    s = run_suite(SUITE, tmp_path / "ray", base=base, limit=6, executor=RayExecutor(max_in_flight=2,
                                                                                      ship_files=ship_files))
    t.join()
    assert killed, "no worker was killed"
    rows = _rows(tmp_path / "ray")  # every task once
    assert len(rows) == s["tasks"] == 6
    assert all(r["status"] == "completed" for r in rows.values())
    assert sorted(d.name for d in (tmp_path / "ray" / "runs").iterdir()) == sorted(rows)  # no half-written run
