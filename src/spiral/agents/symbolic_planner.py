"""The built-in symbolic planner of the tabletop world.

It reads the first frame through perception (pixels only, never the simulator's state),
parses the goal into clauses and expands them into object-centric sub-actions whose
pre-conditions hold in order. ``replan`` re-expands the remaining clauses from the
perceived current state, choosing other free spots than before (``variant``) so that a
retry is a genuinely different plan. ``ground`` pins a relative clause (push, swap) again
from the perceived frame when its first step is about to run, if its plan-time pins rested
on where an earlier step was assumed to land an object (see ``worlds/tabletop/goals.py``).
"""

from __future__ import annotations

import copy
import logging
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from spiral.core.types import Plan, SubAction
from spiral.errors import ImpossibleGoalError, SpiralError
from spiral.worlds.tabletop.actions import apply, phrase, phrases
from spiral.worlds.tabletop.goal_suggest import with_suggestion
from spiral.worlds.tabletop.goals import clause_conditions, parse_goal, plan_clauses, unpin_provisional
from spiral.worlds.tabletop.perception import perceive
from spiral.worlds.tabletop.scene import STACK_DY, Scene

log = logging.getLogger(__name__)


_OBJECT_KEYS = ("subject", "ref", "bowl", "a", "b", "base")  # clause fields that name an object


def _step_key(s: SubAction) -> tuple:
    return s.kind, s.subject, tuple(s.objects), repr(sorted(s.params.items())), s.prompt


def _differ(failed: list[SubAction], new: list[SubAction], variant: int) -> str:
    """Make a replan differ from the plan that failed, or say why it cannot (the note).

    What already holds is not redone (the expansion skips satisfied clauses), so the new
    rest may already be shorter or take other free spots; when its first step is the step
    that failed, word for word, that step is phrased another way (the phrasings the dataset
    teaches: another request to the generator, the same action)."""
    if not new:
        return "nothing left to do: what the failed step was for already holds"
    if not failed or _step_key(failed[0]) != _step_key(new[0]):
        return "the new plan differs from the failed one from its first step (what holds now is kept)"
    s = new[0]
    templates = phrases()["actions"][s.kind]
    for k in range(1, len(templates)):
        text = phrase(s.kind, s.subject, s.objects, s.params, variant + k - 1)
        if text != s.prompt:
            new[0] = s.model_copy(update={"prompt": text})
            return f"step {s.kind} of the {s.subject.replace('_', ' ')} phrased another way: {text!r}"
    return (f"cannot differ: the only way to this goal from the perceived state is the step that failed "
            f"({s.prompt!r}); the loop's retries vary the sample instead")


def _drawn(scene: Scene, oid: str) -> list[float]:
    """Where ``oid`` is drawn, in image coordinates (0..1): its ground anchor raised by its
    stack level (the renderer's projection)."""
    o = scene.get(oid)
    return [round(o.x, 4), round(o.y - scene.level(oid) * STACK_DY, 4)]


def scene_objects(scene: Scene) -> list[dict[str, Any]]:
    return [{"id": o.id, "kind": o.kind, "color": o.color, "x": round(o.x, 4), "y": round(o.y, 4),
             "on": o.on, "in": o.in_} for o in scene.objects]


class SymbolicPlanner:
    """Goal text + first frame → :class:`~spiral.core.types.Plan` over the tabletop schema."""

    name = "symbolic"

    class Config(BaseModel):
        model_config = ConfigDict(extra="forbid")
        max_steps: int = Field(default=24, ge=1, le=200, description="most sub-actions in a plan")

    def __init__(self, max_steps: int = 24):
        self.max_steps = max_steps

    @classmethod
    def from_config(cls, cfg: SymbolicPlanner.Config, **_: Any) -> SymbolicPlanner:
        return cls(max_steps=cfg.max_steps)

    def perceive(self, observation: np.ndarray, memory: Any = None) -> Scene:
        known = memory.known_kinds() if memory is not None and hasattr(memory, "known_kinds") else None
        scene = perceive(observation, known=known or None).scene
        if scene is None:
            raise ImpossibleGoalError("no objects are visible in the frame",
                                      "use a tabletop scene (--scene-seed/--scene) or an image of one")
        return scene

    def plan(self, goal: str, observation: np.ndarray, memory: Any = None) -> Plan:
        scene = self.perceive(observation, memory)
        try:
            clauses = parse_goal(goal, scene)
            steps, conds, _ = plan_clauses(scene, clauses, variant=0, max_steps=self.max_steps)
        except SpiralError as exc:  # a refusal names the closest goal that would work
            raise with_suggestion(exc, goal, scene) from None
        log.info("planned %d sub-actions for %r", len(steps), goal)
        return Plan(goal=goal, steps=steps, goal_conditions=conds, objects=scene_objects(scene),
                    clauses=clauses, version=0)

    def replan(self, plan: Plan, from_step: int, observation: np.ndarray, memory: Any = None,
               feedback: str = "") -> Plan:
        scene = self.perceive(observation, memory)
        first = plan.steps[from_step].clause if from_step < len(plan.steps) else len(plan.clauses)
        clauses = copy.deepcopy(plan.clauses)
        rest = clauses[first:]
        steps, _, _ = plan_clauses(scene, rest, variant=plan.version + 1, max_steps=self.max_steps)
        for s in steps:
            s.clause += first
        note = _differ(plan.steps[from_step:], steps, plan.version + 1)
        log.info("replanned from step %d: %d new sub-actions (%s)", from_step, len(steps), note)
        return Plan(goal=plan.goal, steps=list(plan.steps[:from_step]) + steps,
                    goal_conditions=plan.goal_conditions, objects=plan.objects, clauses=clauses,
                    version=plan.version + 1, notes=note)

    def locate(self, sub_action: SubAction, observation: np.ndarray, memory: Any = None) -> dict[str, Any] | None:
        """Where ``sub_action``'s subject is drawn in ``observation`` and where the step's exact
        effect from that perceived state draws it (image coordinates 0..1; for a swap also its
        partner), and where every perceived object is drawn (``objects``): what the
        ``instruct`` refinement tells the generator. ``None`` when the subject is not seen."""
        try:
            scene = self.perceive(observation, memory)
        except ImpossibleGoalError:
            return None
        ids = {o.id for o in scene.objects}
        if sub_action.subject not in ids:
            return None
        out: dict[str, Any] = {"subject": _drawn(scene, sub_action.subject),
                               "objects": {o.id: _drawn(scene, o.id) for o in scene.objects}}
        if any(o not in ids for o in sub_action.objects):
            return out
        try:
            end = apply(scene, sub_action)
        except (KeyError, StopIteration, ValueError):  # e.g. a full bowl as perceived: no target to give
            return out
        out["target"] = _drawn(end, sub_action.subject)
        if sub_action.kind == "swap":
            out["partner"] = _drawn(scene, sub_action.objects[0])
            out["partner_target"] = _drawn(end, sub_action.objects[0])
        return out

    def ground(self, plan: Plan, step: int, observation: np.ndarray, memory: Any = None) -> Plan | None:
        """A new plan when step ``step`` starts a clause with provisional pins (else ``None``):
        that clause, and the later ones whose pins are provisional, are pinned again from
        the perceived ``observation``; the goal conditions follow the new pins. The same
        free-spot choices as the current plan (``variant = plan.version``), so the steps only
        change where the pins do."""
        if step >= len(plan.steps):
            return None
        first = plan.steps[step].clause
        if any(s.clause == first for s in plan.steps[:step]):
            return None  # the clause is under way: its pins stay
        clauses, had = unpin_provisional(plan.clauses, first)
        if not had:
            return None
        scene = self.perceive(observation, memory)
        seen = {o.id for o in scene.objects}
        if any(v not in seen for cl in clauses[first:] for k, v in cl.items() if k in _OBJECT_KEYS):
            log.info("not grounding step %d: an object of the remaining goal is not seen", step)
            return None  # perception misses one (hidden, or drawn wrong): keep the plan-time pins
        steps, _, _ = plan_clauses(scene, clauses[first:], variant=plan.version, max_steps=self.max_steps)
        for s in steps:
            s.clause += first
        # each at-condition of a re-pinned clause moves to the clause's new pin
        moved = {}
        for old, new in zip(plan.clauses[first:], clauses[first:]):
            if old.get("provisional") and old["kind"] in ("push", "swap"):
                for a, b in zip(clause_conditions(old, scene), clause_conditions(new, scene)):
                    moved[(a.pred, tuple(a.args), a.xy)] = b
        conds = [moved.get((c.pred, tuple(c.args), c.xy), c) for c in plan.goal_conditions]
        log.info("grounded step %d from the perceived frame (clause %d was pinned on an assumed state)",
                 step, first)
        return Plan(goal=plan.goal, steps=list(plan.steps[:step]) + steps, goal_conditions=conds,
                    objects=plan.objects, clauses=clauses, version=plan.version + 1,
                    notes=f"grounded step {step} from the perceived frame")
