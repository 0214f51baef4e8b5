"""Identity drift over the horizon: does any object's colour leave its first-frame
appearance (median hue more than the critic's threshold away, or reclassified) at any
point of the episode video? Judged against the *first* frame of the episode.

``identity_kept`` ∈ {0, 1} (higher is better); ``drifted_objects`` = how many drifted.
"""

from __future__ import annotations

from spiral.bench.metrics._episode import Episode
from spiral.bench.metrics._video_checks import video_verdict


def compute(ep: Episode) -> dict[str, float]:
    v = video_verdict(ep)
    if v is None:
        return {"identity_kept": 0.0, "drifted_objects": 0.0}
    n = len({o for f in v.failures if f.type == "identity_drift" for o in f.objects})
    return {"identity_kept": float(n == 0), "drifted_objects": float(n)}
