"""Refusals that help: the closest goal the planner would accept in a scene.

The candidates are the scene's canonical goals: one per sub-action the schema allows
(``sampling.candidate_actions``, phrased canonically), plus the whole-scene goals (stack
all the cubes, put every ball in a bowl, take an object out of its bowl, clear a half).
They are ranked by the overlap of content words (colours, kinds, verbs, places) with the
refused text, then by ``difflib``'s ratio, then by their order; the first few are planned,
and the first that plans to at least one step is the suggestion. Deterministic and cheap
(a few milliseconds), run only on a refusal. A text that shares no colour or kind with any
candidate (junk, injected instructions) gets no suggestion.
"""

from __future__ import annotations

import copy
import difflib
import re

from spiral.errors import SpiralError
from spiral.worlds.tabletop.actions import phrase, phrases
from spiral.worlds.tabletop.goal_text import MAX_GOAL_CHARS, fix_typo
from spiral.worlds.tabletop.sampling import candidate_actions
from spiral.worlds.tabletop.scene import COLORS, Scene

_STOP = frozenset(["the", "a", "an", "of", "to", "in", "into", "on", "onto", "it", "and", "then", "with", "at", "by", "over", "please"])
_TRIED = 8  # candidates planned before giving up


def canonical_goals(scene: Scene) -> list[str]:
    """Goals the planner reads, one per thing it can do in ``scene`` (canonical phrasing)."""
    out = [phrase(kind, s, objs, params, 0) for kind, s, objs, params in candidate_actions(scene)]
    cubes = [o for o in scene.objects if o.kind == "cube"]
    if len(cubes) >= 2:
        out.append("stack all the cubes")
    for bowl in (o for o in scene.objects if o.kind == "bowl"):
        for kind in ("ball", "cube"):
            if any(o.kind == kind for o in scene.objects):
                out.append(f"put every {kind} in the {bowl.name}")
        out += [f"take the {o.name} out of the {bowl.name}" for o in scene.contents(bowl.id)]
    out += [f"clear the {side} half of the table" for side in ("left", "right", "back", "front")]
    return list(dict.fromkeys(out))


def _content(text: str) -> set[str]:
    words = [fix_typo(w) for w in re.findall(r"[a-z]+", text.lower())]
    kinds = {w: k for k, ws in phrases()["kinds"].items() for v in ws for w in (v, v + "s")}
    kinds |= {"tower": "cube", "towers": "cube"}  # a tower is made of cubes
    return {kinds.get(w, w) for w in words if w not in _STOP}


def suggest(goal: str, scene: Scene) -> str | None:
    """The accepted goal closest to ``goal`` in ``scene``, or ``None``."""
    from spiral.worlds.tabletop.goals import parse_goal, plan_clauses

    if not goal or len(goal) > MAX_GOAL_CHARS or not goal.isprintable():
        return None
    said = _content(goal)
    names = set(COLORS) | {"cube", "ball", "bowl"}
    if not said & names:
        return None
    ranked = []
    for i, cand in enumerate(canonical_goals(scene)):
        words = _content(cand)
        shared = len(said & words)
        if not shared or not (said & words & names):
            continue
        dice = 2 * shared / (len(said) + len(words))
        ranked.append((-dice, -difflib.SequenceMatcher(None, goal.lower(), cand).ratio(), i, cand))
    ranked.sort()
    for *_, cand in ranked[:_TRIED]:
        try:
            steps, _, _ = plan_clauses(scene, copy.deepcopy(parse_goal(cand, scene)))
        except SpiralError:
            continue
        if steps:
            return cand
    return None


def with_suggestion(exc: SpiralError, goal: str, scene: Scene) -> SpiralError:
    """``exc`` with "did you mean: …?" put in front of its hint (the fix the CLI prints)."""
    found = suggest(goal, scene)
    if found is not None:
        exc.hint = f"did you mean: {found}?" + (f" ({exc.hint})" if exc.hint else "")
    return exc


__all__ = ["canonical_goals", "suggest", "with_suggestion"]
