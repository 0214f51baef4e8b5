"""Goals as people write them: the built-in symbolic planner on the paraphrase suite.

Usage: python benchmarks/bench_goal_paraphrases.py [--cli N] [--json FILE]

The suite (``tests/worlds/tabletop/data/paraphrases.jsonl``, written by
``make_paraphrases.py`` there) holds goals in the style of real users (terse, polite,
chatty, with typos) with the plan a person expects, and ambiguous, impossible and hostile
goals with the refusal they should get. For every goal it times what the planner does
after perception (parse, expand, and on a refusal the "did you mean" search) and checks:

* plans: the steps (kind, subject, objects, and the params that matter) equal the
  expected ones;
* refusals: the error class, and for an ambiguous goal the question in the message;
* refusals of goals about the scene (ambiguous, impossible): the share whose hint names
  a goal the planner accepts ("did you mean: …");
* impossible and hostile goals through ``spiral run`` (a subprocess in an empty temporary
  directory, the sim generator): exit code 2 and nothing written. Goals that cannot be a
  command-line argument (a NUL byte) go through ``spiral.api.run`` in-process instead
  (refused with a ``SpiralError``, whose exit code is 2, and no run directory).
  ``--cli N`` checks only the first N of them (default: all).
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
from pathlib import Path

from spiral import errors
from spiral.errors import SpiralError
from spiral.worlds.tabletop.goal_suggest import with_suggestion
from spiral.worlds.tabletop.goals import parse_goal, plan_clauses
from spiral.worlds.tabletop.scene import Scene

SUITE = Path(__file__).resolve().parents[1] / "tests" / "worlds" / "tabletop" / "data" / "paraphrases.jsonl"


def check(case: dict) -> tuple[bool, float, str]:
    """(as expected, seconds, what the planner gave)."""
    scene = Scene.model_validate(case["scene"])
    t0 = time.perf_counter()
    try:
        try:
            steps, _, _ = plan_clauses(scene, parse_goal(case["goal"], scene))
        except SpiralError as exc:
            raise with_suggestion(exc, case["goal"], scene) from None
    except SpiralError as exc:
        dt = time.perf_counter() - t0
        got = f"{type(exc).__name__}: {exc.message} | {exc.hint}"
        if case["expect"] != "refuse":
            return False, dt, got
        ok = case["error"] is None or isinstance(exc, getattr(errors, case["error"]))
        return ok and (case["question"] is None or case["question"] in exc.message), dt, got
    dt = time.perf_counter() - t0
    got = [[s.kind, s.subject, s.objects, {k: s.params.get(k) for k in want[3]}]
           for s, want in zip(steps, case.get("plan") or [])]
    ok = case["expect"] == "plan" and len(steps) == len(case["plan"]) and got == case["plan"]
    return ok, dt, str([(s.kind, s.subject, s.objects) for s in steps])


def refused_cleanly(case: dict) -> tuple[bool, str]:
    """Through the CLI (or the API for a goal no argv can carry): exit 2, nothing written."""
    with tempfile.TemporaryDirectory() as tmp:
        scene = Path(tmp) / "scene.json"
        scene.write_text(json.dumps(case["scene"]))
        work = Path(tmp) / "work"
        work.mkdir()
        out = work / "run"
        if "\x00" in case["goal"]:
            from spiral.api import run
            from spiral.config import build_config

            cfg = build_config(None, {"goal": case["goal"], "generator": {"name": "sim"},
                                      "scene": {"seed": None, "file": str(scene), "image": None}}, [])
            try:
                run(cfg, out)
                code = 0
            except SpiralError as exc:
                code = exc.exit_code
        else:
            env = {**os.environ, "HF_HUB_OFFLINE": "1"}
            proc = subprocess.run([sys.executable, "-m", "spiral.cli.main", "run", case["goal"], "--scene", str(scene),
                                   "-g", "sim", "--out", str(out), "-q"], check=False, cwd=work, env=env, capture_output=True,
                                  text=True, timeout=300)
            code = proc.returncode
        written = sorted(p.name for p in work.iterdir())
        return code == 2 and not written, f"exit {code}, wrote {written}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", type=int, default=None, help="check only the first N impossible/hostile goals end to end")
    ap.add_argument("--json", default=None, help="also write the figures to this file")
    args = ap.parse_args()
    cases = [json.loads(line) for line in SUITE.read_text().splitlines()]
    for c in cases[:5]:  # warm the caches (phrasebook, vocabulary) before timing
        check(c)
    rows = [(c, *check(c)) for c in cases]
    plans = [r for r in rows if r[0]["expect"] == "plan"]
    refusals = [r for r in rows if r[0]["expect"] == "refuse"]
    ambiguous = [r for r in refusals if r[0]["error"] == "AmbiguousGoalError"]
    hostile = [r for r in refusals if r[0]["hostile"]]
    about_scene = [r for r in refusals if r[0]["id"].startswith(("ambiguous-", "impossible-"))]
    times = sorted(r[2] for r in rows)
    for c, ok, _, got in rows:
        if not ok:
            print(f"WRONG {c['id']}: {c['goal'][:100]!r}\n      got {got[:300]}")
    ends = [refused_cleanly(c) for c, *_ in hostile[: args.cli]]
    for (c, *_), (ok, what) in zip(hostile, ends):
        if not ok:
            print(f"NOT CLEAN {c['id']}: {c['goal'][:80]!r}: {what}")
    figures = {
        "goals": len(rows),
        "plans_correct": sum(r[1] for r in plans) / len(plans),
        "plans": len(plans),
        "refusals_correct": sum(r[1] for r in refusals) / len(refusals),
        "refusals": len(refusals),
        "ambiguous_asked": sum(r[1] for r in ambiguous) / len(ambiguous),
        "impossible_or_hostile": len(hostile),
        "exit2_nothing_written": sum(ok for ok, _ in ends) / max(1, len(ends)),
        "checked_end_to_end": len(ends),
        "suggested": sum("| did you mean: " in r[3] for r in about_scene) / len(about_scene),
        "about_scene": len(about_scene),
        "median_ms": 1000 * statistics.median(times),
        "p95_ms": 1000 * times[int(0.95 * (len(times) - 1))],
        "median_ms_plans": 1000 * statistics.median(r[2] for r in plans),
        "median_ms_refusals": 1000 * statistics.median(r[2] for r in refusals),
    }
    print(f"goals: {figures['goals']} ({figures['plans']} with a plan, {figures['refusals']} to refuse)")
    print(f"correct plans:    {figures['plans_correct']:.1%}")
    print(f"correct refusals: {figures['refusals_correct']:.1%} (ambiguous asked back: {figures['ambiguous_asked']:.1%})")
    print(f"refusals of goals about the scene naming a goal that works (did you mean): "
          f"{figures['suggested']:.1%} of {figures['about_scene']}")
    print(f"impossible/hostile through `spiral run`: exit 2 and nothing written for "
          f"{figures['exit2_nothing_written']:.1%} of {figures['checked_end_to_end']}")
    print(f"planning time per goal: median {figures['median_ms']:.1f} ms, p95 {figures['p95_ms']:.1f} ms "
          f"(plans {figures['median_ms_plans']:.1f} ms, refusals with suggestion {figures['median_ms_refusals']:.1f} ms)")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
