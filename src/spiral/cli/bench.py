"""``spiral bench``: measure components before trusting them.

``spiral bench critic`` runs the critic-fidelity suite (:mod:`spiral.bench.critic_fidelity`)
on any critic backend, e.g. a VLM behind an OpenAI-compatible endpoint:

    spiral bench critic --critic vlm --set agents.base_url=http://127.0.0.1:8000/v1 --n 10
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.table import Table

from spiral.cli.consoles import consoles, fail
from spiral.errors import SpiralError
from spiral.redaction import redact

app = typer.Typer(help="Benchmarks: run task suites (run, compare, report) and measure critics (critic). "
                       "`spiral bench --tasks FILE [--mode M] [--out DIR]` is short for `spiral bench run`.",
                  invoke_without_command=True)
console, out_console = consoles()  # both redact secrets from what they print


EXIT_TASK_ERRORS = 4  # `bench run`: some tasks ended as error rows (docs/guarantees.md)



_SHORT = {"missing_action": "missing", "incomplete_action": "incompl", "physical_violation": "physical",
          "sudden_switch": "switch", "identity_drift": "drift", "hallucinated_object": "halluc"}


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.0%}" if x in (0, 1) else f"{x:.1%}"


@app.command("critic")
def critic_cmd(
    critic: str = typer.Option("perception", "--critic", help="Critic backend (e.g. perception, vlm)."),
    config: Path | None = typer.Option(None, "--config", "-c", help="Config file (JSON or YAML): its critic "
                                          "and agents sections are used, and loop.frames_per_segment, loop.fps "
                                          "and scene.size shape the clips."),
    set_: list[str] = typer.Option([], "--set", "-s", help="Override a config key, e.g. --set critic.frames=4 "
                                   "or --set agents.base_url=http://127.0.0.1:8000/v1 (repeatable)."),
    n: int = typer.Option(20, "--n", min=1, help="Scenes in the suite (each: 1 exact clip + one per corruption; "
                          "with --real: scenes per kind, lite and hard, of which half are the part)."),
    seed: int = typer.Option(0, "--seed", help="Suite seed."),
    corruptions: str | None = typer.Option(None, "--corruptions", help="Comma-separated subset of corruptions."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Directory for critic_fidelity.json "
                                       "(default: bench-results/critic-<name>-<time>)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    real: bool = typer.Option(False, "--real", help="Judge the critic on clips the built-in model (tiny-ti2v) "
                              "really generated, labelled by an oracle from the true states, instead of "
                              "corruptions (writes critic_real.json)."),
    part: str = typer.Option("held-out", "--part", help="With --real: dev (tune on it), held-out (report it) "
                             "or all."),
) -> None:
    """Critic fidelity: exact clips and labelled corruptions (or, with --real, the built-in model's
    real clips) → precision/recall per failure type, confusion matrix, balanced accuracy."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if real:
        _critic_real(critic, config, set_, n, seed, part, out, quiet)
        return
    from spiral.bench.critic_fidelity import evaluate, suite_size

    names = [c.strip() for c in corruptions.split(",") if c.strip()] if corruptions else None
    got = _critic_suite(critic, config, set_, out, quiet, "critic fidelity", "critic_fidelity.json", "",
                        lambda: suite_size(n, names),
                        lambda backend, cfg, on_case: evaluate(
                            backend, n_scenes=n, seed=seed, corruptions=names, size=cfg.scene.size,
                            num_frames=cfg.loop.frames_per_segment, fps=cfg.loop.fps, on_case=on_case))
    if got is None:
        return
    report, path = got
    print_report(report)
    out_console.print(f"wrote {path}", highlight=False)


def _critic_suite(critic: str, config: Path | None, set_: list[str], out: Path | None, quiet: bool, label: str,
                  filename: str, stem: str, total: Any, run: Any) -> tuple[dict[str, Any], Path] | None:
    """Build the critic, run one of its suites with a progress bar, write the report (redacted:
    feedback may quote an echoed secret) into ``out``; ``None`` after a reported error."""
    from spiral.config import build_config
    from spiral.core.rundir import atomic_write_bytes
    from spiral.registry import build

    try:
        cfg = build_config(config, {"critic": {"name": critic}}, set_)
        backend = build("critic", cfg.critic, config=cfg)
        out_dir = out or Path("bench-results") / (
            f"critic-{stem}{critic}-{_dt.datetime.now(_dt.timezone.utc).strftime('%Y%m%d-%H%M%S')}")
        progress = task = None
        if not quiet:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            progress = Progress(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), console=console, transient=True)
            task = progress.add_task("clips", total=total())
            progress.start()
        try:
            report = run(backend, cfg,
                         (lambda i, c, p: progress.update(task, completed=i + 1)) if progress else None)
        finally:
            if progress is not None:
                progress.stop()
        public = cfg.public_dict()
        report["config"] = {"critic": public["critic"], "agents": public["agents"]}
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / filename
        atomic_write_bytes(path, redact(json.dumps(report, indent=1)).encode())
    except SpiralError as exc:
        fail(console, exc)
        return None
    except OSError as exc:
        fail(console, SpiralError(f"cannot write {exc.filename}: {exc.strerror}", "choose a writable --out"))
        return None
    return report, path


def _critic_real(critic: str, config: Path | None, set_: list[str], n: int, seed: int, part: str,
                 out: Path | None, quiet: bool) -> None:
    from spiral.bench.critic_real import PARTS, evaluate, set_size

    if part not in PARTS:
        fail(console, SpiralError(f"unknown --part {part!r}", f"use one of {', '.join(PARTS)}"))
        return
    # the model works at 64 px; the clips keep the loop's frames per segment and fps
    got = _critic_suite(critic, config, set_, out, quiet, "critic on real clips", "critic_real.json", "real-",
                        lambda: set_size(n, part),
                        lambda backend, cfg, on_case: evaluate(
                            backend, n_scenes=n, seed=seed, part=part, num_frames=cfg.loop.frames_per_segment,
                            fps=cfg.loop.fps, on_case=on_case))
    if got is None:
        return
    report, path = got
    fr, res = report["false_rejection"], report["residue"]
    out_console.print(
        f"[bold]{report['part']} part[/] of the real-failure set: {report['distinct_clips']} distinct clips · "
        f"false rejections {fr['rejected']} of {fr['correct_clips']} correct clips ({_pct(fr['rate'])}) · "
        f"residue recall {_pct(res['recall'])}, precision {_pct(res['precision'])} ({res['support']} with residue)",
        highlight=False)
    print_report(report, "suite: step kind")
    out_console.print(f"wrote {path}", highlight=False)


def print_report(r: dict[str, Any], what: str = "corruption") -> None:
    d = r["detection"]
    out_console.print(
        f"[bold]critic {r['critic']}[/]: {r['n_clips']} clips from {r['n_scenes']} scenes · "
        f"balanced accuracy (type) [bold]{_pct(r['balanced_accuracy'])}[/] · detection: balanced "
        f"{_pct(d['balanced_accuracy'])}, TPR {_pct(d['tpr'])}, TNR {_pct(d['tnr'])} · errors {r['errors']} · "
        f"{r['s_per_clip']:.3f} s/clip", highlight=False)
    if r.get("cost"):
        c = r["cost"]
        out_console.print(f"cost: {c.get('requests', 0)} requests, {c.get('cache_hits', 0)} cache hits, "
                          f"{c.get('prompt_tokens', 0)} + {c.get('completion_tokens', 0)} tokens"
                          + (f", ${c['usd']:.4f}" if c.get("usd") is not None else ""), highlight=False)
    t = Table(title="per failure type", title_justify="left")
    for col in ("failure type", "support", "precision", "recall", "F1"):
        t.add_column(col, justify="left" if col == "failure type" else "right")
    for k, v in r["per_type"].items():
        t.add_row(k, str(v["support"]), _pct(v["precision"]), _pct(v["recall"]), _pct(v["f1"]))
    out_console.print(t)
    t = Table(title=f"per {what}", title_justify="left")
    for col in (what, "label", "n", "detected", "named right"):
        t.add_column(col, justify="left" if col in (what, "label") else "right")
    for k, v in r["per_corruption"].items():
        t.add_row(k, v["label"], str(v["n"]), _pct(v["detection_rate"]), _pct(v["type_recall"]))
    out_console.print(t)
    cm = r["confusion"]
    t = Table(title="confusion (rows: true, columns: predicted)", title_justify="left", box=box.SIMPLE)
    t.add_column("", min_width=8, no_wrap=True)
    for p in cm["labels_pred"]:
        t.add_column(_SHORT.get(p, p), justify="right", min_width=len(_SHORT.get(p, p)), no_wrap=True)
    for name, row in zip(cm["labels_true"], cm["matrix"]):
        t.add_row(_SHORT.get(name, name), *[str(x) if x else "·" for x in row])
    out_console.print(t)
    if r.get("skipped"):
        out_console.print("not applicable in some scenes (skipped): "
                          + ", ".join(f"{k} ×{v}" for k, v in r["skipped"].items()), highlight=False)


def _user_keys(config: Path | None, set_: list[str]) -> dict[str, Any]:
    """What the user set (config file and --set), without the defaults."""
    from spiral.config import apply_set, load_config_file

    data: dict[str, Any] = load_config_file(config) if config else {}
    for item in set_:
        apply_set(data, item)
    return data


def suite_path(tasks: Path | None, suite: str | None) -> Path:
    """The task file to run: ``--tasks FILE``, or a built-in suite named by ``--suite`` or
    by ``--tasks`` (``lite``, ``hard``, ``actwm-bench-hard`` … when no such file exists)."""
    from spiral.bench.tasks import builtin_suite

    if tasks is not None and suite is not None:
        raise SpiralError("give --tasks or --suite, not both", "--suite hard runs the built-in ActWM-Bench Hard")
    if tasks is None:
        return builtin_suite(suite or "lite")
    if not tasks.exists() and tasks.parent == Path(".") and not tasks.suffix:
        return builtin_suite(tasks.name)  # a built-in suite's name
    return tasks


@app.command("run")
def run_cmd(
    tasks: Path | None = typer.Option(None, "--tasks", "-t", help="Task file (JSONL or a JSON array, ActWM-Bench "
                                         "format: docs/bench.md), or a built-in suite's name; default: the "
                                         "built-in ActWM-Bench-Lite."),
    suite: str | None = typer.Option(None, "--suite", help="A built-in suite by name: lite (ActWM-Bench-Lite, "
                                     "the default) or hard (ActWM-Bench Hard)."),
    mode: str = typer.Option("closed-loop", "--mode", "-m", help="closed-loop, plan-only, open-loop or best-of-n "
                             "(open loop at the closed loop's generator calls; needs --match)."),
    match: Path | None = typer.Option(None, "--match", help="best-of-n: the closed-loop results directory "
                                         "whose generator calls it is matched to."),
    generator: str | None = typer.Option(None, "--generator", "-g", help="Generator backend."),
    planner: str | None = typer.Option(None, "--planner", help="Planner backend."),
    critic: str | None = typer.Option(None, "--critic", help="Critic backend."),
    config: Path | None = typer.Option(None, "--config", "-c", help="Base config file (JSON or YAML)."),
    set_: list[str] = typer.Option([], "--set", "-s", help="Override a config key (repeatable)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Results directory (resumes if it exists)."),
    workers: int = typer.Option(2, "--workers", "-w", min=1, help="Parallel processes."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N tasks."),
    executor: str = typer.Option("local", "--executor", help="local (processes here) or ray (tasks on a Ray "
                                 "cluster; docs/ray.md). With ray, --workers is the number of tasks in flight."),
    ray_address: str | None = typer.Option(None, "--ray-address", help="ray: auto, HOST:PORT or ray://HOST:10001 "
                                            "or spiral (the instance `spiral ray start` keeps; default: start a local "
                                            "Ray instance for the run)."),
    ray_actors: int = typer.Option(0, "--ray-actors", min=0, help="ray: generator actors (the generator loaded "
                                   "once per actor, e.g. one per GPU); 0: each task loads its own."),
    ray_gpus_per_actor: float = typer.Option(0.0, "--ray-gpus-per-actor", min=0.0, help="ray: GPUs per actor."),
    ray_task_cpus: float = typer.Option(1.0, "--ray-task-cpus", min=0.0, help="ray: CPUs each episode task "
                                        "reserves (lower it when the generator runs in actors)."),
    ray_shared_fs: bool = typer.Option(False, "--ray-shared-fs", help="ray: tasks write into --out directly (every "
                                       "node mounts it at the same path) instead of shipping files back (they always do on a local "
                                       "instance: no --ray-address, or --ray-address spiral)."),
    allow_errors: bool = typer.Option(False, "--allow-errors", help="Exit 0 even when tasks end with an error "
                                      "(a missing image, a backend failure); without it such a benchmark "
                                      f"exits {EXIT_TASK_ERRORS}."),
) -> None:
    """Run a task suite; write results.jsonl, summary.json and every task's run directory.

    Exit codes: 0 done · 2 bad input (or the results directory is in use) · 4 some tasks
    ended with an error (see results.jsonl; they run again on resume) unless --allow-errors."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from spiral.bench.runner import check_base, run_suite, task_keys_in
    from spiral.config import build_config

    overrides: dict[str, Any] = {}
    for role, name in (("generator", generator), ("planner", planner), ("critic", critic)):
        if name is not None:
            overrides[role] = {"name": name}
    try:
        check_base(_user_keys(None, set_))  # before the defaults fill them in
        given = task_keys_in(_user_keys(config, [])) if config is not None else []
        if given:  # e.g. a run's config.json: its goal, seed and scene give way to each task's
            console.print(f"note: {', '.join(given)} in {config} are replaced by each task's", highlight=False)
        base = build_config(config, overrides, set_).model_dump(mode="json")
        for k in ("goal", "seed", "mode"):  # each task sets these, and its scene source
            base.pop(k, None)
        from spiral.config import SceneConfig

        # the scene settings a task does not set, when not at their defaults (results directories
        # of earlier versions, which had none, stay resumable)
        defaults = SceneConfig().model_dump(mode="json")
        base["scene"] = {k: v for k, v in base["scene"].items()
                         if k not in ("seed", "file", "image") and v != defaults[k]}
        if not base["scene"]:
            del base["scene"]
        path = suite_path(tasks, suite)
        out_dir = out or Path("bench-results") / f"{path.stem}-{mode}-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"
        from spiral.exec import make_executor

        if executor != "ray" and (ray_actors or ray_gpus_per_actor or ray_task_cpus != 1.0 or ray_shared_fs):
            raise SpiralError("--ray-actors, --ray-gpus-per-actor, --ray-task-cpus and --ray-shared-fs are "
                              "options of the ray executor", "add --executor ray, or drop them")
        ray_opts = {} if executor != "ray" else {
            "actors": ray_actors, "actor_num_gpus": ray_gpus_per_actor, "task_num_cpus": ray_task_cpus,
            "ship_files": False if ray_shared_fs else None, "actor_config": base if ray_actors else None}
        ex = make_executor(executor, workers=workers, address=ray_address, **ray_opts)
        if executor == "ray" and ray_address is None and not os.environ.get("RAY_ADDRESS"):  # ray.init starts one
            console.print("note: a local Ray instance is started for this run and stopped after it (seconds); "
                          "for repeated runs keep one: `spiral ray start`, then --ray-address spiral",
                          highlight=False, soft_wrap=True)
        with Progress("[bold]tasks", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console) as p:
            task = p.add_task("run", total=None)
            summary = run_suite(path, out_dir, mode, base, workers=workers, limit=limit,
                                progress=lambda d, n: p.update(task, completed=d, total=n), match=match,
                                executor=ex)
    except SpiralError as exc:
        fail(console, exc)
        return
    ov = summary["overall"]
    t = Table(title=f"{path.name} · {mode} · {summary['tasks']} tasks", box=box.SIMPLE_HEAVY)
    for col in ("metric", "mean", "±95% CI"):
        t.add_column(col)
    for k, v in ov.items():
        if isinstance(v, dict):
            t.add_row(k, f"{v['mean']:.3f}", f"{v['ci95']:.3f}")
    out_console.print(t)
    if ov.get("errors"):
        out_console.print(f"[yellow]{ov['errors']} task(s) failed with an error[/] (status \"error\" in "
                          f"results.jsonl, with the reason; they count as failures in strict_success and task_success and run "
                          f"again when you resume)", highlight=False)
    out_console.print(f"results: {out_dir}")
    if ov.get("errors") and not allow_errors:
        raise typer.Exit(EXIT_TASK_ERRORS)


@app.command("schema")
def schema_cmd(out: Path | None = typer.Option(None, "--out", "-o", help="Write it here instead of printing it.")
               ) -> None:
    """The task format's JSON Schema (what `spiral bench run --tasks FILE` accepts)."""
    from spiral.bench.tasks import task_schema

    text = json.dumps(task_schema(), indent=1) + "\n"
    if out is None:
        out_console.print(text, end="", markup=False, highlight=False)
        return
    try:
        out.write_text(text)
    except OSError as exc:
        fail(console, SpiralError(f"cannot write {out}: {exc.strerror}", "choose a writable --out"))
    console.print(f"wrote {out}", highlight=False)


@app.command("compare")
def compare_cmd(dirs: list[Path] = typer.Argument(..., help="Results directories of `spiral bench run`."),
                out: Path | None = typer.Option(None, "--out", "-o", help="Also write the table as JSON here.")) -> None:
    """Print (and write) a table comparing result directories."""
    from spiral.bench.runner import compare

    try:
        rows = compare(dirs)
    except SpiralError as exc:
        fail(console, exc)
        return
    metrics = [k for k in rows[0] if k not in ("results", "mode", "tasks")]
    t = Table(box=box.SIMPLE_HEAVY)
    for col in ["results", "mode", "tasks"] + metrics:
        t.add_column(col)
    for r in rows:
        cells = [r["results"], str(r["mode"]), str(r["tasks"])]
        for m in metrics:
            v = r[m]
            cells.append("—" if v is None else f"{v['mean']:.3f} ± {v['ci95']:.3f}")
        t.add_row(*cells)
    out_console.print(t)
    if out:
        out.write_text(json.dumps(rows, indent=1) + "\n")


@app.command("report")
def report_cmd(dirs: list[Path] = typer.Argument(..., help="Results directories of `spiral bench run`."),
               out: Path = typer.Option(Path("bench-report.html"), "--out", "-o", help="HTML page to write.")) -> None:
    """An HTML page: comparison table with 95% CIs, success vs horizon and vs compute,
    failure-type histograms, and the worst and best episodes with their videos."""
    from spiral.bench.report import write_report

    try:
        p = write_report(dirs, out)
    except SpiralError as exc:
        fail(console, exc)
        return
    out_console.print(f"wrote {p}")


@app.callback()
def bench_main(ctx: typer.Context,
               tasks: Path | None = typer.Option(None, "--tasks", "-t", help="Run this task file or built-in "
                                                    "suite (as `run`)."),
               suite: str | None = typer.Option(None, "--suite", help="Run this built-in suite: lite or hard."),
               mode: str = typer.Option("closed-loop", "--mode", "-m", help="Mode for --tasks."),
               out: Path | None = typer.Option(None, "--out", "-o", help="Results directory for --tasks."),
               workers: int = typer.Option(2, "--workers", "-w", min=1, help="Parallel processes for --tasks.")) -> None:
    """Benchmarks."""
    if ctx.invoked_subcommand is not None:
        return
    if tasks is None and suite is None:
        out_console.print(ctx.get_help())
        raise typer.Exit(0)
    ctx.invoke(run_cmd, tasks=tasks, suite=suite, mode=mode, generator=None, planner=None, critic=None, config=None,
               set_=[], out=out, workers=workers, limit=None, match=None, allow_errors=False, executor="local",
               ray_address=None, ray_actors=0, ray_gpus_per_actor=0.0, ray_task_cpus=1.0, ray_shared_fs=False)
