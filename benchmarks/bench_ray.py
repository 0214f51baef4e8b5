"""The Ray executor against the local one, and generator actors against the scaling model.

1. Overhead: the first N tasks of ActWM-Bench-Lite (``--generator sim``) with the local
   executor (``--workers`` processes) and with the Ray executor (a local Ray instance,
   ``--workers`` tasks in flight), one after the other in this process. Ray's wall time is
   given with and without starting the instance (``ray.init``).
2. Scaling: a generator that waits ``--latency`` s per clip (``sim-faulty``, no faults) in
   1, 2, 4 actors, on the suite's long tasks; ``--in-flight`` episode tasks; clips per
   second against :func:`scaling_model`, whose CPU seconds per clip are measured first
   (the same tasks with ``sim``, no latency, on Ray). Throughput is given over the whole
   run and in the steady state (from the first clip until fewer than ``--in-flight``
   episodes are left: the tail, where actors idle, is a property of the suite's length).

    PYTHONPATH=src OMP_NUM_THREADS=1 python benchmarks/bench_ray.py --tasks 40 --out /tmp/bench-ray

Prints one JSON object (with the load average, the machine being shared).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")


def scaling_model(actors: int, latency_s: float, cpu_s_per_clip: float, cpus: float, in_flight: int) -> float:
    """Clips per second (docs/ray.md): the smallest of what the actors serve (one clip of
    ``latency_s`` at a time each), what the CPUs serve on the episode side, and what the
    episodes in flight ask for (each waits for its clip, then works on it)."""
    return min(actors / latency_s, cpus / cpu_s_per_clip, in_flight / (latency_s + cpu_s_per_clip))


def _clips(results: Path) -> float:
    return sum(json.loads(ln)["generator_calls"] for ln in (results / "results.jsonl").read_text().splitlines())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=40)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--latency", type=float, default=0.5)
    ap.add_argument("--actors", default="1,2,4")
    ap.add_argument("--in-flight", type=int, default=12)
    ap.add_argument("--scaling-tasks", type=int, default=30, help="long tasks in the scaling runs")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    out = Path(a.out or tempfile.mkdtemp(prefix="bench-ray-"))
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    os.environ.setdefault("RAY_TMPDIR", str(out / "ray-tmp"))
    (out / "ray-tmp").mkdir(exist_ok=True)

    import ray

    from spiral.bench.runner import run_suite
    from spiral.bench.tasks import builtin_suite
    from spiral.exec import LocalExecutor
    from spiral.exec.ray_executor import RayExecutor

    suite = builtin_suite()
    sim = {"generator": {"name": "sim"}}
    res: dict = {"cpus": os.cpu_count(), "load_avg_start": os.getloadavg()}

    t0 = time.perf_counter()
    run_suite(suite, out / "local", base=sim, limit=a.tasks, executor=LocalExecutor(a.workers))
    local_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    ray.init(num_cpus=a.workers, include_dashboard=False, logging_level="WARNING")
    init_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    run_suite(suite, out / "ray", base=sim, limit=a.tasks, executor=RayExecutor(max_in_flight=a.workers))
    ray_s = time.perf_counter() - t1
    res["overhead"] = {"tasks": a.tasks, "local_s": round(local_s, 2), "ray_s": round(ray_s, 2),
                       "ray_init_s": round(init_s, 2), "ray_over_local": round(ray_s / local_s - 1, 3),
                       "ray_with_init_over_local": round((ray_s + init_s) / local_s - 1, 3)}

    # long episodes (5-8 sub-actions), so that clips, not episode start-up, dominate
    long = [ln for ln in Path(suite).read_text().splitlines() if json.loads(ln)["category"] == "long"]
    long_suite = out / "long.jsonl"
    long_suite.write_text("\n".join(long[:a.scaling_tasks]) + "\n")
    # the episode side's CPU seconds per clip (critic, rendering, writing, evaluation, shipping):
    # the same tasks with no latency, as many in flight, so the CPUs are the bottleneck; this
    # also starts the Ray workers the timed runs use
    # no HTML report per episode: less CPU per clip on the episode side, so that with 4 actors
    # the actors, not this shared 2-core machine, are what is measured
    quiet = {"output": {"report": False}}
    d = out / "long-cpu"
    t0 = time.perf_counter()
    run_suite(long_suite, d, base={**sim, **quiet}, executor=RayExecutor(max_in_flight=a.in_flight,
                                                             task_num_cpus=a.workers / a.in_flight))
    cpu_per_clip = (time.perf_counter() - t0) * a.workers / _clips(d)
    faulty = {"generator": {"name": "sim-faulty", "latency_s": a.latency, "fault_rate": 0.0}, **quiet}
    rows = []
    for k in [int(x) for x in a.actors.split(",")]:
        d = out / f"actors-{k}"
        ex = RayExecutor(max_in_flight=a.in_flight, task_num_cpus=a.workers / a.in_flight, actors=k,
                         actor_config=faulty)
        tail: list[float] = []

        def progress(done: int, total: int, tail: list[float] = tail) -> None:
            if done == total - a.in_flight and not tail:  # after this completion the last task is submitted
                tail.append(time.time())

        with ex:  # the actors start (and load) before the clock
            t0 = time.perf_counter()
            run_suite(long_suite, d, base=faulty, executor=ex, progress=progress)
            wall = time.perf_counter() - t0
            stats = [ray.get(h.stats.remote()) for h in ex._handles]
        clips = _clips(d)
        # steady state: from the first clip to the start of the tail (fewer than --in-flight
        # episodes left), the clips the actors served
        done = sorted((t, n) for st in stats for t, n in zip(st["done_at"], st["batches"]))
        t_end = tail[0] if tail else done[-1][0]
        steady = sum(n for t, n in done[1:] if t <= t_end) / max(1e-9, t_end - done[0][0])
        model = scaling_model(k, a.latency, cpu_per_clip, a.workers, a.in_flight)
        rows.append({"actors": k, "clips": int(clips), "wall_s": round(wall, 2),
                     "clips_per_s": round(clips / wall, 3), "steady_clips_per_s": round(steady, 3),
                     "model_clips_per_s": round(model, 3), "steady_over_model": round(steady / model, 3),
                     "whole_run_over_model": round(clips / wall / model, 3)})
    res["cpu_s_per_clip"] = round(cpu_per_clip, 4)
    ray.shutdown()
    res["scaling"] = rows
    res["load_avg_end"] = os.getloadavg()
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
