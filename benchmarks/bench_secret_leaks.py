"""Secret leaks (issue 20, point 3): every leak path, end to end, counted in every file and stream.

Usage:  python benchmarks/bench_secret_leaks.py [--trials 1] [--paths NAME,...] [--json FILE]

Each path starts the loopback OpenAI-compatible server (tests/agents/scripted_server.py, in
this process), makes it put a fresh secret where an answer or an error goes (a plan step's
prompt, plain, ``\\u``-escaped or split by zero-width characters; a verdict's feedback; a
model named ``model-<key>``; ``user:password@`` in agents.base_url; the auth header echoed
into an error, with its base64; ``?api_key=`` in agents.base_url; the critic benchmark's
feedback), runs the CLI at ``-vv`` in a temporary directory, then ``spiral show`` (with and
without ``--events``), and counts every form of the secret (plain, base64, URL-safe base64,
``\\u``-escaped, URL-encoded, and in a view with escapes decoded and invisible characters
dropped) in:

* files: every file under the run (or bench) directory and the response cache;
* logs: every log record of the spiral/openai/httpx loggers, and the CLI's stderr (log lines,
  progress, printed errors);
* printed: the CLI's stdout.

The bar: 0 everywhere. Run against a checkout without redaction by value
(``PYTHONPATH=<old>/src``) to see what each path leaked before.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "agents"))  # the loopback server

from leak_paths import PATHS, run_path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=1, help="runs of each path (fresh secrets each time)")
    ap.add_argument("--paths", default="", help="comma-separated path names (default: all)")
    ap.add_argument("--json", default=None, help="also write the rows here")
    args = ap.parse_args()
    wanted = [p for p in PATHS if not args.paths or p.name in args.paths.split(",")]
    logging.getLogger().setLevel(logging.DEBUG)
    rows = []
    for path in wanted:
        tot = {"files": 0, "logs": 0, "printed": 0, "log_lines": 0, "requests": 0, "bad_exit": 0, "s": 0.0}
        where: dict[str, int] = {}
        for _ in range(args.trials):
            with tempfile.TemporaryDirectory(prefix="spiral-leak-") as d:
                t0 = time.perf_counter()
                r = run_path(path, Path(d))
                tot["s"] += time.perf_counter() - t0
            for k in ("files", "logs", "printed", "log_lines", "requests"):
                tot[k] += r[k]
            tot["bad_exit"] += not r["expected_exit"]
            for f, n in r["file_hits"].items():
                k = "llm-cache/*" if f.startswith("llm-cache/") else f
                where[k] = where.get(k, 0) + n
        rows.append({"path": path.name, "what": path.what, **tot, "where": where})
    w = max(len(r["path"]) for r in rows)
    print(f"{'path':<{w}}  {'files':>5}  {'logs':>5}  {'printed':>7}  {'log lines':>9}  {'HTTP':>4}  {'exit ok':>7}"
          f"  {'s':>5}  where")
    for r in rows:
        print(f"{r['path']:<{w}}  {r['files']:>5}  {r['logs']:>5}  {r['printed']:>7}  {r['log_lines']:>9}  "
              f"{r['requests']:>4}  {'yes' if not r['bad_exit'] else 'NO':>7}  {r['s']:>5.1f}  "
              + (", ".join(f"{k}:{v}" for k, v in sorted(r["where"].items())) or "-"))
    total = sum(r["files"] + r["logs"] + r["printed"] for r in rows)
    print(f"\n{len(rows)} paths x {args.trials} trial(s): {total} occurrence(s) of a secret in files, logs or output")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    return 0 if total == 0 and not any(r["bad_exit"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
