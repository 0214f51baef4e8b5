"""Every trace line real runs write validates against ``spiral/core/trace.schema.json``.

The runs cover every event kind: the demo (refine + accept), a faulty run that replans and
(usually) stops, one forced to refine, replan and stop, plan-only, open-loop, a
pre-condition failure (precheck → replan), a swap grounded before it runs and a run
killed mid-step and resumed.
"""

from __future__ import annotations

import copy
import json
import re
from importlib import resources
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from spiral.agents.perception_critic import PerceptionCritic
from spiral.agents.symbolic_planner import SymbolicPlanner
from spiral.api import run
from spiral.config import build_config
from spiral.core.trace import EVENTS, read_trace, strip_timings
from spiral.core.types import Condition
from spiral.generators.sim import SimGenerator


def load_schema() -> dict:
    return json.loads(resources.files("spiral.core").joinpath("trace.schema.json").read_text())


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = load_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def problems(validator: Draft202012Validator, rec: dict) -> list[str]:
    """Readable errors for one line: those of the sub-schema its ``event`` selects."""
    if validator.is_valid(rec):
        return []
    defs = validator.schema["$defs"]
    kind = rec.get("event")
    branch = {k: validator.schema[k] for k in ("$schema", "$id", "$defs") if k in validator.schema}
    target = validator.evolve(schema={**branch, "$ref": f"#/$defs/{kind}"}) if kind in defs and kind in EVENTS \
        else validator
    errs = list(target.iter_errors(rec)) or list(validator.iter_errors(rec))
    return [f"{'/'.join(map(str, e.absolute_path)) or '<line>'}: {e.message[:200]}" for e in errs]


class _PrecheckPlanner(SymbolicPlanner):
    """The symbolic planner, but step 1 of the first plan needs an object the scene lacks."""

    def plan(self, goal, observation, memory=None):
        p = super().plan(goal, observation, memory)
        if len(p.steps) > 1:
            p.steps[1].preconditions.append(Condition(pred="exists", args=["white_cube"]))
        return p


def _interrupt_at_step1_verdict(e: dict) -> None:
    if e["event"] == "verdict" and e["step"] == 1:
        raise KeyboardInterrupt  # what Ctrl-C does mid-attempt (listeners' Exceptions are swallowed)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, fast_default_generator_module) -> dict[str, tuple[object, Path]]:
    """Runs of every path the trace can take; sim-faulty as the default generator (its faults on demand)."""
    root = tmp_path_factory.mktemp("trace-schema")
    out: dict[str, tuple[object, Path]] = {}

    def go(name, cfg, **kw):
        res, rd = run(cfg, root / name, **kw)
        out[name] = (res, rd.path)

    go("demo", build_config())
    # high fault rate, 2 attempts, 1 replan: refines, replans and (today) stops; scene 24 has 3 cubes
    go("faulty", build_config(overrides={"goal": "stack all the cubes", "scene": {"seed": 24}},
                              sets=["generator.fault_rate=0.9", "loop.max_attempts=2", "loop.max_replans=1",
                                    "loop.on_failure=stop"]))
    # the same paths made certain: segment 0 always fails (subject stays still) in plan v0 and v1
    go("forced_stop", build_config(sets=['generator.faults=["static"]', "loop.max_attempts=2", "loop.max_replans=1",
                                         "loop.on_failure=stop",
                                         'generator.force_fail=[{"segment": 0}, {"segment": 0, "plan_version": 1}]']))
    # the same, best effort: the step's best failing attempt is kept and the run goes on
    go("accept_best", build_config(sets=['generator.faults=["static"]', "loop.max_attempts=2", "loop.max_replans=1",
                                         "loop.on_failure=accept_best",
                                         'generator.force_fail=[{"segment": 0}, {"segment": 0, "plan_version": 1}]']))
    go("plan_only", build_config(overrides={"mode": "plan-only"}))
    go("open_loop", build_config(overrides={"mode": "open-loop"}))
    cfg = build_config(overrides={"generator": {"name": "sim"}})
    go("precheck", cfg, components=(_PrecheckPlanner(), SimGenerator(), PerceptionCritic()))
    # a swap pinned on where step 0 was assumed to land the red ball: grounded before it runs
    go("ground", build_config(overrides={"goal": "move the red ball next to the blue cube, then swap the red ball "
                                                 "and the yellow ball", "generator": {"name": "sim"}}))
    cfg = build_config()
    with pytest.raises(KeyboardInterrupt):
        run(cfg, root / "resumed", listeners=[_interrupt_at_step1_verdict])
    go("resumed", cfg, resume=True)
    return out


def test_runs_ended_as_expected(runs):
    assert runs["demo"][0].status == "completed"
    faulty = runs["faulty"][0]
    assert faulty.status in ("completed", "stopped") and faulty.retries >= 1
    forced = runs["forced_stop"][0]
    assert forced.status == "stopped" and forced.segments == 0 and forced.replans == 1 and forced.retries == 2
    assert runs["plan_only"][0].status == runs["open_loop"][0].status == "completed"
    best = runs["accept_best"][0]
    assert best.status == "completed" and best.replans == 1 and "kept as the best" in best.reason
    assert runs["precheck"][0].replans == 1
    assert runs["resumed"][0].status == "completed"
    grounded = runs["ground"][0]
    assert grounded.status == "completed" and grounded.success and grounded.replans == 0


def test_every_trace_line_matches_the_schema(runs, validator):
    n = 0
    for name, (_, path) in runs.items():
        lines = (path / "trace.jsonl").read_text(encoding="utf-8").splitlines()
        assert lines, name
        for k, line in enumerate(lines):
            rec = json.loads(line)
            assert not problems(validator, rec), (name, k, rec["event"], problems(validator, rec))
            n += 1
    assert n > 50


def test_the_runs_produce_every_event_kind_and_decision(runs):
    seen: set[str] = set()
    actions: set[str] = set()
    for _, path in runs.values():
        for e in read_trace(path / "trace.jsonl"):
            seen.add(e["event"])
            if e["event"] == "decision":
                actions.add(e["action"])
    schema = load_schema()
    defined = set(schema["properties"]["event"]["enum"])
    assert seen == defined, f"defined but never seen: {defined - seen}; seen but undefined: {seen - defined}"
    assert actions == set(schema["$defs"]["decision"]["properties"]["action"]["enum"])


def test_schema_matches_the_trace_module():
    schema = load_schema()
    assert set(schema["properties"]["event"]["enum"]) == set(EVENTS)
    branches = {b["$ref"].rsplit("/", 1)[-1] for b in schema["oneOf"]}
    assert branches == set(EVENTS)
    for kind in EVENTS:
        assert schema["$defs"][kind]["properties"]["event"] == {"const": kind}


def test_trace_is_deterministic_without_timings(runs, tmp_path):
    _res, rd = run(build_config(), tmp_path / "again")
    a = read_trace(runs["demo"][1] / "trace.jsonl")
    b = read_trace(rd.path / "trace.jsonl")
    assert strip_timings(a) == strip_timings(b)
    assert all("t" not in e and "timing" not in e for e in strip_timings(a))


def _sample(runs, kind: str) -> dict:
    for _, path in runs.values():
        for e in read_trace(path / "trace.jsonl"):
            if e["event"] == kind:
                return e
    raise AssertionError(kind)


def test_schema_rejects_an_unknown_event(validator):
    assert not validator.is_valid({"seq": 0, "event": "teleport", "t": 0.0})
    assert not validator.is_valid({"seq": 0, "event": "teleport", "t": 0.0, "step": 0, "segments": 0})


@pytest.mark.parametrize("kind,field", [("accept", "sha256"), ("verdict", "verdict"), ("request", "request"),
                                        ("run_start", "config_hash"), ("episode_end", "status"),
                                        ("plan", "steps"), ("clip", "meta"), ("scene", "objects")])
def test_schema_rejects_a_missing_required_field(runs, validator, kind, field):
    rec = _sample(runs, kind)
    assert validator.is_valid(rec)
    broken = {k: v for k, v in rec.items() if k != field}
    assert not validator.is_valid(broken)
    no_seq = {k: v for k, v in rec.items() if k != "seq"}
    assert not validator.is_valid(no_seq)


def test_schema_is_strict_on_events_and_open_in_generator_meta(runs, validator):
    accept = _sample(runs, "accept")
    assert not validator.is_valid({**accept, "surprise": 1})  # undeclared event field
    assert not validator.is_valid({**accept, "seq": "3"})  # wrong type
    clip = _sample(runs, "clip")
    extra = copy.deepcopy(clip)
    extra["meta"]["scheduler"] = {"name": "flow-match", "shift": 3.0}  # any generator may add keys
    assert validator.is_valid(extra)
    timed = copy.deepcopy(clip)
    timed["meta"]["vae_s"] = 0.2  # timings belong under `timing`, never in meta
    assert not validator.is_valid(timed)
    refine = next(e for _, p in runs.items() for e in read_trace(p[1] / "trace.jsonl")
                  if e["event"] == "decision" and e["action"] == "refine")
    assert not validator.is_valid({k: v for k, v in refine.items() if k != "strategy"})
    assert not validator.is_valid({**refine, "strategy": "pray"})
    verdict = copy.deepcopy(_sample(runs, "verdict"))
    verdict["verdict"]["failure_type"] = "bad_vibes"
    assert not validator.is_valid(verdict)


def test_the_examples_in_docs_trace_md_match_the_schema(validator):
    doc = Path(__file__).resolve().parents[2] / "docs" / "trace.md"
    if not doc.exists():
        pytest.skip("docs/trace.md not found")
    blocks = re.findall(r"```json\n(.*?)\n```", doc.read_text(encoding="utf-8"), re.DOTALL)
    examples = [json.loads(b) for b in blocks if b.lstrip().startswith('{"seq"')]
    assert {e["event"] for e in examples} == set(EVENTS)
    for e in examples:
        assert not problems(validator, e), (e["event"], problems(validator, e))
