"""Backends by name, imported lazily.

``import spiral`` imports no backend: each entry is a ``"module:Class"`` string that is
imported only when that backend is built. Third-party packages can add backends through
the entry-point groups ``spiral.generators``, ``spiral.planners``, ``spiral.critics`` and
``spiral.worlds``, or by calling :func:`register`.

A backend class has a nested pydantic ``Config`` (its options, ``extra="forbid"``) and a
``from_config(config, **context)`` classmethod; it can always also be constructed
directly from ready objects. A world (:class:`spiral.worlds.base.World`, the ``world``
config key) takes no options: :func:`get_world` builds it.
"""

from __future__ import annotations

import importlib
import logging
from importlib import metadata
from typing import Any

from pydantic import ValidationError

from spiral.config import ComponentConfig, error_lines
from spiral.errors import ConfigError
from spiral.generators.diffusers import ADAPTERS as DIFFUSERS_ADAPTERS  # a plain table: imports no torch

log = logging.getLogger(__name__)

ROLES = ("generator", "planner", "critic")
WORLD = "world"  # not a loop role: where the first frame comes from (spiral.worlds.base)
_BUILTIN: dict[str, dict[str, str]] = {
    "generator": {
        "sim": "spiral.generators.sim:SimGenerator",
        "sim-faulty": "spiral.generators.sim_faulty:FaultySimGenerator",
        "tiny-ti2v": "spiral.generators.tiny_ti2v:TinyTI2VGenerator",
        # real TI2V backbones through diffusers (docs/backbones.md): one table, the package's
        **DIFFUSERS_ADAPTERS,
    },
    "planner": {
        "symbolic": "spiral.agents.symbolic_planner:SymbolicPlanner",
        "llm": "spiral.agents.llm_planner:LLMPlanner",
    },
    "critic": {
        "perception": "spiral.agents.perception_critic:PerceptionCritic",
        "vlm": "spiral.agents.vlm_critic:VLMCritic",
    },
    WORLD: {
        "tabletop": "spiral.worlds.tabletop.world:TabletopWorld",
    },
}
_EXTRA: dict[str, dict[str, str | type]] = {r: {} for r in (*ROLES, WORLD)}


def register(role: str, name: str, target: str | type) -> None:
    """Register ``"module:Class"`` (or the class itself) as backend ``name`` for ``role``
    (one of :data:`ROLES`, or ``"world"``)."""
    if role not in (*ROLES, WORLD):
        raise ValueError(f"role must be one of {(*ROLES, WORLD)}")
    _EXTRA[role][name] = target


def _entry_points(role: str) -> dict[str, str]:
    try:
        eps = metadata.entry_points(group=f"spiral.{role}s")
    except Exception:  # noqa: BLE001 # pragma: no cover - broken metadata should not break the CLI
        return {}
    return {ep.name: ep.value for ep in eps}


def available(role: str) -> dict[str, str | type]:
    return {**_entry_points(role), **_BUILTIN[role], **_EXTRA[role]}


def load_class(role: str, name: str) -> type:
    # what available() would give, without scanning the installed packages' entry points for a
    # registered or built-in name (they cannot override those): a few ms per build
    target = _EXTRA[role].get(name) or _BUILTIN[role].get(name)
    if target is None:
        table = available(role)
        if name not in table:
            raise ConfigError(f"unknown {role} {name!r}", f"available {role}s: {', '.join(sorted(table))}")
        target = table[name]
    if isinstance(target, type):
        return target
    module, _, attr = target.partition(":")
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        extra = {"generator": "diffusers", "planner": "agents", "critic": "agents"}.get(role)
        raise ConfigError(f"{role} {name!r} needs packages that are not installed: {exc}",
                          f"pip install 'spiral-actwm[{extra}]'" if extra else "install what it names") from exc
    return getattr(mod, attr)


def get_world(name: str) -> Any:
    """The :class:`~spiral.worlds.base.World` named ``name`` (the ``world`` config key)."""
    from spiral.worlds.base import World

    world = load_class(WORLD, name)()
    if not isinstance(world, World):
        raise ConfigError(f"world {name!r} does not implement the World interface",
                          "give it name, planner, critic, with_defaults, first_frame, check_input and "
                          "scene_objects (spiral/worlds/base.py)")
    return world


def build(role: str, cfg: ComponentConfig | dict[str, Any] | str, **context: Any) -> Any:
    """Construct backend ``cfg.name`` for ``role`` with its validated options."""
    if isinstance(cfg, str):
        cfg = ComponentConfig(name=cfg)
    elif isinstance(cfg, dict):
        cfg = ComponentConfig(**cfg)
    cls = load_class(role, cfg.name)
    config_cls = getattr(cls, "Config", None)
    opts = cfg.options()
    if config_cls is not None:
        try:
            params = config_cls.model_validate(opts)
        except ValidationError as exc:
            lines = error_lines(exc, lambda loc, e: f"unknown option {role}.{loc} for {role} {cfg.name!r}; "
                                                    f"valid: {', '.join(config_cls.model_fields) or '(none)'}",
                                prefix=f"{role}.")
            raise ConfigError("invalid config:\n  " + "\n  ".join(lines),
                              f"see `spiral config` for the options of {role} {cfg.name!r}") from None
        return cls.from_config(params, **context)
    return cls(**opts)
