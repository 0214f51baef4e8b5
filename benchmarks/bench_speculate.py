"""What ``loop.speculate`` saves when the generator and the critic do not share the CPU.

Usage: python benchmarks/bench_speculate.py [--category long] [--limit 10] [--gen-ms 400]
       [--critic-ms 150] [--fault-rate 0.2] [--json OUT]

A GPU generator and a VLM critic behind an HTTP endpoint both leave the Python process
waiting: while one waits, the other can run. This benchmark stands in for them with the
exact simulator (``sim-faulty``, which fails a known share of clips) and the perception
critic, each made to wait ``--gen-ms`` / ``--critic-ms`` per call (``time.sleep``, which
releases the GIL as a CUDA sync or a socket read does). It runs the tasks of
ActWM-Bench-Lite with the sequential loop and with ``loop.speculate=true`` and reports the
wall time of both, the calls generated ahead and not used, and whether every trace (timings
dropped) and every video are the same both ways. The injected waits are the assumption
here; the built-in model's own figures are ``bench_loop_overhead.py --speculate``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


class _Waiting:
    """Wraps a component: ``method`` waits ``ms`` milliseconds before answering."""

    def __init__(self, inner, method: str, ms: float):
        self._inner, self._method, self._s = inner, method, ms / 1e3

    def __getattr__(self, name):
        attr = getattr(self._inner, name)
        if name != self._method:
            return attr

        def waiting(*a, **kw):
            time.sleep(self._s)
            return attr(*a, **kw)

        return waiting


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--category", default="long")
    ap.add_argument("--limit", type=int, default=10)
    ap.add_argument("--gen-ms", type=float, default=400.0, help="wait per generator call")
    ap.add_argument("--critic-ms", type=float, default=150.0, help="wait per critique")
    ap.add_argument("--fault-rate", type=float, default=0.2, help="share of clips sim-faulty spoils")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    from spiral.api import build_components, run
    from spiral.bench.tasks import builtin_suite
    from spiral.config import build_config
    from spiral.core.trace import read_trace, strip_timings

    tasks = [json.loads(ln) for ln in builtin_suite().read_text().splitlines() if ln.strip()]
    tasks = [t for t in tasks if not args.category or t["category"] == args.category][: args.limit]
    tot = {spec: {"wall_s": 0.0, "calls": 0, "wasted": 0, "completed": 0} for spec in (False, True)}
    same = 0
    with tempfile.TemporaryDirectory() as tmp:
        for t in tasks:
            scene = Path(tmp) / f"{t['id']}.json"
            scene.write_text(json.dumps(t["scene"]))
            dirs = {}
            for spec in (False, True):
                cfg = build_config(overrides={"goal": t["goal"], "seed": t["seed"], "scene": {"file": str(scene)},
                                              "output": {"report": False}},
                                   sets=['generator.name="sim-faulty"', f"generator.fault_rate={args.fault_rate}",
                                         f"loop.speculate={str(spec).lower()}"])
                planner, generator, critic = build_components(cfg)
                comps = (planner, _Waiting(generator, "generate", args.gen_ms),
                         _Waiting(critic, "critique", args.critic_ms))
                out = Path(tmp) / ("spec" if spec else "seq") / t["id"]
                t0 = time.perf_counter()
                res, rd = run(cfg, out, components=comps)
                s = tot[spec]
                s["wall_s"] += time.perf_counter() - t0
                s["calls"] += res.generator_calls
                s["wasted"] += int((res.cost or {}).get("speculative_calls_wasted", 0))
                s["completed"] += res.status == "completed"
                dirs[spec] = rd.path
            same += (strip_timings(read_trace(dirs[False] / "trace.jsonl"))
                     == strip_timings(read_trace(dirs[True] / "trace.jsonl"))
                     and (dirs[False] / "video.mp4").read_bytes() == (dirs[True] / "video.mp4").read_bytes())
    res = {"tasks": len(tasks), "gen_ms": args.gen_ms, "critic_ms": args.critic_ms, "fault_rate": args.fault_rate,
           "sequential": {k: round(v, 2) if isinstance(v, float) else v for k, v in tot[False].items()},
           "speculative": {k: round(v, 2) if isinstance(v, float) else v for k, v in tot[True].items()},
           "wall_time_saved": round(1 - tot[True]["wall_s"] / tot[False]["wall_s"], 4),
           "identical_traces_and_videos": f"{same} of {len(tasks)}"}
    print(json.dumps(res, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
