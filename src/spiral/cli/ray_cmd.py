"""``spiral ray start|status|stop``: a local Ray instance kept for repeated runs (docs/ray.md)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from spiral.cli.consoles import consoles, fail
from spiral.errors import SpiralError

app = typer.Typer(help="A local Ray instance kept running between commands: `spiral ray start` once, then "
                       "`--executor ray --ray-address spiral` runs pay no instance start or stop; "
                       "`spiral ray stop` ends it (docs/ray.md).", no_args_is_help=True)
console, out_console = consoles()

DIR_HELP = ("The instance's private directory (sessions, logs, sockets; at most 50 characters); "
            "default $SPIRAL_RAY_DIR or $TMPDIR/spiral-ray-<uid>.")



@app.command("start")
def start_cmd(
    num_cpus: int | None = typer.Option(None, "--num-cpus", min=1, help="CPUs it offers (default: all of "
                                        "this machine's)."),
    num_gpus: int | None = typer.Option(None, "--num-gpus", min=0, help="GPUs it offers (default: those Ray "
                                        "detects)."),
    directory: Path | None = typer.Option(None, "--dir", help=DIR_HELP),
) -> None:
    """Start a Ray instance on this machine that outlives this command (until `spiral ray stop`)."""
    from spiral.exec import ray_instance

    try:
        inst = ray_instance.start(directory, num_cpus=num_cpus, num_gpus=num_gpus)
    except SpiralError as exc:
        fail(console, exc)
        return
    out_console.print(f"Ray instance running at {inst.address} (directory {inst.dir}).\n"
                      f"Use it: spiral bench run --executor ray --ray-address spiral …"
                      + (f" (with --dir: SPIRAL_RAY_DIR={inst.dir})" if directory is not None else "")
                      + "\nStop it: spiral ray stop", highlight=False, soft_wrap=True)


@app.command("status")
def status_cmd(
    directory: Path | None = typer.Option(None, "--dir", help=DIR_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON object (null when none runs)."),
) -> None:
    """Whether the instance of `spiral ray start` runs, and its address (exit 1 when none runs)."""
    from spiral.exec import ray_instance

    try:
        inst = ray_instance.status(directory)
    except SpiralError as exc:
        fail(console, exc)
        return
    if as_json:
        out_console.print_json(json.dumps(ray_instance.describe(inst) if inst else None))
    elif inst is None:
        out_console.print(f"no Ray instance of `spiral ray start` runs (directory "
                          f"{directory or ray_instance.default_dir()})", highlight=False, soft_wrap=True)
    else:
        d = ray_instance.describe(inst)
        out_console.print(f"running at {d['address']} for {d['up_s']:.0f} s (pid {d['pid']}, directory {d['dir']}, "
                          f"CPUs {d['num_cpus'] or 'all'}, GPUs {d['num_gpus'] if d['num_gpus'] is not None else 'detected'})",
                          highlight=False, soft_wrap=True)
    if inst is None:
        raise typer.Exit(1)


@app.command("stop")
def stop_cmd(
    directory: Path | None = typer.Option(None, "--dir", help=DIR_HELP),
    grace: float = typer.Option(30.0, "--grace", min=0.0, help="Seconds Ray may drain before what is left "
                                "of the instance is killed."),
) -> None:
    """Stop the instance of `spiral ray start` (only it: other Ray instances are left alone)."""
    from spiral.exec import ray_instance

    try:
        inst = ray_instance.stop(directory, grace_s=grace)
    except SpiralError as exc:
        fail(console, exc)
        return
    if inst is None:
        out_console.print("no Ray instance of `spiral ray start` runs; nothing to stop", highlight=False)
    else:
        out_console.print(f"stopped the Ray instance at {inst.address}", highlight=False)
