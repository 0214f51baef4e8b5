"""Seconds per GRPO step on the tiny random-weight diffusers components (Flow-GRPO through LoRA).

Usage:  python benchmarks/bench_grpo_diffusers.py [--families wan2.1-i2v] [--group 4] [--steps 4]
                                                  [--grpo-steps 5] [--frames 9] [--size 64] [--guidance 5.0]
                                                  [--threads 2] [--json out.json]

For each family: a :class:`~spiral.rl.flow_grpo.FlowMatchingPolicy` (LoRA rank 8 on the
attention projections, base frozen) on the family's tiny pipeline, trained by
:class:`~spiral.rl.grpo.GRPOTrainer` on one request with a group of ``--group`` seeds and
``--steps`` denoising steps (every step sampled with the SDE and trained), for
``--grpo-steps`` updates after one warm-up update. Reported per update (median and fastest):
sampling the group (SDE, one batched pipeline call), replaying the recorded transformer calls
with gradients (forward + backward per denoising step) and the optimizer step, and the total.
The reward is the mean brightness of the last frame (random weights: it differs between seeds,
so every group has signal). The first update's ratio must be exactly 1 (checked).

Tiny models: the figure measures the machinery's cost (hooks, records, replay, peft, the
trainer), not a real backbone's; a real model's step is dominated by its transformer calls.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from spiral.core.types import GenerationRequest

PROMPT = "put the red cube in the bowl"


def cond_frame(size: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    frame = np.full((size, size, 3), 200, np.uint8)
    frame[size // 4: size // 2, size // 4: size // 2] = (220, 30, 30)
    return np.clip(frame.astype(int) + rng.integers(-10, 10, frame.shape), 0, 255).astype(np.uint8)


def brightness(clips, requests, **info):
    return [float(c.frames[-1].mean()) / 255.0 for c in clips]


def bench_family(family: str, args: argparse.Namespace) -> dict:
    from spiral.generators.diffusers.testing import dummy_generator
    from spiral.rl.flow_grpo import FlowMatchingPolicy
    from spiral.rl.grpo import GRPOConfig, GRPOTrainer

    gen = dummy_generator(family, steps=args.steps, guidance=args.guidance, max_batch=args.group)
    policy = FlowMatchingPolicy(gen)
    req = GenerationRequest(prompt=PROMPT, cond_frame=cond_frame(args.size), num_frames=args.frames,
                            height=args.size, width=args.size, seed=0)
    cfg = GRPOConfig(group_size=args.group, steps=args.grpo_steps + 1, lr=1e-3, kl_beta=0.01, tensorboard=False,
                     checkpoint_every=10_000)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = GRPOTrainer(policy, brightness, [req], cfg, out_dir=tmp)
        rows = []
        for k in range(args.grpo_steps + 1):
            t0 = time.perf_counter()
            row = trainer.step().row
            row["total_s"] = time.perf_counter() - t0
            if k == 0 and row["ratio_max_dev"] != 0.0:
                raise SystemExit(f"{family}: the ratio before the first update is not 1 "
                                 f"(max deviation {row['ratio_max_dev']})")
            rows.append(row)
    timed = rows[1:]

    def stat(key: str) -> dict:
        v = [r[key] for r in timed]
        return {"median": round(statistics.median(v), 4), "min": round(min(v), 4)}

    return {"family": family, "group": args.group, "denoising_steps": args.steps, "frames": args.frames,
            "size": args.size, "guidance": args.guidance, "updates_timed": len(timed),
            "lora_params": sum(p.numel() for p in policy.parameters()),
            "sample_s": stat("sample_s"), "update_s": stat("update_s"), "step_s": stat("total_s"),
            "first_ratio_max_dev": rows[0]["ratio_max_dev"], "kl_last": timed[-1]["kl"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--families", default="wan2.1-i2v")
    ap.add_argument("--group", type=int, default=4)
    ap.add_argument("--steps", type=int, default=4, help="denoising steps (all SDE, all trained)")
    ap.add_argument("--grpo-steps", type=int, default=5, help="timed updates (after one warm-up)")
    ap.add_argument("--frames", type=int, default=9)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--guidance", type=float, default=5.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    results = []
    for fam in [f for f in args.families.split(",") if f]:
        r = bench_family(fam, args)
        results.append(r)
        print(f"{fam:18s} group {r['group']}, {r['denoising_steps']} steps, {r['frames']}x{r['size']}x{r['size']}: "
              f"{r['step_s']['median']:.2f} s per GRPO step (min {r['step_s']['min']:.2f}; sampling "
              f"{r['sample_s']['median']:.2f} s, update {r['update_s']['median']:.2f} s), "
              f"{r['lora_params']} LoRA parameters, first ratio deviation {r['first_ratio_max_dev']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"threads": args.threads, "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
