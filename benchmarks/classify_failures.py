"""Which of ``tiny-ti2v``'s decisions made a plan-only episode fail (a development tool).

For every failing episode of a ``spiral bench run ... --mode plan-only`` output directory,
each segment is judged again by the perception critic (and the strict metric's torn/shape
rule at its rest frame); the first failing segment is re-sampled with its recorded seed and
its layer mask is compared with the colour components of its conditioning frame:

* ``mask: wrong object``: the mask holds (almost) none of the subject;
* ``mask: part of subject``: it holds part of the subject's component (the rest stays: torn);
* ``mask: extra object``: it carries a component that is neither the subject nor on it;
* ``mask: load left``: an object on the subject (or in the bowl it is) is not carried;
* otherwise the mask is right and the step failed on ``end point`` (post-conditions unmet),
  ``fill`` (a residue, something vanished or appeared) or ``other`` (the verdict's text).

Use it on the development split only (``--suite hard-dev``)::

    PYTHONPATH=src python benchmarks/classify_failures.py runs/hd-base-s0 [--weights DIR]
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

import numpy as np


def _mask(gen, frame: np.ndarray, request: dict) -> tuple[np.ndarray, np.ndarray | None]:
    """The layer masks the sampler drew for this recorded request (its seed and hints)."""
    from spiral.models.tiny_ti2v.sampling import generate_clips

    res = generate_clips(gen.model, gen.tok, frame[None], [request["prompt"]], [request["seed"]],
                         num_frames=request.get("num_frames"), steps=request.get("steps"),
                         temperature=gen.cfg.temperature, guidance=request.get("guidance"),
                         cleanup=gen.cfg.layer_cleanup, hints=[request.get("hints") or {}])
    return res[0]["layer_masks"]


def classify_step(gen, frame, action, request, verdict, torn, registry) -> str:
    from spiral.models.tiny_ti2v.sampling import colour_parts
    from spiral.worlds.tabletop.perception import perceive

    parts, colours = colour_parts(frame, gen.model.palette)
    n = int(parts.max()) + 1
    sizes = np.bincount(parts.ravel(), minlength=n)
    # objects as perception reads them off this frame (colours repeat across kinds: a
    # green ball and a green cube), each mapped to the colour component at its position
    sc = perceive(frame, {o["color"]: o["kind"] for o in registry if o.get("color")}).scene
    objs = {o.id: o for o in sc.objects} if sc is not None else {}

    names = gen.model.palette.names

    def comp(obj_id: str) -> int:
        """The component of the object's colour nearest its position (a stacked cube's
        anchor is its tower's: the nearest piece of its own colour is the cube)."""
        o = objs.get(obj_id)
        if o is None or o.color not in names:
            return 0
        ys, xs = np.nonzero(np.isin(parts, np.flatnonzero(colours == names.index(o.color))))
        if len(xs) == 0:
            return 0
        H, W = parts.shape
        k = int(np.argmin(np.hypot(xs + 0.5 - o.x * W, ys + 0.5 - o.y * H)))
        return int(parts[ys[k], xs[k]])

    mask_a, mask_b = _mask(gen, frame, request)
    subj = comp(action.subject)
    moving = {action.subject, *(action.objects if action.kind == "swap" else [])}
    load = set()
    for o in objs.values():  # on the subject (a tower), or in it (a bowl), at any depth
        cur, seen = o, 0
        while cur is not None and seen < 8:
            up = cur.on or cur.in_
            if up == action.subject:
                load.add(o.id)
            cur = objs.get(up) if up else None
            seen += 1
    union = mask_a | (mask_b if mask_b is not None else False)
    cover = np.bincount(parts[union], minlength=n) / np.maximum(sizes, 1)
    if subj and cover[subj] < 0.2:
        return "mask: wrong object"
    keep_ids = {comp(o) for o in moving | load} - {0}
    extra = [i for i in range(1, n) if cover[i] >= 0.65 and i not in keep_ids]
    if extra:
        return "mask: extra object"
    if subj and cover[subj] < 0.9:
        return "mask: part of subject"
    if any(comp(o) and cover[comp(o)] < 0.65 for o in load):
        return "mask: load left"
    kinds = {f.type for f in verdict.failures} if verdict is not None else set()
    details = " ".join(f.detail or "" for f in verdict.failures) if verdict is not None else ""
    if kinds & {"missing_action", "incomplete_action"}:
        return "end point"
    if "residue" in details or "not visible" in details or kinds & {"hallucinated_object"}:
        return "fill"
    if torn:
        return "render: torn with a whole mask"
    return "other: " + ",".join(sorted(kinds))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path, help="a plan-only bench output directory (development split only)")
    ap.add_argument("--weights", default=None)
    ap.add_argument("--all-steps", action="store_true", help="classify every failing step, not the first only")
    args = ap.parse_args()

    from spiral.agents.perception_critic import PerceptionCritic
    from spiral.core.types import Clip, SubAction
    from spiral.generators.tiny_ti2v import TinyTI2VGenerator
    from spiral.worlds.tabletop.cleanliness import shape_problems

    gen = TinyTI2VGenerator(config=TinyTI2VGenerator.Config(weights=args.weights)) if args.weights \
        else TinyTI2VGenerator()
    critic = PerceptionCritic()
    rows = [json.loads(x) for x in (args.out / "results.jsonl").read_text().splitlines() if x.strip()]
    counts: collections.Counter = collections.Counter()
    fails = [r for r in rows if r["strict_success"] < 1.0]
    print(f"{len(fails)} failing of {len(rows)} episodes")
    for r in sorted(fails, key=lambda r: r["id"]):
        d = args.out / "runs" / r["id"]
        ev = [json.loads(x) for x in (d / "trace.jsonl").read_text().splitlines()]
        plan = [e for e in ev if e["event"] == "plan"][-1]["steps"]
        reqs = {e["step"]: e["request"] for e in ev if e["event"] == "request"}
        registry = next(e for e in ev if e["event"] == "scene")["objects"]
        found = []
        for k, step in enumerate(plan):
            seg = d / "segments" / f"{k:04d}.npy"
            if not seg.exists():
                break
            clip = np.load(seg)
            action = SubAction.model_validate(step)
            v = critic.critique(Clip(frames=clip, fps=8), action)
            torn, shape = shape_problems(clip[-1], registry)
            if not v.passed or torn or shape:
                found.append(classify_step(gen, clip[0], action, reqs[k], v, torn, registry))
                if not args.all_steps:
                    break
        if not found:
            found = ["no segment fails alone (whole-video check)"]
        for c in found:
            counts[c] += 1
        print(f"{r['id']}: {found} | {'; '.join(r['strict_problems'][:3])}")
    print("\nfirst failing step, by decision:")
    for c, m in counts.most_common():
        print(f"  {m:3d}  {c}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
