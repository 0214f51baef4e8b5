"""Shared: run the perception critic's video checks over a whole episode video."""

from __future__ import annotations

from spiral.bench.metrics._episode import Episode


def video_verdict(ep: Episode):
    """The perception critic on the stitched video, with every object allowed to move
    (so only permanence, identity, hallucination and continuity are judged)."""
    from spiral.agents.perception_critic import PerceptionCritic
    from spiral.core.memory import EpisodeMemory
    from spiral.core.types import Clip, SubAction

    if getattr(ep, "_video_verdict", None) is not None:
        return ep._video_verdict
    ids = [o["id"] for o in ep.registry]
    if not ids:
        return None
    # a "swap" of every object: all may move, so only permanence, identity, hallucination
    # and continuity are judged (no post-conditions)
    sub = SubAction(kind="swap", subject=ids[0], objects=ids[1:], prompt="", postconditions=[])
    mem = EpisodeMemory(None)
    mem.register_objects(ep.registry, ep.first)
    v = PerceptionCritic().critique(Clip(ep.video), sub, mem)
    mem.close()
    ep._video_verdict = v  # computed once per episode
    return v
