"""The loop over injected components: accept, refine, replan, budgets, modes, memory."""

import json

import numpy as np
import pytest

from spiral.agents.perception_critic import PerceptionCritic
from spiral.agents.symbolic_planner import SymbolicPlanner
from spiral.api import run
from spiral.core.loop import Loop, derive_seed
from spiral.core.memory import EpisodeMemory, ExperienceStore
from spiral.core.trace import Trace, read_trace
from spiral.core.types import Clip, Verdict
from spiral.generators.sim import SimGenerator
from spiral.generators.sim_faulty import FaultySimGenerator
from spiral.worlds.tabletop.corrupt import corrupt
from spiral.worlds.tabletop.render import render_scene
from spiral.worlds.tabletop.scene import Scene

pytestmark = pytest.mark.usefixtures("fast_default_generator")  # loop mechanics: sim-faulty as the default

GOAL4 = "stack the green cube on the blue one, then put the red ball in the bowl, then swap the yellow ball and " \
        "the orange cube"


def demo4_scene() -> Scene:
    return Scene.model_validate({"objects": [
        {"kind": "ball", "color": "red", "x": 0.22, "y": 0.74}, {"kind": "cube", "color": "green", "x": 0.3, "y": 0.34},
        {"kind": "cube", "color": "blue", "x": 0.72, "y": 0.3}, {"kind": "ball", "color": "yellow", "x": 0.82, "y": 0.78},
        {"kind": "bowl", "color": "purple", "x": 0.52, "y": 0.7}, {"kind": "cube", "color": "orange", "x": 0.12, "y": 0.5}]})


def _loop(cfg, generator, critic=None, planner=None, experience=None, trace=None):
    return Loop(planner or SymbolicPlanner(), generator, critic or PerceptionCritic(), EpisodeMemory(None), cfg,
                None, trace or Trace(None), experience)


def _events(trace, kind):
    return [e for e in trace.events if e["event"] == kind]


def test_exact_simulator_accepts_every_step_first_try(cfg_factory):
    cfg = cfg_factory(GOAL4, scene_seed=None, sets=["generator.name=\"sim\""])
    scene = demo4_scene()
    loop = _loop(cfg, SimGenerator())
    res = loop.run(cfg.goal, render_scene(scene), scene.model_dump(by_alias=True))
    assert res.status == "completed" and res.success
    assert res.retries == 0 and res.replans == 0 and res.generator_calls == res.segments == len(loop.plan.steps)
    decisions = [e["action"] for e in _events(loop.trace, "decision")]
    assert decisions == ["accept"] * res.segments


def test_refine_changes_the_request_and_recovers(cfg_factory):
    cfg = cfg_factory(GOAL4, scene_seed=None, sets=["loop.max_attempts=6"])
    scene = demo4_scene()
    loop = _loop(cfg, FaultySimGenerator(fault_rate=0.5))
    res = loop.run(cfg.goal, render_scene(scene), scene.model_dump(by_alias=True))
    assert res.status == "completed" and res.success, res.reason
    refines = [e for e in _events(loop.trace, "decision") if e["action"] == "refine"]
    assert refines, "a 50% fault rate must trigger refinements"
    for e in refines:
        assert e["strategy"] in ("instruct", "explore", "reseed", "rewrite_prompt", "more_steps")
        assert e["changes"], "a refinement must change the request"
    # every failed verdict named a failure type and gave feedback; failures are in memory
    failed = [e["verdict"] for e in _events(loop.trace, "verdict") if not e["verdict"]["passed"]]
    assert all(v["failure_type"] and v["feedback"] for v in failed)
    assert len(loop.memory.failures()) == len(failed)
    assert any(f["fixed"] for f in loop.memory.failures())


def test_forced_failures_trigger_a_replan_that_succeeds(cfg_factory):
    cfg = cfg_factory(GOAL4, scene_seed=None, sets=["loop.max_attempts=2"])
    scene = demo4_scene()
    gen = FaultySimGenerator(fault_rate=0.0, force_fail=[{"segment": 1, "plan_version": 0}])
    loop = _loop(cfg, gen)
    res = loop.run(cfg.goal, render_scene(scene), scene.model_dump(by_alias=True))
    assert res.replans == 1 and res.status == "completed" and res.success
    (rp,) = _events(loop.trace, "replan")
    assert rp["step"] == 1 and rp["from_version"] == 0 and rp["to_version"] == 1 and rp["feedback"]
    assert loop.plan.version == 1


def test_stops_gracefully_when_replans_are_spent(cfg_factory):
    cfg = cfg_factory(GOAL4, scene_seed=None, sets=["loop.max_attempts=2", "loop.max_replans=1", "loop.on_failure=stop"])
    scene = demo4_scene()
    gen = FaultySimGenerator(fault_rate=0.0, force_fail=[{"segment": 1, "plan_version": v} for v in range(3)])
    loop = _loop(cfg, gen)
    res = loop.run(cfg.goal, render_scene(scene), scene.model_dump(by_alias=True))
    assert res.status == "stopped" and "replan budget" in res.reason
    assert res.segments == 1 and not res.success
    assert loop.stitched().shape[0] == cfg.loop.frames_per_segment  # the partial result is kept


def test_accept_best_finishes_the_run_with_the_flawed_step_recorded(cfg_factory):
    cfg = cfg_factory(GOAL4, scene_seed=None, sets=["loop.max_attempts=2", "loop.max_replans=1",
                                                     "loop.on_failure=accept_best"])
    scene = demo4_scene()
    gen = FaultySimGenerator(fault_rate=0.0, force_fail=[{"segment": 1, "plan_version": v} for v in range(3)])
    loop = _loop(cfg, gen)
    res = loop.run(cfg.goal, render_scene(scene), scene.model_dump(by_alias=True))
    bests = [e for e in _events(loop.trace, "decision") if e["action"] == "accept_best"]
    assert res.status == "completed" and f"{len(bests)} kept as the best" in res.reason
    assert res.replans == 1 and res.segments == len(loop.plan.steps)
    best = bests[0]  # (a flawed step can leave the next one failing too: it is kept the same way)
    assert best["step"] == 1 and "keeping attempt" in best["reason"]
    verdicts = [e for e in _events(loop.trace, "verdict") if e["step"] == 1 and e["seq"] < best["seq"]]
    kept = int(best["reason"].split("keeping attempt ")[1].split(",")[0])
    scores = {e["attempt"]: e["verdict"]["scores"]["action"] for e in verdicts[-2:]}
    assert scores[kept] == max(scores.values())  # the better of the last two attempts
    # the accepted segment is that attempt's clip
    (acc,) = [e for e in _events(loop.trace, "accept") if e["seq"] > best["seq"]][:1]
    clip = [e for e in _events(loop.trace, "clip") if e["step"] == 1 and e["attempt"] == kept][-1]
    import hashlib

    assert hashlib.sha256(loop._mem_segments[acc["segment"]].tobytes()).hexdigest()[:16] == clip["frames_sha256"]


def test_generator_call_budget(cfg_factory):
    cfg = cfg_factory(GOAL4, scene_seed=None, sets=["loop.max_generator_calls=2"])
    scene = demo4_scene()
    loop = _loop(cfg, SimGenerator())
    res = loop.run(cfg.goal, render_scene(scene), scene.model_dump(by_alias=True))
    assert res.status == "stopped" and "generator-call budget" in res.reason and res.generator_calls == 2


def test_wall_time_budget(cfg_factory):
    cfg = cfg_factory(GOAL4, scene_seed=None, sets=["loop.max_wall_time_s=0.3"])
    scene = demo4_scene()
    loop = _loop(cfg, SimGenerator(latency_s=0.2))
    res = loop.run(cfg.goal, render_scene(scene), scene.model_dump(by_alias=True))
    assert res.status == "stopped" and "wall-time budget" in res.reason


def test_plan_only_accepts_without_critique(cfg_factory):
    cfg = cfg_factory(GOAL4, scene_seed=None, mode="plan-only")
    scene = demo4_scene()
    loop = _loop(cfg, FaultySimGenerator(fault_rate=1.0))
    res = loop.run(cfg.goal, render_scene(scene), scene.model_dump(by_alias=True))
    assert res.status == "completed" and res.generator_calls == len(loop.plan.steps)
    assert not _events(loop.trace, "verdict")
    assert res.goal is not None and not res.success  # every clip was broken; only the final check sees it


def test_open_loop_gives_the_generator_the_whole_goal(cfg_factory):
    cfg = cfg_factory(GOAL4, scene_seed=None, mode="open-loop")
    scene = demo4_scene()
    loop = _loop(cfg, SimGenerator())
    res = loop.run(cfg.goal, render_scene(scene), scene.model_dump(by_alias=True))
    reqs = _events(loop.trace, "request")
    assert len(reqs) == len(loop.plan.steps) and all(r["request"]["prompt"] == GOAL4 for r in reqs)
    assert all(r["request"]["action"] is None for r in reqs)
    assert res.success  # the exact simulator interprets the goal text itself


class _ScriptedGenerator(SimGenerator):
    """Fails with a still clip unless sampled with >= 2 steps: only more_steps fixes it."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def generate(self, requests):
        out = []
        for r in requests:
            self.seen.append(r)
            scene, action = self.simulate_request(r)
            if (r.steps or 1) < 2 and action is not None:
                frames, state, _ = corrupt("static", scene, action, r.num_frames, r.height)
                out.append(Clip(frames, r.fps, meta={"nfe": 1}, states=[state.model_dump(by_alias=True)]))
            else:
                out.extend(super().generate([r]))
        return out


def test_experience_store_puts_the_historically_best_strategy_first(cfg_factory, tmp_path):
    exp = ExperienceStore(tmp_path / "exp.sqlite")
    cfg = cfg_factory(GOAL4, scene_seed=None,
                      sets=["loop.max_attempts=4", 'loop.strategies=["rewrite_prompt", "reseed", "more_steps"]'])
    scene = demo4_scene()
    first = _loop(cfg, _ScriptedGenerator(), experience=exp)
    first.run(cfg.goal, render_scene(scene), scene.model_dump(by_alias=True))
    tried = [e["strategy"] for e in _events(first.trace, "decision") if e["action"] == "refine"]
    assert tried[:3] == ["reseed", "rewrite_prompt", "more_steps"]  # default order for missing_action (allowed ones)
    assert exp.rank("missing_action", ["reseed", "rewrite_prompt", "more_steps"])[0] == "more_steps"
    second = _loop(cfg, _ScriptedGenerator(), experience=exp)
    res = second.run(cfg.goal, render_scene(scene), scene.model_dump(by_alias=True))
    tried2 = [e["strategy"] for e in _events(second.trace, "decision") if e["action"] == "refine"]
    assert tried2 and tried2[0] == "more_steps"
    assert res.generator_calls < first.calls


class _GlobalCritic(PerceptionCritic):
    def __init__(self):
        super().__init__()
        self.n = 0

    def critique(self, clip, sub_action, memory=None):
        self.n += 1
        if self.n == 1:
            return Verdict(passed=False, scores={"action": 0.0}, failure_type="physical_violation",
                           feedback="the tower fell over", scope="global")
        return super().critique(clip, sub_action, memory)


def test_global_drift_goes_straight_to_replan(cfg_factory):
    cfg = cfg_factory(GOAL4, scene_seed=None)
    scene = demo4_scene()
    loop = _loop(cfg, SimGenerator(), critic=_GlobalCritic())
    res = loop.run(cfg.goal, render_scene(scene), scene.model_dump(by_alias=True))
    assert res.replans == 1 and res.success
    assert next(e["action"] for e in _events(loop.trace, "decision")) == "replan"


def test_critic_sees_pixels_only_and_generator_gets_memory_keyframes(cfg_factory):
    seen = []

    class Spy(PerceptionCritic):
        def critique(self, clip, sub_action, memory=None):
            seen.append((clip.states, clip.meta))
            return super().critique(clip, sub_action, memory)

    cfg = cfg_factory(GOAL4, scene_seed=None, sets=["generator.name=\"sim\""])
    scene = demo4_scene()
    gen = _ScriptedGenerator()
    first = render_scene(scene)
    _loop(cfg, gen, critic=Spy()).run(cfg.goal, first, scene.model_dump(by_alias=True))
    assert len(gen.seen) > 3 and seen and all(states is None and meta == {} for states, meta in seen)
    assert all(len(r.keyframes) == 1 and np.array_equal(r.keyframes[0], first) for r in gen.seen)
    cfg2 = cfg_factory(GOAL4, scene_seed=None, sets=["loop.keyframe_conditioning=false"])
    gen2 = _ScriptedGenerator()
    _loop(cfg2, gen2).run(cfg2.goal, first, scene.model_dump(by_alias=True))
    assert all(r.keyframes == [] for r in gen2.seen)


def test_seeds_are_derived_deterministically():
    assert derive_seed(0, 1, 2, 3) == derive_seed(0, 1, 2, 3)
    assert derive_seed(0, 1, 2, 3) != derive_seed(0, 1, 2, 4)
    assert 0 <= derive_seed(123, "x") < 2 ** 31


def test_run_directory_is_complete_and_deterministic(cfg_factory, tmp_path):
    cfg = cfg_factory("stack all the cubes", scene_seed=5, sets=["generator.fault_rate=0.4"])
    r1, d1 = run(cfg, tmp_path / "a")
    _r2, d2 = run(cfg, tmp_path / "b")
    for name in ("config.json", "trace.jsonl", "state.json", "memory.sqlite", "video.mp4", "report.html"):
        assert (d1.path / name).is_file(), name
    assert (d1.path / "video.mp4").read_bytes() == (d2.path / "video.mp4").read_bytes()
    from spiral.core.trace import strip_timings

    assert strip_timings(read_trace(d1.path / "trace.jsonl")) == strip_timings(read_trace(d2.path / "trace.jsonl"))
    segs = sorted((d1.path / "segments").glob("*.npy"))
    assert len(segs) == r1.segments
    meta = json.loads(segs[0].with_suffix(".json").read_text())
    assert meta["sha256"] and meta["prompt"]
    # the stitched video has the right number of frames
    from spiral.io.video import read_mp4

    frames = read_mp4(d1.path / "video.mp4")
    T = cfg.loop.frames_per_segment
    assert frames.shape[0] == r1.segments * (T - 1) + 1
    assert "api_key" not in (d1.path / "config.json").read_text()


@pytest.mark.parametrize("mode", ["closed-loop", "plan-only", "open-loop"])
def test_modes_write_a_run_directory(cfg_factory, tmp_path, mode):
    cfg = cfg_factory("stack all the cubes", mode=mode)
    res, d = run(cfg, tmp_path / mode)
    assert (d.path / "video.mp4").stat().st_size > 0 and res.goal is not None


GOAL_GROUND = "move the red ball next to the blue cube, then swap the red ball and the yellow ball"


class _LandsElsewhere(SimGenerator):
    """The exact simulator, but "next to" lands on another free side than the plan chose."""

    def generate(self, requests):
        from spiral.worlds.tabletop.actions import make_action

        out = []
        for r in requests:
            a = r.action
            if a is not None and a.kind == "move_next_to":
                scene = self.start_scene(r)
                for variant in range(1, 8):
                    alt = make_action(scene, a.kind, a.subject, a.objects, {"prompt": a.prompt}, variant=variant)
                    if alt.params["target_xy"] != a.params["target_xy"]:
                        r = r.model_copy(update={"action": alt})
                        break
            out.extend(super().generate([r]))
        return out


def test_a_swap_after_next_to_is_grounded_and_passes_first_try(cfg_factory):
    cfg = cfg_factory(GOAL_GROUND, scene_seed=None)
    scene = demo4_scene()
    loop = _loop(cfg, _LandsElsewhere())
    res = loop.run(cfg.goal, render_scene(scene), scene.model_dump(by_alias=True))
    assert res.status == "completed" and res.success and res.retries == 0 and res.replans == 0
    (g,) = _events(loop.trace, "ground")
    assert g["step"] == 1 and g["to_version"] == g["from_version"] + 1

    # the same run judged against the plan-time pins rejects the correct swap
    off = cfg_factory(GOAL_GROUND, scene_seed=None, sets=["loop.ground=false", "loop.max_attempts=2",
                                                          "loop.max_replans=0"])
    loop = _loop(off, _LandsElsewhere())
    res = loop.run(off.goal, render_scene(scene), scene.model_dump(by_alias=True))
    assert not _events(loop.trace, "ground") and res.retries >= 1


class _BrokenGround(SymbolicPlanner):
    def ground(self, plan, step, observation, memory=None):
        from spiral.errors import ImpossibleGoalError

        raise ImpossibleGoalError("no way", "none")


def test_a_failed_grounding_keeps_the_plan(cfg_factory, caplog):
    cfg = cfg_factory(GOAL_GROUND, scene_seed=None)
    scene = demo4_scene()
    loop = _loop(cfg, SimGenerator(), planner=_BrokenGround())
    res = loop.run(cfg.goal, render_scene(scene), scene.model_dump(by_alias=True))
    assert res.status == "completed" and res.success and not _events(loop.trace, "ground")
    assert "grounding step" in caplog.text


def test_retries_are_recorded_as_differing_from_the_attempt_before(cfg_factory):
    """Every retry's clip event says how much it differs from the attempt it follows, and the
    episode counts the retries that differ materially (the refinement policy reseeds and
    widens exploration on every retry)."""
    cfg = cfg_factory(GOAL4, scene_seed=None, sets=["loop.max_attempts=6"])
    scene = demo4_scene()
    loop = _loop(cfg, FaultySimGenerator(fault_rate=0.5))
    res = loop.run(cfg.goal, render_scene(scene), scene.model_dump(by_alias=True))
    clips = _events(loop.trace, "clip")
    retries = [c for c in clips if c["attempt"] > 0]
    assert retries and len(retries) == res.retries
    assert all("change" in c and "differs" in c for c in retries)
    assert not any("change" in c for c in clips if c["attempt"] == 0)
    assert res.retries_distinct == sum(c["differs"] for c in retries) > 0
    # the refinement asked for something other than the attempt before, every time
    for d in (e for e in _events(loop.trace, "decision") if e["action"] == "refine"):
        assert d["changes"].get("seed") is not None and d["changes"]["hints"]["explore"] > 0


def test_a_replan_differs_from_the_plan_that_failed_or_says_why(cfg_factory):
    cfg = cfg_factory(GOAL4, scene_seed=None, sets=["loop.max_attempts=1"])
    scene = demo4_scene()
    gen = FaultySimGenerator(fault_rate=0.0, force_fail=[{"segment": 1, "plan_version": 0}])
    loop = _loop(cfg, gen)
    res = loop.run(cfg.goal, render_scene(scene), scene.model_dump(by_alias=True))
    (rp,) = _events(loop.trace, "replan")
    assert rp["differs"] and rp["notes"]
    assert res.replans_distinct == 1
    old = _events(loop.trace, "plan")[0]["steps"][1]
    assert rp["steps"][0]["prompt"] != old["prompt"]  # the same step, asked another way


@pytest.mark.parametrize("budget", [0, 1, 2])
def test_the_replan_budget_is_spent_exactly_then_the_run_stops(cfg_factory, budget):
    """A step that always fails: exactly ``loop.max_replans`` replans, then a stop that says so."""
    cfg = cfg_factory(GOAL4, scene_seed=None, sets=["loop.max_attempts=1", f"loop.max_replans={budget}",
                                                      "loop.on_failure=stop"])
    scene = demo4_scene()
    fails = [{"segment": 1, "plan_version": v} for v in range(budget + 1)]
    loop = _loop(cfg, FaultySimGenerator(fault_rate=0.0, force_fail=fails))
    res = loop.run(cfg.goal, render_scene(scene), scene.model_dump(by_alias=True))
    assert res.status == "stopped" and res.replans == budget
    assert len(_events(loop.trace, "replan")) == budget
    assert f"replan budget ({budget}) is spent" in res.reason
