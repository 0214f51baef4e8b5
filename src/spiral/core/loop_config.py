"""The loop's own settings (the ``loop`` section of a run config): budgets and the
refinement policy. Owned by core, beside the loop that reads them; :mod:`spiral.config`
puts it in ``RunConfig.loop`` (``from spiral.config import LoopConfig`` keeps working).
Imports nothing of spiral, so the config may import it without a cycle."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class LoopConfig(BaseModel):
    """Budgets and refinement policy of the loop."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    max_attempts: int = Field(default=4, ge=1, le=64, description="generator attempts per sub-action")
    max_replans: int = Field(default=2, ge=0, le=32, description="replans per episode")
    max_generator_calls: int = Field(default=64, ge=1, description="generator calls per episode")
    max_wall_time_s: float = Field(default=1800.0, gt=0, description="wall-time budget per episode")
    frames_per_segment: int = Field(default=12, ge=2, le=256)
    fps: int = Field(default=8, ge=1, le=120)
    steps: int | None = Field(default=None, ge=1, description="sampling steps (generator default if unset)")
    max_steps: int = Field(default=64, ge=1, description="cap for the more_steps refinement")
    guidance: float | None = Field(default=None, ge=0,
                                   description="guidance scale (generator default if unset)")
    negative_prompt: str | None = None
    strategies: list[Literal["instruct", "explore", "reseed", "rewrite_prompt", "more_steps"]] = Field(
        default_factory=lambda: ["instruct", "explore", "reseed", "rewrite_prompt", "more_steps"], min_length=1,
        description="refinement strategies the loop may use (spiral/core/refine.py; their order per failure type "
                    "is spiral/core/refine.yaml)")
    instruct_first: bool = Field(default=False, description=(
        "give every first attempt the instruct refinement's target hint (where the subject must end) too, "
        "without a critic's verdict: an ablation that measures the hint without the loop (any mode)"))
    explore: float = Field(default=1.0, ge=0, le=8, description=(
        "how much wider the generator samples on each retry (hints['explore'] = explore x retry; 0: retries "
        "sample like first attempts)"))
    keyframe_conditioning: bool = Field(default=True, description="also pass the first frame to the generator")
    precheck: bool = Field(default=True, description="check pre-conditions before each sub-action")
    ground: bool = Field(default=True, description="closed-loop: let the planner pin a relative step (push, swap) "
                                                   "again from the last accepted frame when its plan-time pins "
                                                   "rest on an earlier step's assumed result")
    speculate: bool = Field(
        default=False, description="while the critic judges a clip, generate the next step's first attempt on a "
                                   "worker thread as if the clip passes; used only if the loop then makes exactly "
                                   "that request (same run, same trace), wasted if the clip is rejected. Hides the "
                                   "critic behind the generator; off by default because a wasted call of a paid "
                                   "generator is billed")
    on_failure: Literal["stop", "accept_best"] = Field(
        default="accept_best", description="when a step still fails with the replan budget spent: stop the run, "
                                           "or accept the step's best attempt (recorded as accept_best) and go on "
                                           "(the default: a long video is finished; strict success still sees "
                                           "the flaw)")
