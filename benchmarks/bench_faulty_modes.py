"""Closed loop vs plan-only vs open loop on seeded 4-step goals.

Usage:  python benchmarks/bench_faulty_modes.py [--episodes 50] [--steps 4] [--fault-rate 0.3]
                                                [--generator sim-faulty|tiny-ti2v] [--set KEY=VALUE ...]

Each episode: a seeded random scene and a random goal whose plan has exactly ``--steps``
sub-actions; the generator fails each attempt with probability ``--fault-rate`` (one of the
corruptions of spiral.worlds.tabletop.corrupt). "Completed" = every goal condition holds
in the final frame and no object is missing, judged by perception from pixels.
Also times one end-to-end `spiral run` (CLI, 2–4 step goal, run directory written).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from spiral.agents.perception_critic import PerceptionCritic
from spiral.agents.symbolic_planner import SymbolicPlanner
from spiral.config import apply_set, build_config
from spiral.core.loop import Loop
from spiral.core.memory import EpisodeMemory
from spiral.core.trace import Trace
from spiral.generators.sim_faulty import FaultySimGenerator
from spiral.worlds.tabletop.goal_gen import goal_episodes
from spiral.worlds.tabletop.render import render_scene
from spiral.worlds.tabletop.scene import SceneSpec, random_scene

MODES = ("closed-loop", "plan-only", "open-loop")


def make_generator(name: str, fault_rate: float):
    if name == "sim-faulty":
        return FaultySimGenerator(fault_rate=fault_rate)
    from spiral.registry import build

    return build("generator", name)


def run_episode(scene_seed: int, goal: str, mode: str, generator, seed: int, sets: list[str] = ()) -> dict:
    data = {"goal": goal, "mode": mode, "seed": seed, "scene": {"seed": scene_seed}, "generator": {"name": generator.name}}
    for item in sets:
        apply_set(data, item)
    cfg = build_config(overrides=data)
    scene = random_scene(scene_seed, SceneSpec(min_objects=4, max_objects=6))
    loop = Loop(SymbolicPlanner(), generator, PerceptionCritic(), EpisodeMemory(None), cfg, None, Trace(None))
    t0 = time.perf_counter()
    res = loop.run(goal, render_scene(scene), scene.model_dump(by_alias=True))
    return {"completed": res.success, "status": res.status, "calls": res.generator_calls,
            "retries": res.retries, "replans": res.replans, "wall_s": time.perf_counter() - t0,
            "overhead_s": res.timing["plan_s"] + res.timing["critic_s"] + res.timing["memory_io_s"]}


def time_cli_run(generator: str) -> float:
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "spiral.cli.main", "run", "--out", os.path.join(d, "r"), "-q",
                        "--generator", generator], check=False)
        return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--episodes", type=int, default=50)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--fault-rate", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--generator", default="sim-faulty", help="sim-faulty (default) or tiny-ti2v")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="config override for every mode, e.g. loop.on_failure=accept_best (repeatable)")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    episodes = goal_episodes(args.episodes, args.steps, seed=args.seed)
    rows = {}
    gen = make_generator(args.generator, args.fault_rate)
    for mode in MODES:
        rs = [run_episode(s, g, mode, gen, args.seed, args.set) for s, g in episodes]
        rows[mode] = {
            "completed": sum(r["completed"] for r in rs) / len(rs),
            "stopped": sum(r["status"] == "stopped" for r in rs) / len(rs),
            "calls_mean": statistics.mean(r["calls"] for r in rs),
            "retries_mean": statistics.mean(r["retries"] for r in rs),
            "replans_mean": statistics.mean(r["replans"] for r in rs),
            "wall_s_mean": statistics.mean(r["wall_s"] for r in rs),
        }
    cli_s = time_cli_run(args.generator)
    what = f"sim-faulty at {args.fault_rate:.0%} per attempt" if args.generator == "sim-faulty" else args.generator
    print(f"{args.episodes} seeded {args.steps}-step goals, {what}" + "".join(f", {kv}" for kv in args.set) + "\n")
    print("| mode | goals completed | stopped early | generator calls / goal | retries / goal | replans / goal | s / goal |")
    print("|---|---|---|---|---|---|---|")
    for mode, r in rows.items():
        print(f"| {mode} | {r['completed']:.0%} | {r['stopped']:.0%} | {r['calls_mean']:.2f} | {r['retries_mean']:.2f} "
              f"| {r['replans_mean']:.2f} | {r['wall_s_mean']:.3f} |")
    print(f"\n`spiral run` (demo, 2 steps, CLI end to end incl. startup, video and report): {cli_s:.2f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "modes": rows, "cli_run_s": cli_s}, f, indent=1)


if __name__ == "__main__":
    main()
