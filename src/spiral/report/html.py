"""``report.html``: a self-contained page that explains every decision of a run."""

from __future__ import annotations

import base64
import functools
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from spiral.core.rundir import CONFIG, STATE, TRACE, atomic_write_bytes
from spiral.core.trace import read_trace
from spiral.redaction import redact


def _data_uri(frame: np.ndarray) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _conds(conds: list[dict[str, Any]]) -> str:
    out = []
    for c in conds:
        args = list(c.get("args", [])) + ([c["region"]] if c.get("region") else [])
        if c.get("xy"):
            args.append("{:.2f},{:.2f}".format(*tuple(c["xy"])))
        out.append(f"{c['pred']}({', '.join(args)})")
    return ", ".join(out)


def collect(run_path: Path) -> dict[str, Any]:
    """Everything the report shows, from the run directory's files."""
    cfg_file = json.loads((run_path / CONFIG).read_text())
    cfg = cfg_file["config"]
    events = read_trace(run_path / TRACE) if (run_path / TRACE).exists() else []
    state = json.loads((run_path / STATE).read_text()) if (run_path / STATE).exists() else {}
    plans, steps, attempts = [], {}, {}
    goal_conditions: list[str] = []
    version = 0
    stops = ""
    for e in events:
        ev = e["event"]
        if ev == "plan":
            plans.append({"version": e["version"], "step": 0, "kind": "plan", "feedback": "",
                          "steps": [{"index": i, "prompt": s["prompt"], "kind": s["kind"],
                                     "pre": _conds(s["preconditions"]), "post": _conds(s["postconditions"])}
                                    for i, s in enumerate(e["steps"])]})
            goal_conditions = [_conds([c]) for c in e.get("goal_conditions", [])]
        elif ev in ("replan", "ground"):
            version = e["to_version"]
            if "goal_conditions" in e:
                goal_conditions = [_conds([c]) for c in e["goal_conditions"]]
            plans.append({"version": version, "step": e["step"], "kind": ev,
                          "feedback": e.get("feedback", e.get("reason", "")),
                          "steps": [{"index": e["step"] + i, "prompt": s["prompt"], "kind": s["kind"],
                                     "pre": _conds(s["preconditions"]), "post": _conds(s["postconditions"])}
                                    for i, s in enumerate(e["steps"])]})
        elif ev == "request":
            key = (version, e["step"], e["attempt"])
            r = e["request"]
            attempts[key] = {"attempt": e["attempt"], "plan_version": version, "seed": r["seed"],
                             "steps": r["steps"], "prompt": r["prompt"], "thumb": None, "verdict": None,
                             "decision": None, "strategy": None, "reason": "", "fault": None}
            steps.setdefault(e["step"], {"step": e["step"], "prompt": "", "attempts": []})
            steps[e["step"]]["attempts"].append(attempts[key])
            if e["attempt"] == 0 and not steps[e["step"]]["prompt"]:
                steps[e["step"]]["prompt"] = r["prompt"]
        elif ev == "clip":
            a = attempts.get((version, e["step"], e["attempt"]))
            if a is not None:
                a["thumb"] = e.get("thumb")
                a["fault"] = (e.get("meta") or {}).get("injected_fault")
        elif ev == "verdict":
            a = attempts.get((version, e["step"], e["attempt"]))
            if a is not None:
                a["verdict"] = e["verdict"]
        elif ev == "decision":
            a = attempts.get((version, e["step"], e["attempt"]))
            if a is not None:
                a.update(decision=e["action"], strategy=e.get("strategy"), reason=e.get("reason", ""))
    result = state.get("result")
    if result and result.get("status") == "stopped":
        stops = result.get("reason", "")
    timing = (result or {}).get("timing", {})
    timings = [(k, v, TIMING_LABELS.get(k, "")) for k, v in sorted(timing.items(), key=lambda kv: -kv[1])]
    first = None
    seg0 = run_path / "segments" / "0000.npy"
    if seg0.exists():
        first = np.load(seg0, allow_pickle=False)[0]
    else:
        try:
            from spiral.core.memory import EpisodeMemory

            mem = EpisodeMemory(run_path / "memory.sqlite")
            first = mem.first_frame()
            mem.close()
        except Exception:  # noqa: BLE001 - the report should render even without memory
            first = None
    if first is None:
        first = np.zeros((64, 64, 3), np.uint8)
    return {
        "goal": cfg.get("goal", ""), "version": cfg_file.get("spiral_version", "?"), "mode": cfg.get("mode"),
        "generator": cfg.get("generator", {}).get("name"), "planner": cfg.get("planner", {}).get("name"),
        "critic": cfg.get("critic", {}).get("name"), "seed": cfg.get("seed"), "result": result,
        "plans": plans, "steps": [steps[k] for k in sorted(steps)], "goal_conditions": goal_conditions,
        "timings": timings, "timing_max": max([v for _, v, _ in timings] + [1e-9]), "stops": stops,
        "first_frame": _data_uri(first),
    }


TIMING_LABELS = {
    "wall_s": "the whole episode",
    "generate_s": "generation",
    "critic_s": "critique, pre-checks and the final goal check",
    "plan_s": "planning, replanning and grounding",
    "memory_io_s": "memory and run-directory writes",
    "overlap_s": "the part of critique, planning and writes done while the next clip was generated ahead "
                 "(loop.speculate): off the episode's critical path",
    "speculation_waste_s": "generation of clips made ahead and not used (loop.speculate)",
}


@functools.lru_cache(maxsize=1)
def _env() -> Any:
    """One template environment per process: compiling the template takes about 45 ms, as
    long as writing the rest of a short run (a benchmark writes one report per task)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(loader=PackageLoader("spiral.report", "templates"), autoescape=select_autoescape(["html", "j2"]))


def write_run_report(run_path: str | Path, out: str | Path) -> Path:
    html = _env().get_template("run.html.j2").render(**collect(Path(run_path)))
    out = Path(out)
    atomic_write_bytes(out, redact(html).encode("utf-8"))  # the last line of defence
    return out
