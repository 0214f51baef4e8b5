"""Random valid sub-actions in a scene (for datasets, benchmarks and tests)."""

from __future__ import annotations

import random

from spiral.core.types import SubAction
from spiral.errors import ImpossibleGoalError
from spiral.worlds.tabletop.actions import ACTION_KINDS, DIRECTIONS, make_action, preconditions_hold
from spiral.worlds.tabletop.predicates import REGIONS, holds
from spiral.worlds.tabletop.scene import Scene


def candidate_actions(scene: Scene, kinds: tuple[str, ...] | None = None) -> list[tuple[str, str, list[str], dict]]:
    out = []
    kinds = kinds or tuple(ACTION_KINDS)
    for kind in kinds:
        spec = ACTION_KINDS[kind]
        for s in scene.objects:
            if s.kind not in spec["subject"]:
                continue
            if not spec["objects"]:
                if kind == "push":
                    out += [(kind, s.id, [], {"direction": d}) for d in DIRECTIONS]
                else:
                    out += [(kind, s.id, [], {"region": r}) for r in REGIONS]
                continue
            for o in scene.objects:
                if o.id != s.id and o.kind in spec["objects"][0]:
                    out.append((kind, s.id, [o.id], {}))
    return out


def sample_action(scene: Scene, rng: random.Random, kinds: tuple[str, ...] | None = None,
                  tries: int = 64) -> SubAction | None:
    """A random sub-action whose pre-conditions hold in ``scene`` (``None`` if none found)."""
    kinds = kinds or tuple(ACTION_KINDS)
    kind_order = list(kinds)
    for _ in range(tries):
        kind = rng.choice(kind_order)
        cands = candidate_actions(scene, (kind,))
        if not cands:
            continue
        k, s, objs, params = rng.choice(cands)
        try:
            act = make_action(scene, k, s, objs, dict(params), variant=rng.randint(0, 2))
        except (ImpossibleGoalError, KeyError):
            continue
        if not preconditions_hold(scene, act) and not all(holds(c, scene) for c in act.postconditions):
            return act
    return None
