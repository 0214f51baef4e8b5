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
import time
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from spiral import __version__
from spiral.cli.consoles import consoles, fail
from spiral.config import DEFAULT_GENERATOR
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
    image: Path | None = typer.Option(None, "--image", help="First-frame image (PNG/JPEG); the built-in planner and "
                                       "critic refuse one that is not a tabletop render (docs/scene.md)."),
    generator: str | None = typer.Option(None, "--generator", "-g", help=f"Generator backend (default {DEFAULT_GENERATOR}, "
                                         "the built-in world model; also sim, sim-faulty and the diffusers backends: "
                                         "`spiral config` lists them)."),
    planner: str | None = typer.Option(None, "--planner", help="Planner backend (default symbolic, built in; llm needs "
                                       "an OpenAI-compatible server)."),
    critic: str | None = typer.Option(None, "--critic", help="Critic backend (default perception, built in; vlm needs "
                                      "an OpenAI-compatible server)."),
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
    started = time.perf_counter()  # the summary's wall time includes loading the models
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
            console.print(f"[bold]goal:[/] {escape(cfg.goal)}", highlight=False)
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
        fail(console, exc)
        return
    except OSError as exc:  # the disk filled up, a permission changed, … mid-run: the checkpoint holds
        where = f" {exc.filename}" if exc.filename else ""
        fail(console, SpiralError(f"could not write the run directory{where}: {exc.strerror or exc}",
                          "free disk space or fix the permissions, then continue with --resume --out DIR "
                          "(accepted segments are kept)"))
        return
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]: resume with --resume --out DIR")
        raise typer.Exit(130) from None
    if not quiet:
        _summary(result, rd.path, time.perf_counter() - started)
    if result.status != "completed":
        raise typer.Exit(EXIT_STOPPED)


class _Progress:
    """A rich progress bar fed by trace events."""

    def __init__(self, mode: str):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.p = Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                          MofNCompleteColumn(), TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
                          console=console, transient=False)
        self.task = self.p.add_task("loading models, planning", total=None, status="")
        self.mode = mode

    def start(self) -> None:
        self.p.start()

    def stop(self) -> None:
        self.p.stop()

    def on_event(self, e: dict[str, Any]) -> None:
        ev = e["event"]
        if ev == "plan":
            self.p.console.print(_plan_lines("plan", e["steps"]), highlight=False)
            self.p.update(self.task, description="sub-actions", total=len(e["steps"]), completed=0)
        elif ev == "replan":
            self.p.console.print(_plan_lines(f"replan v{e['to_version']} from step {e['step']}", e["steps"],
                                             first=e["step"]), highlight=False)
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


def _plan_lines(title: str, steps: list[dict[str, Any]], first: int = 0) -> str:
    """A plan as printed before generating: its sub-actions numbered as the loop's steps
    (from 0, as in the progress bar, the trace and `spiral show`)."""
    lines = [f"[bold]{title}:[/]"] + [f"  {first + i}. {escape(str(st.get('prompt', st.get('kind', '?'))))}"
                                      for i, st in enumerate(steps)]
    return "\n".join(lines)


def _n(count: int, word: str, plural: str | None = None) -> str:
    """``1 segment``, ``2 segments``, ``1 retry``, ``0 retries``."""
    if count == 1:
        return f"{count} {word}"
    return f"{count} {plural or (word[:-1] + 'ies' if word.endswith('y') and word[-2] not in 'aeiou' else word + 's')}"


def _counts(r: Any) -> str:
    """Segments, generator calls, retries and replans of a result (an object or its dict)."""
    get = (lambda k: r[k]) if isinstance(r, dict) else (lambda k: getattr(r, k))
    parts = [_n(get("generator_calls"), "generator call"), _n(get("retries"), "retry"), _n(get("replans"), "replan")]
    if not isinstance(r, dict) or "segments" in r:
        parts.insert(0, _n(get("segments"), "segment"))
    return " · ".join(parts)


def _summary(result: Any, path: Path, total_s: float | None = None) -> None:
    ok = result.goal and result.goal.get("satisfied")
    colour = "green" if result.status == "completed" and ok else "yellow" if result.status == "completed" else "red"
    console.print(f"[{colour}]{result.status}[/]: {escape(result.reason)}", highlight=False)
    if result.goal is not None:
        console.print(("goal reached" if ok else f"goal not reached (unmet: {', '.join(result.goal['unmet']) or '-'}"
                       f"{'; missing: ' + ', '.join(result.goal['missing_objects']) if result.goal['missing_objects'] else ''})"),
                      highlight=False, markup=False)
    took = f"{result.wall_s:.1f} s" if total_s is None else f"{total_s:.1f} s (the loop {result.wall_s:.1f} s)"
    console.print(f"{_counts(result)} · {took}", highlight=False)
    report = f"\n  report: {path / 'report.html'}" if (path / "report.html").exists() else ""  # output.report
    out_console.print(f"run directory: {path}\n  video:  {path / 'video.mp4'}{report}", highlight=False)


@app.command()
def show(run_dir: Path = typer.Argument(..., help="A run directory written by `spiral run`."),
         events: bool = typer.Option(False, "--events", help="Also print every trace event as JSON.")) -> None:
    """Print a run's plan, attempts and verdicts."""
    from spiral.core.rundir import CONFIG, TRACE
    from spiral.report.html import collect

    if not (run_dir / CONFIG).exists():
        fail(console, SpiralError(f"{run_dir} is not a SPIRAL run directory (no config.json)", "pass a directory made by `spiral run`"))
    try:
        from spiral.redaction import redact_obj

        info = redact_obj(collect(run_dir))  # (the consoles redact too; a table may wrap a secret over lines)
    except (ValueError, KeyError, TypeError, AttributeError, OSError) as exc:  # JSON, UTF-8, shape
        fail(console, SpiralError(f"cannot read run {run_dir}: {type(exc).__name__}: {exc}",
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
    out_console.print("[bold]attempts[/]")
    for t in _attempts_tables(info["steps"]):
        out_console.print(t)
    r = info["result"]
    if r:
        goal = "reached" if r.get("goal") and r["goal"].get("satisfied") else "not reached"
        out_console.print(f"{r['status']}: {r['reason']} · goal {goal} · {_counts(r)}", markup=False)
    else:
        out_console.print("[yellow]the run has not finished; continue it with --resume[/]")
    if events:
        for line in (run_dir / TRACE).read_text().splitlines():
            out_console.print(line, highlight=False, markup=False)


def _attempts_tables(steps: list[dict[str, Any]]) -> list[Table]:
    """Every attempt of every step, one small table per step (its prompt as the title),
    readable at 80 columns: failure names and decisions are never cut. An attempt is
    numbered within its plan version ("v1 attempt 2": the second try of that step after
    the first replan). A prompt that a refinement changed gets its own column."""
    from rich import box

    out = []
    for st in steps:
        first = st["prompt"] or (st["attempts"][0]["prompt"] if st["attempts"] else "")
        changed = any(a["prompt"] != first for a in st["attempts"])
        t = Table(title=f"step {st['step']}: {escape(first)}", title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False, show_edge=False, title_style="bold")
        t.add_column("attempt", no_wrap=True)
        t.add_column("verdict", no_wrap=True)
        t.add_column("failure", no_wrap=True)
        t.add_column("decision", no_wrap=True)
        if changed:
            t.add_column("prompt", ratio=1, min_width=12, overflow="fold")
        for a in st["attempts"]:
            v = a["verdict"]
            verdict = "—" if v is None else ("[green]pass" if v["passed"] else "[red]fail")
            decision = (a["decision"] or "") + (f" ({a['strategy']})" if a["strategy"] else "")
            row = [f"v{a.get('plan_version', 0)} attempt {a['attempt'] + 1}", verdict,
                   (v or {}).get("failure_type") or "", escape(decision)]
            t.add_row(*row, *([escape(a["prompt"])] if changed else []))
        out.append(t)
    return out


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
            fail(console, exc)
            return
        t = Table(title=f"{role} {name!r} options (set with --set {role}.KEY=VALUE)", title_justify="left")
        for col in ("key", "default", "description"):
            t.add_column(col)
        for k, f in cls.Config.model_fields.items():
            default = f.default_factory() if f.default_factory else f.default
            t.add_row(k, json.dumps(default, default=str), f.description or "")
        out_console.print(t)
    for role in ("generator", "planner", "critic", "world"):
        out_console.print(f"{role}s: {', '.join(sorted(available(role)))}")


scene_app = typer.Typer(help="Make and inspect tabletop scenes.", no_args_is_help=True)
app.add_typer(scene_app, name="scene")
from spiral.cli.bench import app as bench_app

app.add_typer(bench_app, name="bench")
from spiral.cli.data_train import dataset_app, train_app

app.add_typer(dataset_app, name="dataset")
app.add_typer(train_app, name="train")
from spiral.cli.ray_cmd import app as ray_app

app.add_typer(ray_app, name="ray")


_PICTURE_EXT = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


def _deprecated(old: str, new: str) -> None:
    console.print(f"[yellow]note:[/] {old} is deprecated; use {new} (the old form still works for now)",
                  highlight=False)


def _scene_outputs(outs: list[Path], scene_out: Path | None = None,
                   picture: Path | None = None) -> tuple[Path | None, Path | None]:
    """``--out`` of `scene new`: a ``.json`` scene and/or a picture, told apart by extension
    (``scene_out``/``picture``: what the deprecated forms already named)."""
    for p in outs:
        ext = p.suffix.lower()
        if ext not in (".json", *_PICTURE_EXT):
            raise SpiralError(f"cannot tell from the extension of {p} what to write there (image format or scene?)",
                              "give a .json file for the scene and/or a .png (.jpg, .webp, .bmp) for its picture")
        if (ext == ".json" and scene_out is not None) or (ext != ".json" and picture is not None):
            raise SpiralError(f"--out {p}: give at most one .json scene and one picture",
                              "e.g. --out scene.json --out scene.png")
        if ext == ".json":
            scene_out = p
        else:
            picture = p
    return scene_out, picture


@scene_app.command("new")
def scene_new(old_out: Path | None = typer.Argument(None, metavar="FILE", help="(deprecated: use --out FILE.json)",
                                                    show_default=False),
              out: list[Path] = typer.Option([], "--out", "-o", help="File to write: the scene as .json, a picture "
                                             "of it as .png (or .jpg, .webp, .bmp); repeat for both."),
              seed: int = typer.Option(0, "--seed", help="Scene seed."),
              png: Path | None = typer.Option(None, "--png", hidden=True, help="(deprecated: use --out FILE.png)"),
              size: int = typer.Option(256, "--size", min=32, max=4096, help="Picture size in pixels.")
              ) -> None:
    """Write a seeded random scene: `spiral scene new --out s.json --out s.png` (edit the
    JSON, then `spiral run --scene s.json`)."""
    from spiral.io.video import save_png
    from spiral.worlds.tabletop.render import render_scene
    from spiral.worlds.tabletop.scene import random_scene

    outs = list(out)
    if old_out is not None:
        _deprecated("`spiral scene new FILE`", "--out FILE")
    if png is not None:
        _deprecated("--png FILE", "--out FILE.png")
    sc = random_scene(seed)
    scene_out = picture = None
    try:
        if not outs and old_out is None and png is None:
            raise SpiralError("nothing to write", "give --out scene.json (and/or --out scene.png)")
        scene_out, picture = _scene_outputs(outs, old_out, png)
        # every output path is checked before anything is written
        if scene_out:
            _check_out_file(scene_out)
        if picture:
            _check_png_path(picture)
            _check_out_file(picture)
        if scene_out:
            sc.save(scene_out)
        if picture:
            save_png(picture, render_scene(sc, size))
    except SpiralError as exc:
        fail(console, exc)
    except OSError as exc:
        fail(console, SpiralError(f"cannot write {exc.filename or scene_out or picture}: {exc.strerror or exc}",
                          "choose a writable path"))
    wrote = " and ".join(str(p) for p in (scene_out, picture) if p)
    out_console.print(f"wrote {wrote}: " + ", ".join(o.name for o in sc.objects))


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
    if path.suffix.lower() not in _PICTURE_EXT:
        raise SpiralError(f"cannot tell the image format of {path} from its extension",
                          "give a file name ending in .png (or .jpg, .webp, .bmp)")


@scene_app.command("render")
def scene_render(scene: Path = typer.Argument(..., help="Scene JSON file."),
                 old_out: Path | None = typer.Argument(None, metavar="PNG", help="(deprecated: use --out PNG)",
                                                       show_default=False),
                 out: Path | None = typer.Option(None, "--out", "-o", help="Picture to write (.png, .jpg, .webp, .bmp)."),
                 size: int = typer.Option(256, "--size", min=32, max=4096, help="Size in pixels.")) -> None:
    """Render a scene file to a picture: `spiral scene render s.json --out s.png`."""
    from spiral.io.video import save_png
    from spiral.worlds.tabletop.render import render_scene
    from spiral.worlds.tabletop.scene import Scene

    if old_out is not None:
        _deprecated("`spiral scene render SCENE PNG`", "--out PNG")
    try:
        if out is not None and old_out is not None:
            raise SpiralError("the picture is given twice (as an argument and as --out)", "keep only --out PNG")
        target = out or old_out
        if target is None:
            raise SpiralError("no picture to write", "give --out scene.png")
        sc = Scene.load(scene)
        _check_png_path(target)
        _check_out_file(target)
        save_png(target, render_scene(sc, size))
    except SpiralError as exc:
        fail(console, exc)
        return
    except OSError as exc:
        fail(console, SpiralError(f"cannot write {exc.filename or target}: {exc.strerror or exc}", "choose a writable path"))
    out_console.print(f"wrote {target}")


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
