"""``spiral bench report DIR...``: one HTML page comparing benchmark result directories.

The page holds the comparison table (mean and 95 % confidence interval per metric),
success-vs-horizon curves, success-vs-compute (generator calls) points, failure-type
histograms (from the critics' verdicts in every task's trace), and a gallery of the worst
and best episodes with their videos. Plots are PNG images drawn with matplotlib and
embedded in the page; videos are linked relative to the page.
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
import os
from pathlib import Path
from typing import Any

from spiral.bench.runner import suite_of
from spiral.core.rundir import atomic_write_bytes
from spiral.errors import InputFileError
from spiral.redaction import redact

log = logging.getLogger(__name__)

TABLE_METRICS = ("strict_success", "task_success", "strict_clean", "subaction_completion", "first_failure_frac", "permanence", "identity_kept",
                 "no_sudden_switch", "temporal_flicker_score", "consistency_subject", "generator_calls", "nfe",
                 "retries", "replans", "wall_s", "loop_overhead_share")


def _load(d: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    s, r = d / "summary.json", d / "results.jsonl"
    if not s.exists() or not r.exists():
        raise InputFileError(f"{d} is not a benchmark results directory", "run `spiral bench run --out DIR` first")
    rows = [json.loads(x) for x in r.read_text().splitlines() if x.strip()]
    return json.loads(s.read_text()), rows


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _success_plot(plt, fig, ax, xlabel: str) -> str:
    """Finish a task-success plot and return it as a PNG data URI."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel("success (strict; lenient dotted)")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    png = _png(fig)
    plt.close(fig)
    return png


def _failure_counts(d: Path, rows: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in rows:
        tr = d / "runs" / r["id"] / "trace.jsonl"
        if not tr.exists():
            continue
        for ln in tr.read_text().splitlines():
            try:
                e = json.loads(ln)
            except json.JSONDecodeError:
                continue
            if e.get("event") == "verdict" and not e["verdict"]["passed"]:
                ft = e["verdict"].get("failure_type") or "?"
                counts[ft] = counts.get(ft, 0) + 1
    return counts


def write_report(dirs: list[str | Path], out: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    data = []
    for d in dirs:
        p = Path(d)
        s, rows = _load(p)
        data.append((p, s, rows))
    labels = [f"{p.name} ({s.get('mode')})" for p, s, _ in data]
    suites = {suite_of(p) for p, _, _ in data} - {None}
    if len(suites) > 1:
        log.warning("the result directories come from %d different task suites: their figures do not compare",
                    len(suites))
    # table
    head = "".join(f"<th>{html.escape(m)}</th>" for m in TABLE_METRICS)
    body = ""
    for (p, s, _), lab in zip(data, labels):
        cells = ""
        for m in TABLE_METRICS:
            v = s["overall"].get(m)
            cells += f"<td>{v['mean']:.3f} ± {v['ci95']:.3f}</td>" if v else "<td>—</td>"
        body += f"<tr><td>{html.escape(lab)}</td><td>{s.get('tasks')}</td>{cells}</tr>"
    table = f"<table><tr><th>results</th><th>tasks</th>{head}</tr>{body}</table>"
    # success vs horizon
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for (p, s, _), lab in zip(data, labels):
        hs = sorted(s.get("by_horizon", {}).items(), key=lambda kv: int(kv[0]))
        xs = [int(h) for h, _ in hs]
        for m, style, name in (("strict_success", "-", "strict"), ("task_success", ":", "lenient")):
            if not any(m in b for _, b in hs):
                continue  # results of an earlier version: no strict success
            ys = [b.get(m, {}).get("mean", 0) for _, b in hs]
            es = [b.get(m, {}).get("ci95", 0) for _, b in hs]
            ax.errorbar(xs, ys, yerr=es, marker="o", linestyle=style, capsize=3, label=f"{lab} · {name}")
    horizon_png = _success_plot(plt, fig, ax, "horizon (sub-actions)")
    # success vs compute
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for (p, s, _), lab in zip(data, labels):
        c, t = s["overall"].get("generator_calls"), s["overall"].get("strict_success", s["overall"].get("task_success"))
        if c and t:
            ax.errorbar([c["mean"]], [t["mean"]], xerr=[c["ci95"]], yerr=[t["ci95"]], marker="o", capsize=3,
                        label=lab)
    compute_png = _success_plot(plt, fig, ax, "generator calls per task")
    # failure types
    fig, ax = plt.subplots(figsize=(6, 3.5))
    types = ["missing_action", "incomplete_action", "physical_violation", "sudden_switch", "identity_drift",
             "hallucinated_object"]
    width = 0.8 / max(1, len(data))
    for i, ((p, s, rows), lab) in enumerate(zip(data, labels)):
        cnt = _failure_counts(p, rows)
        ax.bar([k + i * width for k in range(len(types))], [cnt.get(t, 0) for t in types], width, label=lab)
    ax.set_xticks([k + 0.4 - width / 2 for k in range(len(types))])
    ax.set_xticklabels([t.replace("_", "\n") for t in types], fontsize=7)
    ax.set_ylabel("rejected clips")
    ax.legend(fontsize=7)
    failures_png = _png(fig)
    plt.close(fig)
    # gallery
    gallery = ""
    for (p, s, rows), lab in zip(data, labels):
        scored = sorted(rows, key=lambda r: (r.get("strict_success", 0), r.get("task_success", 0),
                                             r.get("goal_conditions_met", 0), r.get("subaction_completion", 0)))
        worst = scored[:3]
        best = [r for r in scored[-3:][::-1] if r not in worst]  # a small directory: each episode once
        picks = [("worst", r) for r in worst] + [("best", r) for r in best]
        cells = ""
        for kind, r in picks:
            run = p / "runs" / r["id"]
            vid = run / "video.mp4"
            if r.get("kept"):  # best-of-n: the episode it kept
                vid = run / r["kept"] / "video.mp4"
            rel = os.path.relpath(vid.resolve(), out.parent.resolve()) if vid.exists() else ""  # both real paths
            cells += (f"<figure><video src='{html.escape(rel)}' width='192' height='192' controls muted loop>"
                      f"</video><figcaption>{kind}: {html.escape(r['id'])} · strict "
                      f"{r.get('strict_success', 0):.0f} · lenient {r.get('task_success', 0):.0f} · "
                      f"{html.escape(str(r.get('status')))}</figcaption></figure>")
        gallery += f"<h3>{html.escape(lab)}</h3><div class='gallery'>{cells}</div>"
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>ActWM-Bench report</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1200px;color:#222}}
table{{border-collapse:collapse;font-size:.8rem}}td,th{{border:1px solid #ddd;padding:.2rem .4rem}}
th{{background:#f4f4f4}}.gallery{{display:flex;flex-wrap:wrap;gap:.8rem}}figure{{margin:0}}
figcaption{{font-size:.75rem;color:#555;max-width:192px}}img.plot{{max-width:100%}}</style></head><body>
<h1>ActWM-Bench report</h1>
<h2>Comparison (mean ± 95% CI)</h2>{table}
<h2>Success vs horizon</h2><img class="plot" id="plot-horizon" src="{horizon_png}" alt="success vs horizon">
<h2>Success vs compute</h2><img class="plot" id="plot-compute" src="{compute_png}" alt="success vs compute">
<h2>Failure types of rejected clips</h2><img class="plot" id="plot-failures" src="{failures_png}" alt="failures">
<h2>Worst and best episodes</h2>{gallery}
</body></html>"""
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, redact(page).encode("utf-8"))
    return out
