"""The Ray executor against the local one, and generator actors against the scaling model.

1. Overhead: the first N tasks of a built-in suite (``--suite lite|hard``, closed loop) with
   the project's default generator (``tiny-ti2v``, what ``spiral bench run`` uses) or
   ``--generator NAME`` (``sim``: milliseconds per clip, where the fixed cost weighs most),
   with the local executor (``--workers`` processes) and with the Ray executor
   (``--workers`` tasks in flight) on a local instance it starts and stops itself (counted)
   or on one already running; the arms interleaved ``--repeats`` times, medians (see
   :func:`overhead`). With ``--cli``, also the whole ``spiral bench run`` command, local
   against ray, each a new process (:func:`overhead_cli`: what a user waits for).
2. Scaling: a generator that waits ``--latency`` s per clip (``sim-faulty``, no faults) in
   1, 2, 4 actors, on the suite's long tasks; ``--in-flight`` episode tasks; clips per
   second against :func:`scaling_model`, whose CPU seconds per clip are measured first
   (the same tasks with ``sim``, no latency, on Ray). Throughput is given over the whole
   run and in the steady state (from the first clip until fewer than ``--in-flight``
   episodes are left: the tail, where actors idle, is a property of the suite's length).

    PYTHONPATH=src OMP_NUM_THREADS=1 python benchmarks/bench_ray.py --tasks 40 --out /tmp/bench-ray
    PYTHONPATH=src OMP_NUM_THREADS=1 python benchmarks/bench_ray.py --tasks 40 --repeats 3 --overhead-only --cli
    PYTHONPATH=src OMP_NUM_THREADS=1 python benchmarks/bench_ray.py --tasks 40 --repeats 3 --overhead-only --suite hard
    PYTHONPATH=src OMP_NUM_THREADS=1 python benchmarks/bench_ray.py --tasks 40 --repeats 3 --overhead-only --generator sim
    PYTHONPATH=src OMP_NUM_THREADS=1 python benchmarks/bench_ray.py --tasks 40 --repeats 3 --cli-only [--suite hard]

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
from typing import Self

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")


def scaling_model(actors: int, latency_s: float, cpu_s_per_clip: float, cpus: float, in_flight: int) -> float:
    """Clips per second (docs/ray.md): the smallest of what the actors serve (one clip of
    ``latency_s`` at a time each), what the CPUs serve on the episode side, and what the
    episodes in flight ask for (each waits for its clip, then works on it)."""
    return min(actors / latency_s, cpus / cpu_s_per_clip, in_flight / (latency_s + cpu_s_per_clip))


def _clips(results: Path) -> float:
    return sum(json.loads(ln)["generator_calls"] for ln in (results / "results.jsonl").read_text().splitlines())


class CpuMeter:
    """CPU seconds (user + system) of this process and all its descendants while in the
    block, sampled every ``every`` s by a thread (a process's last < ``every`` s before it
    ends are missed): less sensitive than wall time to the load of a shared machine."""

    def __init__(self, every: float = 0.2):
        import threading

        self.every, self.cpu_s = every, 0.0
        self._first: dict[tuple[int, float], float] = {}
        self._last: dict[tuple[int, float], float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _sample(self) -> None:
        import psutil

        me = psutil.Process()
        for p in [me, *me.children(recursive=True)]:
            try:
                key, t = (p.pid, p.create_time()), p.cpu_times()
                self._last[key] = t.user + t.system
                self._first.setdefault(key, self._last[key] if not self._started else 0.0)
            except psutil.Error:
                continue

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self._sample()

    def __enter__(self) -> Self:
        self._started = False
        self._sample()  # what ran before the block is not counted
        self._started = True
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.cpu_s = sum(v - self._first.get(k, 0.0) for k, v in self._last.items())


def overhead(suite: str, out: Path, base: dict, tasks: int, workers: int, repeats: int) -> dict:
    """Wall times of the first ``tasks`` tasks, arms interleaved ``repeats`` times (medians):
    ``local`` (``workers`` processes, pool start and stop included); ``ray_fresh`` (a Ray
    executor that starts its own local instance and stops it: ``ray.init``, the run and
    ``ray.shutdown`` all counted, as ``spiral bench run --executor ray`` pays them); and
    ``ray_running`` (on an instance started once, outside the clock: ``--ray-address auto``
    after ``ray start --head``). The load average before each run is kept: the machine is
    shared; so are the CPU seconds of each run (:class:`CpuMeter`), which the load disturbs less."""

    import ray

    from spiral.bench.runner import run_suite
    from spiral.exec import LocalExecutor
    from spiral.exec.ray_executor import RayExecutor

    runs: dict[str, list[dict]] = {"local": [], "ray_fresh": [], "ray_running": []}
    k = 0

    def local() -> None:
        nonlocal k
        k += 1
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        with CpuMeter() as cpu:
            run_suite(suite, out / f"local-{k}", base=base, limit=tasks, executor=LocalExecutor(workers))
        runs["local"].append({"wall_s": time.perf_counter() - t0, "load": load, "cpu_s": cpu.cpu_s})

    for _ in range(repeats):  # a fresh instance per run
        local()
        k += 1
        load = os.getloadavg()[0]
        ex = RayExecutor(max_in_flight=workers, num_cpus=workers)
        with CpuMeter() as cpu:
            t0 = time.perf_counter()
            with ex:
                t1 = time.perf_counter()
                run_suite(suite, out / f"ray-fresh-{k}", base=base, limit=tasks, executor=ex)
                t2 = time.perf_counter()
            t3 = time.perf_counter()
        runs["ray_fresh"].append({"wall_s": t3 - t0, "init_s": t1 - t0, "run_s": t2 - t1, "shutdown_s": t3 - t2,
                                  "load": load, "cpu_s": cpu.cpu_s})
    ray.init(num_cpus=workers, include_dashboard=False, logging_level="WARNING")  # outside the clock
    try:
        for _ in range(repeats):
            local()
            k += 1
            load = os.getloadavg()[0]
            t0 = time.perf_counter()
            with CpuMeter() as cpu:
                run_suite(suite, out / f"ray-running-{k}", base=base, limit=tasks,
                          executor=RayExecutor(max_in_flight=workers))
            runs["ray_running"].append({"wall_s": time.perf_counter() - t0, "load": load, "cpu_s": cpu.cpu_s})
    finally:
        ray.shutdown()

    def med(arm: str, key: str = "wall_s") -> float:
        return _median(runs, arm, key)

    loc = med("local")
    return {"tasks": tasks, "workers": workers, "repeats": repeats, "local_s": loc,
            "ray_fresh_s": med("ray_fresh"), "ray_fresh_init_s": med("ray_fresh", "init_s"),
            "ray_fresh_run_s": med("ray_fresh", "run_s"), "ray_fresh_shutdown_s": med("ray_fresh", "shutdown_s"),
            "ray_running_s": med("ray_running"),
            "cpu_s": {arm: med(arm, "cpu_s") for arm in runs},
            "ray_fresh_over_local": round(med("ray_fresh") / loc - 1, 3),
            "ray_running_over_local": round(med("ray_running") / loc - 1, 3),
            "runs": _rounded(runs)}


def _median(runs: dict[str, list[dict]], arm: str, key: str = "wall_s") -> float:
    import statistics

    return round(statistics.median(r[key] for r in runs[arm]), 2)


def _rounded(runs: dict[str, list[dict]]) -> dict[str, list[dict]]:
    return {arm: [{k: round(v, 2) for k, v in r.items()} for r in rs] for arm, rs in runs.items()}


def overhead_cli(suite: str, out: Path, generator: str | None, tasks: int, workers: int, repeats: int) -> dict:
    """What a user waits for: the whole ``spiral bench run`` command (a new Python process
    each: its imports, ``import ray``, the exit), three arms interleaved ``repeats`` times
    (medians): ``local`` (``--executor local``), ``ray`` (``--executor ray``: a local
    instance started and stopped by the command, counted) and ``ray_kept`` (``--executor
    ray --ray-address spiral``: the instance of ``spiral ray start``, started once before
    the first run and stopped after the last; those two commands are timed apart)."""
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
           "SPIRAL_RAY_DIR": tempfile.mkdtemp(prefix="sr-")}  # Ray's socket paths must stay under 107 bytes
    spiral = [sys.executable, "-m", "spiral.cli.main"]

    def timed(cmd: list[str]) -> float:
        t0 = time.perf_counter()
        r = subprocess.run(cmd, check=False, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode:
            raise SystemExit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-2000:]}")
        return time.perf_counter() - t0

    runs: dict[str, list[dict]] = {"local": [], "ray": [], "ray_kept": []}
    kept = {"start_load": os.getloadavg()[0], "start_s": timed([*spiral, "ray", "start", "--num-cpus", str(workers)])}
    try:
        for k in range(repeats):
            for arm, rows in runs.items():
                cmd = [*spiral, "bench", "run", "--suite", suite, "--limit", str(tasks), "--workers", str(workers),
                       "--executor", "local" if arm == "local" else "ray", "--out", str(out / f"cli-{arm}-{k}")]
                if arm == "ray_kept":
                    cmd += ["--ray-address", "spiral"]
                if generator:
                    cmd += ["--generator", generator]
                load = os.getloadavg()[0]
                rows.append({"wall_s": timed(cmd), "load": load})
    finally:
        kept["stop_load"] = os.getloadavg()[0]
        kept["stop_s"] = timed([*spiral, "ray", "stop"])
        shutil.rmtree(env["SPIRAL_RAY_DIR"], ignore_errors=True)

    def med(arm: str) -> float:
        return _median(runs, arm)

    return {"local_s": med("local"), "ray_s": med("ray"), "ray_over_local": round(med("ray") / med("local") - 1, 3),
            "ray_kept_s": med("ray_kept"), "ray_kept_over_local": round(med("ray_kept") / med("local") - 1, 3),
            "spiral_ray_start_stop": {kk: round(v, 2) for kk, v in kept.items()},
            "runs": _rounded(runs)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=40)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--latency", type=float, default=0.5)
    ap.add_argument("--actors", default="1,2,4")
    ap.add_argument("--in-flight", type=int, default=12)
    ap.add_argument("--scaling-tasks", type=int, default=30, help="long tasks in the scaling runs")
    ap.add_argument("--out", default=None)
    ap.add_argument("--repeats", type=int, default=3, help="interleaved runs of each overhead arm (median)")
    ap.add_argument("--overhead-only", action="store_true", help="skip the scaling runs")
    ap.add_argument("--generator", default=None, help="the overhead runs' generator (default: the project's "
                                                      "default, as `spiral bench run` without --generator)")
    ap.add_argument("--suite", default="lite", choices=("lite", "hard"), help="the overhead runs' built-in suite")
    ap.add_argument("--cli", action="store_true", help="also time the whole `spiral bench run` command, "
                                                       "--executor local against ray, on its own instance and "
                                                       "on `spiral ray start`'s (interleaved)")
    ap.add_argument("--cli-only", action="store_true", help="only the whole commands (implies --cli "
                                                            "--overhead-only)")
    a = ap.parse_args()
    out = Path(a.out or tempfile.mkdtemp(prefix="bench-ray-"))
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    os.environ.setdefault("RAY_TMPDIR", str(out / "ray-tmp"))
    (out / "ray-tmp").mkdir(exist_ok=True)

    import ray

    from spiral.bench.runner import run_suite
    from spiral.bench.tasks import builtin_suite
    from spiral.config import DEFAULT_GENERATOR
    from spiral.exec.ray_executor import RayExecutor

    suite = builtin_suite()
    sim = {"generator": {"name": "sim"}}
    res: dict = {"cpus": os.cpu_count(), "load_avg_start": os.getloadavg()}

    gen = {"generator": {"name": a.generator}} if a.generator else {}
    a.cli, a.overhead_only = a.cli or a.cli_only, a.overhead_only or a.cli_only
    res["overhead"] = {"suite": a.suite, "generator": a.generator or DEFAULT_GENERATOR, "tasks": a.tasks}
    if not a.cli_only:
        res["overhead"].update(overhead(builtin_suite(a.suite), out, gen, a.tasks, a.workers, a.repeats))
    if a.cli:
        res["overhead_cli"] = overhead_cli(a.suite, out, a.generator, a.tasks, a.workers, a.repeats)
    if a.overhead_only:
        res["load_avg_end"] = os.getloadavg()
        print(json.dumps(res, indent=1))
        return
    ray.init(num_cpus=a.workers, include_dashboard=False, logging_level="WARNING")

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
