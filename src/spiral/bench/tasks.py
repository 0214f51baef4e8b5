"""Benchmark tasks as data: the ActWM-Bench task format.

A task file is JSON Lines (one task per line) or a JSON list. Each task:

```json
{"id": "lite-000", "goal": "put the red ball in the purple bowl", "category": "single",
 "horizon": 1, "scene": {"objects": [...]}, "seed": 0,
 "success": [{"pred": "in", "args": ["red_ball", "purple_bowl"]}],
 "expectations": [{"step": 0, "postconditions": [...]}]}
```

``scene`` is a tabletop scene (docs/scene.md) — or give ``scene_seed`` (a seeded random
scene) or ``image`` (a first-frame file, for any world). ``success`` are the goal's
conditions over object states (``on``, ``in``, ``next_to``, ``at``, ``in_region``,
``region_empty`` …), judged on the final frame. They must follow from the start state: the
built-in suite leaves out a push's or swap's target when it rests on where an earlier step
of the goal was assumed to land an object ("move the red ball next to the cube, then swap
it with the green ball": the green ball's target depends on the side the red ball took),
since the closed loop pins such a step from what it sees. The JSON Schema is
``spiral/bench/suites/task.schema.json`` (``spiral bench schema`` prints it); the loader
also checks what the schema cannot say (exactly one scene source, each condition's
arguments for its predicate).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from spiral.core.types import Condition
from spiral.errors import InputFileError, SpiralError

LITE_CATEGORIES = ("single", "short", "long", "relational", "set", "distractor", "paraphrase")
HARD_CATEGORIES = ("crowded", "bowls", "under", "clearing", "tower", "chain", "wording")
CATEGORIES = LITE_CATEGORIES + HARD_CATEGORIES


class Expectation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    step: int = Field(ge=0)
    postconditions: list[Condition] = []


class Task(BaseModel):
    """One benchmark task."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    goal: str = Field(min_length=1)
    category: Literal["single", "short", "long", "relational", "set", "distractor", "paraphrase",
                      "crowded", "bowls", "under", "clearing", "tower", "chain", "wording", "custom"] = "custom"
    features: list[str] = Field(default_factory=list, description="what makes the task hard (Hard suite), "
                                "e.g. crowded, bowls, under, clearing, tower, chain, wording")
    horizon: int = Field(default=1, ge=1, description="number of sub-actions of the reference plan")
    scene: dict[str, Any] | None = None
    scene_seed: int | None = None
    image: str | None = None
    seed: int = 0
    success: list[Condition] = Field(default_factory=list, description="goal conditions on the final frame")
    expectations: list[Expectation] = Field(default_factory=list)
    movable: list[str] | None = Field(default=None, description="objects the goal needs to move (the reference "
                                      "plan's subjects, with what they carry); strict success requires every "
                                      "other object to stay still. Absent: derived by planning the goal")

    @model_validator(mode="after")
    def _one_scene(self) -> Task:
        given = [x for x in (self.scene, self.scene_seed, self.image) if x is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of scene, scene_seed or image")
        return self

    @model_validator(mode="after")
    def _conditions_evaluable(self) -> Task:
        """Every condition must be one the scorer can evaluate: a bad one found while
        scoring would stop the whole benchmark after its tasks had run."""
        from spiral.worlds.tabletop.predicates import condition_problem

        where = [(f"success[{i}]", c) for i, c in enumerate(self.success)]
        where += [(f"expectations[{i}].postconditions[{j}]", c) for i, e in enumerate(self.expectations)
                  for j, c in enumerate(e.postconditions)]
        for loc, c in where:
            problem = condition_problem(c)
            if problem:
                raise ValueError(f"{loc}: {problem}")
        steps = [e.step for e in self.expectations]
        if len(set(steps)) != len(steps):
            raise ValueError("expectations: each step may appear once")
        return self


def task_scene(task: Task):
    """The task's start scene (``None`` for an image task): inline, or the seeded random
    scene a run with the default scene settings builds."""
    from spiral.worlds.tabletop.scene import Scene, SceneSpec, random_scene

    if task.scene is not None:
        return Scene.model_validate(task.scene)
    if task.scene_seed is not None:
        from spiral.config import SceneConfig

        sc = SceneConfig()
        return random_scene(task.scene_seed, SceneSpec(min_objects=sc.min_objects, max_objects=sc.max_objects))
    return None


def plan_movable(scene, steps) -> list[str]:
    """The objects ``steps`` move in ``scene``: each step's subjects with what they carry."""
    from spiral.worlds.tabletop.actions import _moving_with, apply

    out: set[str] = set()
    state = scene
    for st in steps:
        for m in st.moving():
            out |= _moving_with(state, m)
        state = apply(state, st)
    return sorted(out)


def reference_movable(task: Task) -> list[str] | None:
    """``task.movable``, or the objects the symbolic planner's plan for the goal moves in
    the task's scene; ``None`` when that cannot be known (an image task, a goal the
    planner refuses)."""
    if task.movable is not None:
        return list(task.movable)
    scene = task_scene(task)
    if scene is None:
        return None
    from spiral.worlds.tabletop.goals import parse_goal, plan_clauses

    try:
        steps, _, _ = plan_clauses(scene, parse_goal(task.goal, scene))
    except SpiralError:
        return None
    return plan_movable(scene, steps)


def load_tasks(path: str | Path) -> list[Task]:
    """Tasks from a JSONL or JSON file, with errors that name the line and the field."""
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"task file not found: {p}", "pass a JSONL file in the ActWM-Bench task format")
    text = p.read_text()
    items: list[tuple[int, Any]] = []
    stripped = text.lstrip()
    try:
        if stripped.startswith("["):
            items = list(enumerate(json.loads(text), 1))
        else:
            items = [(i, json.loads(ln)) for i, ln in enumerate(text.splitlines(), 1) if ln.strip()]
    except json.JSONDecodeError as exc:
        raise InputFileError(f"{p} is not valid JSON/JSONL: {exc}", "one JSON object per line") from None
    tasks, seen = [], set()
    for line, obj in items:
        try:
            t = Task.model_validate(obj)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(x) for x in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            raise InputFileError(f"{p}, task {line}: {where + ': ' if where else ''}{msg}",
                                 "see docs/bench.md (task files) and spiral/bench/suites/task.schema.json") from None
        if t.id in seen:
            raise InputFileError(f"{p}: task id {t.id!r} appears twice", "give every task its own id")
        seen.add(t.id)
        tasks.append(t)
    if not tasks:
        raise InputFileError(f"{p} holds no tasks", "add one JSON object per line")
    return tasks


def task_schema() -> dict[str, Any]:
    """The task format's JSON Schema: the pydantic model's, plus what the loader checks
    beyond it (exactly one scene source; the tabletop predicate language: each predicate's
    number of objects, its region or point), so that editors and other tools see it too."""
    from spiral.worlds.tabletop.predicates import ARITY, REGIONS

    schema = Task.model_json_schema()
    sources = ("scene", "scene_seed", "image")
    schema["oneOf"] = [{"required": [k], "properties": {k: {"not": {"type": "null"}}}} for k in sources]
    cond = schema["$defs"]["Condition"]
    cond["properties"]["pred"]["enum"] = list(ARITY)
    cond["properties"]["region"] = {"anyOf": [{"enum": list(REGIONS)}, {"type": "null"}], "default": None,
                                    "title": "Region"}
    regional = ["in_region", "region_empty"]
    rules: list[dict[str, Any]] = []
    for n in sorted(set(ARITY.values())):
        then: dict[str, Any] = {"properties": {"args": {"minItems": n, "maxItems": n}}}
        if n:
            then["required"] = ["args"]
        rules.append({"if": {"properties": {"pred": {"enum": [p for p, k in ARITY.items() if k == n]}}},
                      "then": then})
    rules.append({"if": {"properties": {"pred": {"enum": regional}}},
                  "then": {"required": ["region"], "properties": {"region": {"enum": list(REGIONS)}}},
                  "else": {"properties": {"region": {"type": "null"}}}})
    rules.append({"if": {"properties": {"pred": {"const": "at"}}},
                  "then": {"required": ["xy"], "properties": {"xy": {"type": "array"}}}})
    cond["allOf"] = rules
    return schema


SUITES = ("lite", "hard", "hard-dev")  # hard-dev: the tuning split of Hard (other scenes, same recipes)


def builtin_suite(name: str = "actwm-bench-lite") -> Path:
    """A built-in suite's file, by name: ``lite``, ``hard`` or the file's stem
    (``actwm-bench-lite``, ``actwm-bench-hard``)."""
    from importlib import resources

    stem = f"actwm-bench-{name}" if name in SUITES else name
    p = Path(str(resources.files("spiral.bench").joinpath(f"suites/{stem}.jsonl")))
    if not p.exists():
        raise InputFileError(f"no built-in suite {name!r}", f"choose one of {', '.join(SUITES)}, or pass --tasks FILE")
    return p
