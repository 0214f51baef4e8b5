"""The data that flows through the loop: plans, requests, clips and verdicts.

These types are backend-neutral: a symbolic planner and an LLM produce the same
:class:`Plan`; a perception critic and a VLM produce the same :class:`Verdict`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

FailureType = Literal[
    "missing_action",
    "incomplete_action",
    "physical_violation",
    "sudden_switch",
    "identity_drift",
    "hallucinated_object",
]
FAILURE_TYPES: tuple[str, ...] = (
    "missing_action",
    "incomplete_action",
    "physical_violation",
    "sudden_switch",
    "identity_drift",
    "hallucinated_object",
)
SCORE_DIMENSIONS: tuple[str, ...] = (
    "action", "permanence", "stillness", "continuity", "identity", "no_hallucination",
)


class Condition(BaseModel):
    """A condition on object states, e.g. ``on(red_cube, blue_cube)``.

    ``pred`` and ``args`` are machine-checkable on worlds that know the predicate; ``text``
    is the human phrasing (and the only part a free-form world may have).
    """

    model_config = ConfigDict(extra="forbid")

    pred: str
    args: list[str] = []
    xy: tuple[float, float] | None = None
    region: str | None = None
    tol: float | None = None
    text: str | None = None

    def __str__(self) -> str:
        inner = ", ".join(self.args + ([self.region] if self.region else [])
                          + ([f"{self.xy[0]:.2f},{self.xy[1]:.2f}"] if self.xy else []))
        return f"{self.pred}({inner})"


def C(pred: str, *args: str, **kw: Any) -> Condition:  # a short constructor
    return Condition(pred=pred, args=list(args), **kw)


class SubAction(BaseModel):
    """One object-centric step of a plan."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    subject: str
    objects: list[str] = []
    params: dict[str, Any] = {}
    prompt: str
    preconditions: list[Condition] = []
    postconditions: list[Condition] = []
    clause: int = 0

    def moving(self) -> list[str]:
        """Objects this step is meant to move (the rest must stay still)."""
        return [self.subject] + (list(self.objects) if self.kind == "swap" else [])


class Plan(BaseModel):
    """An ordered list of sub-actions for a goal, plus the goal's own success conditions."""

    model_config = ConfigDict(extra="forbid")

    goal: str
    steps: list[SubAction]
    goal_conditions: list[Condition] = []
    objects: list[dict[str, Any]] = []
    clauses: list[dict[str, Any]] = []
    version: int = 0
    notes: str = ""


class GenerationRequest(BaseModel):
    """What a generator is asked for. Frames are HxWx3 uint8 arrays."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    prompt: str
    cond_frame: Any = Field(repr=False)
    keyframes: list[Any] = Field(default_factory=list, repr=False)
    negative_prompt: str | None = None
    num_frames: int = 12
    fps: int = 8
    height: int = 64
    width: int = 64
    steps: int | None = None
    guidance: float | None = None
    seed: int = 0
    action: SubAction | None = None
    segment_index: int = 0
    context: dict[str, Any] = Field(default_factory=dict, repr=False)
    hints: dict[str, Any] = Field(default_factory=dict, description=(
        "instructions a refinement adds (spiral.core.refine): explore (how much wider to sample), target / "
        "subject / avoid (image coordinates 0..1: where the subject must end, where it is, where failed "
        "attempts put it); a generator uses those it takes (spiral.core.protocols.Hinting)"))

    def describe(self) -> dict[str, Any]:
        """A JSON-safe summary for the trace (no pixels)."""
        return {
            "prompt": self.prompt, "negative_prompt": self.negative_prompt, "seed": self.seed,
            "steps": self.steps, "guidance": self.guidance, "num_frames": self.num_frames,
            "fps": self.fps, "size": [self.height, self.width],
            "segment_index": self.segment_index,
            "n_keyframes": len(self.keyframes),
            "action": self.action.kind if self.action else None,
            **({"hints": self.hints} if self.hints else {}),
        }


@dataclass
class Clip:
    """A generated clip: ``frames`` is ``T×H×W×3`` uint8. ``meta`` holds seed, NFE, timings.

    ``states`` is optional privileged ground truth (one state per frame) that only
    simulators can give; the loop never shows it to the critic.
    """

    frames: np.ndarray
    fps: int = 8
    meta: dict[str, Any] = field(default_factory=dict)
    states: list[Any] | None = None

    def __post_init__(self) -> None:
        f = self.frames
        if f.dtype != np.uint8 or f.ndim != 4 or f.shape[-1] != 3:
            raise ValueError(f"Clip frames must be uint8 T×H×W×3, got {f.dtype} {f.shape}")

    @property
    def final_state(self) -> Any:
        return self.states[-1] if self.states else None


class Failure(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: FailureType
    detail: str
    objects: list[str] = []
    frames: list[int] = []


class Verdict(BaseModel):
    """The critic's judgement of one clip, whatever produced it."""

    model_config = ConfigDict(extra="forbid")

    passed: bool
    scores: dict[str, float]
    failure_type: FailureType | None = None
    failures: list[Failure] = []
    feedback: str = ""
    scope: Literal["local", "global"] = "local"
    perceived: dict[str, Any] = {}
    critic: str = ""
