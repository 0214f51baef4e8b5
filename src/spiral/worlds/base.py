"""The ``World`` interface: where an episode's first frame comes from, and which planner and
critic read that world by default.

:mod:`spiral.api` and the CLI know only this interface; the tabletop
(:class:`spiral.worlds.tabletop.world.TabletopWorld`) is one implementation. A world is
chosen by the ``world`` config key and built by name through :mod:`spiral.registry` (role
``world``: built in, the ``spiral.worlds`` entry-point group, or
``spiral.registry.register("world", name, cls)``), so a new world (real images, another
simulator) plugs in without touching core or the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from spiral.config import RunConfig


@dataclass
class FirstFrame:
    """An episode's start: the frame (uint8 H×W×3), the exact scene behind it when the world
    knows it (``None`` for a plain image; metrics read it), and where it came from (the
    ``scene`` trace event's fields, e.g. ``{"source": "seed", "seed": 3}``)."""

    frame: np.ndarray
    state: dict[str, Any] | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __iter__(self):  # frame, state, info = world.first_frame(cfg): the tuple api.first_frame gave
        return iter((self.frame, self.state, self.info))

    def __getitem__(self, i: int) -> Any:
        return (self.frame, self.state, self.info)[i]


@runtime_checkable
class World(Protocol):
    """A domain the loop can run in.

    ``planner`` and ``critic`` name the registry backends that read this world; a run that
    does not choose its own gets them (see :func:`spiral.api.with_defaults`)."""

    name: str
    planner: str
    critic: str

    def with_defaults(self, cfg: RunConfig) -> RunConfig:
        """``cfg`` with the world's demo filled in where no scene (and no goal) is given;
        raises :class:`~spiral.errors.ConfigError` when a goal is needed and missing."""
        ...

    def first_frame(self, cfg: RunConfig) -> FirstFrame:
        """The first frame of ``cfg.scene`` (seed, file or image), at ``cfg.scene.size``.
        Bad input raises a :class:`~spiral.errors.SpiralError` before anything is written."""
        ...

    def check_input(self, cfg: RunConfig, start: FirstFrame) -> dict[str, Any]:
        """Refuse (raise) or warn about a first frame the chosen planner and critic cannot
        read; returns fields to add to the ``scene`` trace event (``{}``: nothing to add)."""
        ...

    def scene_objects(self, state: dict[str, Any] | None) -> list[dict[str, Any]]:
        """The objects of a scene ``state`` (``FirstFrame.state``) as ``{"name": …}`` dicts;
        ``[]`` when the world knows none."""
        ...
