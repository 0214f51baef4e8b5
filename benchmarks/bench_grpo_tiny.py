"""GRPO on ``tiny-ti2v``: base vs post-trained weights on ActWM-Bench and on the weak kinds.

Parts (``--parts``, comma-separated):

* ``bench``: ``spiral bench run`` on Hard plan-only (strict and lenient), Lite plan-only, and
  Hard closed-loop (retries per sub-action), once per ``--seeds`` (the suites' own tasks, their
  sampling seeds shifted by 10 000 × seed).
* ``kinds``: single samples from the simulator's **exact** frame, judged by the perception
  critic (the project's own checks), per weak kind: clearing steps ("move X to the table"),
  ``put_in`` in scenes with two or three bowls, a subject that had a cube on top (the step
  after its clearing), and long chains (8–12 steps) run from the model's **own** frames
  (each segment judged; plus the episode's strict-like pass: every segment passed). Tasks
  come from the Hard recipes on scene seeds of their own (``KINDS_BASE``): not the Hard suite,
  not its development split, not the training or validation seeds.
* ``throughput``: rollouts per second and seconds per GRPO update (group 8 × 4 requests,
  ``--threads``), a few updates on the world's requests (``--mask-decisions``: with the
  layers' sampled colour components, as ``spiral train grpo --mask-decisions`` trains).

``--weights`` is the post-trained directory (``generator.weights``); the base is the shipped
model (nothing set). Results: JSON to ``--out`` and a table on stdout.

    OMP_NUM_THREADS=2 HF_HUB_OFFLINE=1 python benchmarks/bench_grpo_tiny.py --weights runs/grpo-cur1/best \\
        --parts bench,kinds,throughput --seeds 0,1 --out runs/bench-grpo-tiny.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

KINDS_BASE = 74_000_000  # the Hard recipes on scenes of their own (Hard 50M, dev 60M, validation 70M/72M, training 80M+)


def _suite_with_seed(name: str, seed: int, root: Path) -> Path:
    from spiral.bench.tasks import builtin_suite

    src = builtin_suite(name)
    if seed == 0:
        return src
    out = root / f"{name}-seed{seed}.jsonl"
    lines = []
    for ln in src.read_text().splitlines():
        if ln.strip():
            t = json.loads(ln)
            t["seed"] = int(t["seed"]) + 10_000 * seed
            lines.append(json.dumps(t, separators=(",", ":")))
    out.write_text("\n".join(lines) + "\n")
    return out


def bench_part(weights: str | None, seeds: list[int], modes: list[tuple[str, str]], workers: int,
               root: Path) -> dict[str, Any]:
    from spiral.bench.runner import run_suite

    base = {"generator": {"name": "tiny-ti2v", **({"weights": weights} if weights else {})}}
    out: dict[str, Any] = {}
    for suite, mode in modes:
        for seed in seeds:
            path = _suite_with_seed(f"actwm-bench-{suite}", seed, root)
            t0 = time.perf_counter()
            res_dir = root / f"{suite}-{mode}-{seed}-{'post' if weights else 'base'}"
            summary = run_suite(path, res_dir, mode=mode, base=base, workers=workers)
            rows = [json.loads(ln) for ln in (res_dir / "results.jsonl").read_text().splitlines() if ln.strip()]
            steps = sum(int(r.get("horizon", 0)) for r in rows) or 1
            o = summary["overall"]
            out[f"{suite}/{mode}/seed{seed}"] = {
                "strict": o["strict_success"]["mean"], "lenient": o["task_success"]["mean"], "n": o["n"],
                "retries_per_subaction": sum(float(r.get("retries", 0)) for r in rows) / steps,
                "calls_per_subaction": sum(float(r.get("generator_calls", 0)) for r in rows) / steps,
                "by_category": {c: b["strict_success"]["mean"] for c, b in summary["by_category"].items()},
                "wall_s": round(time.perf_counter() - t0, 1)}
            print(f"  {suite} {mode} seed {seed}: strict {out[f'{suite}/{mode}/seed{seed}']['strict']:.3f}",
                  file=sys.stderr, flush=True)
    return out


def kinds_tasks(per_category: int) -> list[dict[str, Any]]:
    from spiral.bench.suites.make_hard import make

    return make(per_category, KINDS_BASE, "kinds")


def kinds_part(weights: str | None, seeds: list[int], per_category: int) -> dict[str, Any]:
    """Per weak kind: the share of single samples the critic passes."""
    from spiral.agents.perception_critic import PerceptionCritic
    from spiral.bench.suites.make_hard import is_clearing
    from spiral.bench.suites.make_lite import reference_plan
    from spiral.core.types import GenerationRequest
    from spiral.generators.tiny_ti2v import TinyTI2VGenerator
    from spiral.worlds.tabletop.actions import apply
    from spiral.worlds.tabletop.render import render_scene
    from spiral.worlds.tabletop.scene import Scene

    gen = TinyTI2VGenerator(config=TinyTI2VGenerator.Config(weights=weights))
    critic = PerceptionCritic()
    hits: dict[str, list[float]] = {"clearing": [], "put_in_2_3_bowls": [], "under_subject": [],
                                    "chain_segments_own_frames": [], "chain_all_segments_pass": []}

    def judge(frame, first, act, seed) -> tuple[bool, Any]:
        req = GenerationRequest(prompt=act.prompt, cond_frame=frame, keyframes=[first], num_frames=12, height=64,
                                width=64, seed=seed, action=act)
        clip = gen.generate([req])[0]
        return bool(critic.critique(clip, act, None).passed), clip

    for ti, t in enumerate(kinds_tasks(per_category)):
        scene0 = Scene.model_validate(t["scene"])
        ref = reference_plan(scene0, t["goal"])
        if ref is None:
            continue
        plan = ref[1]
        first = render_scene(scene0, 64)
        covered = {o.id for o in scene0.objects if scene0.above(o.id) is not None}
        n_bowls = sum(o.kind == "bowl" for o in scene0.objects)
        for seed in seeds:
            scene = scene0
            if t["category"] == "chain":  # from the model's own frames
                frame, ok_all = first, True
                for k, act in enumerate(plan):
                    ok, clip = judge(frame, first, act, 1000 * seed + 31 * ti + k)
                    if k:
                        hits["chain_segments_own_frames"].append(float(ok))
                    ok_all &= ok
                    frame = clip.frames[-1]
                hits["chain_all_segments_pass"].append(float(ok_all))
                continue
            for k, act in enumerate(plan):  # from the simulator's exact frame
                frame = render_scene(scene, 64)
                kind = None
                if is_clearing(act):
                    kind = "clearing"
                elif act.kind == "put_in" and n_bowls >= 2:
                    kind = "put_in_2_3_bowls"
                elif act.subject in covered:
                    kind = "under_subject"
                if kind is not None:
                    ok, _ = judge(frame, first, act, 1000 * seed + 31 * ti + k)
                    hits[kind].append(float(ok))
                scene = apply(scene, act)
    return {k: {"rate": (sum(v) / len(v)) if v else None, "n": len(v)} for k, v in hits.items()}


def throughput_part(threads: int, steps: int = 4, mask_decisions: bool = False) -> dict[str, Any]:
    import torch

    from spiral.agents.perception_critic import PerceptionCritic
    from spiral.rl.grpo import GRPOConfig, GRPOTrainer
    from spiral.rl.rewards import make_reward
    from spiral.rl.tiny_policy import TinyTI2VPolicy, world_requests

    torch.set_num_threads(threads)
    policy = TinyTI2VPolicy(explore=1.0, trainable="heads", mask_decisions=mask_decisions)
    with tempfile.TemporaryDirectory() as d:
        tr = GRPOTrainer(policy, make_reward(PerceptionCritic()), world_requests(64, seed=5),
                         GRPOConfig(group_size=8, requests_per_step=4, steps=steps, kl_beta=0.01, tensorboard=False),
                         out_dir=d)
        rows = tr.train()
    n = 8 * 4
    sample = sum(r["sample_s"] for r in rows)
    upd = [r["update_s"] for r in rows if r["grad_norm"] == r["grad_norm"]]
    return {"rollouts_per_s": round(n * len(rows) / sample, 2),
            "rollouts_and_rewards_per_s": round(n * len(rows) / sum(r["sample_s"] + r["reward_s"] for r in rows), 2),
            "s_per_update": round(sum(upd) / len(upd), 3) if upd else None,
            "s_per_step": round(sum(r["sample_s"] + r["reward_s"] + r["update_s"] for r in rows) / len(rows), 3),
            "threads": threads, "steps": len(rows), "mask_decisions": mask_decisions}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default=None, help="post-trained weights directory (absent: base only)")
    ap.add_argument("--which", default="base,post", help="base, post or both")
    ap.add_argument("--parts", default="bench,kinds,throughput")
    ap.add_argument("--modes", default="hard:plan-only,lite:plan-only,hard:closed-loop")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--kinds-per-category", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--mask-decisions", action="store_true",
                    help="throughput: rollouts also sample the layers' colour components (spiral train grpo --mask-decisions)")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    parts = set(args.parts.split(","))
    modes = [tuple(m.split(":")) for m in args.modes.split(",") if m]
    which = [w for w in args.which.split(",") if w]
    if "post" in which and not args.weights:
        ap.error("--which post needs --weights")
    res: dict[str, Any] = {"weights": args.weights, "seeds": seeds}
    with tempfile.TemporaryDirectory(prefix="bench-grpo-") as d:
        # every bench run first: they fork workers, and a fork after this process ran torch with
        # several threads (the kinds part) can hang in the child
        for w in which if "bench" in parts else []:
            print(f"{w}: bench", file=sys.stderr, flush=True)
            weights = args.weights if w == "post" else None
            res.setdefault("bench", {})[w] = bench_part(weights, seeds, modes, args.workers, Path(d))
        for w in which if "kinds" in parts else []:
            print(f"{w}: weak kinds", file=sys.stderr, flush=True)
            weights = args.weights if w == "post" else None
            res.setdefault("kinds", {})[w] = kinds_part(weights, seeds, args.kinds_per_category)
    if "throughput" in parts:
        res["throughput"] = throughput_part(args.threads, mask_decisions=args.mask_decisions)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
