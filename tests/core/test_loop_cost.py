"""What agents pay for reaches the trace: ``pop_cost()`` on a planner or critic becomes the
``cost`` of the plan, replan and verdict events and the totals of ``episode_end``."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from jsonschema import Draft202012Validator

from spiral.agents.perception_critic import PerceptionCritic
from spiral.agents.symbolic_planner import SymbolicPlanner
from spiral.api import run
from spiral.config import build_config
from spiral.core.trace import read_trace, strip_timings
from spiral.generators.sim_faulty import FaultySimGenerator

pytestmark = pytest.mark.usefixtures("fast_default_generator")  # loop mechanics: sim-faulty as the default


class PayingPlanner(SymbolicPlanner):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def plan(self, goal, observation, memory=None):
        self.calls += 1
        return super().plan(goal, observation, memory)

    def replan(self, *a, **kw):
        self.calls += 1
        return super().replan(*a, **kw)

    def pop_cost(self):
        n, self.calls = self.calls, 0
        return {"model": "p", "requests": n, "prompt_tokens": 50 * n, "completion_tokens": 5 * n, "usd": 0.001 * n} \
            if n else None


class PayingCritic(PerceptionCritic):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def critique(self, clip, sub, memory=None):
        self.calls += 1
        return super().critique(clip, sub, memory)

    def pop_cost(self):
        n, self.calls = self.calls, 0
        return {"model": "c", "requests": n, "cache_hits": 0, "prompt_tokens": 200 * n, "completion_tokens": 20 * n,
                "usd": None} if n else None


def test_costs_reach_the_trace_and_the_totals(tmp_path):
    cfg = build_config(sets=['generator.force_fail=[{"segment": 1}]', 'generator.faults=["static"]',
                             "loop.max_attempts=2"])
    res, rd = run(cfg, tmp_path / "r", components=(PayingPlanner(), FaultySimGenerator(
        fault_rate=0.0, faults=["static"], force_fail=[{"segment": 1}]), PayingCritic()))
    events = read_trace(rd.path / "trace.jsonl")
    schema = json.loads(resources.files("spiral.core").joinpath("trace.schema.json").read_text())
    v = Draft202012Validator(schema)
    assert all(v.is_valid(e) for e in events)
    plan = next(e for e in events if e["event"] == "plan")
    assert plan["cost"]["requests"] == 1  # api.run's early check is the loop's plan: no second request
    verdicts = [e for e in events if e["event"] == "verdict"]
    assert verdicts and all(e["cost"] == {"model": "c", "requests": 1, "cache_hits": 0, "prompt_tokens": 200,
                                          "completion_tokens": 20, "usd": None} for e in verdicts)
    replans = [e for e in events if e["event"] == "replan"]
    assert replans and all(e["cost"]["requests"] == 1 for e in replans)
    end = events[-1]
    n_plan = 1 + len(replans)
    assert end["cost"] == {"requests": n_plan + len(verdicts), "prompt_tokens": 50 * n_plan + 200 * len(verdicts),
                           "completion_tokens": 5 * n_plan + 20 * len(verdicts), "cache_hits": 0,
                           "usd": round(0.001 * n_plan, 8)}
    assert res.cost == end["cost"]
    assert json.loads((rd.path / "state.json").read_text())["result"]["cost"] == end["cost"]
    assert all("cost" not in e for e in strip_timings(events))


def test_built_in_components_report_no_cost(tmp_path):
    res, rd = run(build_config(), tmp_path / "r")
    assert res.cost is None
    assert all("cost" not in e for e in read_trace(rd.path / "trace.jsonl"))


class SlowPlanner(SymbolicPlanner):
    def __init__(self):
        super().__init__()
        self.plans = 0

    def plan(self, goal, observation, memory=None):
        import time

        self.plans += 1
        time.sleep(0.05)
        return super().plan(goal, observation, memory)


def test_the_goal_check_plan_is_the_episodes_plan_and_its_time_counts(tmp_path):
    """api.run plans once to reject a bad goal before writing anything; the loop starts
    from that plan (no second planning call: for an API planner, no second bill) and
    counts its time as planning, inside the episode's wall time."""
    from spiral.generators.sim import SimGenerator

    planner = SlowPlanner()
    res, rd = run(build_config(), tmp_path / "r", components=(planner, SimGenerator(), PerceptionCritic()))
    assert planner.plans == 1
    events = read_trace(rd.path / "trace.jsonl")
    assert next(e for e in events if e["event"] == "plan")["timing"]["plan_s"] >= 0.05
    assert res.timing["plan_s"] >= 0.05 and res.wall_s >= res.timing["plan_s"] + res.timing["generate_s"]
