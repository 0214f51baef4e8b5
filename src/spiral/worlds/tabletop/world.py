"""The tabletop as a :class:`~spiral.worlds.base.World`: first frames from a seeded random
scene, a scene file or an image; the symbolic planner and the perception critic read it.
What :mod:`spiral.api` did itself before the world interface (same frames, same checks)."""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from spiral.errors import ConfigError, InputFileError
from spiral.worlds.base import FirstFrame

if TYPE_CHECKING:
    from spiral.config import RunConfig
    from spiral.worlds.tabletop.domain import DomainReport

log = logging.getLogger(__name__)

DEMO_GOAL = "stack the green cube on the blue one, then put the red ball in the bowl"


def demo_scene_path() -> Path:
    return Path(str(resources.files("spiral.worlds.tabletop").joinpath("scenes/demo.json")))


class TabletopWorld:
    """Coloured cubes, balls and bowls on a table (``world: tabletop``, the default)."""

    name = "tabletop"
    planner = "symbolic"
    critic = "perception"

    def with_defaults(self, cfg: RunConfig) -> RunConfig:
        """No scene given: the built-in demo scene; no goal either: the demo goal too."""
        no_scene = not (cfg.scene.file or cfg.scene.image or cfg.scene.seed is not None)
        if no_scene:
            cfg = cfg.model_copy(update={"scene": cfg.scene.model_copy(update={"file": "builtin:demo"})})
        if not cfg.goal.strip():
            if no_scene:
                return cfg.model_copy(update={"goal": DEMO_GOAL})
            raise ConfigError("no goal given", 'pass a goal, e.g. spiral run "put the red cube in the blue bowl"')
        return cfg

    def first_frame(self, cfg: RunConfig) -> FirstFrame:
        """The episode's first frame, the exact scene behind it when known, and where it came from."""
        from spiral.worlds.tabletop.render import render_scene
        from spiral.worlds.tabletop.scene import Scene, SceneSpec, random_scene

        size = cfg.scene.size
        if cfg.scene.image:
            from spiral.io.video import load_image

            return FirstFrame(load_image(cfg.scene.image, size), None, {"source": "image", "path": cfg.scene.image})
        if cfg.scene.file:
            path = demo_scene_path() if cfg.scene.file == "builtin:demo" else cfg.scene.file
            scene = Scene.load(path)
            return FirstFrame(render_scene(scene, size), scene.model_dump(by_alias=True),
                              {"source": "file", "path": cfg.scene.file})
        seed = cfg.scene.seed if cfg.scene.seed is not None else cfg.seed
        scene = random_scene(seed, SceneSpec(min_objects=cfg.scene.min_objects, max_objects=cfg.scene.max_objects))
        return FirstFrame(render_scene(scene, size), scene.model_dump(by_alias=True), {"source": "seed", "seed": seed})

    def check_input(self, cfg: RunConfig, start: FirstFrame) -> dict[str, Any]:
        report = self.domain_report(cfg, start.frame, start.info)
        return {} if report is None else {"domain_confidence": report.confidence}

    def domain_report(self, cfg: RunConfig, frame: np.ndarray, info: dict[str, Any]) -> DomainReport | None:
        """Refuse (or warn about) a first frame from ``--image`` or ``--scene`` that does not look
        like a tabletop render when a built-in component reads it (the symbolic planner or the
        perception critic): they would plan and judge what they misread. ``scene.domain_check``
        chooses refuse, warn or off; the LLM planner with the VLM critic skip it. Returns the
        :class:`~spiral.worlds.tabletop.domain.DomainReport`, or ``None`` when not checked."""
        builtin = [f"{n} {role}" for n, role, default in ((cfg.planner.name, "planner", self.planner),
                                                          (cfg.critic.name, "critic", self.critic)) if n == default]
        if cfg.scene.domain_check == "off" or not builtin or info.get("source") not in ("image", "file") \
                or info.get("path") == "builtin:demo":
            return None
        from spiral.worlds.tabletop.domain import HINT, MIN_SIZE, assess

        if frame.shape[0] < MIN_SIZE:  # too few pixels to judge (or for perception): judge it at 64 px
            frame = self.first_frame(cfg.model_copy(update={"scene": cfg.scene.model_copy(update={"size": MIN_SIZE})})).frame
        report = assess(frame)
        what = f"{info['source']} {info['path']}"
        why = "; ".join(report.reasons[:3])  # the worst first
        if report.verdict == "out-of-domain" and cfg.scene.domain_check == "refuse":
            raise InputFileError(f"{what} does not look like a tabletop render (confidence {report.confidence:.2f}): "
                                 f"{why}; the built-in {' and '.join(builtin)} would misread it", HINT)
        if report.verdict != "ok":
            log.warning("%s may not be a tabletop render (confidence %.2f): %s; the built-in %s may misread it (%s)",
                        what, report.confidence, why, " and ".join(builtin), HINT)
        return report

    def scene_objects(self, state: dict[str, Any] | None) -> list[dict[str, Any]]:
        if not state:
            return []
        from spiral.worlds.tabletop.scene import Scene

        scene = Scene.model_validate(state)
        return [{"name": o.name, "id": o.id, "kind": o.kind, "color": o.color} for o in scene.objects]


def check_domain(cfg: RunConfig, frame: np.ndarray, info: dict[str, Any]) -> DomainReport | None:
    """:meth:`TabletopWorld.domain_report` (the name ``spiral.api`` gave it)."""
    return TabletopWorld().domain_report(cfg, frame, info)
