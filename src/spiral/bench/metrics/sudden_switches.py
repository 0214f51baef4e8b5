"""Sudden switches: an object jumping between two consecutive frames (one step far larger
than its others) or a scene cut, over the whole episode video.

``no_sudden_switch`` ∈ {0, 1} (higher is better).
"""

from __future__ import annotations

from spiral.bench.metrics._episode import Episode
from spiral.bench.metrics._video_checks import video_verdict


def compute(ep: Episode) -> dict[str, float]:
    v = video_verdict(ep)
    return {"no_sudden_switch": 0.0 if v is None else v.scores["continuity"]}
