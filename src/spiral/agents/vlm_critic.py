"""The VLM critic: a vision-language model over any OpenAI-compatible endpoint judges each clip.

For one clip and its sub-action it sends:

* ``frames`` frames of the clip, evenly spaced and always including the first and the last,
  resized so their longest side is ``image_size`` pixels and JPEG-encoded at ``jpeg_quality``,
  each labelled with its frame number and time;
* the reference the identity check compares against: crops of the involved objects (then the
  others, up to ``max_reference_crops``) from the *first frame of the episode* when the
  memory's registry knows where they were, else that whole first frame (``reference``);
* the sub-action (subject, objects, post-conditions, prompt) and the object registry.

It asks for a :class:`~spiral.core.types.Verdict` in the shared schema (scores per
dimension, failure type, failures, feedback), and validates the answer as untrusted input:
schema, scores in [0, 1], a verdict consistent with its own scores and failures, object ids
from the registry, frame numbers inside the clip. One repair round-trip, then a clear error.
The frames sent are reported in ``verdict.perceived`` and the tokens in the trace's ``cost``.

``evaluate`` asks the same model whether the goal conditions hold in the episode's last
frame (``evaluate_goal``).
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from spiral.agents.llm_client import AgentError, ChatClient, ImagesNotSupported, cost_dict, image_part, text_part
from spiral.agents.llm_planner import clean_text
from spiral.core.types import FAILURE_TYPES, Clip, Condition, Failure, FailureType, SubAction, Verdict

log = logging.getLogger(__name__)


def critic_prompts() -> dict[str, str]:
    from spiral.agents import prompt_data

    return prompt_data("vlm_critic")


class Scores(BaseModel):
    """One score in [0, 1] per dimension (``spiral.core.types.SCORE_DIMENSIONS``)."""

    model_config = ConfigDict(extra="forbid")
    action: float = Field(ge=0, le=1)
    permanence: float = Field(ge=0, le=1)
    stillness: float = Field(ge=0, le=1)
    continuity: float = Field(ge=0, le=1)
    identity: float = Field(ge=0, le=1)
    no_hallucination: float = Field(ge=0, le=1)


class VerdictAnswer(BaseModel):
    """The JSON the VLM must return for one clip (the model-written part of a Verdict)."""

    model_config = ConfigDict(extra="forbid")
    passed: bool
    scores: Scores
    failure_type: FailureType | None = None
    failures: list[Failure] = Field(default_factory=list, max_length=16)
    feedback: str = Field(default="", max_length=4000)
    scope: Literal["local", "global"] = "local"


class GoalAnswer(BaseModel):
    """The JSON the VLM must return when checking the goal on the last frame."""

    model_config = ConfigDict(extra="forbid")
    satisfied: bool
    unmet: list[str] = Field(default_factory=list, max_length=64)
    missing_objects: list[str] = Field(default_factory=list, max_length=64)


def sample_indices(num_frames: int, n: int) -> list[int]:
    """``n`` frame indices evenly spaced over ``num_frames``, first and last included."""
    if num_frames <= 0:
        return []
    if n >= num_frames:
        return list(range(num_frames))
    if n <= 1:
        return [num_frames - 1]
    return sorted({int(round(x)) for x in np.linspace(0, num_frames - 1, n)})


def crop_object(frame: np.ndarray, x: float, y: float, half: float = 0.14) -> np.ndarray:
    """A square crop of ``frame`` around ``(x, y)`` in frame units (0..1)."""
    h, w = frame.shape[:2]
    r = max(4, int(round(half * max(h, w))))
    cx, cy = int(round(x * w)), int(round(y * h))
    x0, x1 = max(0, cx - r), min(w, cx + r)
    y0, y1 = max(0, cy - r), min(h, cy + r)
    return frame[y0:y1, x0:x1] if x1 > x0 and y1 > y0 else frame


class VLMCritic:
    """Judges clips with a vision-language model. Construct with a ready
    :class:`~spiral.agents.llm_client.ChatClient`."""

    name = "vlm"

    class Config(BaseModel):
        model_config = ConfigDict(extra="forbid")
        model: str | None = Field(default=None, description="model name; null: agents.model")
        frames: int = Field(default=6, ge=2, le=64, description="frames sent per clip (evenly spaced, first+last)")
        image_size: int = Field(default=256, ge=32, le=2048, description="longest side of each image sent, pixels")
        jpeg_quality: int = Field(default=85, ge=10, le=100)
        reference: Literal["objects", "frame", "none"] = Field(
            default="objects", description="identity reference from the episode's first frame: object crops "
                                           "(when positions are known, else the frame), the whole frame, or none")
        max_reference_crops: int = Field(default=4, ge=1, le=16)
        pass_threshold: float = Field(default=0.5, ge=0, le=1,
                                      description="a passing verdict must have every score at least this")
        evaluate_goal: bool = Field(default=True, description="ask the model whether the goal holds at the end")

    def __init__(self, client: ChatClient, config: VLMCritic.Config | None = None):
        self.client = client
        self.cfg = config or self.Config()

    @classmethod
    def from_config(cls, cfg: VLMCritic.Config, config: Any = None, **_: Any) -> VLMCritic:
        from spiral.config import AgentsConfig

        settings = config.agents if config is not None else AgentsConfig()
        return cls(ChatClient.from_settings(settings, model=cfg.model), cfg)

    def pop_cost(self) -> dict[str, Any] | None:
        """Tokens and requests since the last call (the loop writes them into the trace)."""
        return cost_dict(self.client.pop_usage())

    # -- the verdict ------------------------------------------------------------------------
    def critique(self, clip: Clip, sub_action: SubAction, memory: Any = None) -> Verdict:
        cfg, p = self.cfg, critic_prompts()
        frames = clip.frames
        T = int(frames.shape[0])
        idx = sample_indices(T, cfg.frames)
        registry = memory.objects() if memory is not None and hasattr(memory, "objects") else []
        ids = {o["id"] for o in registry}
        post = "; ".join(f"{c} ({_describe(c)})" for c in sub_action.postconditions) or "(none given)"
        text = p["critique"].format(step=clean_text(sub_action.prompt, 300), subject=sub_action.subject,
                                    objects=", ".join(sub_action.objects) or "none", post=clean_text(post, 800),
                                    registry=_registry_text(registry), n_frames=T,
                                    frames=", ".join(map(str, idx)))
        content: list[dict[str, Any]] = [text_part(text)]
        refs = self._references(sub_action, memory, registry)
        for _, label, img in refs:
            content += [text_part(label), image_part(img, cfg.image_size, cfg.jpeg_quality)]
        for i in idx:
            content += [text_part(p["frame_label"].format(index=i, time=i / max(clip.fps, 1))),
                        image_part(frames[i], cfg.image_size, cfg.jpeg_quality)]
        system = p["system"].format(dimensions=p["dimensions"], failure_types=p["failure_types"],
                                    threshold=cfg.pass_threshold)
        messages = [{"role": "system", "content": system}, {"role": "user", "content": content}]

        def check(a: VerdictAnswer) -> list[str]:
            return self._check(a, ids, T)

        ans = self._complete(messages, VerdictAnswer, "verdict", check)
        feedback = clean_text(ans.feedback, 400) or ("The step looks correct." if ans.passed else
                                                     "The clip does not show the sub-action done correctly.")
        failures = [f.model_copy(update={"detail": clean_text(f.detail, 300)}) for f in ans.failures]
        if not ans.passed and not failures:
            failures = [Failure(type=ans.failure_type, detail=feedback, objects=[sub_action.subject])]
        perceived = {"frames": idx, "n_frames": T, "image_size": cfg.image_size, "jpeg_quality": cfg.jpeg_quality,
                     "references": [ref for ref, _, _ in refs], "model": self.client.shown_model}
        return Verdict(passed=ans.passed, scores=ans.scores.model_dump(), failure_type=ans.failure_type,
                       failures=failures, feedback=feedback, scope=ans.scope, perceived=perceived, critic=self.name)

    def _check(self, a: VerdictAnswer, ids: set[str], T: int) -> list[str]:
        errs = []
        low = [k for k, v in a.scores.model_dump().items() if v < self.cfg.pass_threshold]
        if a.passed:
            if a.failure_type is not None or a.failures:
                errs.append("passed is true but failure_type/failures are set: a passing clip has none")
            if low:
                errs.append(f"passed is true but {', '.join(low)} score(s) are below {self.cfg.pass_threshold}")
        else:
            if a.failure_type is None:
                errs.append(f"passed is false: failure_type must be one of {', '.join(FAILURE_TYPES)}")
            if not a.feedback.strip():
                errs.append("passed is false: feedback must say what to fix")
        for k, f in enumerate(a.failures):
            bad = [o for o in f.objects if ids and o not in ids]
            if bad:
                errs.append(f"failures[{k}].objects: unknown id(s) {', '.join(map(repr, bad))}; "
                            f"use ids from the object list: {', '.join(sorted(ids))}")
            out = [t for t in f.frames if not 0 <= t < T]
            if out:
                errs.append(f"failures[{k}].frames: {out} outside the clip (0..{T - 1})")
        return errs

    def _references(self, sub: SubAction, memory: Any,
                    registry: list[dict[str, Any]]) -> list[tuple[str, str, np.ndarray]]:
        """(reference id, label, image): object crops or the whole first frame of the episode."""
        cfg, p = self.cfg, critic_prompts()
        if cfg.reference == "none" or memory is None or not hasattr(memory, "first_frame"):
            return []
        first = memory.first_frame()
        if first is None:
            return []
        placed = [o for o in registry if isinstance(o.get("x"), (int, float)) and isinstance(o.get("y"), (int, float))]
        if cfg.reference == "objects" and placed:
            involved = [sub.subject, *sub.objects]
            placed.sort(key=lambda o: (o["id"] not in involved, involved.index(o["id"]) if o["id"] in involved else 0))
            return [(o["id"], p["reference_object"].format(id=o["id"]),
                     crop_object(first, float(o["x"]), float(o["y"]))) for o in placed[:cfg.max_reference_crops]]
        return [("first_frame", p["reference_frame"], first)]

    # -- the goal -----------------------------------------------------------------------------
    def evaluate(self, frame: np.ndarray, conditions: list[Condition], memory: Any = None) -> dict[str, Any] | None:
        """Does the goal hold in ``frame``? ``None`` when off or when the plan states no conditions."""
        if not self.cfg.evaluate_goal or not conditions:
            return None
        p = critic_prompts()
        registry = memory.objects() if memory is not None and hasattr(memory, "objects") else []
        ids = {o["id"] for o in registry}
        names = [str(c) for c in conditions]
        lines = "\n".join(f"- {n}: {clean_text(_describe(c), 200)}" for n, c in zip(names, conditions))
        text = p["evaluate"].format(conditions=lines, registry=_registry_text(registry))
        messages = [{"role": "system", "content": p["evaluate_system"]},
                    {"role": "user", "content": [text_part(text),
                                                 image_part(frame, self.cfg.image_size, self.cfg.jpeg_quality)]}]

        def check(a: GoalAnswer) -> list[str]:
            errs = [f"unmet: {u!r} is not one of the listed conditions ({', '.join(names)})"
                    for u in a.unmet if u not in names]
            errs += [f"missing_objects: unknown id {m!r}" for m in a.missing_objects if ids and m not in ids]
            if a.satisfied and (a.unmet or a.missing_objects):
                errs.append("satisfied is true but some conditions are unmet or objects missing")
            if not a.satisfied and not (a.unmet or a.missing_objects):
                errs.append("satisfied is false: list the unmet conditions or the missing objects")
            return errs

        ans = self._complete(messages, GoalAnswer, "goal_check", check)
        unmet = list(dict.fromkeys(ans.unmet))
        return {"satisfied": ans.satisfied, "unmet": unmet, "missing_objects": list(dict.fromkeys(ans.missing_objects)),
                "conditions_met": len(conditions) - len(unmet), "conditions_total": len(conditions)}

    def _complete(self, messages: list[dict[str, Any]], answer: type, name: str, check: Any) -> Any:
        try:
            return self.client.complete_json(messages, answer, name=name, check=check, what="the critic model")
        except ImagesNotSupported as exc:
            raise AgentError(f"the VLM critic needs a model that accepts images: {exc.message}",
                             "use a vision-language model (agents.model / critic.model)") from None


def _describe(c: Condition) -> str:
    from spiral.worlds.tabletop.predicates import describe

    try:
        return describe(c)
    except Exception:  # noqa: BLE001 - free-form predicates: fall back to the plain form
        return c.text or str(c)


def _registry_text(registry: list[dict[str, Any]]) -> str:
    if not registry:
        return "(not known)"
    lines = []
    for o in registry[:64]:
        bits = [str(o.get(k)) for k in ("color", "kind") if o.get(k)]
        desc = clean_text(o.get("description") or " ".join(bits), 120)
        lines.append(f"- {o['id']}" + (f": {desc}" if desc else ""))
    return "\n".join(lines)
