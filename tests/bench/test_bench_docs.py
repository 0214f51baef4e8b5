"""docs/bench.md: every ```json example is a valid ActWM-Bench task (schema and loader)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from jsonschema import Draft202012Validator

from spiral.bench.tasks import load_tasks
from spiral.worlds.tabletop.actions import apply
from spiral.worlds.tabletop.goals import parse_goal, plan_clauses
from spiral.worlds.tabletop.predicates import holds
from spiral.worlds.tabletop.scene import Scene

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "bench.md"
SCHEMA = ROOT / "src" / "spiral" / "bench" / "suites" / "task.schema.json"


def _examples() -> list[dict]:
    blocks = re.findall(r"^```json[ \t]*\n(.*?)^```[ \t]*$", DOC.read_text(), flags=re.DOTALL | re.MULTILINE)
    return [json.loads(b) for b in blocks]


def test_the_page_has_a_json_example():
    assert _examples(), "docs/bench.md has no ```json task example"


def test_json_examples_match_the_schema():
    validator = Draft202012Validator(json.loads(SCHEMA.read_text()))
    for task in _examples():
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(task)]
        assert not errors, (task.get("id"), errors)


def test_json_examples_load_as_jsonl_and_as_a_json_array(tmp_path):
    examples = _examples()
    jsonl = tmp_path / "tasks.jsonl"
    jsonl.write_text("".join(json.dumps(t) + "\n" for t in examples))  # one object per line
    tasks = load_tasks(jsonl)
    assert [t.id for t in tasks] == [t["id"] for t in examples]
    array = tmp_path / "tasks.json"
    array.write_text(json.dumps(examples, indent=1))  # the pretty-printed array form
    assert [t.model_dump() for t in load_tasks(array)] == [t.model_dump() for t in tasks]


def test_inline_scene_examples_are_solved_by_their_own_plan(tmp_path):
    """The example's horizon, expectations and success conditions agree with the symbolic
    planner's plan for its goal, applied to its scene in the simulator."""
    jsonl = tmp_path / "tasks.jsonl"
    jsonl.write_text("".join(json.dumps(t) + "\n" for t in _examples()))
    for t in load_tasks(jsonl):
        if t.scene is None:
            continue
        scene = Scene.model_validate(t.scene)
        steps, _, _ = plan_clauses(scene, parse_goal(t.goal, scene))
        assert len(steps) == t.horizon == len(t.expectations), t.id
        for k, step in enumerate(steps):
            scene = apply(scene, step)
            assert all(holds(c, scene) for c in t.expectations[k].postconditions), (t.id, k)
        assert all(holds(c, scene) for c in t.success), t.id
