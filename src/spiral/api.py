"""Run the loop from a config: the library entry point behind ``spiral run``.

>>> from spiral.config import build_config
>>> from spiral.api import run
>>> result, run_dir = run(build_config(overrides={"goal": "stack all the cubes"}), "runs/demo")
"""

from __future__ import annotations

import datetime as _dt
import logging
import re
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from spiral.config import RunConfig
from spiral.core.loop import EpisodeResult, Loop
from spiral.core.memory import EpisodeMemory, ExperienceStore
from spiral.core.rundir import MEMORY, REPORT, TRACE, VIDEO, RunDir
from spiral.core.trace import Trace
from spiral.errors import ConfigError, InputFileError

log = logging.getLogger(__name__)

DEMO_GOAL = "stack the green cube on the blue one, then put the red ball in the bowl"


def demo_scene_path() -> Path:
    return Path(str(resources.files("spiral.worlds.tabletop").joinpath("scenes/demo.json")))


def with_defaults(cfg: RunConfig) -> RunConfig:
    """No scene given: the built-in demo scene; no goal either: the demo goal too."""
    no_scene = not (cfg.scene.file or cfg.scene.image or cfg.scene.seed is not None)
    if no_scene:
        cfg = cfg.model_copy(update={"scene": cfg.scene.model_copy(update={"file": "builtin:demo"})})
    if not cfg.goal.strip():
        if no_scene:
            return cfg.model_copy(update={"goal": DEMO_GOAL})
        raise ConfigError("no goal given", 'pass a goal, e.g. spiral run "put the red cube in the blue bowl"')
    return cfg


def first_frame(cfg: RunConfig) -> tuple[np.ndarray, dict[str, Any] | None, dict[str, Any]]:
    """The episode's first frame, the exact scene behind it when known, and where it came from."""
    from spiral.worlds.tabletop.render import render_scene
    from spiral.worlds.tabletop.scene import Scene, SceneSpec, random_scene

    size = cfg.scene.size
    if cfg.scene.image:
        from spiral.io.video import load_image

        return load_image(cfg.scene.image, size), None, {"source": "image", "path": cfg.scene.image}
    if cfg.scene.file:
        path = demo_scene_path() if cfg.scene.file == "builtin:demo" else cfg.scene.file
        scene = Scene.load(path)
        return render_scene(scene, size), scene.model_dump(by_alias=True), {"source": "file",
                                                                            "path": cfg.scene.file}
    seed = cfg.scene.seed if cfg.scene.seed is not None else cfg.seed
    scene = random_scene(seed, SceneSpec(min_objects=cfg.scene.min_objects, max_objects=cfg.scene.max_objects))
    return render_scene(scene, size), scene.model_dump(by_alias=True), {"source": "seed", "seed": seed}


def check_domain(cfg: RunConfig, frame: np.ndarray, info: dict[str, Any]) -> Any:
    """Refuse (or warn about) a first frame from ``--image`` or ``--scene`` that does not look
    like a tabletop render when a built-in component reads it (the symbolic planner or the
    perception critic): they would plan and judge what they misread. ``scene.domain_check``
    chooses refuse, warn or off; the LLM planner with the VLM critic skip it. Returns the
    :class:`~spiral.worlds.tabletop.domain.DomainReport`, or ``None`` when not checked."""
    builtin = [f"{n} {role}" for n, role, default in ((cfg.planner.name, "planner", "symbolic"),
                                                      (cfg.critic.name, "critic", "perception")) if n == default]
    if cfg.scene.domain_check == "off" or not builtin or info.get("source") not in ("image", "file") \
            or info.get("path") == "builtin:demo":
        return None
    from spiral.worlds.tabletop.domain import HINT, MIN_SIZE, assess

    if frame.shape[0] < MIN_SIZE:  # too few pixels to judge (or for perception): judge it at 64 px
        frame = first_frame(cfg.model_copy(update={"scene": cfg.scene.model_copy(update={"size": MIN_SIZE})}))[0]
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


def default_out(cfg: RunConfig, root: str | Path = "runs") -> Path:
    slug = re.sub(r"[^a-z0-9]+", "-", cfg.goal.lower()).strip("-")[:40] or "run"
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{stamp}-{slug}"
    out, k = base, 2
    while out.exists():
        out, k = Path(f"{base}-{k}"), k + 1
    return out


def open_experience(path: str) -> ExperienceStore:
    """The cross-episode store, opened before anything of the run is written: a path that
    is a directory or not a database is an input error, not a crash mid-run."""
    import sqlite3

    try:
        store = ExperienceStore(path)
        store.stats()
    except (sqlite3.Error, OSError) as exc:
        raise InputFileError(f"memory.experience_path {path!r} cannot be used: {exc}",
                             "point it at a new or existing SQLite file, e.g. ~/.cache/spiral/experience.sqlite") from None
    return store


def build_components(cfg: RunConfig) -> tuple[Any, Any, Any]:
    from spiral.exec.context import remote_generator
    from spiral.registry import build

    planner = build("planner", cfg.planner, config=cfg)
    # an executor's generator actors (loaded once per GPU) when they serve this config
    generator = remote_generator(cfg) or build("generator", cfg.generator, config=cfg)
    critic = build("critic", cfg.critic, config=cfg)
    return planner, generator, critic


def run(cfg: RunConfig, out: str | Path, resume: bool = False,
        listeners: list[Callable[[dict[str, Any]], None]] | None = None,
        components: tuple[Any, Any, Any] | None = None) -> tuple[EpisodeResult, RunDir]:
    """Run one episode into ``out`` (or resume it); writes the whole run directory."""
    cfg = with_defaults(cfg)
    from spiral.core.rundir import CONFIG
    from spiral.io.video import ENCODER_FRAMES, check_video_budget

    if resume and not (Path(out) / CONFIG).is_file():
        from spiral.errors import RunDirError

        raise RunDirError(f"{out} holds no run to resume (no {CONFIG})",
                          "check the path, or drop --resume to start a new run there")
    # a video of a few segments must fit in memory: refused before any work
    check_video_budget(max(cfg.loop.frames_per_segment, ENCODER_FRAMES), cfg.scene.size, cfg.output.video_scale)
    frame, state, info = first_frame(cfg)  # bad scene/image input fails before anything is written
    domain = check_domain(cfg, frame, info)  # so does an image the built-in perception cannot read
    if domain is not None:
        info = {**info, "domain_confidence": domain.confidence}
    planner, generator, critic = components or build_components(cfg)
    plan, plan_s = None, 0.0
    if not (resume and (Path(out) / "state.json").exists()):
        t0 = time.perf_counter()
        plan = planner.plan(cfg.goal, frame, None)  # a bad goal fails here, before anything is written
        plan_s = time.perf_counter() - t0
    experience = open_experience(cfg.memory.experience_path) if cfg.memory.experience_path else None
    # locks the directory until rd.close(): a second writer (two resumes) is refused here
    rd = RunDir.prepare(out, cfg.public_dict(), cfg.identity(), resume=resume)
    trace = memory = None
    try:
        rd.background = True  # the loop does not wait for the disk (ordered writes, see RunDir)
        fresh = rd.load_state() is None
        if fresh:  # nothing checkpointed yet: start clean (a kill before the plan was saved)
            for name in (TRACE, MEMORY, MEMORY + "-wal", MEMORY + "-shm"):
                if (rd.path / name).exists():
                    (rd.path / name).unlink()
        trace = Trace(rd.file(TRACE), resume=not fresh)
        for fn in listeners or []:
            trace.listeners.append(fn)
        memory = EpisodeMemory(rd.file(MEMORY))
        loop = Loop(planner, generator, critic, memory, cfg, rd, trace, experience)
        result = loop.run(cfg.goal, frame, state, info, resume=not fresh, plan=plan, plan_s=plan_s)
        write_outputs(rd, cfg, loop)
    finally:
        try:
            rd.flush()  # the background writes land before the trace closes
        finally:
            if trace is not None:
                trace.close()
            if memory is not None:
                memory.close()
            rd.close()  # last: it releases the directory's lock
    return result, rd


def write_outputs(rd: RunDir, cfg: RunConfig, loop: Loop) -> None:
    from spiral.io.video import write_mp4

    if loop.plan is None:  # an already-finished run: rebuild from its state
        st = rd.load_state() or {}
        loop.segments = st.get("segments", [])
    frames = loop.stitched()
    write_mp4(rd.file(VIDEO), frames, fps=cfg.loop.fps, scale=cfg.output.video_scale)
    if cfg.output.report:
        from spiral.report.html import write_run_report

        write_run_report(rd.path, rd.file(REPORT))
