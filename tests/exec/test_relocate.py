"""A job's files written in a scratch directory, relocated to the driver's: they name the
driver's directory only, and equal what the job writes there itself (timings aside)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from spiral.bench.runner import task_job
from spiral.bench.tasks import load_tasks
from spiral.config import build_config
from spiral.exec.relocate import relocate_tree, relocate_value

SUITE = Path(__file__).parents[2] / "src" / "spiral" / "bench" / "suites" / "actwm-bench-lite.jsonl"
SIM = {"generator": {"name": "sim"}}


def _untimed_trace(run: Path) -> list[dict]:
    out = []
    for ln in (run / "trace.jsonl").read_text().splitlines():
        ev = json.loads(ln)
        ev.pop("t", None)
        ev.pop("timing", None)
        out.append(ev)
    return out


def test_relocated_run_names_the_driver_directory_only(tmp_path):
    task = next(t for t in load_tasks(SUITE) if t.scene is not None)  # its config names a scene file
    scratch, driver = tmp_path / "spiral-job-x1", tmp_path / "out"
    row = task_job(str(scratch), task.model_dump_json(), "closed-loop", SIM, None)
    changed = relocate_tree(scratch, str(scratch), str(driver))
    row = relocate_value(row, str(scratch), str(driver))
    run = scratch / "runs" / task.id
    assert {p.name for p in changed} >= {"config.json", "trace.jsonl"}
    for p in scratch.rglob("*"):  # the scratch directory is named nowhere
        assert not p.is_file() or str(scratch).encode() not in p.read_bytes(), p
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["config"]["scene"]["file"] == str(driver / "scenes" / f"{task.id}.json")
    assert cfg["config_hash"] == build_config(overrides=cfg["config"]).identity()  # resumable where it lands

    # the same as the job writing into the driver's directory itself
    trace = _untimed_trace(run)
    shutil.move(str(scratch), str(driver))
    shutil.rmtree(driver / "runs" / task.id)
    again = task_job(str(driver), task.model_dump_json(), "closed-loop", SIM, None)
    untimed = {"wall_s", "loop_overhead_share"}
    assert {k: v for k, v in row.items() if k not in untimed} == {k: v for k, v in again.items() if k not in untimed}
    assert json.loads((driver / "runs" / task.id / "config.json").read_text()) == cfg
    assert _untimed_trace(driver / "runs" / task.id) == trace


def test_hash_left_alone_when_not_the_configs_own(tmp_path):
    run = tmp_path / "runs" / "t"
    run.mkdir(parents=True)
    cfg = {"config_hash": "0123456789abcdef", "config": {"goal": "x", "scene": {"file": f"{tmp_path}/s.json"}}}
    (run / "config.json").write_text(json.dumps(cfg))
    relocate_tree(tmp_path, str(tmp_path), "/elsewhere")
    got = json.loads((run / "config.json").read_text())
    assert got["config"]["scene"]["file"] == "/elsewhere/s.json"
    assert got["config_hash"] == "0123456789abcdef"


def test_json_spelling_and_binary_files(tmp_path):
    new = "/data/résumé \"q\""
    (tmp_path / "a.jsonl").write_text(json.dumps({"p": f"{tmp_path}/x"}) + "\n")
    (tmp_path / "b.npy").write_bytes(b"\x00" + str(tmp_path).encode())
    changed = relocate_tree(tmp_path, str(tmp_path), new)
    assert [p.name for p in changed] == ["a.jsonl"]
    assert json.loads((tmp_path / "a.jsonl").read_text())["p"] == f"{new}/x"
    assert (tmp_path / "b.npy").read_bytes().endswith(str(tmp_path).encode())  # binary: untouched
    assert relocate_value({"r": [f"{tmp_path}/y", 3]}, str(tmp_path), new) == {"r": [f"{new}/y", 3]}
