"""The built-in world model against the bars of issue 3.

Usage: python benchmarks/bench_tiny_ti2v.py [--data data/actwm-lite] [--weights DIR] [--n 300] [--chains 50]
       [--teacher-forced] [--no-ground] [--no-layer-cleanup] [--more-chain-sets K]

* 300 held-out validation sub-actions (new scenes, all action kinds, paraphrased prompts),
  judged from pixels by the tabletop perception critic: single-sample success, object
  permanence, non-target stillness, and success when the critic may retry (≤ 4 attempts);
* 8 chained sub-actions (the model continues from its own output): all-correct-so-far per
  step, with and without keyframe memory (``--teacher-forced``: the same chains from the
  simulator's true frame at every step, which separates the model's own error from drift).
  Each step is grounded as the closed loop does (``loop.ground``): a push or swap whose
  plan-time pins rest on where an earlier step was assumed to land an object is pinned
  again from the model's frame. The chains judged against the plan-time pins are reported
  too (``--no-ground``: only those). ``--more-chain-sets K`` also runs K other sets of
  chains (new goals and scenes: ``eval_chains(seed=1..K)``), last frame only, and reports
  the all-correct figure of each set and the mean over all sets (one set of 200 chains
  moves by a few points from set to set);
* uncovering steps (the subject stands on a cube): how often the predicted fill shows the
  lower cube whole;
* seed diversity: spread of the moved object's end point across 8 seeds, per action kind;
* speed: one clip at batch 1, batched throughput, and a 4-step closed-loop `spiral run`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="data/actwm-lite")
    ap.add_argument("--weights", default=None, help="default: the weights shipped in the package")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--chains", type=int, default=50)
    ap.add_argument("--teacher-forced", action="store_true",
                    help="also run the chains from the simulator's true frame at every step (no drift)")
    ap.add_argument("--no-ground", action="store_true",
                    help="judge chain steps against the plan-time pins (no grounding of relative steps, "
                         "unlike the closed loop) instead of reporting them as an extra curve")
    ap.add_argument("--no-layer-cleanup", action="store_true",
                    help="sample without the hand-written layer clean-up (generator.layer_cleanup=false)")
    ap.add_argument("--more-chain-sets", type=int, default=0,
                    help="also run this many other sets of chains (last frame only) and report the mean")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    from spiral.bench.world_model import (
        eval_chains,
        eval_chains_teacher_forced,
        eval_single,
        eval_uncovered_fill,
        val_steps,
    )
    from spiral.core.types import GenerationRequest
    from spiral.generators.tiny_ti2v import TinyTI2VGenerator

    def config(**kw):
        return TinyTI2VGenerator.Config(weights=args.weights, layer_cleanup=False if args.no_layer_cleanup else None,
                                        **kw)

    gen = TinyTI2VGenerator(config=config())
    res: dict = {}
    steps = val_steps(args.data, args.n)
    t0 = time.perf_counter()
    res["single"] = eval_single(gen, steps)
    res["single"]["eval_s"] = round(time.perf_counter() - t0, 1)
    gen_kf = TinyTI2VGenerator(model=gen.model, tokenizer=gen.tok, config=config(keyframe_memory=True))
    res["chains_keyframes"] = eval_chains(gen_kf, n=args.chains, length=8, keyframes=True,
                                          ground=not args.no_ground)
    gen_nokf = TinyTI2VGenerator(model=gen.model, tokenizer=gen.tok, config=config(keyframe_memory=False))
    res["chains_last_frame_only"] = eval_chains(gen_nokf, n=args.chains, length=8, keyframes=False,
                                                ground=not args.no_ground)
    if not args.no_ground:  # what judging against the plan-time pins gave (before loop.ground existed)
        res["chains_plan_time_pins"] = eval_chains(gen_nokf, n=args.chains, length=8, keyframes=False, ground=False)
    if args.more_chain_sets:
        finals = [res["chains_last_frame_only"]["all_correct_so_far"][-1]]
        for k in range(1, args.more_chain_sets + 1):
            other = eval_chains(gen_nokf, n=args.chains, length=8, keyframes=False, ground=not args.no_ground, seed=k)
            finals.append(other["all_correct_so_far"][-1])
        res["chain_sets_all_correct"] = {"per_set": finals, "mean": round(float(np.mean(finals)), 4)}
    res["uncovered_fill"] = eval_uncovered_fill(gen, args.data)
    if args.teacher_forced:
        res["chains_teacher_forced"] = eval_chains_teacher_forced(gen_nokf, n=args.chains, length=8,
                                                                  ground=not args.no_ground)

    # seed diversity: spread (std, px) of the end point over 8 seeds
    div: dict[str, list[float]] = {}
    for s in steps[:60]:
        reqs = [GenerationRequest(prompt=s["sub"].prompt, cond_frame=s["frame"], seed=k) for k in range(8)]
        ends = [c.meta["ends"][0] for c in gen.generate(reqs) if c.meta["ends"]]
        if len(ends) == 8:
            div.setdefault(s["sub"].kind, []).append(float(np.linalg.norm(np.std(np.asarray(ends), axis=0))))
    res["seed_diversity_px"] = {k: round(float(np.mean(v)), 2) for k, v in sorted(div.items())}

    # speed
    f = steps[0]["frame"]
    req = GenerationRequest(prompt=steps[0]["sub"].prompt, cond_frame=f, seed=0)
    gen.generate([req])
    t = time.perf_counter()
    for i in range(20):
        gen.generate([req.model_copy(update={"seed": i})])
    res["ms_per_clip_batch1"] = round((time.perf_counter() - t) / 20 * 1000, 1)
    batch = [req.model_copy(update={"seed": i}) for i in range(32)]
    gen.generate(batch)
    t = time.perf_counter()
    gen.generate(batch)
    res["clips_per_s_batch32"] = round(32 / (time.perf_counter() - t), 1)
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "spiral.cli.main", "run",
                        ("stack the green cube on the blue one, then put the red ball in the bowl, then move the "
                        "yellow ball next to the green cube, then push the purple bowl to the left"),
                        "--generator", "tiny-ti2v", "--out", os.path.join(d, "r"), "-q",
                        *(["--set", "generator.layer_cleanup=false"] if args.no_layer_cleanup else [])], check=False)
        res["closed_loop_4_step_run_s"] = round(time.perf_counter() - t, 2)
        with open(os.path.join(d, "r", "state.json")) as f:
            st = json.load(f)
        res["closed_loop_4_step_run"] = {k: st["result"][k] for k in ("status", "generator_calls", "retries",
                                                                       "replans")}
        res["closed_loop_4_step_run"]["goal_satisfied"] = (st["result"].get("goal") or {}).get("satisfied")
    s = res["single"]
    print(f"held-out sub-actions: {s['n']}  success {s['success']:.1%}  permanence {s['permanence']:.1%}  "
          f"still {s['still']:.1%}  closed-loop (<=4 attempts) {s['closed_loop_success']:.1%}")
    print("success by kind:", s["success_by_kind"])
    print("failure types:", s["failures"])
    print("8-step chains, all-correct-so-far  with keyframes:", res["chains_keyframes"]["all_correct_so_far"])
    lf = res["chains_last_frame_only"]
    print("                                   last frame only:", lf["all_correct_so_far"],
          f"(grounded {lf['grounded']}, not taken {lf['ground_skipped']}, failed {lf['ground_failed']})"
          if lf["ground"] else "(plan-time pins)")
    print("    first failure of each failing chain (kind: type):", lf["first_failures"])
    if "chains_plan_time_pins" in res:
        print("         last frame only, judged against plan-time pins:",
              res["chains_plan_time_pins"]["all_correct_so_far"])
    if "chains_teacher_forced" in res:
        tf = res["chains_teacher_forced"]
        print("           teacher-forced (true frame each step), per-step success:", tf["step_success"],
              f"all 8 right {tf['all_steps_right']:.1%}", tf["failures"])
    if "chain_sets_all_correct" in res:
        cs = res["chain_sets_all_correct"]
        print(f"8-step chains, last frame only, over {len(cs['per_set'])} sets of chains (seeds 0..): "
              f"{cs['per_set']}  mean {cs['mean']:.1%}")
    u = res["uncovered_fill"]
    print(f"uncovering steps (subject on a cube) whose predicted fill shows the lower cube whole: {u['whole']} of {u['n']}")
    print("seed diversity (px std of end point over 8 seeds):", res["seed_diversity_px"])
    print(f"speed: {res['ms_per_clip_batch1']} ms/clip at batch 1, {res['clips_per_s_batch32']} clips/s at batch 32; "
          f"4-step closed-loop spiral run {res['closed_loop_4_step_run_s']} s {res['closed_loop_4_step_run']}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=1)


if __name__ == "__main__":
    main()
