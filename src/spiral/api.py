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
from pathlib import Path
from typing import Any

from spiral.config import ComponentConfig, RunConfig
from spiral.core.loop import EpisodeResult, Loop
from spiral.core.memory import EpisodeMemory, ExperienceStore
from spiral.core.rundir import MEMORY, REPORT, TRACE, VIDEO, RunDir
from spiral.core.trace import Trace
from spiral.errors import InputFileError
from spiral.worlds.base import FirstFrame, World

log = logging.getLogger(__name__)


def world_of(cfg: RunConfig) -> World:
    """The run's :class:`~spiral.worlds.base.World` (``cfg.world``; an unknown name is a config error)."""
    from spiral.registry import get_world

    return get_world(cfg.world)


def with_defaults(cfg: RunConfig) -> RunConfig:
    """``cfg`` with its world's defaults: the planner and critic it did not name, and the
    world's demo where no scene (and no goal) is given (the tabletop: the demo scene and goal)."""
    world = world_of(cfg)
    update = {role: ComponentConfig(name=name) for role, name in (("planner", world.planner), ("critic", world.critic))
              if role not in cfg.model_fields_set and getattr(cfg, role).name != name}
    if update:
        cfg = cfg.model_copy(update=update)
    return world.with_defaults(cfg)


def first_frame(cfg: RunConfig) -> FirstFrame:
    """The episode's first frame, the exact scene behind it when known, and where it came from
    (``frame, state, info = first_frame(cfg)``), from the run's world."""
    return world_of(cfg).first_frame(cfg)


def __getattr__(name: str) -> Any:  # the tabletop names this module had before the World interface
    if name in ("DEMO_GOAL", "demo_scene_path", "check_domain"):
        from spiral.worlds.tabletop import world

        return getattr(world, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    world = world_of(cfg)
    start = world.first_frame(cfg)  # bad scene/image input fails before anything is written
    frame, state, info = start
    info = {**info, **world.check_input(cfg, start)}  # so does an image the world's planner/critic cannot read
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
