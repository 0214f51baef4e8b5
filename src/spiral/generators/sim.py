"""``sim``: the exact tabletop simulator as a generator (never fails).

It carries out the request's structured sub-action (``request.action``) from the exact
scene the loop passes in ``request.context["scene"]`` when it knows one, else from the
scene perceived in the conditioning frame. Without a structured action (the open-loop
baseline) it interprets the prompt as a goal, against the episode's first frame, and
carries out sub-action number ``segment_index`` of it. A sub-action whose
pre-conditions do not hold gives a still clip: nothing can happen.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from spiral.core.types import Clip, GenerationRequest, SubAction
from spiral.errors import BackendError, SpiralError
from spiral.worlds.tabletop.actions import make_action, preconditions_hold
from spiral.worlds.tabletop.goals import parse_goal, plan_clauses
from spiral.worlds.tabletop.perception import perceive
from spiral.worlds.tabletop.render import render_scene
from spiral.worlds.tabletop.scene import Scene
from spiral.worlds.tabletop.simulate import simulate

log = logging.getLogger(__name__)


class SimGenerator:
    """The exact simulator behind the ``Generator`` protocol."""

    name = "sim"
    default_steps = 1

    class Config(BaseModel):
        model_config = ConfigDict(extra="forbid")
        gripper: bool = Field(default=False, description="draw a gripper holding carried objects")
        latency_s: float = Field(default=0.0, ge=0.0, le=60.0,
                                 description="artificial latency per clip (to mimic a slow model in tests/demos)")

    def __init__(self, gripper: bool = False, latency_s: float = 0.0):
        self.gripper = gripper
        self.latency_s = latency_s

    @classmethod
    def from_config(cls, cfg: Any, **_: Any) -> SimGenerator:
        return cls(**cfg.model_dump())

    # -- helpers ------------------------------------------------------------------------
    @staticmethod
    def start_scene(req: GenerationRequest) -> Scene | None:
        if req.context.get("scene"):
            return Scene.model_validate(req.context["scene"])
        known = req.context.get("known_kinds")
        return perceive(np.asarray(req.cond_frame), known=known).scene

    def resolve_action(self, req: GenerationRequest, scene: Scene) -> SubAction | None:
        if req.action is not None:
            return req.action
        base_frame = req.keyframes[0] if req.keyframes else req.cond_frame
        base = perceive(np.asarray(base_frame)).scene
        try:
            steps, _, _ = plan_clauses(base, parse_goal(req.prompt, base))
            step = steps[req.segment_index] if req.segment_index < len(steps) else None
            if step is None:
                return None
            return make_action(scene, step.kind, step.subject, step.objects,
                               {k: v for k, v in step.params.items()})
        except (SpiralError, KeyError) as exc:
            log.debug("sim could not interpret %r: %s", req.prompt, exc)
            return None

    def _check(self, req: GenerationRequest) -> None:
        if req.height != req.width:
            raise BackendError(f"the tabletop simulator renders square frames, got {req.height}x{req.width}",
                               "set scene.size instead of separate height/width")
        if req.num_frames < 2:
            raise BackendError("a clip needs at least 2 frames", "raise loop.frames_per_segment")

    def simulate_request(self, req: GenerationRequest) -> tuple[Scene | None, SubAction | None]:
        self._check(req)
        scene = self.start_scene(req)
        if scene is None:
            return None, None
        action = self.resolve_action(req, scene)
        if action is not None:
            try:
                if preconditions_hold(scene, action):
                    action = None
            except KeyError:
                action = None
        return scene, action

    def generate(self, requests: list[GenerationRequest]) -> list[Clip]:
        out = []
        for req in requests:
            t0 = time.perf_counter()
            scene, action = self.simulate_request(req)
            frames, final = self.render(req, scene, action)
            self._wait(t0)
            out.append(Clip(frames=frames, fps=req.fps, states=[final] if final is not None else None,
                            meta={"seed": req.seed, "nfe": 1, "steps": 1, "generator": self.name,
                                  "gen_s": time.perf_counter() - t0}))
        return out

    def _wait(self, t0: float) -> None:
        if self.latency_s > 0:
            time.sleep(max(0.0, self.latency_s - (time.perf_counter() - t0)))

    def render(self, req: GenerationRequest, scene: Scene | None, action: SubAction | None):
        if scene is None:
            frames = np.repeat(np.asarray(req.cond_frame, np.uint8)[None], req.num_frames, axis=0)
            return frames, None
        if action is None:
            frame = render_scene(scene, req.height)
            return np.repeat(frame[None], req.num_frames, axis=0), scene.model_dump(by_alias=True)
        frames, states = simulate(scene, action, req.num_frames, req.height, gripper=self.gripper)
        return frames, states[-1].model_dump(by_alias=True)
