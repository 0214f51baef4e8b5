"""A local Ray instance kept running between commands (``spiral ray start|status|stop``).

``spiral bench run --executor ray`` with no ``--ray-address`` starts a Ray instance for the
run and stops it after (4-8 s on two cores, docs/ray.md "Measured"). For repeated runs on
one machine, :func:`start` starts one instance that outlives the command, with Ray's own
``ray start --head --block`` in a **private directory** (its sessions, logs and sockets;
default ``$TMPDIR/spiral-ray-<uid>``, mode 0700, or ``SPIRAL_RAY_DIR``), so it neither
finds nor disturbs another Ray instance on the machine; runs reach it with
``--ray-address spiral`` (:func:`address`), and :func:`stop` ends exactly it (never every
Ray instance of the user, as ``ray stop`` does).

The directory keeps ``instance.json`` (the ``ray start`` process's pid and start time, the
address, the CPUs and GPUs) and ``ray.log`` (what ``ray start`` printed). The ``ray start
--block`` process is the instance's parent: SIGTERM to it stops every process of the
instance (Ray's own handling), which :func:`stop` sends, then SIGKILLs whatever of the
instance is left after ``grace_s``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from spiral.errors import ConfigError

log = logging.getLogger(__name__)

STATE = "instance.json"
LOG = "ray.log"
KEYWORD = "spiral"  # --ray-address spiral: the instance of `spiral ray start`
START_HINT = "start one with `spiral ray start` (or leave --ray-address out to start one for the run)"


@dataclass
class Instance:
    address: str  # HOST:PORT of its GCS server (what --ray-address takes)
    pid: int  # the `ray start --block` process, the instance's parent
    created: float  # its start time (psutil), so that a reused pid is not taken for it
    dir: str
    num_cpus: int | None
    num_gpus: int | None
    started: float  # wall clock


def default_dir(directory: str | Path | None = None) -> Path:
    """``directory`` if given, else ``$SPIRAL_RAY_DIR``, else ``$TMPDIR/spiral-ray-<uid>``."""
    if directory is not None:
        return Path(directory)
    env = os.environ.get("SPIRAL_RAY_DIR")
    if env:
        return Path(env)
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"spiral-ray-{uid}"


def status(directory: str | Path | None = None) -> Instance | None:
    """The instance recorded in ``directory`` if it still runs (else ``None``; a stale
    record, of an instance that died, is removed)."""
    d = default_dir(directory)
    state = d / STATE
    try:
        inst = Instance(**json.loads(state.read_text()))
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{state} is not a record of `spiral ray start`: {exc}",
                          f"remove {state} (and end its Ray processes by pid if any still run)") from None
    if _alive(inst.pid, inst.created):
        return inst
    log.info("the Ray instance recorded in %s has ended; forgetting it", d)
    state.unlink(missing_ok=True)
    return None


def address(directory: str | Path | None = None) -> str:
    """The address of the running instance of ``spiral ray start`` (``--ray-address spiral``)."""
    inst = status(directory)
    if inst is None:
        d = default_dir(directory)
        raise ConfigError(f"--ray-address {KEYWORD}: no Ray instance of `spiral ray start` runs (directory {d})",
                          START_HINT)
    return inst.address


def start(directory: str | Path | None = None, num_cpus: int | None = None, num_gpus: int | None = None,
          timeout_s: float = 120.0, extra_args: list[str] | None = None) -> Instance:
    """Start a Ray head node on this machine that runs until :func:`stop`; returns once it
    takes drivers. Refused when this directory's instance already runs."""
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        raise ConfigError("`spiral ray start` needs Ray, which is not installed", "pip install 'spiral-actwm[ray]'")
    d = default_dir(directory)
    running = status(d)
    if running is not None:
        raise ConfigError(f"a Ray instance of `spiral ray start` already runs at {running.address} (directory {d})",
                          "use it with --ray-address spiral, or `spiral ray stop` it first")
    if len(str(d)) > 50:  # Ray's socket paths (DIR/session_<date>_<pid>/sockets/plasma_store) must stay < 107 bytes
        raise ConfigError(f"the Ray directory {d} is too long for Ray's socket paths ({len(str(d))} > 50 characters)",
                          "give a shorter --dir (or SPIRAL_RAY_DIR), e.g. /tmp/spiral-ray")
    try:
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        d.chmod(0o700)  # private, also when it existed
        (d / LOG).touch()
    except OSError as exc:
        raise ConfigError(f"cannot use {d} as the Ray instance's directory: {exc.strerror or exc}",
                          "give another --dir (or SPIRAL_RAY_DIR), one of yours") from None
    _clear(d)  # an earlier instance's sessions (its logs and sockets) and address
    cmd = _ray_start_command(d, num_cpus, num_gpus) + list(extra_args or [])
    logf = open(d / LOG, "w")  # noqa: SIM115 - the child keeps writing it
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True)  # not ended by a Ctrl-C of this terminal
    finally:
        logf.close()
    created = _create_time(proc.pid)
    deadline = time.monotonic() + timeout_s
    addr = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ConfigError(f"`ray start` failed (exit {proc.returncode}): {_tail(d / LOG)}",
                              f"see {d / LOG}; is Ray installed (pip install 'spiral-actwm[ray]')?")
        addr = _address_in(d)
        if addr is not None:
            break
        time.sleep(0.1)
    if addr is None:
        _end(proc.pid, created, grace_s=5.0)
        raise ConfigError(f"the Ray instance did not start within {timeout_s:.0f} s: {_tail(d / LOG)}",
                          f"see {d / LOG}")
    inst = Instance(address=addr, pid=proc.pid, created=created, dir=str(d), num_cpus=num_cpus, num_gpus=num_gpus,
                    started=time.time())
    tmp = d / (STATE + ".tmp")
    tmp.write_text(json.dumps(asdict(inst), indent=1) + "\n")
    os.replace(tmp, d / STATE)
    log.info("Ray instance started at %s (directory %s, ray start pid %d)", addr, d, proc.pid)
    return inst


def stop(directory: str | Path | None = None, grace_s: float = 30.0) -> Instance | None:
    """Stop the instance recorded in ``directory`` (``None`` when none ran): SIGTERM to its
    ``ray start`` process (Ray drains and ends its processes), SIGKILL to whatever of the
    instance still runs after ``grace_s``; then its sessions (logs, sockets) are removed."""
    d = default_dir(directory)
    inst = status(d)
    if inst is None:
        return None
    _end(inst.pid, inst.created, grace_s)
    (d / STATE).unlink(missing_ok=True)
    _clear(d)
    return inst


# -- helpers ---------------------------------------------------------------------------------------
def _ray_start_command(d: Path, num_cpus: int | None, num_gpus: int | None) -> list[str]:
    """Ray's public ``ray start --head --block`` (this Python's Ray), in directory ``d``,
    on free ports, with no dashboard and no usage statistics."""
    cmd = [sys.executable, "-c", "from ray.scripts.scripts import main; main()", "start", "--head", "--block",
           "--temp-dir", str(d), "--port", str(_free_port()), "--ray-client-server-port", str(_free_port()),
           "--include-dashboard", "false", "--disable-usage-stats"]
    if num_cpus is not None:
        cmd += ["--num-cpus", str(int(num_cpus))]
    if num_gpus is not None:
        cmd += ["--num-gpus", str(int(num_gpus))]
    return cmd


def _clear(d: Path) -> None:
    for old in d.glob("session_*"):
        if old.is_symlink():
            old.unlink(missing_ok=True)
        else:
            shutil.rmtree(old, ignore_errors=True)
    (d / "ray_current_cluster").unlink(missing_ok=True)


def _address_in(d: Path) -> str | None:
    """The GCS address once ``ray start`` says the runtime started (it writes
    ``ray_current_cluster`` into its temp dir before it prints so)."""
    try:
        if "Ray runtime started" not in (d / LOG).read_text(errors="replace"):
            return None
        text = (d / "ray_current_cluster").read_text().strip()
    except OSError:
        return None
    return text or None


def _end(pid: int, created: float, grace_s: float) -> None:
    import psutil

    from spiral.exec.watchdog import kill_survivors, same_process

    parent = same_process(pid, created)
    if parent is None:
        return
    try:
        family = [parent, *parent.children(recursive=True)]
    except psutil.Error:
        return
    try:
        parent.send_signal(signal.SIGTERM)
    except psutil.Error:
        pass
    psutil.wait_procs(kill_survivors(family, grace_s), timeout=5)


def _alive(pid: int, created: float) -> bool:
    try:
        import psutil

        from spiral.exec.watchdog import same_process

        p = same_process(pid, created)
        return p is not None and p.status() != psutil.STATUS_ZOMBIE
    except Exception:  # noqa: BLE001 - gone (or no psutil: Ray is not installed, so nothing runs)
        return False


def _create_time(pid: int) -> float:
    import psutil

    return psutil.Process(pid).create_time()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return int(s.getsockname()[1])


def _tail(path: Path, n: int = 3) -> str:
    try:
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "(no log)"
    return " | ".join(lines[-n:])[-600:] or "(empty log)"


def describe(inst: Instance) -> dict[str, Any]:
    return {**asdict(inst), "up_s": round(time.time() - inst.started, 1)}
