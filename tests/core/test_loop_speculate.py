"""``loop.speculate``: the next step generated ahead while the critic judges, with no change
to what the run produces."""

import hashlib
import threading

import pytest

from spiral.api import build_components, run
from spiral.core.trace import read_trace, strip_timings

pytestmark = pytest.mark.usefixtures("fast_default_generator")  # loop mechanics: sim-faulty as the default


class _Recording:
    """Wraps a generator: records every request it gets and the thread it runs on."""

    def __init__(self, inner, fail_key=None):
        self.inner = inner
        self.calls: list[tuple[tuple[int, str], str]] = []  # ((seed, start frame hash), thread)
        self.fail_key = fail_key

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def generate(self, reqs):
        for r in reqs:
            key = (r.seed, hashlib.sha256(r.cond_frame.tobytes()).hexdigest())
            self.calls.append((key, threading.current_thread().name))
            if key == self.fail_key:
                from spiral.errors import BackendError

                raise BackendError("boom", "no fix")
        return self.inner.generate(reqs)


def _run(cfg, out, speculate, gen_wrap=None):
    cfg = cfg.model_copy(update={"loop": cfg.loop.model_copy(update={"speculate": speculate})})
    planner, generator, critic = build_components(cfg)
    rec = (gen_wrap or _Recording)(generator)
    res, rd = run(cfg, out, components=(planner, rec, critic))
    return res, rd, rec


GOAL2 = "stack all the cubes, then put the red ball in the bowl"
DEMO = ("stack the green cube on the blue one, then put the red ball in the bowl, then move the yellow ball next "
        "to the green cube, then push the purple bowl to the left")


@pytest.mark.parametrize(("sets", "mode", "goal", "scene_seed"), [
    (["generator.fault_rate=0.5"], "closed-loop", GOAL2, 5),  # rejections: speculation wasted now and then
    (["generator.name=\"tiny-ti2v\""], "closed-loop", DEMO, None),  # the built-in model on the demo scene
    (["generator.fault_rate=0.5"], "plan-only", GOAL2, 5),  # every clip accepted: every speculation used
])
def test_speculation_changes_nothing_in_what_the_run_produces(cfg_factory, tmp_path, sets, mode, goal, scene_seed):
    cfg = cfg_factory(goal, scene_seed=scene_seed, sets=[*sets, f"mode=\"{mode}\""])
    r0, d0, g0 = _run(cfg, tmp_path / "off", False)
    r1, d1, g1 = _run(cfg, tmp_path / "on", True)
    assert r1.status == r0.status and r1.segments == r0.segments and r1.generator_calls == r0.generator_calls
    assert r1.segments >= 3
    assert strip_timings(read_trace(d1.path / "trace.jsonl")) == strip_timings(read_trace(d0.path / "trace.jsonl"))
    assert (d1.path / "video.mp4").read_bytes() == (d0.path / "video.mp4").read_bytes()
    # same config identity: a run may be resumed with speculation switched either way
    import json

    assert json.loads((d1.path / "config.json").read_text())["config_hash"] == \
        json.loads((d0.path / "config.json").read_text())["config_hash"]
    assert all(t == "MainThread" for _, t in g0.calls)
    ahead = [s for s, t in g1.calls if t.startswith("spiral-speculate")]
    assert ahead, "some clips must have been generated ahead"
    wasted = (r1.cost or {}).get("speculative_calls_wasted", 0)
    # every generator call is a logical call of the run or a counted waste
    assert len(g1.calls) == r1.generator_calls + wasted
    assert r1.timing["overlap_s"] > 0 and "overlap_s" not in r0.timing
    report = (d1.path / "report.html").read_text()
    assert "overlap_s" in report and "generated ahead" in report and "generated ahead" not in \
        (d0.path / "report.html").read_text()
    if mode == "plan-only":
        assert wasted == 0 and len(ahead) == r1.segments - 1
    if r1.retries:
        assert wasted > 0 and r1.timing["speculation_waste_s"] > 0


def test_a_failing_speculative_call_that_is_not_used_is_harmless(cfg_factory, tmp_path):
    """The loop never makes the request of a discarded speculation, so its error is moot;
    an error of a request the loop does make surfaces as without speculation."""
    cfg = cfg_factory("stack all the cubes, then put the red ball in the bowl", scene_seed=5,
                      sets=["generator.fault_rate=0.5"])
    _, _, g0 = _run(cfg, tmp_path / "off", False)
    r1, _, g1 = _run(cfg, tmp_path / "on", True)
    made = {s for s, _ in g0.calls}
    moot = [s for s, t in g1.calls if t.startswith("spiral-speculate") and s not in made]
    assert moot, "the fault rate must make some speculation go unused"
    r2, _, _ = _run(cfg, tmp_path / "moot", True, lambda g: _Recording(g, fail_key=moot[0]))
    assert r2.status == r1.status and r2.segments == r1.segments
    from spiral.errors import BackendError

    used = [s for s, t in g1.calls if t.startswith("spiral-speculate") and s in made]
    with pytest.raises(BackendError, match="boom"):
        _run(cfg, tmp_path / "used", True, lambda g: _Recording(g, fail_key=used[0]))
