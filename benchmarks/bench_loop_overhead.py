"""Loop overhead with the built-in model (issue 4's bar: <= 10 % of episode wall time).

Usage: python benchmarks/bench_loop_overhead.py [--tasks FILE] [--category long] [--limit N]
       [--generator tiny-ti2v] [--speculate] [--set KEY=VALUE ...] [--json OUT]

Runs the tasks closed-loop with one worker (so no other episode competes for the cores),
then reads every episode's timings from its trace (``episode_end``):

* ``overhead_share`` = (planning + critique + memory/IO) / wall time, summed over episodes
  (what ``loop_overhead_share`` in ``spiral bench`` reports per task);
* ``non_generator_share`` = 1 - generation / wall: everything that is not the generator,
  trace writing and bookkeeping included (the stricter reading);
* milliseconds per generator call of each part.

With ``--speculate`` it runs the tasks again with ``loop.speculate=true`` (the next step
generated on a worker thread while the critic judges; same trace and videos) and reports
both. There, the loop's work done while the generator ran (``overlap``) is not overhead;
``wall_over_sequential_generator`` = 1 - (the sequential run's generator time) / (the
speculative run's wall time) is the strict figure: a generator slowed by the work running
beside it, or a wasted call, counts against speculation there.

``fit`` splits the non-generator time into a fixed cost per episode and a cost per
generator call (least squares over the episodes), and gives the share that follows for
episodes of 1, 3, 5 and 10 calls, and its limit for very long ones.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any


def measure(lines: list[str], generator: str, speculate: bool, sets: list[str] = ()) -> dict[str, float]:
    """Run the tasks closed-loop (one worker) and sum the episodes' trace timings."""
    with tempfile.TemporaryDirectory() as tmp:
        tasks = Path(tmp) / "tasks.jsonl"
        tasks.write_text("\n".join(lines) + "\n")
        out = Path(tmp) / "results"
        subprocess.run([sys.executable, "-m", "spiral.cli.main", "bench", "run", "--tasks", str(tasks),
                        "--out", str(out), "--workers", "1", "--generator", generator,
                        "--set", f"loop.speculate={str(speculate).lower()}",
                        *[a for kv in sets for a in ("--set", kv)]], check=True)
        tot: dict[str, Any] = {"episodes": 0.0, "calls": 0.0, "wasted": 0.0, "per_episode": []}
        for tr in sorted(out.glob("runs/*/trace.jsonl")):
            for line in tr.read_text().splitlines():
                ev = json.loads(line)
                if ev["event"] != "episode_end":
                    continue
                tot["episodes"] += 1
                for k, v in ev["timing"].items():
                    tot[k] = tot.get(k, 0.0) + float(v)
                tot["calls"] += ev["generator_calls"]
                tot["per_episode"].append((ev["generator_calls"], ev["timing"]["wall_s"] - ev["timing"]["generate_s"],
                                           ev["timing"]["generate_s"]))
                tot["wasted"] += (ev.get("cost") or {}).get("speculative_calls_wasted", 0)
    return tot


def summarise(tot: dict[str, float]) -> dict[str, object]:
    wall, calls = tot["wall_s"], max(1.0, tot["calls"])
    over = max(0.0, tot["plan_s"] + tot["critic_s"] + tot["memory_io_s"] - tot.get("overlap_s", 0.0))
    res: dict[str, object] = {
        "episodes": int(tot["episodes"]), "generator_calls": int(tot["calls"]), "wall_s": round(wall, 3),
        "overhead_share": round(over / wall, 4), "non_generator_share": round(1 - tot["generate_s"] / wall, 4),
        "ms_per_call": {k.removesuffix("_s"): round(tot.get(k, 0.0) / calls * 1e3, 2)
                        for k in ("generate_s", "critic_s", "plan_s", "memory_io_s", "overlap_s",
                                  "speculation_waste_s") if k in tot},
        "other_ms_per_call": round((wall - tot["generate_s"] - over) / calls * 1e3, 2)}
    if "overlap_s" in tot:
        res["speculative_calls_wasted"] = int(tot["wasted"])
    res["fit"] = fit(tot["per_episode"])
    return res


def fit(per_episode: list[tuple[int, float, float]]) -> dict[str, Any]:
    """Least squares over episodes: non-generator time = fixed + per_call * generator calls.

    ``fixed`` is what an episode costs whatever its length (planning, the first look at the
    scene, the final evaluation and flush); ``per_call`` is what each generator call brings
    with it (critique, the pre-check and grounding, writing the segment). With the mean
    generator time per call ``g``, the non-generator share of an episode of ``n`` calls is
    (fixed + per_call * n) / (fixed + (per_call + g) * n); ``limit`` is its value for very
    long episodes, per_call / (per_call + g): a floor no horizon gets below."""
    if len(per_episode) < 2:
        return {}
    import numpy as np

    n = np.array([c for c, _, _ in per_episode], float)
    other = np.array([o for _, o, _ in per_episode], float)
    g = sum(x for _, _, x in per_episode) / max(1.0, n.sum())
    per_call, fixed = np.polyfit(n, other, 1)
    share = {str(k): round((fixed + per_call * k) / (fixed + (per_call + g) * k), 4) for k in (1, 3, 5, 10)}
    return {"fixed_ms_per_episode": round(fixed * 1e3, 2), "ms_per_call": round(per_call * 1e3, 2),
            "generator_ms_per_call": round(g * 1e3, 2), "share_by_calls": share,
            "limit": round(per_call / (per_call + g), 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", default=None, help="task file (default: ActWM-Bench-Lite)")
    ap.add_argument("--category", default=None, help="only tasks of this category (e.g. long)")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--generator", default="tiny-ti2v")
    ap.add_argument("--speculate", action="store_true",
                    help="also run with loop.speculate=true and compare with the sequential loop")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="config override for both runs, e.g. generator.threads=1 (repeatable)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    from spiral.bench.tasks import builtin_suite

    src = Path(args.tasks) if args.tasks else builtin_suite()
    lines = [ln for ln in src.read_text().splitlines() if ln.strip()]
    if args.category:
        lines = [ln for ln in lines if json.loads(ln).get("category") == args.category]
    if args.limit:
        lines = lines[: args.limit]
    seq = measure(lines, args.generator, False, args.set)
    res = summarise(seq)
    if args.speculate:
        spec = measure(lines, args.generator, True, args.set)
        res = {"sequential": res, "speculative": summarise(spec)}
        # the strict reading: the speculative episodes against the generator time of the same
        # calls made one at a time with nothing else running (the sequential run's)
        res["speculative"]["wall_over_sequential_generator"] = round(1 - seq["generate_s"] / spec["wall_s"], 4)
        res["wall_speedup"] = round(seq["wall_s"] / spec["wall_s"], 3)
    print(json.dumps(res, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
