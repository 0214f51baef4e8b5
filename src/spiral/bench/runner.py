"""The ActWM-Bench runner (``spiral bench run``).

Runs every task of a suite under one configuration and mode into a results directory::

    results/<name>/
      config.json        the base config (no secrets), mode, suite path and its sha256
      results.jsonl      one line per finished task: all metrics and cost
      summary.json       means and 95% confidence intervals per metric, overall and per category
      runs/<task id>/    the task's run directory (video.mp4, trace.jsonl, report.html …)
      scenes/<task id>.json

Tasks run in parallel processes, or on a Ray cluster (an injected executor,
:mod:`spiral.exec`; the rows are written here as they arrive either way); a killed
benchmark resumes without redoing finished tasks (their lines are in ``results.jsonl``);
a task whose run fails with a SPIRAL error (a bad scene or image, a goal the planner
refuses, a backend error) is recorded with its error, and runs again when the benchmark is resumed. One benchmark writes a results
directory at a time (:class:`spiral.core.lock.DirLock`; a second one is refused), and its
worker processes die with it, even on SIGKILL (:mod:`spiral.core.workers`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from spiral.bench.tasks import Task, load_tasks
from spiral.core.lock import DirLock, describe, holder
from spiral.core.rundir import atomic_write_bytes, atomic_write_json
from spiral.errors import InputFileError, SpiralError
from spiral.exec import Executor, LocalExecutor
from spiral.redaction import redact

log = logging.getLogger(__name__)

MODES = ("closed-loop", "plan-only", "open-loop", "best-of-n")


def evaluate_run(run_dir: Path, task: Task) -> dict[str, Any]:
    from spiral.bench.metrics import (
        cost,
        identity_drift,
        permanence,
        strict_success,
        subaction_completion,
        sudden_switches,
        task_success,
    )
    from spiral.bench.metrics._episode import load_episode
    from spiral.bench.tasks import reference_movable

    ep = load_episode(run_dir)
    out: dict[str, Any] = {}
    out.update(task_success.compute(ep, task.success))
    out.update(strict_success.compute(ep, out["task_success"], reference_movable(task)))
    out.update(subaction_completion.compute(ep, task.expectations))
    out.update(permanence.compute(ep))
    out.update(identity_drift.compute(ep))
    out.update(sudden_switches.compute(ep))
    out.update(cost.compute(ep))
    if len(ep.video) >= 3:  # the weight-free VBench-style dimensions, on the episode video
        from spiral.bench.metrics.video import compute_all

        out.update(compute_all(ep.video))
    return out


def run_task(task_json: str, mode: str, base: dict[str, Any], root: str, budget: int | None = None) -> dict[str, Any]:
    """One task in one process (picklable arguments only).

    ``best-of-n``: open-loop episodes with new seeds until ``budget`` generator calls are
    spent (at least one episode), keeping the one the critic judges best (most goal
    conditions met in its final frame); the calls of every episode count."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from spiral.api import run
    from spiral.config import build_config, merge

    task = Task.model_validate_json(task_json)
    rootp = Path(root)
    run_dir = rootp / "runs" / task.id
    if run_dir.exists():  # a half-finished attempt from a killed benchmark: start it again
        who = holder(run_dir)
        if who is not None:  # a worker of a killed benchmark that still writes it (never with process_pool)
            return {"id": task.id, "category": task.category, "horizon": task.horizon, "mode": mode,
                    "status": "error", "task_success": 0.0,
                    "reason": f"{run_dir} is still being written by {describe(who)}"}
        shutil.rmtree(run_dir)
    scene: dict[str, Any] = {"seed": None, "file": None, "image": None}
    if task.scene is not None:
        sp = rootp / "scenes" / f"{task.id}.json"
        sp.parent.mkdir(parents=True, exist_ok=True)
        sp.write_text(json.dumps(task.scene))
        scene["file"] = str(sp)
    elif task.scene_seed is not None:
        scene["seed"] = task.scene_seed
    else:
        scene["image"] = task.image
    row: dict[str, Any] = {"id": task.id, "category": task.category, "horizon": task.horizon, "mode": mode}

    def config(run_mode: str, seed: int):  # the base's other settings (scene.size, output.*) stay
        return build_config(overrides=merge(base, {"goal": task.goal, "mode": run_mode, "seed": seed,
                                                   "scene": scene}))

    try:
        if mode != "best-of-n":
            res, rd = run(config(mode, task.seed), run_dir)
            row.update(status=res.status, reason=res.reason)
            row.update(evaluate_run(rd.path, task))
            return row
        from spiral.bench.metrics import cost
        from spiral.bench.metrics._episode import load_episode

        calls, best, k, costs = 0, None, 0, []
        while True:
            res, rd = run(config("open-loop", task.seed * 1000 + k), run_dir / f"try-{k}")
            calls += res.generator_calls
            costs.append(cost.compute(load_episode(rd.path)))
            met = (res.goal or {}).get("conditions_met", 0)
            if best is None or met > best[0]:
                best = (met, rd, res)
            k += 1
            if budget is None or calls + res.generator_calls > budget:
                break
        _, rd, res = best
        row.update(status=res.status, reason=f"best of {k} open-loop episodes", tries=k, kept=rd.path.name)
        row.update(evaluate_run(rd.path, task))
        row.update(_total_cost(costs))  # every episode's cost counts, not only the kept one's
    except SpiralError as exc:
        row.update(status="error", reason=exc.message, task_success=0.0, strict_success=0.0)
    return row


def task_job(root: str, task_json: str, mode: str, base: dict[str, Any], budget: int | None) -> dict[str, Any]:
    """:func:`run_task` as an executor job (``root`` first: see :mod:`spiral.exec`)."""
    return run_task(task_json, mode, base, root, budget)


def _total_cost(costs: list[dict[str, float]]) -> dict[str, float]:
    """The cost metrics of several episodes as one: sums, and the overhead share of the
    summed wall time."""
    out = {k: float(sum(c[k] for c in costs)) for k in costs[0] if k != "loop_overhead_share"}
    wall = out.get("wall_s", 0.0)
    over = sum(c["loop_overhead_share"] * c["wall_s"] for c in costs)
    out["loop_overhead_share"] = over / wall if wall > 0 else 0.0
    return out


def ci95(xs: list[float]) -> tuple[float, float]:
    n = len(xs)
    if n == 0:
        return float("nan"), float("nan")
    m = sum(xs) / n
    if n == 1:
        return m, 0.0
    var = sum((x - m) ** 2 for x in xs) / (n - 1)
    return m, 1.96 * math.sqrt(var / n)


# first in every summary and table: strict success (the headline), then the lenient one
HEADLINE = ("strict_success", "task_success", "strict_clean")


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    keys = sorted({k for r in rows for k, v in r.items() if isinstance(v, (int, float)) and k != "horizon"},
                  key=lambda k: (k not in HEADLINE, HEADLINE.index(k) if k in HEADLINE else 0, k))

    def block(rs: list[dict[str, Any]]) -> dict[str, Any]:
        # error rows carry task_success and strict_success 0 only: they count as failures
        # there, and are not in the other metrics' means
        out = {"n": len(rs), "errors": sum(r.get("status") == "error" for r in rs)}
        for k in keys:
            vals = [float(r[k]) for r in rs if isinstance(r.get(k), (int, float))]
            if vals:
                m, h = ci95(vals)
                out[k] = {"mean": round(m, 4), "ci95": round(h, 4)}
        return out

    by_cat: dict[str, list] = {}
    by_h: dict[str, list] = {}
    for r in rows:
        by_cat.setdefault(r["category"], []).append(r)
        by_h.setdefault(str(r["horizon"]), []).append(r)
    return {"overall": block(rows), "by_category": {c: block(v) for c, v in sorted(by_cat.items())},
            "by_horizon": {h: block(v) for h, v in sorted(by_h.items(), key=lambda kv: int(kv[0]))}}


# what each task sets: a base config may not set them (they would be silently replaced)
TASK_KEYS = ("goal", "seed", "mode", "scene.seed", "scene.file", "scene.image")


def task_keys_in(base: dict[str, Any]) -> list[str]:
    """The ``TASK_KEYS`` that ``base`` sets (to something other than null)."""
    out = []
    for key in TASK_KEYS:
        sec, _, name = key.partition(".")
        val = (base.get(sec) or {}).get(name) if name else base.get(sec)
        if val is not None:
            out.append(key)
    return out


def check_base(base: dict[str, Any]) -> None:
    """Refuse a base config that sets what each task sets (see ``TASK_KEYS``)."""
    keys = task_keys_in(base)
    if keys:
        raise InputFileError(f"{keys[0]} is set by each task of the suite, not by the benchmark's config",
                             f"drop {keys[0]} from --set (a task gives its goal, seed and scene)")


def run_suite(tasks_path: str | Path, out: str | Path, mode: str = "closed-loop",
              base: dict[str, Any] | None = None, workers: int = 2, limit: int | None = None,
              progress: Callable[[int, int], None] | None = None, match: str | Path | None = None,
              executor: Executor | None = None) -> dict[str, Any]:
    """Run a suite. ``best-of-n`` needs ``match``: a closed-loop results directory whose
    per-task generator calls set each task's budget (compute-matched baseline).
    ``executor`` runs the tasks (default: ``workers`` local processes; see :mod:`spiral.exec`)."""
    if mode not in MODES:
        raise InputFileError(f"unknown mode {mode!r}", f"choose one of {', '.join(MODES)}")
    base = dict(base or {})  # its goal, seed, mode and scene source give way to each task's
    tasks = load_tasks(tasks_path)[:limit]
    budgets: dict[str, int] = {}
    if mode == "best-of-n":
        mp = Path(match or "") / "results.jsonl"
        if match is None or not mp.exists():
            raise InputFileError("best-of-n needs the closed-loop results it is matched to",
                                 "pass --match DIR (a `spiral bench run --mode closed-loop` results directory)")
        for ln in mp.read_text().splitlines():
            try:
                r = json.loads(ln)
                budgets[r["id"]] = int(r.get("generator_calls", 0))
            except (json.JSONDecodeError, KeyError, ValueError):
                continue
    root = Path(out)
    check_results_dir(root)
    ex = executor or LocalExecutor(workers)
    # one benchmark per results directory (its task runs included); the executor starts (a bad
    # cluster address is refused) before anything is written
    with DirLock(root, "--out"), ex:
        return _run_locked(tasks, tasks_path, root, mode, base, ex, limit, progress, match, budgets)


def check_results_dir(root: Path) -> None:
    """Refuse an ``--out`` that is a file, or a non-empty directory that is not a results
    directory (a run directory, say): a benchmark writes only where it may."""
    if root.exists() and not root.is_dir():
        raise InputFileError(f"--out {root} exists and is not a directory", "choose another --out")
    if not root.is_dir():
        return
    cfg_path = root / "config.json"
    if cfg_path.is_file():
        try:
            cfg = json.loads(cfg_path.read_text())
        except (OSError, ValueError):
            cfg = None
        if not isinstance(cfg, dict) or "suite_sha256" not in cfg:
            what = "a run directory" if isinstance(cfg, dict) and "config_hash" in cfg else "not a results directory"
            raise InputFileError(f"{root} is {what} (its config.json is not a benchmark's)",
                                 "choose an empty or new --out for `spiral bench run`")
        return
    if any(x for x in root.iterdir() if not x.name.startswith(".")):
        raise InputFileError(f"{root} is not empty and holds no benchmark results",
                             "choose an empty or new --out, or a results directory to resume")


def _run_locked(tasks: list[Task], tasks_path: str | Path, root: Path, mode: str, base: dict[str, Any],
                executor: Executor, limit: int | None, progress: Callable[[int, int], None] | None,
                match: str | Path | None, budgets: dict[str, int]) -> dict[str, Any]:
    suite_sha = hashlib.sha256(Path(tasks_path).read_bytes()).hexdigest()
    from spiral.config import public

    # as written (no secrets), and compared on resume as written
    ident = {"mode": mode, "base": public(base), "suite_sha256": suite_sha, "limit": limit,
             "match": str(match) if match else None}
    cfg_path = root / "config.json"
    if cfg_path.exists():
        old = json.loads(cfg_path.read_text())
        if {k: old.get(k) for k in ident} != ident:
            raise InputFileError(f"{root} holds results of another benchmark configuration",
                                 "choose another --out, or delete it")
    else:
        atomic_write_json(cfg_path, {**ident, "suite": str(tasks_path), "tasks": len(tasks)})
    res_path = root / "results.jsonl"
    done: dict[str, dict[str, Any]] = {}
    if res_path.exists():
        for ln in res_path.read_text().splitlines():
            try:
                r = json.loads(ln)
                if r.get("status") == "error":
                    done.pop(r["id"], None)  # runs again: the cause (a server down, a bad file) may be gone
                    continue
                done[r["id"]] = r
            except (json.JSONDecodeError, KeyError):
                continue  # a half-written last line: that task runs again
        atomic_write_bytes(res_path, "".join(json.dumps(r) + "\n" for r in done.values()).encode())
    todo = [t for t in tasks if t.id not in done]
    if progress:
        progress(len(done), len(tasks))
    with open(res_path, "a") as fh:
        def record(row: dict[str, Any]) -> None:
            fh.write(redact(json.dumps(row)) + "\n")  # an error row may quote an echoed secret
            fh.flush()
            done[row["id"]] = row
            if progress:
                progress(len(done), len(tasks))

        jobs = [(t.model_dump_json(), mode, base, budgets.get(t.id)) for t in todo]
        with executor as ex:  # rows are written here, as they arrive
            for row in ex.map_unordered(task_job, jobs, root):
                record(row)
    rows = [done[t.id] for t in tasks if t.id in done]
    summary = {"mode": mode, "tasks": len(rows), **summarize(rows)}
    atomic_write_json(root / "summary.json", summary)
    return summary


def suite_of(results: str | Path) -> str | None:
    """The sha256 of the task suite a results directory was run on (from its config.json)."""
    try:
        return json.loads((Path(results) / "config.json").read_text()).get("suite_sha256")
    except (OSError, ValueError, AttributeError):
        return None


def compare(dirs: list[str | Path], metrics: tuple[str, ...] = ("strict_success", "task_success", "strict_clean",
                                                                "subaction_completion", "permanence",
                                                                "identity_kept", "no_sudden_switch",
                                                                "generator_calls", "wall_s")) -> list[dict[str, Any]]:
    rows = []
    if len({suite_of(d) for d in dirs} - {None}) > 1:
        log.warning("the result directories come from different task suites: their figures do not compare")
    for d in dirs:
        p = Path(d) / "summary.json"
        if not p.exists():
            raise InputFileError(f"{d} has no summary.json", "run `spiral bench run` into it first")
        s = json.loads(p.read_text())
        row = {"results": str(d), "mode": s.get("mode"), "tasks": s.get("tasks")}
        for m in metrics:
            v = s["overall"].get(m)
            row[m] = v
        for m in ("strict_success", "task_success"):  # (None where the suite has no long tasks)
            row[f"{m}_long"] = s["by_category"].get("long", {}).get(m)
        rows.append(row)
    return rows
