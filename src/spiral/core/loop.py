"""The think–act–reflect loop.

```
plan ─► for each sub-action: generate from the last accepted frame ─► critique
          ├─ pass ............ accept the segment, update memory, next sub-action
          ├─ local failure ... refine (rewrite prompt / reseed / more steps) and regenerate
          └─ global drift .... replan the rest of the goal from the perceived state
        stop gracefully (partial result + reason) when a budget runs out
```

The loop knows only the protocols of :mod:`spiral.core.protocols`. Modes:
``closed-loop`` (the above), ``plan-only`` (planner + generator, every clip accepted) and
``open-loop`` (the generator alone, given the whole goal, for as many segments as the plan
has). Every decision goes to the trace; every accepted segment is checkpointed, so a
killed run resumes from its last accepted segment and, by construction of the seeds,
reproduces exactly what an uninterrupted run would have produced.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from spiral.config import RunConfig
from spiral.core.memory import EpisodeMemory, ExperienceStore
from spiral.core.protocols import (
    CostReporting,
    Critic,
    Evaluating,
    Generator,
    Grounding,
    Hinting,
    Locating,
    Memory,
    Observing,
    Planner,
    Prechecking,
    Stepped,
)
from spiral.core.refine import DISTINCT_SHARE, RefinePolicy, clip_change, derive_seed, refine_rules
from spiral.core.rundir import RunDir
from spiral.core.speculate import Speculator
from spiral.core.trace import Trace
from spiral.core.types import Clip, GenerationRequest, Plan, SubAction, Verdict
from spiral.errors import RunDirError, SpiralError

log = logging.getLogger(__name__)

__all__ = ["EpisodeResult", "Loop", "derive_seed", "refine_rules"]  # derive_seed, refine_rules: spiral.core.refine


@dataclass
class EpisodeResult:
    status: str  # "completed" | "stopped"
    reason: str
    goal: dict[str, Any] | None
    segments: int
    generator_calls: int
    nfe: int
    retries: int
    replans: int
    wall_s: float
    retries_distinct: int = 0  # retries whose clip differs materially from the attempt before
    replans_distinct: int = 0  # replans whose steps differ from the plan that failed
    timing: dict[str, float] = field(default_factory=dict)
    cost: dict[str, Any] | None = None  # tokens/requests of LLM/VLM agents (None: nothing was paid for)

    @property
    def success(self) -> bool:
        return bool(self.goal and self.goal.get("satisfied"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Failed:
    """A failing attempt of the current step (the best one is kept for ``accept_best``)."""

    score: tuple[float, float, int]
    attempt: int
    clip: Clip
    request: GenerationRequest
    verdict: Verdict


@dataclass
class _Tried:
    """The refinement behind the attempt being generated: its failure (in memory), the
    failure's type and the strategy, whose outcome the experience store learns."""

    failure_id: int
    failure_type: str
    strategy: str


@dataclass(frozen=True)
class _Capabilities:
    """What the components can do beyond their protocols, checked once at construction."""

    observe: bool
    precheck: bool
    evaluate: bool
    ground: bool
    locate: bool
    hints: bool


class _Stop(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Loop:
    """One episode of the loop over injected components."""

    def __init__(self, planner: Planner, generator: Generator, critic: Critic, memory: Memory | EpisodeMemory,
                 config: RunConfig, run: RunDir | None = None, trace: Trace | None = None,
                 experience: ExperienceStore | None = None):
        self.planner = planner
        self.generator = generator
        self.critic = critic
        self.memory = memory
        self.cfg = config
        self.run_dir = run
        self.trace = trace or Trace(None)
        self.experience = experience
        self.mode = config.mode
        self.can = _Capabilities(observe=isinstance(critic, Observing), precheck=isinstance(critic, Prechecking),
                                 evaluate=isinstance(critic, Evaluating), ground=isinstance(planner, Grounding),
                                 locate=isinstance(planner, Locating), hints=isinstance(generator, Hinting))
        # episode state
        self.plan: Plan | None = None
        self._plan_dump: tuple[Plan, dict[str, Any]] | None = None
        self.step = 0
        self.segments: list[dict[str, Any]] = []
        self._mem_segments: list[np.ndarray] = []  # accepted clips when there is no run directory
        self.calls = self.nfe = self.retries = self.replans = 0
        self.retries_distinct = self.replans_distinct = 0
        self.policy = RefinePolicy(
            config.loop.strategies, config.seed, max_steps=config.loop.max_steps, explore=config.loop.explore,
            locate=planner.locate if self.can.locate else None, hinting=self.can.hints,
            default_steps=int(generator.default_steps) if isinstance(generator, Stepped) else 8,
            rank=experience.rank if experience is not None else None)
        self.flawed = 0  # steps kept as their best failing attempt (loop.on_failure = accept_best)
        self.first_frame: np.ndarray | None = None
        self.last_frame: np.ndarray | None = None
        self.last_state: dict[str, Any] | None = None
        self.timing = {"plan_s": 0.0, "generate_s": 0.0, "critic_s": 0.0, "memory_io_s": 0.0}
        self.cost: dict[str, Any] = {}  # episode totals of what agents report through pop_cost()
        # loop.speculate: the next step's first attempt, generating on a worker thread, and
        # what grounding / the pre-check said about the frame it starts from
        self.ahead = Speculator(generator)
        if config.loop.speculate:
            self.timing.update({"overlap_s": 0.0, "speculation_waste_s": 0.0})
        self.t_start = time.perf_counter()
        self.elapsed_before = 0.0
        # names this run's outcomes in the experience store (kept in state.json across resumes)
        self.run_id = uuid.uuid4().hex if run is not None else ""

    # -- public -------------------------------------------------------------------------
    def run(self, goal: str, first_frame: np.ndarray, scene_state: dict[str, Any] | None = None,
            scene_info: dict[str, Any] | None = None, resume: bool = False,
            plan: Plan | None = None, plan_s: float = 0.0) -> EpisodeResult:
        """Run (or, with ``resume``, continue) the episode. ``plan`` is the plan the caller
        already made for ``goal`` on ``first_frame`` (e.g. to reject a bad goal before the
        run directory is written) and ``plan_s`` what making it took: the loop starts from
        it instead of planning again, and counts its time as planning in the episode."""
        self.first_frame = np.asarray(first_frame, np.uint8)
        self.last_frame = self.first_frame
        self.last_state = scene_state
        restored = self._restore() if resume else None
        if restored is not None and restored.get("status") in ("completed", "stopped"):
            log.info("run already finished: %s", restored.get("reason"))
            return EpisodeResult(**restored["result"])
        if restored is None:
            self._start(goal, scene_info or {}, plan, plan_s)
        try:
            if self.mode == "open-loop":
                self._open_loop(goal)
            else:
                self._closed_loop()
            status, reason = "completed", "all sub-actions accepted" if self.mode != "open-loop" else \
                "all open-loop segments generated"
            if self.flawed:
                reason += f" ({self.flawed} kept as the best of failing attempts)"
        except _Stop as stop:
            status, reason = "stopped", stop.reason
            log.warning("stopped: %s", reason)
        finally:
            self.ahead.close()
            self._count_waste()
        return self._finish(status, reason)

    @contextmanager
    def _clock(self, key: str) -> Iterator[list[float]]:
        """Time the block into ``self.timing[key]``; the yielded list holds its seconds after."""
        box = [0.0]
        t0 = time.perf_counter()
        try:
            yield box
        finally:
            box[0] = time.perf_counter() - t0
            self.timing[key] += box[0]

    # -- phases -------------------------------------------------------------------------
    def _start(self, goal: str, scene_info: dict[str, Any], plan: Plan | None = None, plan_s: float = 0.0) -> None:
        cfg = self.cfg
        self.trace.emit("run_start", goal=goal, mode=self.mode, seed=cfg.seed, generator=cfg.generator.name,
                        planner=cfg.planner.name, critic=cfg.critic.name, config_hash=cfg.identity())
        with self._clock("memory_io_s"):
            objects = self.critic.observe(self.first_frame) if self.can.observe else []
            if objects:
                self.memory.register_objects(objects, self.first_frame)
        self.trace.emit("scene", **scene_info, objects=objects)
        t0 = time.perf_counter()
        if plan is None:
            plan = self.planner.plan(goal, self.first_frame, self.memory)
        else:  # made before the loop started: its time counts here, and in the wall time
            t0 -= plan_s
            self.elapsed_before += plan_s
        self.timing["plan_s"] += time.perf_counter() - t0
        if not objects and plan.objects:
            self.memory.register_objects(plan.objects, self.first_frame)
        self.plan = plan
        self.trace.emit("plan", version=plan.version, steps=[_step_json(s) for s in plan.steps],
                        goal_conditions=[c.model_dump(mode="json", exclude_none=True) for c in plan.goal_conditions],
                        timing={"plan_s": round(time.perf_counter() - t0, 5)}, **self._cost(self.planner))
        self._checkpoint("running")

    def _closed_loop(self) -> None:
        assert self.plan is not None
        while self.step < len(self.plan.steps):
            if self._grounds():
                self._ground()
            sub = self.plan.steps[self.step]
            if self._prechecks():
                ahead = self.ahead.take_prechecked(sub, self.last_frame)
                if ahead is not None:  # made by _speculate (and timed there)
                    unmet = ahead.unmet
                    self.timing["critic_s"] += ahead.seconds
                else:
                    with self._clock("critic_s"):
                        unmet = self.critic.precheck(self.last_frame, sub, self.memory)
                if unmet:
                    text = ", ".join(map(str, unmet))
                    self.trace.emit("precheck", step=self.step, unmet=[str(c) for c in unmet])
                    if not self._best_effort():
                        self._replan(f"pre-conditions of step {self.step} do not hold: {text}")
                        continue
                    # best effort with no replan left: try the step anyway, the critic judges it
            if not self._attempt_step(sub):
                self._replan(self._last_feedback)

    def _grounds(self) -> bool:
        return self.mode == "closed-loop" and self.cfg.loop.ground and self.can.ground

    def _prechecks(self) -> bool:
        return self.mode == "closed-loop" and self.cfg.loop.precheck and self.can.precheck

    def _best_effort(self) -> bool:
        """No replan left and ``loop.on_failure = accept_best``: keep going with the best."""
        return self.cfg.loop.on_failure == "accept_best" and self.replans >= self.cfg.loop.max_replans

    def _give_up(self, attempt: int, reason: str, best: _Failed | None, sub: SubAction) -> bool:
        """The step failed: replan, stop, or (best effort) accept its best attempt."""
        if self._best_effort() and best is not None:
            self._decide("accept_best", attempt, reason=f"{reason}; keeping attempt {best.attempt}, the best "
                                                         f"(its failure: {best.verdict.failure_type})")
            self.flawed += 1
            self._accept(sub, best.clip, best.request)
            return True
        self._decide("replan" if self.replans < self.cfg.loop.max_replans else "stop", attempt, reason=reason)
        return False

    def _attempt_step(self, sub: SubAction) -> bool:
        cfg = self.cfg.loop
        req = self._request(sub, attempt=0)
        tried: list[str] = []
        prev: _Tried | None = None
        best: _Failed | None = None
        self._last_feedback = ""
        last: Clip | None = None  # the attempt before, to tell whether a retry differs from it
        for attempt in range(cfg.max_attempts):
            clip = self._generate(req, attempt, previous=last)
            last = clip
            self._speculate(clip)
            if self.mode == "plan-only":
                self._decide("accept", attempt, reason="plan-only mode accepts every clip")
                self._accept(sub, clip, req)
                return True
            verdict = self._critique(clip, sub, attempt)
            if prev is not None:
                if self.experience is not None:
                    # filed under the critique event just written: a resume from a checkpoint
                    # before it forgets the outcome (its critique is redone), one after keeps it
                    self.experience.record(prev.failure_type, prev.strategy, verdict.passed, run=self.run_id,
                                           seq=self.trace.seq - 1)
                if verdict.passed:
                    self.memory.mark_fixed(prev.failure_id, prev.strategy)
            if verdict.passed:
                self._decide("accept", attempt, reason="the critic passed the clip")
                self._accept(sub, clip, req)
                return True
            self._last_feedback = verdict.feedback
            score = (verdict.scores.get("action", 0.0), sum(verdict.scores.values()), -len(verdict.failures))
            if best is None or score > best.score:
                best = _Failed(score, attempt, clip, req, verdict)
            if verdict.scope == "global":
                self.memory.log_failure(self.step, attempt, verdict, "replan", self.plan.version)
                return self._give_up(attempt, f"global drift: {verdict.feedback}", best, sub)
            if attempt + 1 < cfg.max_attempts:
                strategy = self.policy.choose(verdict.failure_type or "missing_action", tried)
                fid = self.memory.log_failure(self.step, attempt, verdict, strategy, self.plan.version)
                new = self.policy.refine(req, strategy, verdict, sub, attempt + 1, self.plan.version, self.step,
                                         failed=clip.frames, memory=self.memory)
                tried.append(strategy)
                prev = _Tried(fid, verdict.failure_type or "missing_action", strategy)
                self.retries += 1
                self._decide("refine", attempt, strategy=strategy, reason=verdict.feedback,
                             changes=_diff(req, new))
                req = new
            else:
                self.memory.log_failure(self.step, attempt, verdict, None, self.plan.version)
                return self._give_up(attempt, f"{cfg.max_attempts} attempts failed; last: {verdict.feedback}",
                                     best, sub)
        return False

    def _open_loop(self, goal: str) -> None:
        assert self.plan is not None
        n = len(self.plan.steps)
        while self.step < n:
            req = self._base_request(prompt=goal, action=None, seed=derive_seed(self.cfg.seed, "open", self.step))
            clip = self._generate(req, 0)
            self._decide("accept", 0, reason="open-loop mode accepts every clip")
            self._accept(None, clip, req)

    # -- pieces -------------------------------------------------------------------------
    def _base_request(self, prompt: str, action: SubAction | None, seed: int, attempt: int = 0,
                      after: tuple[Plan, int, Clip] | None = None) -> GenerationRequest:
        """The request for the current step; with ``after = (plan, step, clip)``, the one the
        loop will make for ``step`` of ``plan`` once ``clip`` is accepted (speculation)."""
        cfg, size = self.cfg.loop, self.cfg.scene.size
        plan, step, frame, state = self.plan, self.step, self.last_frame, self.last_state
        if after is not None:
            plan, step, clip = after
            frame, state = clip.frames[-1], clip.final_state
        return GenerationRequest(
            prompt=prompt, cond_frame=frame,
            keyframes=[self.first_frame] if cfg.keyframe_conditioning else [],
            negative_prompt=cfg.negative_prompt, num_frames=cfg.frames_per_segment, fps=cfg.fps,
            height=size, width=size, steps=cfg.steps, guidance=cfg.guidance, seed=seed, action=action,
            segment_index=step,
            context={"scene": state, "plan_version": plan.version if plan else 0,
                     "attempt": attempt, "known_kinds": self.memory.known_kinds()})

    def _request(self, sub: SubAction, attempt: int, after: tuple[Plan, int, Clip] | None = None) -> GenerationRequest:
        plan, step = (after[0], after[1]) if after is not None else (self.plan, self.step)
        req = self._base_request(sub.prompt, sub, derive_seed(self.cfg.seed, plan.version, step, attempt),
                                 attempt, after)
        if self.cfg.loop.instruct_first:  # the ablation: the target hint without a verdict
            hints = self.policy.first_hints(sub, req.cond_frame, self.memory)
            if hints:
                req = req.model_copy(update={"hints": hints})
        return req

    def _check_budgets(self) -> None:
        cfg = self.cfg.loop
        if self.calls >= cfg.max_generator_calls:
            raise _Stop(f"generator-call budget exhausted ({cfg.max_generator_calls} calls) at step {self.step}")
        elapsed = self.elapsed_before + time.perf_counter() - self.t_start
        if elapsed >= cfg.max_wall_time_s:
            raise _Stop(f"wall-time budget exhausted ({cfg.max_wall_time_s:.0f} s) at step {self.step}")

    def _generate(self, req: GenerationRequest, attempt: int, previous: Clip | None = None) -> Clip:
        self._check_budgets()
        cond = "first_frame" if not self.segments else f"segment {self.segments[-1]['index']} last frame"
        self.trace.emit("request", step=self.step, attempt=attempt, request=req.describe(),
                        cond={"source": cond, "sha256": hashlib.sha256(
                            np.ascontiguousarray(req.cond_frame).tobytes()).hexdigest()[:16]})
        made = self.ahead.take(req)
        self._count_waste()
        if made is not None:
            clip, dt, waited = made
            # the loop's work while it ran (critique, accept, grounding) cost no wall time
            self.timing["overlap_s"] += max(0.0, dt - waited)
            self.timing["generate_s"] += dt
        else:
            with self._clock("generate_s") as took:
                clip = self.generator.generate([req])[0]
            dt = took[0]
        self.calls += 1
        nfe = int(clip.meta.get("nfe", req.steps or 1))
        self.nfe += nfe
        meta = {k: v for k, v in clip.meta.items() if k != "gen_s" and not k.endswith("_s")}
        thumb = None
        if self.run_dir is not None:
            with self._clock("memory_io_s"):
                thumb = self.run_dir.write_filmstrip(
                    f"v{self.plan.version if self.plan else 0}-s{self.step:03d}-a{attempt}", clip.frames)
        differs = {}
        if previous is not None:  # a retry: how much its last frame differs from the attempt before
            change = clip_change(previous.frames, clip.frames)
            differs = {"change": round(change, 5), "differs": change >= DISTINCT_SHARE}
            self.retries_distinct += int(change >= DISTINCT_SHARE)
        self.trace.emit("clip", step=self.step, attempt=attempt, frames=int(clip.frames.shape[0]),
                        shape=list(clip.frames.shape), nfe=nfe, meta=meta, thumb=thumb,
                        frames_sha256=hashlib.sha256(clip.frames.tobytes()).hexdigest()[:16],
                        timing={"generate_s": round(dt, 5)}, **differs)
        return clip

    def _speculate(self, clip: Clip) -> None:
        """``loop.speculate``: start generating the next step's first attempt on a worker
        thread, with the request the loop will make if ``clip`` is accepted (grounded and
        pre-checked from its last frame, as the loop will do then: both results are kept for
        the loop to reuse). :meth:`_generate` uses it only for an equal request, so a run is
        the same with or without speculation; a rejected clip wastes the call."""
        cfg = self.cfg.loop
        nxt = self.step + 1
        if not cfg.speculate or self.mode == "open-loop" or self.plan is None or nxt >= len(self.plan.steps) \
                or self.calls >= cfg.max_generator_calls:
            return
        from spiral.core.speculate import GroundedAhead, PrecheckedAhead

        frame, plan = clip.frames[-1], self.plan
        if self._grounds():
            t0 = time.perf_counter()
            new, err = self._call_ground(plan, nxt, frame)
            self.ahead.grounded = GroundedAhead(plan, nxt, frame, new, err, time.perf_counter() - t0)
            plan = new or plan
            if nxt >= len(plan.steps):
                return
        sub = plan.steps[nxt]
        if self._prechecks():
            t0 = time.perf_counter()
            unmet = self.critic.precheck(frame, sub, self.memory)
            self.ahead.prechecked = PrecheckedAhead(sub, frame, unmet, time.perf_counter() - t0)
            if unmet:
                return  # the loop will replan there: nothing to generate ahead
        self.ahead.submit(self._request(sub, 0, after=(plan, nxt, clip)))

    def _count_waste(self) -> None:
        """Generator time spent on clips made ahead and not used (``loop.speculate``)."""
        if self.ahead.waste_s:
            self.timing["speculation_waste_s"] = self.timing.get("speculation_waste_s", 0.0) + self.ahead.waste_s
            self.ahead.waste_s = 0.0

    def _critique(self, clip: Clip, sub: SubAction, attempt: int) -> Verdict:
        with self._clock("critic_s") as took:
            # the critic sees pixels only: no privileged states, no generator metadata
            verdict = self.critic.critique(Clip(frames=clip.frames, fps=clip.fps), sub, self.memory)
        self.trace.emit("verdict", step=self.step, attempt=attempt, verdict=verdict.model_dump(mode="json"),
                        timing={"critic_s": round(took[0], 5)}, **self._cost(self.critic))
        return verdict

    def _decide(self, action: str, attempt: int, **fields: Any) -> None:
        self.trace.emit("decision", step=self.step, attempt=attempt, action=action, **fields)

    def _accept(self, sub: SubAction | None, clip: Clip, req: GenerationRequest) -> None:
        t0 = time.perf_counter()
        idx = len(self.segments)
        meta = {"index": idx, "step": self.step, "prompt": req.prompt, "seed": req.seed, "steps": req.steps,
                "fps": clip.fps, "shape": list(clip.frames.shape),
                "sub_action": sub.model_dump(mode="json") if sub else None}
        if self.run_dir is not None:
            path, sha = self.run_dir.write_segment(idx, clip.frames, meta)
        else:
            path, sha = "", hashlib.sha256(clip.frames.tobytes()).hexdigest()
            self._mem_segments.append(clip.frames)
        if sub is not None:
            self.memory.add_segment(idx, sub, path, sha, clip.frames[-1])
        self.segments.append({"index": idx, "step": self.step, "path": path, "sha256": sha,
                              "prompt": req.prompt, "seed": req.seed})
        self.last_frame = clip.frames[-1]
        self.last_state = clip.final_state
        self.step += 1
        self.timing["memory_io_s"] += time.perf_counter() - t0
        self.trace.emit("accept", step=self.step - 1, segment=idx, path=path, sha256=sha)
        self._checkpoint("running")

    def _replan(self, feedback: str) -> None:
        if self.replans >= self.cfg.loop.max_replans:
            raise _Stop(f"step {self.step} failed and the replan budget ({self.cfg.loop.max_replans}) is spent; "
                        f"last feedback: {feedback}")
        self.replans += 1
        t0 = time.perf_counter()
        old = self.plan
        try:
            new = self.planner.replan(old, self.step, self.last_frame, self.memory, feedback=feedback)
        except SpiralError as exc:
            self._cost(self.planner)  # what the failed replan cost still counts in the totals
            raise _Stop(f"replanning from step {self.step} failed: {exc.message}") from None
        self.timing["plan_s"] += time.perf_counter() - t0
        self.plan = new
        differs = _steps_differ(old.steps[self.step:], new.steps[self.step:])
        self.replans_distinct += int(differs)
        self.trace.emit("replan", step=self.step, from_version=old.version, to_version=new.version,
                        feedback=feedback, differs=differs, notes=new.notes,
                        steps=[_step_json(s) for s in new.steps[self.step:]],
                        timing={"plan_s": round(time.perf_counter() - t0, 5)}, **self._cost(self.planner))
        self._checkpoint("running")

    def _ground(self) -> None:
        """Let the planner pin the next step again from the last accepted frame (a relative
        clause whose plan-time pins rest on where an earlier step was assumed to land an
        object); not a replan: no feedback, no budget."""
        t0 = time.perf_counter()
        old = self.plan
        ahead = self.ahead.take_grounded(old, self.step, self.last_frame)
        if ahead is not None:  # made by _speculate (and timed there)
            new, err, t0 = ahead.new, ahead.error, time.perf_counter() - ahead.seconds
        else:
            new, err = self._call_ground(old, self.step, self.last_frame)
        if err is not None:
            log.warning("grounding step %d failed (%s); keeping the plan", self.step, err)
        self.timing["plan_s"] += time.perf_counter() - t0
        if new is None:
            return
        self.plan = new
        self.trace.emit("ground", step=self.step, from_version=old.version, to_version=new.version,
                        reason=new.notes, steps=[_step_json(s) for s in new.steps[self.step:]],
                        goal_conditions=[c.model_dump(mode="json", exclude_none=True) for c in new.goal_conditions],
                        timing={"plan_s": round(time.perf_counter() - t0, 5)}, **self._cost(self.planner))
        self._checkpoint("running")

    def _call_ground(self, plan: Plan, step: int, frame: np.ndarray) -> tuple[Plan | None, str | None]:
        """``planner.ground`` → (new plan or None, error message or None)."""
        try:
            return self.planner.ground(plan, step, frame, self.memory), None
        except SpiralError as exc:
            self._cost(self.planner)
            return None, exc.message

    def _cost(self, component: Any) -> dict[str, Any]:
        """``{"cost": ...}`` for a trace event when ``component`` reports what its last calls cost
        (agents over paid endpoints implement ``pop_cost()``), else ``{}``; adds to the totals."""
        cost = component.pop_cost() if isinstance(component, CostReporting) else None
        if not cost:
            return {}
        for k, v in cost.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                self.cost[k] = round(self.cost.get(k, 0) + v, 8)
        return {"cost": cost}

    # -- checkpoint / resume / finish --------------------------------------------------------
    def _state(self, status: str) -> dict[str, Any]:
        return {"status": status, "mode": self.mode, "plan": self._plan_json(),
                "next_step": self.step, "segments": self.segments, "calls": self.calls, "nfe": self.nfe,
                "retries": self.retries, "replans": self.replans, "flawed": self.flawed,
                "retries_distinct": self.retries_distinct, "replans_distinct": self.replans_distinct,
                "last_state": self.last_state,
                "elapsed_s": self.elapsed_before + time.perf_counter() - self.t_start, "trace_seq": self.trace.seq,
                "timing": dict(self.timing), "cost": dict(self.cost), "run_id": self.run_id}

    def _plan_json(self) -> dict[str, Any] | None:
        """The plan as JSON, dumped once per plan object (every checkpoint writes it)."""
        if self.plan is None:
            return None
        if self._plan_dump is None or self._plan_dump[0] is not self.plan:
            self._plan_dump = (self.plan, self.plan.model_dump(mode="json"))
        return self._plan_dump[1]

    def _checkpoint(self, status: str, extra: dict[str, Any] | None = None) -> None:
        if self.run_dir is None:
            return
        with self._clock("memory_io_s"):
            self.run_dir.save_state({**self._state(status), **(extra or {})}, before=self.trace.fsync_later())

    def _restore(self) -> dict[str, Any] | None:
        if self.run_dir is None:
            return None
        st = self.run_dir.load_state()
        if st is None:
            return None
        from spiral.core.rundir import sha256_file

        for seg in st["segments"]:
            p = self.run_dir.path / seg["path"]
            if not p.exists() or sha256_file(p) != seg["sha256"]:
                raise RunDirError(f"accepted segment {p} is missing or was modified",
                                  "restore it, or start the run again in a new --out")
        if st.get("status") in ("completed", "stopped"):
            return st
        self.plan = Plan.model_validate(st["plan"])
        self.step = st["next_step"]
        self.segments = st["segments"]
        self.calls, self.nfe = st["calls"], st["nfe"]
        self.retries, self.replans = st["retries"], st["replans"]
        self.flawed = st.get("flawed", 0)
        self.retries_distinct = st.get("retries_distinct", 0)
        self.replans_distinct = st.get("replans_distinct", 0)
        self.last_state = st.get("last_state")
        self.elapsed_before = st.get("elapsed_s", 0.0)
        self.timing.update(st.get("timing", {}))
        self.cost = dict(st.get("cost") or {})
        # events written after the checkpoint describe work that is redone now; so do the
        # outcomes the experience store got after it
        self.trace.truncate(st.get("trace_seq", self.trace.seq))
        self.run_id = st.get("run_id") or self.run_id
        if self.experience is not None and st.get("run_id"):
            self.experience.forget_after(self.run_id, st.get("trace_seq", self.trace.seq))
        if self.segments:
            self.last_frame = self.run_dir.read_segment(self.segments[-1]["index"])[-1]
        self.memory.truncate(len(self.segments), self.plan.version)
        self.trace.emit("resume", step=self.step, segments=len(self.segments))
        return st

    def stitched(self) -> np.ndarray:
        """All accepted segments as one clip (each segment's first frame repeats the
        previous segment's last, so it is dropped)."""
        parts = []
        if self.run_dir is not None:
            clips = [self.run_dir.read_segment(s["index"]) for s in self.segments]
        else:
            clips = self._mem_segments
        for k, c in enumerate(clips):
            parts.append(c if k == 0 else c[1:])
        if not parts:
            return self.first_frame[None]
        return np.concatenate(parts, axis=0)

    def _finish(self, status: str, reason: str) -> EpisodeResult:
        if self.run_dir is not None:  # wait for the background writes (they count as I/O)
            with self._clock("memory_io_s"):
                self.run_dir.flush()
        goal = None
        with self._clock("critic_s"):
            if self.can.evaluate and self.plan is not None:
                goal = self.critic.evaluate(self.last_frame, self.plan.goal_conditions, self.memory)
        self._cost(self.critic)
        self._cost(self.planner)
        if self.ahead.wasted:  # generator calls made ahead and not used (loop.speculate)
            self.cost["speculative_calls_wasted"] = self.cost.get("speculative_calls_wasted", 0) + self.ahead.wasted
            self.ahead.wasted = 0
        wall = self.elapsed_before + time.perf_counter() - self.t_start
        result = EpisodeResult(status=status, reason=reason, goal=goal, segments=len(self.segments),
                               generator_calls=self.calls, nfe=self.nfe, retries=self.retries,
                               replans=self.replans, wall_s=round(wall, 4),
                               retries_distinct=self.retries_distinct, replans_distinct=self.replans_distinct,
                               timing={k: round(v, 5) for k, v in self.timing.items()},
                               cost=dict(self.cost) or None)
        counts = {k: v for k, v in result.to_dict().items() if k not in ("wall_s", "timing", "cost")}
        self.trace.emit("episode_end", **counts, timing={**result.timing, "wall_s": result.wall_s},
                        **({"cost": result.cost} if result.cost else {}))
        self._checkpoint(status, {"reason": reason, "result": result.to_dict()})
        if self.run_dir is not None:
            self.run_dir.close()
        return result


def _step_json(s: SubAction) -> dict[str, Any]:
    d = s.model_dump(mode="json")
    for key in ("preconditions", "postconditions"):
        d[key] = [c.model_dump(mode="json", exclude_none=True) for c in getattr(s, key)]
    return d


def _steps_differ(old: list[SubAction], new: list[SubAction]) -> bool:
    """Does a replan's rest of the plan differ from the rest that failed (what it asks of the
    generator: kinds, objects, targets or prompts)?"""
    def key(s: SubAction) -> tuple:
        return s.kind, s.subject, tuple(s.objects), repr(sorted(s.params.items())), s.prompt
    return [key(s) for s in old] != [key(s) for s in new]


def _diff(old: GenerationRequest, new: GenerationRequest) -> dict[str, Any]:
    out = {}
    for k in ("prompt", "seed", "steps", "guidance", "hints"):
        if getattr(old, k) != getattr(new, k):
            out[k] = getattr(new, k)
    return out
