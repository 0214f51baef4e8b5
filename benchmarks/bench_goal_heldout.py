"""Goals as people write them, held out: the built-in symbolic planner on goal sets that it
was not tuned on.

Usage: python benchmarks/bench_goal_heldout.py [--suite FILE ...] [--cli N] [--json FILE] [-v]

Default suites: ``tests/worlds/tabletop/data/paraphrases_heldout*.jsonl`` (written by
``make_heldout*.py`` there from the documentation and the scenes alone, each committed
before the planner was first run on it). Same line format as the paraphrase suite.

For every goal it times what the planner does after perception (parse and expand, and on
a refusal the "did you mean" search) and sorts the outcome:

* a goal with an expected plan: the expected plan (kind, subject, objects and the params
  that matter, step by step), a refusal (a miss: the user rephrases), or a *wrong plan*
  (worse than a refusal: the planner would act on something the user did not ask);
* a goal that expects a refusal: refused as expected (the class, and for an ambiguous goal
  the question), refused otherwise, or planned (a wrong plan).

``--cli N`` also runs the first N impossible and hostile goals of each set through ``spiral
run`` (as ``bench_goal_paraphrases.py`` does: exit 2 and nothing written); ``--cli -1``: all.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from spiral import errors
from spiral.errors import SpiralError
from spiral.worlds.tabletop.goal_suggest import with_suggestion
from spiral.worlds.tabletop.goals import parse_goal, plan_clauses
from spiral.worlds.tabletop.scene import Scene

DATA = Path(__file__).resolve().parents[1] / "tests" / "worlds" / "tabletop" / "data"


def check(case: dict) -> tuple[str, float, str]:
    """(outcome, seconds, what the planner gave); outcome is one of ``plan_ok``,
    ``plan_refused``, ``plan_wrong``, ``refuse_ok``, ``refuse_other``, ``refuse_planned``."""
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
            return "plan_refused", dt, got
        ok = case["error"] is None or isinstance(exc, getattr(errors, case["error"]))
        ok = ok and (case["question"] is None or case["question"] in exc.message)
        return ("refuse_ok" if ok else "refuse_other"), dt, got
    dt = time.perf_counter() - t0
    got = str([(s.kind, s.subject, s.objects, {k: v for k, v in s.params.items() if k in ("direction", "region")})
               for s in steps])
    if case["expect"] == "refuse":
        return "refuse_planned", dt, got
    have = [[s.kind, s.subject, s.objects, {k: s.params.get(k) for k in want[3]}]
            for s, want in zip(steps, case["plan"])]
    ok = len(steps) == len(case["plan"]) and have == case["plan"]
    return ("plan_ok" if ok else "plan_wrong"), dt, got


def score(cases: list[dict], verbose: bool = False) -> dict:
    for c in cases[:5]:  # warm the caches before timing
        check(c)
    rows = [(c, *check(c)) for c in cases]
    n = {k: sum(r[1] == k for r in rows) for k in
         ("plan_ok", "plan_refused", "plan_wrong", "refuse_ok", "refuse_other", "refuse_planned")}
    plans = n["plan_ok"] + n["plan_refused"] + n["plan_wrong"]
    refusals = n["refuse_ok"] + n["refuse_other"] + n["refuse_planned"]
    hostile = [r for r in rows if r[0]["expect"] == "refuse" and r[0]["hostile"]]
    times = sorted(r[2] for r in rows)
    if verbose:
        for c, what, _, got in rows:
            if what not in ("plan_ok", "refuse_ok"):
                print(f"{what.upper():15} {c['id']}: {c['goal'][:90]!r}\n{'':16}got {got[:260]}")
    return {
        "goals": len(rows), **n, "plans": plans, "refusals": refusals,
        "plans_correct": n["plan_ok"] / max(1, plans),
        "refusals_correct": n["refuse_ok"] / max(1, refusals),
        "wrong_plans": n["plan_wrong"] + n["refuse_planned"],
        "impossible_or_hostile": len(hostile),
        "impossible_or_hostile_refused": sum(r[1] != "refuse_planned" for r in hostile) / max(1, len(hostile)),
        "median_ms": 1000 * statistics.median(times),
        "p95_ms": 1000 * times[int(0.95 * (len(times) - 1))],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", nargs="*", default=None, help="goal files (default: every paraphrases_heldout*.jsonl)")
    ap.add_argument("--json", default=None, help="also write the figures to this file")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every miss")
    ap.add_argument("--cli", type=int, default=0, help="check the first N impossible/hostile goals end to end (-1: all)")
    args = ap.parse_args()
    paths = [Path(p) for p in args.suite] if args.suite else sorted(DATA.glob("paraphrases_heldout*.jsonl"))
    out = {}
    for path in paths:
        cases = [json.loads(line) for line in path.read_text().splitlines()]
        f = out[path.name] = score(cases, args.verbose)
        if args.cli:
            from bench_goal_paraphrases import refused_cleanly  # this script's folder is on sys.path

            hostile = [c for c in cases if c["expect"] == "refuse" and c["hostile"]]
            ends = [refused_cleanly(c) for c in (hostile if args.cli < 0 else hostile[: args.cli])]
            for c, (ok, what) in zip(hostile, ends):
                if not ok:
                    print(f"NOT CLEAN {c['id']}: {c['goal'][:80]!r}: {what}")
            f["exit2_nothing_written"] = sum(ok for ok, _ in ends) / len(ends)
            f["checked_end_to_end"] = len(ends)
        print(f"{path.name}: {f['goals']} goals ({f['plans']} with a plan, {f['refusals']} to refuse)")
        print(f"  correct plans:    {f['plan_ok']} / {f['plans']} ({f['plans_correct']:.1%}); "
              f"refused {f['plan_refused']}, wrong plan {f['plan_wrong']}")
        print(f"  correct refusals: {f['refuse_ok']} / {f['refusals']} ({f['refusals_correct']:.1%}); "
              f"other refusal {f['refuse_other']}, planned instead {f['refuse_planned']}")
        print(f"  impossible/hostile refused: {f['impossible_or_hostile_refused']:.1%} of {f['impossible_or_hostile']}")
        print(f"  planning time per goal: median {f['median_ms']:.2f} ms, p95 {f['p95_ms']:.1f} ms")
        if args.cli:
            print(f"  impossible/hostile through `spiral run`: exit 2 and nothing written for "
                  f"{f['exit2_nothing_written']:.1%} of {f['checked_end_to_end']}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
