"""``sim-faulty``: the exact simulator with failures injected at a known rate.

Each attempt fails with probability ``fault_rate``, drawn from the request's seed, prompt,
step count and segment, so that every refinement (reseed, rewrite, more steps) is a
fresh draw and the same request always gives the same clip. A failing attempt shows one
of the corruptions of :mod:`spiral.worlds.tabletop.corrupt` (the object does not move,
stops short, vanishes, duplicates, drifts in colour, teleports, or another object moves).
``force_fail`` makes chosen (segment, plan version) pairs always fail, which tests the
replan path deterministically.
"""

from __future__ import annotations

import hashlib
import random
import time
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from spiral.core.types import Clip, GenerationRequest
from spiral.generators.sim import SimGenerator
from spiral.worlds.tabletop.corrupt import CORRUPTIONS, LABELS, corrupt


class FaultySimGenerator(SimGenerator):
    name = "sim-faulty"

    class Config(BaseModel):
        model_config = ConfigDict(extra="forbid")
        gripper: bool = Field(default=False, description="draw a gripper holding carried objects")
        latency_s: float = Field(default=0.0, ge=0.0, le=60.0, description="artificial latency per clip")
        fault_rate: float = Field(default=0.3, ge=0.0, le=1.0, description="probability an attempt fails")
        faults: list[str] = Field(default_factory=lambda: list(CORRUPTIONS),
                                  description=f"corruptions to draw from: {', '.join(CORRUPTIONS)}")
        force_fail: list[dict[str, int]] = Field(
            default_factory=list, description='e.g. [{"segment": 1, "plan_version": 0}]')

        @field_validator("faults")
        @classmethod
        def _known(cls, v: list[str]) -> list[str]:
            bad = [f for f in v if f not in CORRUPTIONS]
            if bad:
                raise ValueError(f"unknown fault(s) {bad}; choose from {', '.join(CORRUPTIONS)}")
            if not v:
                raise ValueError("faults must name at least one corruption")
            return v

    def __init__(self, gripper: bool = False, fault_rate: float = 0.3, faults: list[str] | None = None,
                 force_fail: list[dict[str, int]] | None = None, latency_s: float = 0.0):
        super().__init__(gripper=gripper, latency_s=latency_s)
        self.fault_rate = fault_rate
        self.faults = list(faults or CORRUPTIONS)
        self.force_fail = [(d.get("segment"), d.get("plan_version", 0)) for d in (force_fail or [])]

    def draw(self, req: GenerationRequest) -> str | None:
        """The corruption this request gets (``None`` = a correct clip)."""
        key = f"{req.seed}|{req.prompt}|{req.steps}|{req.segment_index}|{req.guidance}"
        h = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")
        rng = random.Random(h)
        forced = (req.segment_index, req.context.get("plan_version", 0)) in self.force_fail
        if forced or rng.random() < self.fault_rate:
            return rng.choice(self.faults)
        return None

    def generate(self, requests: list[GenerationRequest]) -> list[Clip]:
        out = []
        for req in requests:
            t0 = time.perf_counter()
            scene, action = self.simulate_request(req)
            fault = self.draw(req)
            if fault is None or scene is None or action is None:
                frames, final = self.render(req, scene, action)
            else:
                frames, final_scene, fault = corrupt(fault, scene, action, req.num_frames, req.height, seed=req.seed)
                final = final_scene.model_dump(by_alias=True) if final_scene is not None else None
            self._wait(t0)
            out.append(Clip(frames=np.ascontiguousarray(frames), fps=req.fps,
                            states=[final] if final is not None else None,
                            meta={"seed": req.seed, "nfe": 1, "steps": 1, "generator": self.name,
                                  "injected_fault": fault, "injected_label": LABELS.get(fault or ""),
                                  "gen_s": time.perf_counter() - t0}))
        return out

    @classmethod
    def from_config(cls, cfg: Any, **_: Any) -> FaultySimGenerator:
        return cls(**cfg.model_dump())
