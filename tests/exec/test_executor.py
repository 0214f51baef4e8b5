"""The executor abstraction without Ray: the local executor, shipped files, addresses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from spiral.errors import ConfigError
from spiral.exec import LocalExecutor, make_executor


def _job(root: str, name: str, value: int) -> dict:
    (Path(root) / "runs" / name).mkdir(parents=True, exist_ok=True)
    (Path(root) / "runs" / name / "out.txt").write_text(str(value))
    return {"name": name, "value": value * 2, "pid": os.getpid()}


@pytest.mark.parametrize("workers", [1, 2])
def test_local_executor_runs_every_job_into_root(tmp_path, workers):
    with LocalExecutor(workers) as ex:
        rows = list(ex.map_unordered(_job, [("a", 1), ("b", 2), ("c", 3)], tmp_path))
    assert sorted(r["value"] for r in rows) == [2, 4, 6]
    assert (tmp_path / "runs" / "b" / "out.txt").read_text() == "2"
    assert ({r["pid"] for r in rows} == {os.getpid()}) == (workers == 1)  # inline with one worker


def test_make_executor_names():
    assert make_executor("local", workers=3).workers == 3
    with pytest.raises(ConfigError, match="unknown executor 'slurm'"):
        make_executor("slurm")
    with pytest.raises(ConfigError, match="--ray-address is an option of the ray executor"):
        make_executor("local", address="auto")


def test_shipped_files_replace_what_was_there(tmp_path):
    from spiral.exec.ray_executor import pack, unpack_into

    scratch = tmp_path / "scratch"
    (scratch / "runs" / "t1" / "segments").mkdir(parents=True)
    (scratch / "runs" / "t1" / "segments" / "0.png").write_bytes(b"new")
    (scratch / "scenes").mkdir()
    (scratch / "scenes" / "t1.json").write_text("{}")
    (scratch / "train-00000.tar").write_bytes(b"shard")
    root = tmp_path / "root"
    (root / "runs" / "t1" / "attempts").mkdir(parents=True)  # a killed attempt's leftovers
    (root / "runs" / "t1" / "attempts" / "stale.png").write_bytes(b"old")
    (root / "runs" / "t0").mkdir()  # another task's run: untouched
    placed = unpack_into(pack(scratch), root)
    assert {p.relative_to(root).as_posix() for p in placed} == {"runs/t1", "scenes/t1.json", "train-00000.tar"}
    assert (root / "runs" / "t1" / "segments" / "0.png").read_bytes() == b"new"
    assert not (root / "runs" / "t1" / "attempts").exists()
    assert (root / "runs" / "t0").is_dir()
    assert (root / "train-00000.tar").read_bytes() == b"shard"
    assert not [p for p in root.iterdir() if p.name.startswith(".spiral-incoming-")]


@pytest.mark.parametrize("address, message", [
    ("bogus", "is not auto, HOST:PORT or ray://HOST:PORT"),
    ("ray://127.0.0.1:1", "cannot connect to a Ray cluster at 'ray://127.0.0.1:1'"),
    ("127.0.0.1:1", "cannot connect to a Ray cluster"),
])
def test_bad_address_is_refused_quickly(address, message):
    from spiral.exec.ray_executor import check_address

    with pytest.raises(ConfigError, match=message) as info:
        check_address(address)
    assert "ray start --head" in info.value.hint


def test_bench_run_ray_options_need_the_ray_executor(tmp_path):
    from typer.testing import CliRunner

    from spiral.cli.main import app

    res = CliRunner().invoke(app, ["bench", "run", "--ray-actors", "2", "--generator", "sim", "--limit", "1",
                                   "--out", str(tmp_path / "r")])
    assert res.exit_code == 2, res.output
    assert "options of the ray executor" in res.output


def test_bench_run_bad_ray_address_exits_2(tmp_path):
    pytest.importorskip("ray")
    from typer.testing import CliRunner

    from spiral.cli.main import app

    res = CliRunner().invoke(app, ["bench", "run", "--executor", "ray", "--ray-address", "ray://127.0.0.1:1",
                                   "--generator", "sim", "--limit", "1", "--out", str(tmp_path / "r")])
    assert res.exit_code == 2, res.output
    assert "cannot connect to a Ray cluster" in res.output
    assert not (tmp_path / "r" / "config.json").exists()  # refused before anything was written


def test_generator_actor_batches_concurrent_calls():
    """Calls from several episodes that arrive together reach the backbone as one batch,
    and each caller gets its own clips (the actor class, without Ray)."""
    import asyncio

    import numpy as np

    from spiral.core.types import GenerationRequest
    from spiral.exec.ray_executor import GeneratorActor

    actor = GeneratorActor({"generator": {"name": "sim"}}, window_s=0.01)
    reqs = [GenerationRequest(prompt=f"p{i}", cond_frame=np.full((64, 64, 3), 40 * i, np.uint8), seed=i)
            for i in range(3)]

    async def three_episodes():
        return await asyncio.gather(actor.generate([reqs[0]]), actor.generate(reqs[1:]))

    a, b = asyncio.run(three_episodes())
    assert actor.stats()["batches"] == [3]
    assert [c.frames[0, 0, 0, 0] for c in a + b] == [0, 40, 80]
    assert actor.meta()["name"] == "sim" and actor.meta()["generator_config"] == {"name": "sim"}


class _FakeRay:
    """Just what RayExecutor.__enter__/__exit__ call, to test its choices without Ray."""

    def __init__(self, nodes: int):
        self.n = nodes
        self.inited = False

    def is_initialized(self) -> bool:
        return self.inited

    def init(self, address=None, **opts) -> None:
        self.inited = True

    def nodes(self) -> list[dict]:
        return [{"Alive": True}] * self.n + [{"Alive": False}]

    def shutdown(self) -> None:
        self.inited = False


@pytest.mark.parametrize(("address", "ship_files", "started", "nodes", "ships"), [
    (None, None, True, 1, False),  # an instance started here: this machine's files
    (None, None, False, 1, True),  # RAY_ADDRESS's cluster (ray.init started nothing): ship
    ("spiral", None, False, 1, False),  # `spiral ray start`'s instance, one node
    ("spiral", None, False, 2, True),  # a node was added to it: ship
    ("auto", None, False, 1, True),  # any other cluster: ship
    (None, True, True, 1, True),  # explicit choices are kept
    ("spiral", False, False, 2, False),
])
def test_ray_executor_writes_in_place_only_on_this_machine(monkeypatch, address, ship_files, started, nodes, ships):
    import sys

    from spiral.exec import ray_executor, ray_instance

    fake = _FakeRay(nodes)
    monkeypatch.setitem(sys.modules, "ray", fake)
    monkeypatch.setattr(ray_instance, "address", lambda directory=None: "127.0.0.1:6379")
    monkeypatch.setattr(ray_executor, "check_address", lambda address: None)
    new = type("P", (), {"pid": 1 << 30})()
    calls = iter([[], [new] if started else []])  # this process's children before and after ray.init
    monkeypatch.setattr(ray_executor, "_children", lambda: next(calls))
    monkeypatch.setattr(ray_executor.RayExecutor, "_watch", lambda self, procs: None)
    monkeypatch.setattr(ray_executor, "_end_monitor", lambda procs: None)
    with ray_executor.RayExecutor(address=address, ship_files=ship_files) as ex:
        assert fake.inited
        assert ex._ship is ships


def test_ray_executor_decides_where_files_go_on_every_entry(monkeypatch):
    """An executor that wrote in place on the instance it started ships again when entered
    later with Ray already connected elsewhere (nothing known about where the tasks run)."""
    import sys

    from spiral.exec import ray_executor

    fake = _FakeRay(1)
    monkeypatch.setitem(sys.modules, "ray", fake)
    monkeypatch.setattr(ray_executor, "check_address", lambda address: None)
    new = type("P", (), {"pid": 1 << 30})()
    calls = iter([[], [new]])
    monkeypatch.setattr(ray_executor, "_children", lambda: next(calls))
    monkeypatch.setattr(ray_executor.RayExecutor, "_watch", lambda self, procs: None)
    monkeypatch.setattr(ray_executor, "_end_monitor", lambda procs: None)
    ex = ray_executor.RayExecutor()
    with ex:
        assert ex._ship is False  # its own instance: this machine's files
    fake.inited = True  # connected by someone else before the next entry
    with ex:
        assert ex._ship is True
