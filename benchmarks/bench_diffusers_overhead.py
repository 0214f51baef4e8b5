"""Overhead of the diffusers adapters over a bare pipeline call, on the tiny random models.

Usage:  python benchmarks/bench_diffusers_overhead.py [--repeats 15] [--steps 4] [--frames 9] [--size 64]
                                                      [--families wan2.1-i2v,svd] [--json out.json]

For each family, the same tiny pipeline (``spiral.generators.diffusers.testing``) is called
two ways with the same inputs (conditioning frame, prompt, negative prompt, size, frames,
steps, guidance, seed), alternately, ``--repeats`` times:

* **bare**: ``pipe(image=PIL image, prompt=..., ..., generator=torch.Generator().manual_seed(s),
  output_type="np")``, what a user would write by hand;
* **adapter, cold**: ``generator.generate([request])`` with the prompt-embedding cache
  cleared first, so it does all the work the bare call does (prompt encoding included) plus
  the adapter's own: checks, grouping, PIL conversion, uint8 frames, metadata. Its extra
  time over the bare call is the adapter's **overhead** (target < 5 %).

Two estimates of the overhead are reported. *End to end*: (adapter − bare) / bare, on the
fastest of the repeats of each (the minimum is the least disturbed by other processes; the
median is printed too). *Instrumented*: inside each cold adapter call, the time spent
neither in the pipeline call nor in the prompt encoder (both of which the bare call also
does), i.e. the adapter's own code, over the bare call's time; this one does not depend on
the noise of the model's compute.

Also reported: the adapter on a retry of the same sub-action (**warm**: the prompt's
embedding comes from the cache) and **best-of-4** (four seeds of one request in one
batched pipeline call vs four bare calls; SVD samples one seed per call).

Tiny models make this a worst case for the overhead ratio: a real backbone spends seconds
to minutes per call, the adapter the same few milliseconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from spiral.core.types import GenerationRequest
from spiral.generators.diffusers.testing import FAMILIES, dummy_generator

PROMPT = "put the red cube in the bowl"
NEGATIVE = "blurry, melting objects"


def cond_frame(size: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    frame = np.full((size, size, 3), 200, np.uint8)
    frame[size // 4: size // 2, size // 4: size // 2] = (220, 30, 30)
    return np.clip(frame.astype(int) + rng.integers(-10, 10, frame.shape), 0, 255).astype(np.uint8)


def bare_kwargs(gen, frame: np.ndarray, args, seed: int) -> dict:
    """The hand-written pipeline call equivalent to one adapter request."""
    import torch
    from PIL import Image

    kw = {"image": Image.fromarray(frame), "height": args.size, "width": args.size, "num_frames": args.frames,
          "num_inference_steps": args.steps, "generator": torch.Generator().manual_seed(seed), "output_type": "np"}
    name = gen.name
    if name == "svd":
        kw.update(max_guidance_scale=args.guidance, fps=8, decode_chunk_size=gen.cfg.decode_chunk_size)
        return kw
    kw.update(prompt=PROMPT, max_sequence_length=gen.cfg.max_sequence_length, guidance_scale=args.guidance)
    if name == "hunyuanvideo-i2v":
        kw.update(prompt_template=gen.cfg.prompt_template, num_frames=gen.pipeline_frames(gen.pipeline, args.frames))
    else:
        kw["negative_prompt"] = NEGATIVE
    if name == "ltx-video-i2v":
        kw["frame_rate"] = 8
    if name == "cogvideox-i2v":
        kw["use_dynamic_cfg"] = gen.cfg.use_dynamic_cfg
    return kw


def bench_family(name: str, args) -> dict:
    import torch

    gen = dummy_generator(name, steps=args.steps, **({"on_prompt": "ignore"} if name == "svd" else {}))
    pipe = gen.pipeline
    frame = cond_frame(args.size)
    req = GenerationRequest(prompt=PROMPT, negative_prompt=NEGATIVE, cond_frame=frame, num_frames=args.frames,
                            height=args.size, width=args.size, fps=8, steps=args.steps, guidance=args.guidance,
                            seed=0)

    def bare(seed: int = 0) -> float:
        t = time.perf_counter()
        with torch.no_grad():
            pipe(**bare_kwargs(gen, frame, args, seed))
        return time.perf_counter() - t

    inner = {"s": 0.0}  # time inside the pipeline call and the prompt encoder
    cls = type(pipe)
    real_call, real_encode = cls.__call__, gen.encode_prompt

    def timed_call(self, *a, **kw):
        t = time.perf_counter()
        try:
            return real_call(self, *a, **kw)
        finally:
            inner["s"] += time.perf_counter() - t

    def timed_encode(*a, **kw):
        t = time.perf_counter()
        try:
            return real_encode(*a, **kw)
        finally:
            inner["s"] += time.perf_counter() - t

    cls.__call__ = timed_call
    gen.encode_prompt = timed_encode
    own: list[float] = []

    def adapter(cold: bool, seeds=(0,)) -> float:
        if cold:
            gen.clear_prompt_cache()
        reqs = [req.model_copy(update={"seed": s}) for s in seeds]
        inner["s"] = 0.0
        t = time.perf_counter()
        gen.generate(reqs)
        dt = time.perf_counter() - t
        if cold:
            own.append(dt - inner["s"])
        return dt

    for _ in range(2):  # warm-up: allocator, first-call paths
        bare()
        adapter(cold=True)
    t_bare, t_cold, t_warm = [], [], []
    for _ in range(args.repeats):  # interleaved, so drift in machine load hits both alike
        t_bare.append(bare())
        t_cold.append(adapter(cold=True))
        t_warm.append(adapter(cold=False))
    seeds = (1, 2, 3, 4)
    t_bare4, t_batch4 = [], []
    for _ in range(max(3, args.repeats // 3)):
        t_bare4.append(sum(bare(s) for s in seeds))
        t_batch4.append(adapter(cold=False, seeds=seeds))
    cls.__call__ = real_call
    del gen.encode_prompt
    med = statistics.median
    b, c, w = min(t_bare), min(t_cold), min(t_warm)
    own_s = med(own)
    return {"family": name, "bare_ms": 1000 * b, "adapter_cold_ms": 1000 * c, "adapter_warm_ms": 1000 * w,
            "overhead_pct": 100 * (c - b) / b, "overhead_ms": 1000 * (c - b),
            "bare_median_ms": 1000 * med(t_bare), "adapter_cold_median_ms": 1000 * med(t_cold),
            "overhead_median_pct": 100 * (med(t_cold) - med(t_bare)) / med(t_bare),
            "adapter_own_ms": 1000 * own_s, "adapter_own_pct": 100 * own_s / b,
            "warm_vs_bare_pct": 100 * (w - b) / b,
            "best_of_4_bare_ms": 1000 * min(t_bare4), "best_of_4_adapter_ms": 1000 * min(t_batch4),
            "best_of_4_speedup": min(t_bare4) / min(t_batch4)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--frames", type=int, default=9)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--guidance", type=float, default=5.0)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is steadiest on a shared box)")
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--json", default=None, help="also write the rows to this JSON file")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    rows = []
    for name in args.families.split(","):
        r = bench_family(name.strip(), args)
        rows.append(r)
        print(f"{name}: bare {r['bare_ms']:.1f} ms, adapter {r['adapter_cold_ms']:.1f} ms "
              f"(end to end {r['overhead_pct']:+.1f} %, median {r['overhead_median_pct']:+.1f} %; adapter's own code "
              f"{r['adapter_own_ms']:.2f} ms = {r['adapter_own_pct']:.2f} %), retry {r['adapter_warm_ms']:.1f} ms, "
              f"best-of-4 x{r['best_of_4_speedup']:.2f}", file=sys.stderr, flush=True)
    print(f"\nTiny random models, {args.frames} frames at {args.size}x{args.size}, {args.steps} steps, guidance "
          f"{args.guidance}, fastest of {args.repeats} interleaved repeats, {args.threads} torch thread(s)\n")
    print("| family | bare call (ms) | adapter (ms) | overhead, end to end | adapter's own code | "
          "retry, cached prompt (ms) | best-of-4: 4 bare calls (ms) | best-of-4: adapter, 1 call (ms) | speed-up |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['family']} | {r['bare_ms']:.1f} | {r['adapter_cold_ms']:.1f} | {r['overhead_pct']:+.1f} % | "
              f"{r['adapter_own_ms']:.2f} ms ({r['adapter_own_pct']:.2f} %) | {r['adapter_warm_ms']:.1f} | "
              f"{r['best_of_4_bare_ms']:.1f} | {r['best_of_4_adapter_ms']:.1f} | x{r['best_of_4_speedup']:.2f} |")
    e2e = [r["overhead_pct"] for r in rows]
    own = [r["adapter_own_pct"] for r in rows]
    print(f"\noverhead end to end: mean {statistics.mean(e2e):+.1f} %, worst {max(e2e):+.1f} %; "
          f"adapter's own code: mean {statistics.mean(own):.2f} %, worst {max(own):.2f} % (target < 5 %)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "rows": rows}, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
