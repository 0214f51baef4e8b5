"""Object permanence over the whole episode video: every registered object visible (with
its colour) in every frame, nothing duplicated or new.

``permanence`` ∈ [0, 1]: 1 − (object-frames missing) / (object-frames) (higher is better);
``no_hallucination`` ∈ {0, 1}.
"""

from __future__ import annotations

from spiral.bench.metrics._episode import Episode
from spiral.bench.metrics._video_checks import video_verdict


def compute(ep: Episode) -> dict[str, float]:
    v = video_verdict(ep)
    if v is None:
        return {"permanence": 0.0, "no_hallucination": 0.0}
    return {"permanence": v.scores["permanence"], "no_hallucination": v.scores["no_hallucination"]}
