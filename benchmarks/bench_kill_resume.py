"""Kill -9 at random moments, two writers on one directory: what survives, what is refused.

Usage:  python benchmarks/bench_kill_resume.py [--kills 20] [--trials 20] [--tasks 12] [--seed 0]
                                               [--workers 2] [--keep DIR]

1. ``spiral bench run`` (a ``--tasks``-task slice of ActWM-Bench-Lite, ``--generator sim``,
   ``--workers 2``) SIGKILLed at ``--kills`` random moments (seeded) and resumed until done.
   Whenever a benchmark finishes before the kills are used up, it is checked and a new one
   starts. Counted per finished benchmark: every task exactly once in ``results.jsonl``, no
   error row, the same metrics as an uninterrupted benchmark, every task's trace valid
   against ``trace.schema.json`` with ``seq`` 0, 1, 2, …; and after every kill the workers
   of the killed process (its children, read from /proc just before the kill) still alive
   2 s later: orphans.
2. ``spiral dataset build`` (a tiny spec, 12 shards, ``--workers 2``), the same way: every
   shard exactly once in ``dataset.json`` and byte-identical to an uninterrupted build, no
   temporary file left, no orphans.
3. Concurrency: ``--trials`` times two ``spiral run --resume`` started together on a copy of
   one killed run directory, and ``--trials`` times two ``spiral bench run`` started
   together on one new results directory: exactly one proceeds (exit 0), the other exits 2
   naming the holder; the traces stay valid with unique ``seq``.

Prints a table; exit 1 if any bar is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

ENV = {**os.environ, "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE",
       "HF_HUB_OFFLINE": "1"}
PY = [sys.executable, "-m", "spiral.cli.main"]
GOAL = ("stack the green cube on the blue one, then put the red ball in the bowl, "
        "then move the yellow ball next to the green cube, then push the purple bowl to the left")
DATASET_ARGS = ["--train", "24", "--validation", "6", "--test", "6", "--shard-size", "3", "--size", "32",
                "--frames", "4", "--max-steps", "2", "--workers", "2"]


# -- /proc ---------------------------------------------------------------------------------
def children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d.name))
            except (OSError, IndexError, ValueError):
                continue
    return out


def alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def kill_and_count_orphans(p: subprocess.Popen) -> int:
    """SIGKILL ``p``; how many of its children are still alive 2 s later (and kill those)."""
    kids = children(p.pid)
    p.send_signal(signal.SIGKILL)
    p.wait()
    time.sleep(2.0)
    orphans = [k for k in kids if alive(k)]
    for k in orphans:
        os.kill(k, signal.SIGKILL)
    return len(orphans)


# -- checks --------------------------------------------------------------------------------
def validator():
    from jsonschema import Draft202012Validator

    return Draft202012Validator(json.loads(resources.files("spiral.core").joinpath("trace.schema.json").read_text()))


def trace_ok(path: Path, v) -> bool:
    try:
        events = [json.loads(x) for x in path.read_text().splitlines()]
    except (OSError, ValueError):
        return False
    return ([e.get("seq") for e in events] == list(range(len(events)))
            and all(not list(v.iter_errors(e)) for e in events))


def result_rows(out: Path) -> list[dict]:
    rows = []
    f = out / "results.jsonl"
    for ln in (f.read_text().splitlines() if f.exists() else []):
        try:
            rows.append(json.loads(ln))
        except ValueError:
            rows.append({"id": None, "status": "unparsable"})
    return rows


KEYS = ("status", "task_success", "subaction_completion", "generator_calls", "permanence")


def check_bench(out: Path, ref: dict[str, dict], v) -> dict[str, int]:
    rows = result_rows(out)
    ids = [r["id"] for r in rows]
    return {"tasks_once": int(sorted(ids) == sorted(ref) and len(set(ids)) == len(ids)),
            "error_rows": sum(r.get("status") in ("error", "unparsable") for r in rows),
            "same_metrics": int(all(r["id"] in ref and all(r.get(k) == ref[r["id"]].get(k) for k in KEYS)
                                    for r in rows)),
            "bad_traces": sum(not trace_ok(out / "runs" / i / "trace.jsonl", v) for i in ref)}


def check_dataset(out: Path, ref: Path) -> dict[str, int]:
    try:
        m = json.loads((out / "dataset.json").read_text())
        ref_m = json.loads((ref / "dataset.json").read_text())
    except (OSError, ValueError):
        return {"shards_once": 0, "identical": 0, "tmp_left": 0}
    names = [s["shard"] for s in m.get("shards", [])]
    ref_names = [s["shard"] for s in ref_m["shards"]]
    same = all((out / n).read_bytes() == (ref / n).read_bytes() for n in ref_names if (out / n).exists())
    return {"shards_once": int(m.get("complete") and sorted(names) == sorted(ref_names)
                               and len(set(names)) == len(names)),
            "identical": int(same and m["shards"] == ref_m["shards"]),
            "tmp_left": len(list(out.glob(".*.tmp")))}


# -- part 1 and 2: kill at random moments ----------------------------------------------------
def kill_loop(name: str, cmd_for, check, kills: int, rng: random.Random, max_delay: float, work: Path) -> dict:
    """Start ``cmd_for(out)``, SIGKILL it after a random delay, resume; a finished ``out``
    is checked and replaced by a new one until ``kills`` kills happened."""
    agg = {"kills": 0, "orphans": 0, "finished": 0, "failed_exits": 0}
    sums: dict[str, int] = {}
    k = 0
    out = work / f"{name}-0"
    while True:
        p = subprocess.Popen(cmd_for(out), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        killing = agg["kills"] < kills
        if killing:
            deadline = time.monotonic() + rng.uniform(0.2, max_delay)
            while p.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
        if killing and p.poll() is None:
            agg["orphans"] += kill_and_count_orphans(p)
            agg["kills"] += 1
            continue
        p.wait()
        err = p.stderr.read().decode()
        if p.returncode != 0:
            agg["failed_exits"] += 1
            print(f"  {name}: exit {p.returncode}: {err.strip()[-300:]}", file=sys.stderr)
            if agg["failed_exits"] > 3:
                break
            continue
        agg["finished"] += 1
        for key, val in check(out).items():
            sums[key] = sums.get(key, 0) + val
        if agg["kills"] >= kills:
            break
        k += 1
        out = work / f"{name}-{k}"
    return {**agg, **sums}


# -- part 3: two writers ---------------------------------------------------------------------
def two_at_once(cmd: list[str]) -> tuple[list[int], str]:
    ps = [subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(2)]
    codes, errs = [], ""
    for p in ps:
        _, err = p.communicate(timeout=600)
        codes.append(p.returncode)
        errs += err.decode()
    return sorted(codes), errs


def killed_run(out: Path) -> None:
    cmd = PY + ["run", GOAL, "--out", str(out), "-q", "--generator", "sim", "--set", "generator.latency_s=0.25"]
    p = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while p.poll() is None and not (out / "state.json").exists():
        time.sleep(0.01)
    p.send_signal(signal.SIGKILL)
    p.wait()


def concurrency(trials: int, tasks: Path, work: Path, v) -> dict[str, dict[str, int]]:
    base = work / "killed-run"
    killed_run(base)
    res = {"two resumes": {"trials": 0, "one_proceeds": 0, "other_exit_2": 0, "bad_traces": 0},
           "two benches": {"trials": 0, "one_proceeds": 0, "other_exit_2": 0, "bad_traces": 0}}
    for t in range(trials):
        out = work / f"resume-{t}"
        shutil.copytree(base, out)
        codes, errs = two_at_once(PY + ["run", "--out", str(out), "--resume", "-q"])
        r = res["two resumes"]
        r["trials"] += 1
        r["one_proceeds"] += codes.count(0) == 1
        r["other_exit_2"] += codes.count(2) == 1 and "being written by another process" in errs
        r["bad_traces"] += not trace_ok(out / "trace.jsonl", v)
        out = work / f"bench2-{t}"
        codes, errs = two_at_once(PY + ["bench", "run", "--tasks", str(tasks), "--out", str(out), "--workers", "1",
                                        "--generator", "sim", "--set", "generator.latency_s=0.1"])
        r = res["two benches"]
        r["trials"] += 1
        r["one_proceeds"] += codes.count(0) == 1 and len(result_rows(out)) == len(tasks.read_text().splitlines())
        r["other_exit_2"] += codes.count(2) == 1 and "being written by another process" in errs
        r["bad_traces"] += sum(not trace_ok(d / "trace.jsonl", v) for d in (out / "runs").iterdir())
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--tasks", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--keep", type=Path, default=None, help="work here and keep it (default: a temporary folder)")
    a = ap.parse_args()
    if not sys.platform.startswith("linux"):
        print("needs Linux (/proc, prctl)", file=sys.stderr)
        return 2
    from spiral.bench.runner import run_suite
    from spiral.bench.tasks import builtin_suite

    work = a.keep or Path(tempfile.mkdtemp(prefix="spiral-kill-"))
    work.mkdir(parents=True, exist_ok=True)
    v = validator()
    rng = random.Random(a.seed)
    lines = builtin_suite().read_text().splitlines()[:a.tasks]
    tasks = work / "tasks.jsonl"
    tasks.write_text("\n".join(lines) + "\n")
    small = work / "tasks-2.jsonl"
    small.write_text("\n".join(lines[:2]) + "\n")

    t0 = time.perf_counter()
    run_suite(tasks, work / "bench-ref", "closed-loop", {"generator": {"name": "sim"}}, workers=a.workers)
    bench_s = time.perf_counter() - t0
    ref = {r["id"]: r for r in result_rows(work / "bench-ref")}
    bench = kill_loop("bench", lambda out: PY + ["bench", "run", "--tasks", str(tasks), "--out", str(out),
                                                 "--workers", str(a.workers), "--generator", "sim"],
                      lambda out: check_bench(out, ref, v), a.kills, rng, 1.0 + bench_s / 4, work)

    t0 = time.perf_counter()
    subprocess.run(PY + ["dataset", "build", "--out", str(work / "ds-ref"), *DATASET_ARGS], env=ENV, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ds_s = time.perf_counter() - t0
    dataset = kill_loop("dataset", lambda out: PY + ["dataset", "build", "--out", str(out), *DATASET_ARGS],
                        lambda out: check_dataset(out, work / "ds-ref"), a.kills, rng, 0.5 + ds_s / 3, work)

    conc = concurrency(a.trials, small, work, v)

    print(f"\nkill -9 at random moments (seed {a.seed}); uninterrupted: bench {bench_s:.1f} s "
          f"({len(ref)} tasks, --workers {a.workers}), dataset {ds_s:.1f} s (12 shards)")
    print(f"{'':10} {'kills':>5} {'finished':>8} {'once':>5} {'errors':>6} {'same':>5} {'traces bad':>10} "
          f"{'orphans':>7} {'bad exits':>9}")
    print(f"{'bench':10} {bench['kills']:>5} {bench['finished']:>8} {bench.get('tasks_once', 0):>5} "
          f"{bench.get('error_rows', 0):>6} {bench.get('same_metrics', 0):>5} {bench.get('bad_traces', 0):>10} "
          f"{bench['orphans']:>7} {bench['failed_exits']:>9}")
    print(f"{'dataset':10} {dataset['kills']:>5} {dataset['finished']:>8} {dataset.get('shards_once', 0):>5} "
          f"{dataset.get('tmp_left', 0):>6} {dataset.get('identical', 0):>5} {'-':>10} "
          f"{dataset['orphans']:>7} {dataset['failed_exits']:>9}")
    print("  once: finished benchmarks / datasets with every task / shard exactly once; errors: error rows "
          "(dataset: temporary files left); same: equal to the uninterrupted result")
    print(f"\n{'two writers':12} {'trials':>6} {'one proceeds':>12} {'other exit 2':>12} {'traces bad':>10}")
    for k, r in conc.items():
        print(f"{k:12} {r['trials']:>6} {r['one_proceeds']:>12} {r['other_exit_2']:>12} {r['bad_traces']:>10}")
    ok = (bench["kills"] == a.kills and dataset["kills"] == a.kills
          and bench["orphans"] == dataset["orphans"] == 0 and bench["failed_exits"] == dataset["failed_exits"] == 0
          and bench.get("tasks_once") == bench.get("same_metrics") == bench["finished"] > 0
          and bench.get("error_rows", 0) == 0 and bench.get("bad_traces", 0) == 0
          and dataset.get("shards_once") == dataset.get("identical") == dataset["finished"] > 0
          and dataset.get("tmp_left", 0) == 0
          and all(r["one_proceeds"] == r["other_exit_2"] == r["trials"] and r["bad_traces"] == 0
                  for r in conc.values()))
    print("\nall bars met" if ok else "\nBARS MISSED")
    if a.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
