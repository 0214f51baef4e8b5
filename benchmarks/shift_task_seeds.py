"""Write a copy of a task suite with every task's seed moved by K: the same scenes and goals,
other generator draws, to see how far one run of a suite moves its figures.

Usage: python benchmarks/shift_task_seeds.py [--suite hard] [--by 1] --out tasks.jsonl
then:  spiral bench run --tasks tasks.jsonl --mode closed-loop --out DIR --workers 2
"""

from __future__ import annotations

import argparse
import json

from spiral.bench.tasks import builtin_suite


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", default="hard", help="a built-in suite: lite, hard or hard-dev")
    ap.add_argument("--by", type=int, default=1, help="added to every task's seed")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    name = {"lite": "actwm-bench-lite", "hard": "actwm-bench-hard", "hard-dev": "actwm-bench-hard-dev"}[args.suite]
    with open(builtin_suite(name)) as src, open(args.out, "w") as dst:
        for line in src:
            if line.strip():
                task = json.loads(line)
                task["seed"] = int(task.get("seed", 0)) + args.by
                dst.write(json.dumps(task) + "\n")


if __name__ == "__main__":
    main()
