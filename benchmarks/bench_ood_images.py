"""Out-of-domain detection of first frames (``spiral.worlds.tabletop.domain``).

Usage: python benchmarks/bench_ood_images.py [--renders 500] [--per-category 40] [--json]

Prints, for each set and each category in it, how many images are flagged (confidence
below the refusal threshold: ``spiral run --image/--scene`` refuses them) and how many
are only warned about:

* real renders (``--renders``, seeds × sizes 64–256: default scenes, crowded 7–8 object
  scenes, two or three bowls with contents, towers, mid-action simulator frames with and
  without the gripper): the bar is 0 % flagged;
* benign variants (renders resized from 256, saved as JPEG q90, faint noise): should not
  be flagged either (not part of the bar);
* the photo-like set (``--per-category`` images of each procedural kind at 64/128/256 px,
  plus matplotlib's sample photos and crops of them): the bar is ≥ 95 % flagged.

Everything is generated from fixed seeds (same output every run); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import collections
import json
import time

import numpy as np

from spiral.bench.ood_images import benign_variants, photo_like, real_renders
from spiral.worlds.tabletop.domain import REFUSE_BELOW, WARN_BELOW, assess


def measure(items) -> dict[str, dict[str, float]]:
    by: dict[str, list[float]] = collections.defaultdict(list)
    times = []
    for cat, img in items:
        t0 = time.perf_counter()
        by[cat].append(assess(img).confidence)
        times.append(time.perf_counter() - t0)
    out = {c: {"n": len(v), "flagged": float(np.mean(np.array(v) < REFUSE_BELOW)),
               "warned": float(np.mean((np.array(v) >= REFUSE_BELOW) & (np.array(v) < WARN_BELOW))),
               "min_confidence": float(min(v))} for c, v in by.items()}
    allv = np.array([x for v in by.values() for x in v])
    out["ALL"] = {"n": len(allv), "flagged": float(np.mean(allv < REFUSE_BELOW)),
                  "warned": float(np.mean((allv >= REFUSE_BELOW) & (allv < WARN_BELOW))),
                  "min_confidence": float(allv.min()), "median_ms": 1000 * float(np.median(times))}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--renders", type=int, default=500)
    ap.add_argument("--per-category", type=int, default=40)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    a = ap.parse_args()
    sets = {"real renders": measure(real_renders(a.renders)),
            "benign variants": measure(benign_variants()),
            "photo-like": measure(photo_like(a.per_category))}
    if a.json:
        print(json.dumps(sets, indent=1))
        return
    for name, res in sets.items():
        print(f"\n{name}")
        for cat, r in res.items():
            extra = f"  median {r['median_ms']:.0f} ms/image" if "median_ms" in r else ""
            print(f"  {cat:30s} n={r['n']:4d}  flagged {r['flagged']:6.1%}  warned {r['warned']:6.1%}  "
                  f"min confidence {r['min_confidence']:.2f}{extra}")
    real, photo = sets["real renders"]["ALL"]["flagged"], sets["photo-like"]["ALL"]["flagged"]
    print(f"\nbar: real renders flagged {real:.1%} (need 0 %), photo-like flagged {photo:.1%} (need ≥ 95 %)")


if __name__ == "__main__":
    main()
