"""Do the tests catch one-line mutations? A small mutation check of the parts the loop's
correctness rests on: core (loop, refinement, memory, run directory), the bench metrics, the
perception critic, the tabletop predicates and the diffusers adapter base.

Usage: python benchmarks/mutation_check.py [--only NAME ...] [--list] [--timeout 600]

Each mutation changes one line (an operator, a constant, a condition, a returned value) in a
scratch copy of ``src/`` and runs the tests that cover that file (``-x``: the first failure
is enough). A mutation is *caught* when the tests fail, *missed* when they pass; a mutation
whose line is no longer in the source is reported *stale* (update the list). Prints one
line per mutation and the caught share (the bar: at least 90 % of at least 30 mutations).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (name, file under src/spiral, the exact text, its mutant, the tests that cover it)
MUTATIONS: list[tuple[str, str, str, str, list[str]]] = [
    # -- core: the loop ---------------------------------------------------------------------
    ("loop: plan-only critiques", "core/loop.py", 'if self.mode == "plan-only":', 'if self.mode == "never":',
     ["tests/core/test_loop.py"]),
    ("loop: a failing clip is accepted", "core/loop.py", "            if verdict.passed:\n                self._decide(\"accept\"",
     "            if True:\n                self._decide(\"accept\"", ["tests/core/test_loop.py"]),
    ("loop: one attempt fewer", "core/loop.py", "if attempt + 1 < cfg.max_attempts:", "if attempt + 2 < cfg.max_attempts:",
     ["tests/core/test_loop.py"]),
    ("loop: replan budget off by one", "core/loop.py", "if self.replans >= self.cfg.loop.max_replans:",
     "if self.replans > self.cfg.loop.max_replans:", ["tests/core/test_loop.py"]),
    ("loop: call budget ignored", "core/loop.py", "if self.calls >= cfg.max_generator_calls:",
     "if self.calls > 10 ** 9:", ["tests/core/test_loop.py"]),
    ("loop: no checkpoint after accept", "core/loop.py",
     '        self.trace.emit("accept", step=self.step - 1, segment=idx, path=path, sha256=sha)\n        self._checkpoint("running")',
     '        self.trace.emit("accept", step=self.step - 1, segment=idx, path=path, sha256=sha)',
     ["tests/cli/test_resume.py", "tests/core/test_loop.py"]),
    ("loop: stitched keeps repeated frames", "core/loop.py", "parts.append(c if k == 0 else c[1:])",
     "parts.append(c)", ["tests/core/test_loop.py", "tests/cli/test_cli.py"]),
    ("loop: retries not counted", "core/loop.py", "                self.retries += 1\n", "",
     ["tests/core/test_loop.py"]),
    ("loop: global drift treated as local", "core/loop.py", 'if verdict.scope == "global":', 'if verdict.scope == "none":',
     ["tests/core/test_loop.py"]),
    ("loop: a retry never differs", "core/loop.py", "self.retries_distinct += int(change >= DISTINCT_SHARE)",
     "self.retries_distinct += 0", ["tests/core/test_loop.py"]),
    # -- core: refinement -------------------------------------------------------------------
    ("refine: choose always the first strategy", "core/refine.py",
     "return fresh[0] if fresh else order[len(tried) % len(order)]", "return order[0]",
     ["tests/core/test_refine.py", "tests/core/test_loop.py"]),
    ("refine: no reseed on retry", "core/refine.py",
     'upd: dict[str, Any] = {"context": {**req.context, "attempt": attempt}, "seed": reseed}',
     'upd: dict[str, Any] = {"context": {**req.context, "attempt": attempt}}',
     ["tests/core/test_refine.py", "tests/core/test_loop.py"]),
    ("refine: exploration does not widen", "core/refine.py", "explore = round(self.explore * attempt, 4)",
     "explore = round(self.explore, 4)", ["tests/core/test_refine.py"]),
    ("refine: instruct drops the avoid point", "core/refine.py", "                out[\"avoid\"] = avoid[-4:]",
     "                out[\"avoid\"] = []", ["tests/core/test_refine.py"]),
    ("refine: more_steps does not double", "core/refine.py", "upd[\"steps\"] = min(cur * 2, self.max_steps)",
     "upd[\"steps\"] = min(cur, self.max_steps)", ["tests/core/test_refine.py", "tests/core/test_loop.py"]),
    # -- core: memory and the run directory -------------------------------------------------
    ("memory: experience ranks the worst first", "core/memory.py", "return sorted(strategies, key=lambda s: -rate(s))",
     "return sorted(strategies, key=lambda s: rate(s))", ["tests/core/test_memory.py", "tests/core/test_loop.py"]),
    ("rundir: segment hash not checked on resume", "core/loop.py",
     'if not p.exists() or sha256_file(p) != seg["sha256"]:', "if not p.exists():",
     ["tests/cli/test_resume.py", "tests/core/test_rundir.py"]),
    # -- bench: runner and metrics ------------------------------------------------------------
    ("bench: ci95 z-value", "bench/runner.py", "return m, 1.96 * math.sqrt(var / n)", "return m, 1.0 * math.sqrt(var / n)",
     ["tests/bench"]),
    ("task_success: a missing object is allowed", "bench/metrics/task_success.py",
     'return {"task_success": float(all(met) and not missing)', 'return {"task_success": float(all(met))',
     ["tests/bench"]),
    ("task_success: partial credit wrong", "bench/metrics/task_success.py", "frac = sum(met) / len(met) if met else 1.0",
     "frac = 1.0", ["tests/bench"]),
    ("strict: clean ignores the checks", "bench/metrics/strict_success.py",
     "clean = all(not v for v in found.values())", "clean = True", ["tests/bench"]),
    ("strict: goal not required", "bench/metrics/strict_success.py",
     'out["strict_success"] = float(clean and task_success == 1.0)', 'out["strict_success"] = float(clean)',
     ["tests/bench"]),
    ("strict: torn threshold off", "worlds/tabletop/cleanliness.py", "TORN_AREA = 0.6", "TORN_AREA = 0.0",
     ["tests/bench/metrics/test_strict_success.py", "tests/agents/test_perception_critic_checks.py"]),
    ("subaction: completion counts every step", "bench/metrics/subaction_completion.py", "        done += ok\n",
     "        done += 1\n", ["tests/bench"]),
    ("permanence: reads the wrong score", "bench/metrics/permanence.py",
     'return {"permanence": v.scores["permanence"]', 'return {"permanence": 1.0', ["tests/bench"]),
    ("identity: drift never counted", "bench/metrics/identity_drift.py", 'return {"identity_kept": float(n == 0)',
     'return {"identity_kept": 1.0', ["tests/bench"]),
    ("sudden switches: continuity ignored", "bench/metrics/sudden_switches.py",
     'return {"no_sudden_switch": 0.0 if v is None else v.scores["continuity"]}', 'return {"no_sudden_switch": 1.0}',
     ["tests/bench"]),
    ("cost: overlap not subtracted", "bench/metrics/cost.py",
     '- float(t.get("overlap_s", 0.0))', '- 0.0', ["tests/bench"]),
    # -- the perception critic and the predicates ---------------------------------------------
    ("critic: jump ratio ignored", "agents/perception_critic.py",
     "if top > cfg.jump_threshold and top > cfg.jump_ratio * max(second, 0.01):", "if top > cfg.jump_threshold:",
     ["tests/agents/test_perception_critic_checks.py", "tests/agents/test_perception_critic.py"]),
    ("critic: scene cut never seen", "agents/perception_critic.py", "if len(diffs) and diffs.max() > cfg.cut_threshold:",
     "if len(diffs) and diffs.max() > 1e9:", ["tests/agents/test_perception_critic_checks.py",
                                              "tests/agents/test_perception_critic.py"]),
    ("critic: stillness never judged", "agents/perception_critic.py", "if d > cfg.still_tolerance and d > worst:",
     "if d > 1e9 and d > worst:", ["tests/agents/test_perception_critic_checks.py", "tests/agents/test_perception_critic.py"]),
    ("critic: colour drift never seen", "agents/perception_critic.py", "if min(d, 360 - d) > cfg.hue_drift_deg:",
     "if min(d, 360 - d) > 1e9:", ["tests/agents/test_perception_critic_checks.py", "tests/agents/test_perception_critic.py"]),
    ("critic: a still bowl's rim not judged", "worlds/tabletop/cleanliness.py",
     "        bad |= grow(stood, 2) & ~objects_now & known & off\n", "",
     ["tests/worlds/tabletop/test_cleanliness.py", "tests/agents/test_perception_critic_checks.py"]),
    ("critic: a bowl fitted off its render", "worlds/tabletop/cleanliness.py",
     "            score = -(np.minimum(err, 48.0) ** 2 * use).sum(axis=(1, 2))",
     "            score = -(np.minimum(err, 48.0) ** 2 * use).sum(axis=(1, 2)) * 0", ["tests/worlds/tabletop/test_cleanliness.py"]),
    ("critic: an uncovered cube's repaint not seen", "agents/perception_critic.py",
     "or faithful(r.frames[-1], b, c) < cfg.faithful_cube * expected_area(\"cube\", size)):", "or False):",
     ["tests/agents/test_perception_critic_checks.py", "tests/agents/test_perception_critic.py"]),
    ("sampler: the world's restore skipped", "models/tiny_ti2v/sampling.py",
     "        out = palette.restore(frame, out, hole, union)", "        pass",
     ["tests/models/tiny_ti2v/test_layer_cleanup.py"]),
    ("predicates: next_to gap", "worlds/tabletop/predicates.py", "NEXT_TO_GAP = 0.09", "NEXT_TO_GAP = 0.5",
     ["tests/worlds/tabletop/test_actions.py", "tests/worlds/tabletop/test_goals.py",
      "tests/agents/test_perception_critic.py"]),
    ("predicates: apart always holds", "worlds/tabletop/predicates.py",
     "        if a.on is not None or a.in_ is not None:\n            return False\n        return all(",
     "        if a.on is not None or a.in_ is not None:\n            return True\n        return all(",
     ["tests/worlds/tabletop/test_actions.py", "tests/worlds/tabletop/test_predicates.py"]),
    # -- the diffusers adapter base ---------------------------------------------------------
    ("diffusers: uses_cfg always", "generators/diffusers/base.py", "return guidance > 1.0", "return True",
     ["tests/generators/diffusers/test_common.py"]),
    ("diffusers: frame rule ignored", "generators/diffusers/base.py", "    def ok(self, n: int) -> bool:\n",
     "    def ok(self, n: int) -> bool:\n        return True\n", ["tests/generators/diffusers"]),
]


def run_one(work: Path, name: str, rel: str, old: str, new: str, tests: list[str], timeout: int) -> str:
    path = work / "src" / "spiral" / rel
    text = path.read_text()
    if text.count(old) != 1:
        return "stale"
    path.write_text(text.replace(old, new))
    try:
        env = {**os.environ, "PYTHONPATH": str(work / "src"), "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE",
               "HF_HUB_OFFLINE": "1"}
        tests = [t for t in tests if (work / t).exists()]
        r = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests], check=False,
                           cwd=work, env=env, capture_output=True, text=True, timeout=timeout)
        return "missed" if r.returncode == 0 else "caught"
    except subprocess.TimeoutExpired:
        return "caught (timeout)"
    finally:
        path.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", help="run only mutations whose name contains one of these")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--timeout", type=int, default=600)
    args = ap.parse_args()
    muts = [m for m in MUTATIONS if not args.only or any(o in m[0] for o in args.only)]
    if args.list:
        for m in muts:
            print(f"{m[0]}  ({m[1]})")
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for part in ("src", "tests", "pyproject.toml"):
            src = ROOT / part
            (shutil.copytree if src.is_dir() else shutil.copy)(src, work / part)
        counts: dict[str, int] = {}
        t0 = time.perf_counter()
        for name, rel, old, new, tests in muts:
            res = run_one(work, name, rel, old, new, tests, args.timeout)
            key = res.split(" ")[0]
            counts[key] = counts.get(key, 0) + 1
            print(f"{res:17s} {name}", flush=True)
        judged = counts.get("caught", 0) + counts.get("missed", 0)
        share = counts.get("caught", 0) / judged if judged else 0.0
        print(f"\n{counts.get('caught', 0)} of {judged} mutations caught ({share:.0%}); "
              f"{counts.get('stale', 0)} stale; {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
