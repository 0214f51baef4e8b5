"""A world plugs in through the ``World`` interface alone: a fake world registered from the
test runs an episode through the public API (no core or CLI change), with its own first
frame and its own default planner and critic."""

from __future__ import annotations

import json
from typing import ClassVar

import numpy as np
import pytest

from spiral.core.types import Clip, Plan, SubAction, Verdict
from spiral.errors import ConfigError
from spiral.worlds.base import FirstFrame, World

STEPS = ("open the drawer", "close the drawer")


class NotePlanner:
    name = "note-planner"

    def plan(self, goal, observation, memory):
        return Plan(goal=goal, steps=[SubAction(kind="note", subject="drawer", prompt=p) for p in STEPS])

    def replan(self, plan, from_step, observation, memory, feedback=""):
        return plan


class NodCritic:
    name = "nod-critic"

    def critique(self, clip, sub_action, memory):
        return Verdict(passed=True, scores={"action": 1.0}, critic=self.name)


class StillGenerator:
    name = "still"

    def generate(self, requests):
        return [Clip(np.repeat(np.asarray(r.cond_frame, np.uint8)[None], r.num_frames, 0), fps=r.fps)
                for r in requests]


class PaintWorld:
    """A flat canvas with one square: no tabletop anywhere."""

    name = "paint"
    planner = "note-planner"
    critic = "nod-critic"
    seen: ClassVar[list[str]] = []

    def with_defaults(self, cfg):
        return cfg if cfg.goal else cfg.model_copy(update={"goal": "tidy the desk"})

    def first_frame(self, cfg):
        n = cfg.scene.size
        frame = np.full((n, n, 3), 200, np.uint8)
        frame[n // 4:n // 2, n // 4:n // 2] = (10, 20, 200)
        return FirstFrame(frame, {"canvas": "square"}, {"source": "paint", "size": n})

    def check_input(self, cfg, start):
        self.seen.append(start.info["source"])
        return {"paint_ok": True}

    def scene_objects(self, state):
        return [{"name": "square"}] if state else []


@pytest.fixture
def paint_world(monkeypatch):
    from spiral import registry

    for role, name, cls in (("world", "paint", PaintWorld), ("planner", "note-planner", NotePlanner),
                            ("critic", "nod-critic", NodCritic), ("generator", "still", StillGenerator)):
        monkeypatch.setitem(registry._EXTRA[role], name, cls)
    PaintWorld.seen = []
    return PaintWorld


def test_a_registered_world_runs_an_episode_through_the_public_api(paint_world, tmp_path):
    from spiral.api import run
    from spiral.config import build_config
    from spiral.core.trace import read_trace

    cfg = build_config(overrides={"world": "paint", "generator": {"name": "still"}})
    result, rd = run(cfg, tmp_path / "r")
    assert result.status == "completed"
    events = read_trace(rd.path / "trace.jsonl")
    start = next(e for e in events if e["event"] == "run_start")
    assert (start["goal"], start["planner"], start["critic"]) == ("tidy the desk", "note-planner", "nod-critic")
    scene = next(e for e in events if e["event"] == "scene")
    assert scene["source"] == "paint" and scene["paint_ok"] is True  # the world's own first frame and check
    assert paint_world.seen == ["paint"]
    assert [s["prompt"] for s in next(e for e in events if e["event"] == "plan")["steps"]] == list(STEPS)
    assert (rd.path / "video.mp4").stat().st_size > 0
    saved = json.loads((rd.path / "config.json").read_text())["config"]
    assert saved["world"] == "paint" and saved["planner"]["name"] == "note-planner"


def test_a_component_the_run_names_beats_the_worlds_default(paint_world):
    from spiral.api import with_defaults
    from spiral.config import build_config

    cfg = with_defaults(build_config(overrides={"world": "paint", "goal": "g", "critic": {"name": "perception"}}))
    assert (cfg.planner.name, cfg.critic.name) == ("note-planner", "perception")
    cfg = with_defaults(build_config(overrides={"world": "paint", "goal": "g"}, sets=["planner.name=symbolic"]))
    assert cfg.planner.name == "symbolic"


def test_the_tabletop_is_the_default_world_and_satisfies_the_interface(paint_world):
    from spiral.api import first_frame, with_defaults
    from spiral.config import RunConfig, build_config
    from spiral.registry import get_world

    world = get_world("tabletop")
    assert isinstance(world, World) and isinstance(get_world("paint"), World)
    cfg = with_defaults(build_config())
    assert cfg.world == "tabletop" and cfg.scene.file == "builtin:demo"
    assert (cfg.planner.name, cfg.critic.name) == ("symbolic", "perception")
    start = first_frame(cfg)
    frame, state, info = start  # the tuple it was before the World interface, indexable too
    assert start[0] is start.frame is frame and start[2] is info
    assert frame.shape == (64, 64, 3) and info == {"source": "file", "path": "builtin:demo"}
    assert {o["name"] for o in world.scene_objects(state)} >= {"green cube", "blue cube", "red ball"}
    # the default world is not part of a run's identity: hashes of runs from before the key hold
    assert RunConfig().identity() == RunConfig(world="tabletop").identity() != RunConfig(world="paint").identity()


def test_an_unknown_world_is_a_config_error_naming_the_known_ones():
    from spiral.api import with_defaults
    from spiral.config import build_config

    with pytest.raises(ConfigError) as exc:
        with_defaults(build_config(overrides={"world": "mars", "goal": "g"}))
    assert "unknown world 'mars'" in str(exc.value) and "tabletop" in exc.value.hint
