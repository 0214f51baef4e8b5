"""False alarms of the perception critic on exact clips.

Usage: python benchmarks/bench_critic_false_alarms.py [--scenes 1500] [--steps 3] [--size 64]

Every clip here is the exact simulator's rendering of a correct sub-action, so every
rejection is a false alarm. For each seeded random scene (3–6 objects) it samples
``--steps`` sub-actions in a row (all six kinds), renders each exactly and asks the critic;
it prints the rejections by action kind and failure type, and each one's scene seed, step
and reason. (``bench_critic_fidelity.py`` measures the other side, on 100 exact clips
and their corruptions.) A scene whose first frame perception reads wrong is counted
apart: the critic's registry would be wrong from the start.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import time

from spiral.agents.perception_critic import PerceptionCritic
from spiral.core.memory import EpisodeMemory
from spiral.core.types import Clip
from spiral.worlds.tabletop.actions import apply
from spiral.worlds.tabletop.render import render_scene
from spiral.worlds.tabletop.sampling import sample_action
from spiral.worlds.tabletop.scene import SceneSpec, random_scene
from spiral.worlds.tabletop.simulate import simulate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenes", type=int, default=1500)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    critic = PerceptionCritic()
    clips: collections.Counter = collections.Counter()
    alarms: collections.Counter = collections.Counter()
    misread, examples = 0, []
    t0 = time.perf_counter()
    for seed in range(args.scenes):
        scene = random_scene(seed, SceneSpec(min_objects=3, max_objects=6))
        first = render_scene(scene, args.size)
        objects = critic.observe(first)
        if {o["id"] for o in objects} != {o.id for o in scene.objects}:
            misread += 1
            continue
        memory = EpisodeMemory(None)
        memory.register_objects(objects, first)
        rng = random.Random(seed)
        state = scene
        for k in range(args.steps):
            act = sample_action(state, rng)
            if act is None:
                break
            frames, _ = simulate(state, act, 12, args.size)
            verdict = critic.critique(Clip(frames=frames, fps=8), act, memory)
            clips[act.kind] += 1
            if not verdict.passed:
                alarms[(act.kind, verdict.failure_type)] += 1
                examples.append({"seed": seed, "step": k, "prompt": act.prompt,
                                 "why": [f.detail for f in verdict.failures][:2]})
            state = apply(state, act)
        memory.close()
    n, bad = sum(clips.values()), sum(alarms.values())
    print(f"{n} exact clips from {args.scenes} scenes ({args.size} px), {time.perf_counter() - t0:.0f} s")
    print(f"false alarms: {bad} ({bad / max(1, n):.2%}); first frame misread in {misread} scenes (skipped)")
    for (kind, ftype), c in sorted(alarms.items()):
        print(f"  {kind}: {c} of {clips[kind]} as {ftype}")
    for e in examples:
        print(f"  seed {e['seed']} step {e['step']}: {e['prompt']} | {'; '.join(e['why'])}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"clips": n, "false_alarms": bad, "misread_scenes": misread, "by_kind": dict(clips),
                       "examples": examples}, f, indent=1)


if __name__ == "__main__":
    main()
