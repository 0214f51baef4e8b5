"""The LLM planner: goal + first frame + memory → :class:`~spiral.core.types.Plan`, through any
OpenAI-compatible endpoint.

The model is sent the goal, the frame (as an image when the model accepts images, else a
scene description read from the pixels by the tabletop perception) and, when replanning, the
steps already done, the critic's feedback and the failure log. It answers with JSON
(:class:`PlanAnswer`: the shared :class:`~spiral.core.types.SubAction` and
:class:`~spiral.core.types.Condition` types), which is treated as untrusted input:

* every object it names must be in the scene (the perceived tabletop objects, the memory's
  registry, or in a free-form scene the objects the model itself lists from the image);
* the plan must fit the step budget (``max_steps``) and have at least one step;
* on the tabletop, every step must be an action of the world's schema whose pre-conditions
  hold after the steps before it; it is then *grounded* (targets chosen, the world's
  machine-checkable pre- and post-conditions attached, the model's prompt kept), so the plan
  comes out exactly like the symbolic planner's and the simulator and perception critic can
  execute and check it.

A refused answer gets one repair round-trip (the errors are sent back), then planning fails
with an error that says what was wrong.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import re
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from spiral.agents.llm_client import AgentError, ChatClient, ImagesNotSupported, cost_dict, image_part, text_part
from spiral.core.types import Condition, Plan, SubAction
from spiral.errors import ImpossibleGoalError, SpiralError

log = logging.getLogger(__name__)

ID_PATTERN = r"^[a-z][a-z0-9_]{0,47}$"


def planner_prompts() -> dict[str, str]:
    from spiral.agents import prompt_data

    return prompt_data("llm_planner")


class ObjectRef(BaseModel):
    """An object the model sees in a free-form scene."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=ID_PATTERN, description="snake_case id, e.g. red_mug")
    description: str = Field(default="", max_length=200)


class PlanAnswer(BaseModel):
    """The JSON the planner model must return."""

    model_config = ConfigDict(extra="forbid")
    objects: list[ObjectRef] = Field(default_factory=list, max_length=64,
                                     description="free-form scenes: the objects the plan involves")
    steps: list[SubAction] = Field(description="the sub-actions, in order")
    goal_conditions: list[Condition] = Field(default_factory=list)


def clean_text(text: Any, limit: int = 400) -> str:
    """Model or user text made safe to embed in a prompt or a trace: one line, no control
    characters, no data-tag look-alikes, at most ``limit`` characters."""
    s = re.sub(r"[\x00-\x1f\x7f]", " ", str(text or ""))
    s = re.sub(r"</?\s*data\s*>", " ", s, flags=re.IGNORECASE)
    s = " ".join(s.split())
    return s if len(s) <= limit else s[:limit - 1] + "…"


class LLMPlanner:
    """Plans over an OpenAI-compatible chat endpoint. Construct with a ready
    :class:`~spiral.agents.llm_client.ChatClient` (tests point one at a local server)."""

    name = "llm"

    class Config(BaseModel):
        model_config = ConfigDict(extra="forbid")
        model: str | None = Field(default=None, description="model name; null: agents.model")
        max_steps: int = Field(default=24, ge=1, le=200, description="most sub-actions in a plan")
        image: Literal["auto", "always", "never"] = Field(
            default="auto", description="send the frame as an image (auto: unless the model refuses images)")
        image_size: int = Field(default=512, ge=32, le=2048, description="longest side of the image sent, pixels")
        jpeg_quality: int = Field(default=85, ge=10, le=100)
        world: Literal["auto", "tabletop", "free"] = Field(
            default="auto", description="auto: tabletop when perception finds tabletop objects, else free-form")

    def __init__(self, client: ChatClient, max_steps: int = 24, image: str = "auto", image_size: int = 512,
                 jpeg_quality: int = 85, world: str = "auto"):
        self.client = client
        self.max_steps = max_steps
        self.image = image
        self.image_size = image_size
        self.jpeg_quality = jpeg_quality
        self.world = world
        self._vision: bool | None = None if image == "auto" else image == "always"
        self._memo: tuple[str, Plan] | None = None

    @classmethod
    def from_config(cls, cfg: LLMPlanner.Config, config: Any = None, **_: Any) -> LLMPlanner:
        from spiral.config import AgentsConfig

        settings = config.agents if config is not None else AgentsConfig()
        return cls(ChatClient.from_settings(settings, model=cfg.model), max_steps=cfg.max_steps, image=cfg.image,
                   image_size=cfg.image_size, jpeg_quality=cfg.jpeg_quality, world=cfg.world)

    def pop_cost(self) -> dict[str, Any] | None:
        """Tokens and requests since the last call (the loop writes them into the trace)."""
        return cost_dict(self.client.pop_usage())

    # -- the protocol ------------------------------------------------------------------------
    def plan(self, goal: str, observation: np.ndarray, memory: Any = None) -> Plan:
        key = hashlib.sha256(goal.encode() + np.ascontiguousarray(observation).tobytes()
                             + str(np.asarray(observation).shape).encode()).hexdigest()
        if self._memo is not None and self._memo[0] == key:  # e.g. api.run's early check, then the loop
            return self._memo[1].model_copy(deep=True)
        scene = self._perceive(observation, memory)
        p = planner_prompts()
        user = p["plan"].format(goal=clean_text(goal, 1000), scene="{scene}")
        steps, conds, objects = self._ask(user, observation, scene, known=[], budget=self.max_steps,
                                          variant=0, offset=0)
        plan = Plan(goal=goal, steps=steps, goal_conditions=conds, objects=objects, version=0)
        log.info("LLM planned %d sub-actions for %r", len(steps), goal)
        self._memo = (key, plan)
        return plan.model_copy(deep=True)

    def replan(self, plan: Plan, from_step: int, observation: np.ndarray, memory: Any = None,
               feedback: str = "") -> Plan:
        scene = self._perceive(observation, memory)
        p = planner_prompts()
        done = "\n".join(f"{i + 1}. {clean_text(s.prompt, 200)}" for i, s in enumerate(plan.steps[:from_step]))
        failed = clean_text(plan.steps[from_step].prompt, 200) if from_step < len(plan.steps) else p["nothing"]
        fails = []
        if memory is not None and hasattr(memory, "failures"):
            for f in memory.failures()[-5:]:
                fails.append(f"- step {f['step']} attempt {f['attempt']}: {f['failure_type']}: "
                             f"{clean_text(f['feedback'], 160)}")
        user = p["replan"].format(goal=clean_text(plan.goal, 1000), done=done or p["nothing"], failed=failed,
                                  feedback=clean_text(feedback, 600) or p["nothing"],
                                  failures="\n".join(fails) or p["nothing"], scene="{scene}")
        known = list(plan.objects) + (memory.objects() if memory is not None and hasattr(memory, "objects") else [])
        budget = max(1, self.max_steps - from_step)
        steps, _, objects = self._ask(user, observation, scene, known=known, budget=budget,
                                      variant=plan.version + 1, offset=from_step)
        merged = list(plan.objects) + [o for o in objects if o["id"] not in {x["id"] for x in plan.objects}]
        log.info("LLM replanned from step %d: %d new sub-actions", from_step, len(steps))
        return Plan(goal=plan.goal, steps=list(plan.steps[:from_step]) + steps, goal_conditions=plan.goal_conditions,
                    objects=merged, clauses=copy.deepcopy(plan.clauses), version=plan.version + 1,
                    notes=clean_text(feedback, 600))

    # -- internals -------------------------------------------------------------------------
    def _perceive(self, observation: np.ndarray, memory: Any) -> Any:
        """The tabletop scene perceived in ``observation`` (``None`` in a free-form scene)."""
        if self.world == "free":
            return None
        from spiral.worlds.tabletop.perception import perceive

        known = memory.known_kinds() if memory is not None and hasattr(memory, "known_kinds") else None
        scene = perceive(np.asarray(observation, np.uint8), known=known or None).scene
        if scene is None and self.world == "tabletop":
            raise ImpossibleGoalError("no tabletop objects are visible in the frame",
                                      "use a tabletop scene, or set planner.world=free")
        return scene

    def _system(self, scene: Any, budget: int) -> str:
        p = planner_prompts()
        text = p["system"].format(max_steps=budget)
        if scene is None:
            return text + "\n\n" + p["world_free"]
        from spiral.worlds.tabletop.actions import ACTION_KINDS, DIRECTIONS
        from spiral.worlds.tabletop.predicates import PRED_NAMES, REGIONS

        kinds = []
        for kind, spec in ACTION_KINDS.items():
            objs = ", ".join("/".join(k) for k in spec["objects"]) or "none"
            extra = {"push": 'params {"direction": ...}', "pick_place": 'params {"region": ...}'}.get(kind, "params {}")
            kinds.append(f"- {kind}: subject {'/'.join(spec['subject'])}; objects [{objs}]; {extra}")
        return text + "\n\n" + p["world_tabletop"].format(kinds="\n".join(kinds), regions=", ".join(REGIONS),
                                                          directions=", ".join(DIRECTIONS),
                                                          preds=", ".join(PRED_NAMES))

    def _scene_text(self, scene: Any, with_image: bool) -> str:
        p = planner_prompts()
        parts = []
        if scene is not None:
            lines = []
            for o in scene.objects:
                where = f"on {o.on}" if o.on else f"in {o.in_}" if o.in_ else "on the table"
                lines.append(f"- {o.id}: a {o.color} {o.kind} at x={o.x:.2f}, y={o.y:.2f} (0..1, left→right, "
                             f"back→front), {where}")
            parts.append(p["scene_objects"].format(objects="\n".join(lines)))
        parts.append(p["scene_image"] if with_image else p["scene_none"])
        return "\n".join(parts)

    def _ask(self, user: str, observation: np.ndarray, scene: Any, known: list[dict[str, Any]], budget: int,
             variant: int, offset: int) -> tuple[list[SubAction], list[Condition], list[dict[str, Any]]]:
        system = self._system(scene, budget)
        known_ids = {o["id"] for o in known}
        if scene is not None:
            known_ids |= {o.id for o in scene.objects}

        def check(ans: PlanAnswer) -> list[str]:
            return self._validate(ans, scene, known_ids, budget, variant, offset)[3]

        with_image = self._vision is not False
        if scene is None and not with_image:
            raise AgentError("the planner cannot see this scene: images are off and it is not a tabletop scene",
                             "set planner.image=auto and use a vision-language model")
        while True:
            content: Any = user.replace("{scene}", self._scene_text(scene, with_image))
            if with_image:
                content = [text_part(content), image_part(observation, self.image_size, self.jpeg_quality)]
            messages = [{"role": "system", "content": system}, {"role": "user", "content": content}]
            try:
                ans = self.client.complete_json(messages, PlanAnswer, name="plan", check=check,
                                                what="the planner model")
                break
            except ImagesNotSupported as exc:
                if self.image == "always" or scene is None:
                    raise AgentError(exc.message + ("; the planner needs an image of a free-form scene"
                                                    if scene is None else ""),
                                     "use a vision-language model (agents.model / planner.model)") from None
                log.info("the planner model does not accept images; describing the scene in text instead")
                self._vision = with_image = False
        steps, conds, objects, errors = self._validate(ans, scene, known_ids, budget, variant, offset)
        assert not errors
        return steps, conds, objects

    def _validate(self, ans: PlanAnswer, scene: Any, known_ids: set[str], budget: int, variant: int,
                  offset: int) -> tuple[list[SubAction], list[Condition], list[dict[str, Any]], list[str]]:
        errs: list[str] = []
        declared = [o.id for o in ans.objects]
        if len(set(declared)) != len(declared):
            errs.append("objects: ids must be unique")
        ids = set(known_ids) if scene is not None else set(known_ids) | set(declared)
        if not ans.steps:
            errs.append("the plan has no steps; give at least one sub-action")
        if len(ans.steps) > budget:
            errs.append(f"the plan has {len(ans.steps)} steps; at most {budget} are allowed")
        if not ids:
            errs.append('no objects: list the objects the plan involves in "objects"')
        listed = ", ".join(sorted(ids)) or "(none)"
        for i, st in enumerate(ans.steps):
            if not st.kind.strip():
                errs.append(f"steps[{i}].kind: empty")
            if not clean_text(st.prompt) and scene is None:
                errs.append(f"steps[{i}].prompt: empty")
            refs = [st.subject, *st.objects] + [a for c in st.preconditions + st.postconditions for a in c.args]
            for r in dict.fromkeys(refs):
                if r not in ids:
                    errs.append(f"steps[{i}]: unknown object {r!r}; objects in the scene: {listed}")
        for c in ans.goal_conditions:
            for r in c.args:
                if r not in ids:
                    errs.append(f"goal_conditions: {c}: unknown object {r!r}; objects in the scene: {listed}")
        if errs:
            return [], [], [], errs
        if scene is not None:
            steps, conds, gerrs = _ground(scene, ans, variant, offset)
            return steps, conds, [_scene_object(o) for o in scene.objects], gerrs
        steps = [st.model_copy(update={"prompt": clean_text(st.prompt, 300), "clause": offset + i})
                 for i, st in enumerate(ans.steps)]
        objects = [{"id": o.id, "description": clean_text(o.description, 200)} for o in ans.objects]
        return steps, list(ans.goal_conditions), objects, []


def _scene_object(o: Any) -> dict[str, Any]:
    return {"id": o.id, "kind": o.kind, "color": o.color, "x": round(o.x, 4), "y": round(o.y, 4), "on": o.on,
            "in": o.in_}


def _ground(scene: Any, ans: PlanAnswer, variant: int, offset: int) -> tuple[list[SubAction], list[Condition],
                                                                                list[str]]:
    """Tabletop: each step becomes a fully specified action of the world's schema, applied in
    order to the perceived scene; the model's prompt is kept, conditions are the world's."""
    from spiral.worlds.tabletop.actions import ACTION_KINDS, DIRECTIONS, apply, make_action, preconditions_hold
    from spiral.worlds.tabletop.predicates import REGIONS, condition_problem, holds

    errs: list[str] = []
    state = scene.copy_deep()
    out: list[SubAction] = []
    for i, st in enumerate(ans.steps):
        where = f"steps[{i}] ({st.kind} {st.subject})"
        if st.kind not in ACTION_KINDS:
            errs.append(f"{where}: kind {st.kind!r} is not an action of this world; use one of "
                        f"{', '.join(ACTION_KINDS)}")
            break
        need = len(ACTION_KINDS[st.kind]["objects"])
        if len(st.objects) != need:
            errs.append(f"{where}: {st.kind} takes {need} object(s) in \"objects\", got {len(st.objects)}")
            break
        params: dict[str, Any] = {}
        if st.kind == "push":
            d = st.params.get("direction")
            if d not in DIRECTIONS:
                errs.append(f"{where}: params.direction must be one of {', '.join(DIRECTIONS)}")
                break
            params["direction"] = d
        if st.kind == "pick_place":
            r = st.params.get("region")
            if r is not None and r not in REGIONS:
                errs.append(f"{where}: params.region must be one of {', '.join(REGIONS)}")
                break
            params["region"] = r
        prompt = clean_text(st.prompt, 300)
        if prompt:
            params["prompt"] = prompt
        try:
            act = make_action(state, st.kind, st.subject, list(st.objects), params, variant=variant,
                              clause=offset + i)
        except SpiralError as exc:
            errs.append(f"{where}: impossible here: {exc.message}")
            break
        except (KeyError, ValueError) as exc:
            errs.append(f"{where}: {exc}")
            break
        unmet = preconditions_hold(state, act)
        if unmet:
            errs.append(f"{where}: its pre-conditions do not hold after the steps before it: "
                        f"{', '.join(map(str, unmet))}")
            break
        out.append(act)
        state = apply(state, act)
    if errs:
        return [], [], errs
    conds: list[Condition] = []
    for c in ans.goal_conditions:
        problem = condition_problem(c)
        if problem:
            errs.append(f"goal_conditions: {c}: {problem}" + ("; prefer next_to or in_region" if c.pred == "at" else ""))
            continue
        if not holds(c, state):
            errs.append(f"goal_conditions: {c} does not hold after the plan's steps")
            continue
        conds.append(c.model_copy(update={"text": clean_text(c.text, 200) or None}))
    if not ans.goal_conditions:  # derive them: what the steps achieve and still holds at the end
        seen = set()
        for act in out:
            for c in act.postconditions:
                if c.pred in ("on", "in", "next_to", "in_region", "at") and str(c) not in seen and holds(c, state):
                    seen.add(str(c))
                    conds.append(c)
    return out, conds, errs
