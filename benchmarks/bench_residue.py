"""Residue of the built-in model's renders: what is left where a moved object stood.

Usage: python benchmarks/bench_residue.py [--n 400] [--seed 0] [--weights DIR] [--no-layer-cleanup]
       [--hard]

For ``n`` sub-actions sampled on new random scenes (seeds 70_000_000 + k: no dataset split,
no benchmark suite uses them; ``--hard``: 7–8 objects, up to three bowls, more stacks), the
model generates the clip from the exact start frame (seed 0). The *revealed region* is the
set of pixels the moving layers covered in the start frame that the exact result (the
simulator's end frame) shows as background: there the generated last frame should show the
table, the bowl's inside or the cube below, nothing else. Reported:

* ``residue_share``: the share of revealed pixels whose colour is off by more than 24 grey
  levels (in any channel) from the exact end frame and that are no whole object of the
  generated frame (an object the model put there, rightly or wrongly, is judged by the
  critic, not here), over all steps;
* ``steps_with_residue``: the share of steps with at least 4 such pixels (a visible ghost);
* ``mean_abs``: the mean absolute difference on the revealed region (grey levels).

Privileged simulator frames are used here only to *measure*; the model and its sampler see
the start frame and the prompt.
"""

from __future__ import annotations

import argparse
import json
import os
import random

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np

THR = 24  # grey levels: a visible difference on the flat table (perception and targets use 24 too)


def steps(n: int, seed: int, hard: bool) -> list[tuple]:
    from spiral.worlds.tabletop.sampling import sample_action
    from spiral.worlds.tabletop.scene import SceneSpec, random_scene

    spec = SceneSpec(7, 8, max_bowls=3, p_stacked=0.35, p_in_bowl=0.15) if hard else SceneSpec(3, 6)
    out, k = [], 0
    while len(out) < n:
        s = 70_000_000 + seed * 100_000 + k
        k += 1
        scene = random_scene(s, spec)
        act = sample_action(scene, random.Random(s))
        if act is not None:
            out.append((scene, act))
    return out


def whole_objects(frame: np.ndarray, min_area: int = 12) -> np.ndarray:
    """Pixels of palette-coloured components of at least ``min_area`` pixels (at 64×64), grown
    by a pixel (their soft edges)."""
    import cv2

    from spiral.worlds.tabletop.perception import classify_pixels

    lab = classify_pixels(frame)
    out = np.zeros(lab.shape, bool)
    area = min_area * (frame.shape[0] / 64) ** 2
    for c in np.unique(lab[lab >= 0]):
        n, cc, stats, _ = cv2.connectedComponentsWithStats((lab == c).astype(np.uint8), connectivity=8)
        big = np.zeros(n, bool)
        big[1:] = stats[1:, cv2.CC_STAT_AREA] >= area
        out |= big[cc]
    return cv2.dilate(out.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)


def measure(gen, items, size: int = 64) -> dict[str, float]:
    from spiral.core.types import GenerationRequest
    from spiral.worlds.tabletop.simulate import simulate
    from spiral.worlds.tabletop.targets import step_targets

    bad_px = total_px = 0
    with_res = 0
    abs_sum = 0.0
    for scene, act in items:
        t = step_targets(scene, act, size)
        exact, _ = simulate(scene, act, 12, size)
        req = GenerationRequest(prompt=act.prompt, cond_frame=exact[0], num_frames=12, height=size, width=size,
                                seed=0, action=act)
        clip = gen.generate([req])[0].frames
        end = exact[-1].astype(np.int16)
        revealed = (t.mask_a.astype(bool) | t.mask_b.astype(bool)) & (np.abs(end - t.fill).max(-1) == 0)
        if not revealed.any():
            continue
        diff = np.abs(clip[-1].astype(np.int16) - end)[revealed]
        # an object the model put (rightly or not) over the revealed region is no residue: count
        # the off pixels that are no whole object (a smudge, a ghost, a piece left behind)
        bad = int(((diff.max(-1) > THR) & ~whole_objects(clip[-1])[revealed]).sum())
        bad_px += bad
        total_px += int(revealed.sum())
        abs_sum += float(diff.mean()) * int(revealed.sum())
        with_res += bad >= 4
    return {"steps": len(items), "residue_share": round(bad_px / max(total_px, 1), 4),
            "steps_with_residue": round(with_res / max(len(items), 1), 4),
            "mean_abs": round(abs_sum / max(total_px, 1), 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--weights", default=None)
    ap.add_argument("--no-layer-cleanup", action="store_true")
    ap.add_argument("--hard", action="store_true", help="7–8 objects, up to three bowls, more stacks")
    args = ap.parse_args()
    from spiral.generators.tiny_ti2v import TinyTI2VGenerator

    gen = TinyTI2VGenerator(config=TinyTI2VGenerator.Config(
        weights=args.weights, layer_cleanup=False if args.no_layer_cleanup else None))
    print(json.dumps(measure(gen, steps(args.n, args.seed, args.hard))))


if __name__ == "__main__":
    main()
