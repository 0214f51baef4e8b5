"""The ``spiral`` command.

Exit codes: 0 success · 2 bad input (the message names the problem and the fix; also a
directory another process writes) · 3 the loop stopped before the goal (budget exhausted;
partial result written) · 4 ``bench run``: tasks ended with an error · 1 unexpected internal
error · 130 interrupted (docs/guarantees.md).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from spiral import __version__
from spiral.cli.consoles import consoles
from spiral.errors import SpiralError

app = typer.Typer(
    name="spiral",
    help="SPIRAL: closed-loop action world models. Plan sub-actions, generate each segment, "
         "critique it, refine or replan, and write the video with a full trace.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console, out_console = consoles()  # both redact secrets from what they print

EXIT_BAD_INPUT = 2
EXIT_STOPPED = 3


def _fail(exc: SpiralError) -> None:
    console.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False, soft_wrap=True)
    if exc.hint:
        console.print(f"[yellow]hint:[/] {escape(exc.hint)}", highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def _setup_logging(verbose: int) -> None:
    from rich.logging import RichHandler

    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = RichHandler(console=console, show_path=False)
    logging.basicConfig(level=level, format="%(message)s", handlers=[handler], force=True)
    from spiral.redaction import install_log_redaction

    install_log_redaction([handler])  # every logger (openai, httpx at -vv too): secrets and URL credentials out


def version_callback(value: bool) -> None:
    if value:
        out_console.print(f"spiral {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=version_callback, is_eager=True,
                                      help="Print the version and exit.")) -> None:
    """SPIRAL command line."""


@app.command()
def run(
    goal: str | None = typer.Argument(None, help="High-level goal, e.g. \"stack all the cubes\". "
                                         "Omitted together with the scene options: the built-in demo."),
    scene_seed: int | None = typer.Option(None, "--scene-seed", help="Random tabletop scene from this seed."),
    scene: Path | None = typer.Option(None, "--scene", help="Scene JSON file (see docs/scene.md)."),
    image: Path | None = typer.Option(None, "--image", help="First-frame image (PNG/JPEG)."),
    generator: str | None = typer.Option(None, "--generator", "-g", help="Generator backend (e.g. sim, sim-faulty)."),
    planner: str | None = typer.Option(None, "--planner", help="Planner backend (symbolic, llm)."),
    critic: str | None = typer.Option(None, "--critic", help="Critic backend (perception, vlm)."),
    mode: str | None = typer.Option(None, "--mode", "-m", help="closed-loop (default), plan-only or open-loop."),
    config: Path | None = typer.Option(None, "--config", "-c", help="Config file (JSON or YAML)."),
    set_: list[str] = typer.Option([], "--set", "-s", help="Override a config key: --set loop.max_attempts=3 "
                                   "(repeatable; values parse as JSON)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Run directory (default: runs/<time>-<goal>)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its last accepted segment."),
    seed: int | None = typer.Option(None, "--seed", help="Run seed (default 0)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary."),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More logging (-v, -vv)."),
) -> None:
    """Run the loop on one goal and write the run directory (video, trace, report)."""
    _setup_logging(verbose)
    from spiral.config import build_config

    overrides: dict[str, Any] = {}
    if goal is not None:
        overrides["goal"] = goal
    if seed is not None:
        overrides["seed"] = seed
    if mode is not None:
        overrides["mode"] = mode
    sc: dict[str, Any] = {}
    if scene_seed is not None:
        sc["seed"] = scene_seed
    if scene is not None:
        sc["file"] = str(scene)
    if image is not None:
        sc["image"] = str(image)
    if sc:  # a scene source given on the command line replaces any from --config
        overrides["scene"] = {"seed": None, "file": None, "image": None, **sc}
    for role, name in (("generator", generator), ("planner", planner), ("critic", critic)):
        if name is not None:
            overrides[role] = {"name": name}
    try:
        if resume and out is not None and config is None and (out / "config.json").exists():
            config = out / "config.json"
        if sum(x is not None for x in (scene_seed, scene, image)) > 1:
            raise SpiralError("give only one of --scene-seed, --scene and --image", "drop the others")
        if goal is not None and not goal.strip():
            from spiral.errors import GoalParseError

            raise GoalParseError("the goal is empty", 'give a goal, e.g. spiral run "put the red cube in the blue bowl"')
        cfg = build_config(config, overrides, set_)
        from spiral.api import default_out, with_defaults
        from spiral.api import run as run_episode

        cfg = with_defaults(cfg)
        if resume and out is None:
            raise SpiralError("--resume needs --out: the run directory to continue", "pass --out DIR")
        out_dir = out or default_out(cfg)
        listeners = []
        progress = None
        if not quiet:
            progress = _Progress(cfg.mode)
            listeners.append(progress.on_event)
        try:
            if progress:
                progress.start()
            result, rd = run_episode(cfg, out_dir, resume=resume, listeners=listeners)
        finally:
            if progress:
                progress.stop()
    except SpiralError as exc:
        _fail(exc)
        return
    except OSError as exc:  # the disk filled up, a permission changed, … mid-run: the checkpoint holds
        where = f" {exc.filename}" if exc.filename else ""
        _fail(SpiralError(f"could not write the run directory{where}: {exc.strerror or exc}",
                          "free disk space or fix the permissions, then continue with --resume --out DIR "
                          "(accepted segments are kept)"))
        return
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]: resume with --resume --out DIR")
        raise typer.Exit(130) from None
    if not quiet:
        _summary(result, rd.path)
    if result.status != "completed":
        raise typer.Exit(EXIT_STOPPED)


class _Progress:
    """A rich progress bar fed by trace events."""

    def __init__(self, mode: str):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.p = Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                          MofNCompleteColumn(), TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
                          console=console, transient=False)
        self.task = self.p.add_task("planning", total=None, status="")
        self.mode = mode

    def start(self) -> None:
        self.p.start()

    def stop(self) -> None:
        self.p.stop()

    def on_event(self, e: dict[str, Any]) -> None:
        ev = e["event"]
        if ev == "plan":
            self.p.update(self.task, description="sub-actions", total=len(e["steps"]), completed=0)
        elif ev == "replan":
            self.p.update(self.task, total=e["step"] + len(e["steps"]), status=f"[magenta]replan v{e['to_version']}")
        elif ev == "ground":
            self.p.update(self.task, total=e["step"] + len(e["steps"]), status=f"[cyan]grounded v{e['to_version']}")
        elif ev == "resume":
            self.p.update(self.task, completed=e["segments"], status="[cyan]resumed")
        elif ev == "request":
            self.p.update(self.task, status=f"step {e['step']} attempt {e['attempt'] + 1}")
        elif ev == "verdict":
            v = e["verdict"]
            self.p.update(self.task, status="[green]pass" if v["passed"] else f"[red]{v['failure_type']}")
        elif ev == "accept":
            self.p.update(self.task, completed=e["step"] + 1)


def _summary(result: Any, path: Path) -> None:
    ok = result.goal and result.goal.get("satisfied")
    colour = "green" if result.status == "completed" and ok else "yellow" if result.status == "completed" else "red"
    console.print(f"[{colour}]{result.status}[/]: {escape(result.reason)}", highlight=False)
    if result.goal is not None:
        console.print(("goal reached" if ok else f"goal not reached (unmet: {', '.join(result.goal['unmet']) or '-'}"
                       f"{'; missing: ' + ', '.join(result.goal['missing_objects']) if result.goal['missing_objects'] else ''})"),
                      highlight=False, markup=False)
    console.print(f"{result.segments} segments · {result.generator_calls} generator calls · {result.retries} retries · "
                  f"{result.replans} replans · {result.wall_s:.1f} s", highlight=False)
    report = f"\n  report: {path / 'report.html'}" if (path / "report.html").exists() else ""  # output.report
    out_console.print(f"run directory: {path}\n  video:  {path / 'video.mp4'}{report}", highlight=False)


@app.command()
def show(run_dir: Path = typer.Argument(..., help="A run directory written by `spiral run`."),
         events: bool = typer.Option(False, "--events", help="Also print every trace event as JSON.")) -> None:
    """Print a run's plan, attempts and verdicts."""
    from spiral.core.rundir import CONFIG, TRACE
    from spiral.report.html import collect

    if not (run_dir / CONFIG).exists():
        _fail(SpiralError(f"{run_dir} is not a SPIRAL run directory (no config.json)", "pass a directory made by `spiral run`"))
    try:
        from spiral.redaction import redact_obj

        info = redact_obj(collect(run_dir))  # (the consoles redact too; a table may wrap a secret over lines)
    except (ValueError, KeyError, TypeError, AttributeError, OSError) as exc:  # JSON, UTF-8, shape
        _fail(SpiralError(f"cannot read run {run_dir}: {type(exc).__name__}: {exc}",
                          "is the run directory complete and unmodified?"))
        return
    out_console.print(f"[bold]{escape(str(info['goal']))}[/]  [dim]mode {info['mode']} · generator "
                      f"{escape(str(info['generator']))} · seed {info['seed']}[/]")
    for p in info["plans"]:
        t = Table(title="initial plan" if p["version"] == 0 else
                  f"{'grounded' if p.get('kind') == 'ground' else 'replan'} v{p['version']} from step {p['step']}",
                  title_justify="left")
        for col in ("#", "sub-action", "post-conditions"):
            t.add_column(col)
        for s in p["steps"]:
            t.add_row(str(s["index"]), escape(s["prompt"]), escape(s["post"]))
        out_console.print(t)
    t = Table(title="attempts", title_justify="left")
    for col in ("step", "try", "prompt", "verdict", "failure", "decision"):
        t.add_column(col)
    for st in info["steps"]:
        for a in st["attempts"]:
            v = a["verdict"]
            verdict = "—" if v is None else ("[green]pass" if v["passed"] else "[red]fail")
            t.add_row(str(st["step"]), str(a["attempt"]), escape(a["prompt"][:60]), verdict,
                      (v or {}).get("failure_type") or "", (a["decision"] or "") + (f" ({a['strategy']})" if a["strategy"] else ""))
    out_console.print(t)
    r = info["result"]
    if r:
        goal = "reached" if r.get("goal") and r["goal"].get("satisfied") else "not reached"
        out_console.print(f"{r['status']}: {r['reason']} · goal {goal} · {r['generator_calls']} calls · "
                          f"{r['retries']} retries · {r['replans']} replans", markup=False)
    else:
        out_console.print("[yellow]the run has not finished; continue it with --resume[/]")
    if events:
        for line in (run_dir / TRACE).read_text().splitlines():
            out_console.print(line, highlight=False, markup=False)


@app.command("config")
def config_cmd(generator: str | None = typer.Option(None, "--generator", help="Also list this generator's options."),
               planner: str | None = typer.Option(None, "--planner"),
               critic: str | None = typer.Option(None, "--critic")) -> None:
    """Print every config key with its default (and a backend's own options)."""
    from spiral.config import RunConfig
    from spiral.registry import available, load_class

    out_console.print_json(json.dumps(RunConfig().model_dump(mode="json")))
    for role, name in (("generator", generator), ("planner", planner), ("critic", critic)):
        if name is None:
            continue
        try:
            cls = load_class(role, name)
        except SpiralError as exc:
            _fail(exc)
            return
        t = Table(title=f"{role} {name!r} options (set with --set {role}.KEY=VALUE)", title_justify="left")
        for col in ("key", "default", "description"):
            t.add_column(col)
        for k, f in cls.Config.model_fields.items():
            default = f.default_factory() if f.default_factory else f.default
            t.add_row(k, json.dumps(default, default=str), f.description or "")
        out_console.print(t)
    for role in ("generator", "planner", "critic"):
        out_console.print(f"{role}s: {', '.join(sorted(available(role)))}")


scene_app = typer.Typer(help="Make and inspect tabletop scenes.", no_args_is_help=True)
app.add_typer(scene_app, name="scene")
from spiral.cli.bench import app as bench_app

app.add_typer(bench_app, name="bench")
from spiral.cli.data_train import dataset_app, train_app

app.add_typer(dataset_app, name="dataset")
app.add_typer(train_app, name="train")


@scene_app.command("new")
def scene_new(out: Path = typer.Argument(..., help="Where to write the scene JSON."),
              seed: int = typer.Option(0, "--seed", help="Scene seed."),
              png: Path | None = typer.Option(None, "--png", help="Also render it to this PNG."),
              size: int = typer.Option(256, "--size", min=32, max=4096, help="PNG size in pixels.")) -> None:
    """Write a seeded random scene as JSON (edit it, then `spiral run --scene FILE`)."""
    from spiral.io.video import save_png
    from spiral.worlds.tabletop.render import render_scene
    from spiral.worlds.tabletop.scene import random_scene

    sc = random_scene(seed)
    try:
        _check_out_file(out)  # every output path is checked before anything is written
        if png:
            _check_png_path(png)
            _check_out_file(png)
        sc.save(out)
        if png:
            save_png(png, render_scene(sc, size))
    except SpiralError as exc:
        _fail(exc)
    except OSError as exc:
        _fail(SpiralError(f"cannot write {exc.filename or out}: {exc.strerror or exc}", "choose a writable path"))
    out_console.print(f"wrote {out}: " + ", ".join(o.name for o in sc.objects))


def _check_out_file(path: Path) -> None:
    """Refuse a file path that cannot be written: a directory, or one whose folder is a
    file or does not exist."""
    if path.is_dir():
        raise SpiralError(f"{path} is a directory", "give a file name")
    parent = path.parent
    if parent.exists() and not parent.is_dir():
        raise SpiralError(f"cannot write {path}: {parent} is a file, not a directory", "choose another path")
    if not parent.exists():
        raise SpiralError(f"cannot write {path}: the directory {parent} does not exist", "create it first")


def _check_png_path(path: Path) -> None:
    """Refuse, before anything is written, a picture path PIL cannot write."""
    if path.is_dir():
        raise SpiralError(f"{path} is a directory", "give a file name ending in .png")
    if path.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp", ".bmp"):
        raise SpiralError(f"cannot tell the image format of {path} from its extension",
                          "give a file name ending in .png (or .jpg, .webp, .bmp)")


@scene_app.command("render")
def scene_render(scene: Path = typer.Argument(..., help="Scene JSON file."),
                 out: Path = typer.Argument(..., help="PNG to write."),
                 size: int = typer.Option(256, "--size", min=32, max=4096, help="Size in pixels.")) -> None:
    """Render a scene file to a PNG."""
    from spiral.io.video import save_png
    from spiral.worlds.tabletop.render import render_scene
    from spiral.worlds.tabletop.scene import Scene

    try:
        sc = Scene.load(scene)
        _check_png_path(out)
        _check_out_file(out)
        save_png(out, render_scene(sc, size))
    except SpiralError as exc:
        _fail(exc)
    except OSError as exc:
        _fail(SpiralError(f"cannot write {exc.filename or out}: {exc.strerror or exc}", "choose a writable path"))
    out_console.print(f"wrote {out}")


def _excepthook(tp: Any, exc: BaseException, tb: Any) -> None:
    """An internal error's traceback (exit 1), with every secret the process knows redacted."""
    import traceback

    from spiral.redaction import redact

    sys.stderr.write(redact("".join(traceback.format_exception(tp, exc, tb))))


def entry() -> None:  # pragma: no cover - console script
    sys.excepthook = _excepthook
    try:
        app()
    except SpiralError as exc:
        console.print(f"[bold red]error:[/] {escape(exc.message)}")
        if exc.hint:
            console.print(f"[yellow]hint:[/] {escape(exc.hint)}")
        sys.exit(EXIT_BAD_INPUT)


if __name__ == "__main__":  # pragma: no cover
    entry()
