"""``spiral.api.run`` with the default generator as shipped (``tiny-ti2v``, no test swap):
the learned model runs the loop through the public API and the CLI, deterministically."""

from __future__ import annotations

import json

import pytest

from spiral.api import run
from spiral.config import DEFAULT_GENERATOR, build_config
from spiral.core.trace import read_trace, strip_timings


def _run(tmp_path, name, **overrides):
    result, rd = run(build_config(overrides=overrides), tmp_path / name)
    return result, strip_timings(read_trace(rd.path / "trace.jsonl")), (rd.path / "video.mp4").read_bytes()


def test_the_shipped_default_generator_runs_an_episode_through_the_api(tmp_path):
    assert DEFAULT_GENERATOR == "tiny-ti2v"
    result, trace, video = _run(tmp_path, "a", goal="put the red ball in the bowl")  # the demo scene
    start = trace[0]
    assert (start["event"], start["generator"], start["planner"], start["critic"]) == \
        ("run_start", "tiny-ti2v", "symbolic", "perception")
    assert result.status == "completed" and result.goal["satisfied"], result
    clips = [e for e in trace if e["event"] == "clip"]
    assert clips and all("logprob" in json.dumps(e) for e in clips)  # the learned model's samples, not a simulator's
    # same config and seed, same run (trace without timings, and video bytes)
    _, again, video2 = _run(tmp_path, "b", goal="put the red ball in the bowl")
    assert [{k: v for k, v in e.items() if k not in ("t", "config_hash")} for e in trace] == \
        [{k: v for k, v in e.items() if k not in ("t", "config_hash")} for e in again]
    assert video == video2


@pytest.mark.parametrize("seed", [1, 3, 5])  # scenes with two cubes or more
def test_the_shipped_default_through_spiral_run_on_seeded_scenes(tmp_path, seed):
    """``spiral run`` with nothing but a goal and a scene seed: the learned model, closed loop,
    a complete run directory whatever the outcome (exit 0 completed, 3 stopped)."""
    from typer.testing import CliRunner

    from spiral.cli.main import app

    out = tmp_path / "r"
    r = CliRunner().invoke(app, ["run", "stack all the cubes", "--scene-seed", str(seed), "--out", str(out), "-q"])
    assert r.exit_code in (0, 3), r.output
    cfg = json.loads((out / "config.json").read_text())["config"]
    assert cfg["generator"]["name"] == "tiny-ti2v"
    events = read_trace(out / "trace.jsonl")
    assert events[-1]["event"] == "episode_end" and (out / "video.mp4").stat().st_size > 0
