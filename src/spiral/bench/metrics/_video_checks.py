"""Shared: run the perception critic's video checks over a whole episode video."""

from __future__ import annotations

from spiral.bench.metrics._episode import Episode


def video_verdict(ep: Episode, movable: list[str] | None = None):
    """The perception critic on the stitched video. ``movable=None``: every object may move
    (so only permanence, identity, hallucination and continuity are judged); a list: only
    those objects (and what they carry) may move, so the critic's stillness check judges
    every other object over the whole video too. Computed once per episode and list."""
    from spiral.agents.perception_critic import PerceptionCritic
    from spiral.core.memory import EpisodeMemory
    from spiral.core.types import Clip, SubAction

    cache = getattr(ep, "_video_verdicts", None)
    if cache is None:
        cache = ep._video_verdicts = {}
    key = None if movable is None else tuple(sorted(movable))
    if key in cache:
        return cache[key]
    ids = [o["id"] for o in ep.registry]
    if not ids:
        return None
    # a "swap" of every object that may move: no post-conditions, only the video checks
    if movable is None:
        sub = SubAction(kind="swap", subject=ids[0], objects=ids[1:], prompt="", postconditions=[])
    else:
        movers = [m for m in ids if m in set(movable)] or [_NOBODY]
        sub = SubAction(kind="swap", subject=movers[0], objects=movers[1:], prompt="", postconditions=[])
    mem = EpisodeMemory(None)
    mem.register_objects(ep.registry, ep.first)
    v = PerceptionCritic().critique(Clip(ep.video), sub, mem)
    mem.close()
    cache[key] = v
    return v


_NOBODY = "nothing_moves"  # the subject of a check where no object may move (no object has this id)
