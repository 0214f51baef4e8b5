"""The Ray executor: the runners' jobs as Ray tasks (docs/ray.md).

* **Tasks**: each job (a benchmark task, a dataset shard) is one Ray task; at most
  ``max_in_flight`` run at once, each reserving ``task_num_cpus`` CPUs; results come back
  in the order they finish and the driver writes them.
* **Files**: on a cluster (``ship_files``) a job writes into a scratch directory on its
  node and the directory comes back to the driver as a tar inside the task's result; the
  driver unpacks it into its own output directory (each entry replaced whole, atomically)
  before it yields the result, so no node needs a path the driver has; what the job
  recorded about its files (a run's scene path, its config hash) is rewritten to name the
  driver's directory first (:mod:`spiral.exec.relocate`). With
  ``ship_files=False`` jobs write straight into the driver's directory, which every node
  must then mount at the same path (a shared filesystem). By default (``None``) jobs write
  straight into it on a local instance, whose one node is this machine (one this
  executor starts, or the one-node instance of ``spiral ray start``: less copying, as
  the local executor), and ship their files everywhere else.
* **Generator actors** (``actors`` > 0): the generator is loaded once per actor
  (``actor_num_gpus`` GPUs each, e.g. one actor per GPU) and episode tasks send it their
  requests; requests that arrive within ``batch_window_s`` from different episodes go to
  the backbone as one batch (up to ``max_batch`` requests); each call goes to the actor
  with the fewest requests waiting.
* **Faults**: a task whose worker dies is run again (``max_retries``), from the
  beginning, in a fresh scratch directory; its result is yielded once. An actor that dies
  is restarted and its pending calls are retried. A killed driver takes its tasks with it
  (Ray ends a job's workers with its driver); ``--resume`` then continues from
  ``results.jsonl`` as with the local executor.

``import ray`` happens only here, when the executor is entered.
"""

from __future__ import annotations

import io
import itertools
import logging
import os
import shutil
import socket
import tarfile
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Self

from spiral.errors import BackendError, ConfigError
from spiral.exec import Job, ray_instance
from spiral.exec.context import config_key, serving
from spiral.exec.relocate import relocate_tree, relocate_value

log = logging.getLogger(__name__)

INCOMING = ".spiral-incoming-"  # staging directories of shipped files inside the driver's root
JOB_NAME = "spiral_job"  # the tasks' name (a worker running one is titled ``ray::spiral_job``)


class RayExecutor:
    """Jobs as Ray tasks on the cluster at ``address`` (``None``: a new local Ray instance
    with ``num_cpus`` CPUs, stopped on exit; ``"auto"``: the cluster this machine belongs
    to; ``"spiral"``: the local instance ``spiral ray start`` keeps running
    (:mod:`spiral.exec.ray_instance`); ``"ray://host:10001"``: a remote cluster through Ray
    Client)."""

    name = "ray"

    def __init__(self, address: str | None = None, max_in_flight: int = 2, max_retries: int = 3,
                 ship_files: bool | None = None, num_cpus: int | None = None, task_num_cpus: float = 1.0,
                 actors: int = 0, actor_num_gpus: float = 0.0, actor_num_cpus: float = 0.0,
                 actor_config: dict[str, Any] | None = None, batch_window_s: float = 0.005, max_batch: int = 16,
                 init_options: dict[str, Any] | None = None):
        if actors and actor_config is None:
            raise ConfigError("generator actors need the config their generator is built from",
                              "pass actor_config (the benchmark's base config)")
        self.address = address
        self.max_in_flight = max(1, int(max_in_flight))
        self.max_retries = int(max_retries)
        self.ship_files = ship_files
        self._ship = True  # decided on entering (``ship_files=None``: by where the tasks run)
        self.num_cpus = num_cpus
        self.task_num_cpus = float(task_num_cpus)
        self.actors = int(actors)
        self.actor_num_gpus = float(actor_num_gpus)
        self.actor_num_cpus = float(actor_num_cpus)
        self.actor_config = actor_config
        self.batch_window_s = batch_window_s
        self.max_batch = max_batch
        self.init_options = dict(init_options or {})
        self._ray: Any = None
        self._owns = False
        self._handles: list[Any] = []
        self._service: dict[str, Any] | None = None
        self._watchdog: Any = None
        self._instance: list[Any] = []  # the processes of the local instance this executor started
        self._depth = 0

    # -- lifetime ---------------------------------------------------------------------------
    def __enter__(self) -> Self:
        self._depth += 1  # re-entrant: a caller may hold it open around several runs
        if self._depth > 1:
            return self
        try:
            import ray
        except ImportError:
            raise ConfigError("the ray executor needs Ray, which is not installed",
                              "pip install 'spiral-actwm[ray]' (or run with --executor local)") from None
        self._ray = ray
        self._ship = self.ship_files is not False
        if not ray.is_initialized():
            address = self.address
            try:
                if address == ray_instance.KEYWORD:  # the instance `spiral ray start` keeps running
                    address = ray_instance.address()
                check_address(address)
            except ConfigError:
                self._depth = 0
                raise
            opts: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING,
                                    **self.init_options}
            if address is None and self.num_cpus is not None:
                opts["num_cpus"] = self.num_cpus
            before = _children()
            try:
                ray.init(address=address, **opts)
            except Exception as exc:  # noqa: BLE001 - Ray raises several kinds; all mean "no cluster"
                self._depth = 0
                what = (f"connect to a Ray cluster at {address!r}" if address is not None
                        else "start a local Ray instance")
                raise ConfigError(f"cannot {what}: {_first_line(exc)}", ADDRESS_HINT) from None
            self._owns = True
            if address is None:  # the processes of the instance it started end with this one
                self._instance = [p for p in _children() if p.pid not in before]
                self._watch(self._instance)
            if self.ship_files is None:  # on this machine only: the tasks write where the driver reads
                started = bool(self._instance)  # (not RAY_ADDRESS's cluster)
                self._ship = not (started or (self.address == ray_instance.KEYWORD and _one_node(ray)))
        try:
            if self.actors:
                self._start_actors()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth = max(0, self._depth - 1)
        ray = self._ray
        if ray is None or self._depth:
            return
        for h in self._handles:
            try:
                ray.kill(h)
            except Exception as err:  # noqa: BLE001 - already gone
                log.debug("generator actor already gone: %s", err)
        self._handles, self._service = [], None
        if self._owns:
            if self._instance:
                _end_monitor(self._instance)
            ray.shutdown()
            self._owns = False
            self._instance = []
        if self._watchdog is not None:
            self._watchdog.close()
            self._watchdog = None
        self._ray = None

    def _watch(self, processes: list[Any]) -> None:
        """A watchdog ends ``processes`` if this driver is killed (Ray leaves two agents
        for a minute otherwise: :mod:`spiral.exec.watchdog`)."""
        from spiral.exec import watchdog

        try:
            self._watchdog = watchdog.start()
            self._watchdog.watch(processes)
        except Exception as exc:  # noqa: BLE001 - no watchdog: Ray's agents linger a minute after a kill -9
            log.warning("cannot start the watchdog of the local Ray instance: %s", exc)
            self._watchdog = None

    def _start_actors(self) -> None:
        ray = self._ray
        actor_cls = ray.remote(GeneratorActor).options(
            num_gpus=self.actor_num_gpus, num_cpus=self.actor_num_cpus, max_restarts=3, max_task_retries=3,
            max_concurrency=1000)
        self._handles = [actor_cls.remote(self.actor_config, self.batch_window_s, self.max_batch)
                         for _ in range(self.actors)]
        metas = ray.get([h.meta.remote() for h in self._handles])  # waits until every actor is loaded
        # an episode uses the actors when its generator config is the one they were built from
        self._service = {"handles": self._handles, "meta": metas[0], "key": config_key(metas[0]["generator_config"])}
        log.info("%d generator actor(s) of %s ready (%s GPU each)", self.actors, metas[0]["name"], self.actor_num_gpus)

    # -- jobs -------------------------------------------------------------------------------
    def map_unordered(self, fn: Job, jobs: Sequence[tuple[Any, ...]], root: str | Path) -> Iterator[Any]:
        ray = self._ray
        if ray is None:
            raise RuntimeError("enter the executor (`with RayExecutor(...) as ex`) before mapping jobs")
        from ray.exceptions import RayActorError, RayTaskError

        rootp = Path(root)
        if self._ship:
            rootp.mkdir(parents=True, exist_ok=True)
            for old in rootp.glob(INCOMING + "*"):  # a killed driver's half-unpacked files
                shutil.rmtree(old, ignore_errors=True)
        remote = ray.remote(_run_job).options(
            name=JOB_NAME, num_cpus=self.task_num_cpus, max_retries=self.max_retries,
            retry_exceptions=[RayActorError] if self._service else False)
        todo = iter(jobs)
        pending: set[Any] = set()

        def submit() -> bool:
            job = next(todo, None)
            if job is None:
                return False
            pending.add(remote.remote(fn, str(rootp), self._ship, self._service, tuple(job)))
            return True

        try:
            while len(pending) < self.max_in_flight and submit():
                pass
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                ref = ready[0]
                pending.discard(ref)
                try:
                    result, packed = ray.get(ref)
                except RayTaskError as exc:  # the job's own exception, as the local executor raises it
                    raise exc.as_instanceof_cause() from None
                except Exception as exc:  # noqa: BLE001 - worker lost after every retry, object lost…
                    raise BackendError(f"a Ray task failed after {self.max_retries} retries: {_first_line(exc)}",
                                       "check the cluster (`ray status`), then resume: finished results are kept"
                                       ) from None
                if packed is not None:
                    unpack_into(packed, rootp)
                submit()
                yield result
        finally:
            for ref in pending:  # the driver stops early (an error, Ctrl-C): nothing keeps running
                try:
                    ray.cancel(ref, force=True)
                except Exception as exc:  # noqa: BLE001 - finished meanwhile
                    log.debug("cannot cancel a task: %s", exc)


ADDRESS_HINT = ("start a cluster with `ray start --head` and pass --ray-address auto (on one of its nodes) or "
                "--ray-address ray://HEAD:10001 (Ray Client); on one machine, `spiral ray start` once and then "
                "--ray-address spiral; leave --ray-address out to start a local Ray instance for the run")


def check_address(address: str | None) -> None:
    """Refuse a malformed address, or a host:port where nothing listens, quickly (Ray
    itself may retry for a minute before it gives up). ``spiral`` (the instance of
    ``spiral ray start``) is resolved before, by :func:`spiral.exec.ray_instance.address`."""
    if address is None or address == "auto":
        return
    rest = address.removeprefix("ray://")
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit() or "/" in rest:
        raise ConfigError(f"--ray-address {address!r} is not auto, HOST:PORT or ray://HOST:PORT", ADDRESS_HINT)
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=5):
            pass
    except OSError as exc:
        raise ConfigError(f"cannot connect to a Ray cluster at {address!r}: {exc.strerror or exc}",
                          ADDRESS_HINT) from None


def _children() -> list[Any]:
    """This process's descendants (``psutil.Process``; Ray ships psutil)."""
    try:
        import psutil

        return psutil.Process().children(recursive=True)
    except Exception as exc:  # noqa: BLE001 - no psutil: no watchdog
        log.debug("cannot list child processes: %s", exc)
        return []


def _end_monitor(processes: list[Any]) -> None:
    """Before ``ray.shutdown``: SIGKILL the local instance's autoscaler monitor (there is
    nothing to scale on one machine, and it keeps no state). ``ray.shutdown`` stops the
    instance's processes one after another, the raylet and the GCS server first; the
    monitor, on SIGTERM, then tries to report its own end to the (stopped) GCS server and
    is killed only after a second of grace, which made up most of the stop (measured: 1.3
    of 1.6 s, Ray 2.60; a SIGTERM before ``ray.shutdown`` would instead print "The
    autoscaler failed with the following error: Terminated with signal 15" in the driver).
    Found by its script's name: if a Ray version renames it, nothing is killed here and the
    stop is only that second slower."""
    for p in processes:
        try:
            cmd = p.cmdline()
            if any(a.replace(os.sep, "/").endswith("autoscaler/_private/monitor.py") for a in cmd):
                p.kill()  # reaped by ray.shutdown, which then skips it
        except Exception as exc:  # noqa: BLE001 - gone already, or not ours to see
            log.debug("cannot end the Ray monitor: %s", exc)


def _one_node(ray: Any) -> bool:
    """Whether the connected cluster is one node (``spiral ray start``'s, no node added)."""
    try:
        return sum(1 for n in ray.nodes() if n.get("Alive")) == 1
    except Exception as exc:  # noqa: BLE001 - unknown: ship the files, which works everywhere
        log.debug("cannot list the Ray nodes: %s", exc)
        return False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


# -- in the worker ------------------------------------------------------------------------------
def _run_job(fn: Job, root: str, ship: bool, service: dict[str, Any] | None,
             args: tuple[Any, ...]) -> tuple[Any, bytes | None]:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    with serving(ActorService(**service) if service else None):
        if not ship:
            return fn(root, *args), None
        scratch = tempfile.mkdtemp(prefix="spiral-job-")
        try:
            result = fn(scratch, *args)
            # what the job recorded names the driver's directory, where its files will be
            relocate_tree(scratch, scratch, root)
            return relocate_value(result, scratch, root), pack(Path(scratch))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def pack(directory: Path) -> bytes:
    """Every file under ``directory`` as an uncompressed tar (videos are compressed already)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for p in sorted(directory.rglob("*")):
            if p.is_file() and not p.is_symlink():
                tar.add(p, arcname=str(p.relative_to(directory)), recursive=False)
    return buf.getvalue()


def unpack_into(packed: bytes, root: Path) -> list[Path]:
    """Put a job's shipped files into ``root``: each top-level file and each entry of a
    top-level directory (``runs/<task>``, ``scenes/<task>.json``) replaces what was there,
    whole (a half-finished directory of an earlier attempt goes). Returns what was placed."""
    stage = root / f"{INCOMING}{uuid.uuid4().hex}"
    stage.mkdir(parents=True)
    placed: list[Path] = []
    try:
        with tarfile.open(fileobj=io.BytesIO(packed), mode="r") as tar:
            tar.extractall(stage, filter="data")
        for top in sorted(stage.iterdir()):
            items = sorted(top.iterdir()) if top.is_dir() else [top]
            for item in items:
                target = root / item.relative_to(stage)
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                os.replace(item, target)
                placed.append(target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return placed


class ActorService:
    """In an episode task: the generator actors, as a generator (see
    :mod:`spiral.exec.context`)."""

    _turn = itertools.count(os.getpid())  # spreads the calls of this worker over the actors

    def __init__(self, handles: list[Any], meta: dict[str, Any], key: str):
        self.handles, self.meta, self.key = handles, meta, key

    def generator_for(self, generator_config: dict[str, Any]) -> Any | None:
        if config_key(generator_config) != self.key:
            return None
        return RemoteGenerator(self.handles, self.meta, self._turn)


class RemoteGenerator:
    """Sends ``generate`` to the least loaded generator actor; has the remote
    generator's name, default steps and hint keys, so the loop treats it the same."""

    def __init__(self, handles: list[Any], meta: dict[str, Any], turn: Iterator[int]):
        self.handles, self._turn = handles, turn
        self.name = meta["name"]
        self.default_steps = meta["default_steps"]
        if meta.get("hint_keys") is not None:  # the Hinting capability, only when the backbone has it
            self.hint_keys = frozenset(meta["hint_keys"])

    def generate(self, requests: list[Any]) -> list[Any]:
        import ray

        first = next(self._turn)
        order = [self.handles[(first + i) % len(self.handles)] for i in range(len(self.handles))]
        if len(order) > 1:  # the least loaded actor (ties: round robin); a few ms against seconds per clip
            loads = ray.get([h.load.remote() for h in order])
            order = [order[loads.index(min(loads))]]
        return ray.get(order[0].generate.remote(list(requests)))


class GeneratorActor:
    """A long-lived generator (loaded once, e.g. one per GPU) serving episode tasks;
    concurrent calls within ``window_s`` are batched into one ``generate``, one batch at a
    time."""

    def __init__(self, config: dict[str, Any], window_s: float = 0.005, max_batch: int = 16):
        import asyncio

        from spiral.config import build_config
        from spiral.registry import build

        cfg = build_config(overrides=config)
        self.generator = build("generator", cfg.generator, config=cfg)
        self.generator_config = cfg.generator.model_dump(mode="json")
        self.window_s, self.max_batch = window_s, max(1, max_batch)
        self._pending: list[tuple[list[Any], Any]] = []
        self._lock = asyncio.Lock()
        self._flushing = False
        self._busy = 0  # requests in the batch being generated
        self.batches: list[int] = []  # sizes of the batches sent to the backbone
        self.done_at: list[float] = []  # when each batch finished (wall clock; for benchmarks)

    def meta(self) -> dict[str, Any]:
        hk = getattr(self.generator, "hint_keys", None)
        return {"name": self.generator.name, "default_steps": int(getattr(self.generator, "default_steps", 8)),
                "hint_keys": sorted(hk) if hk is not None else None, "generator_config": self.generator_config}

    async def load(self) -> int:
        """Requests waiting or being generated."""
        return sum(len(r) for r, _ in self._pending) + self._busy

    def stats(self) -> dict[str, Any]:
        return {"batches": list(self.batches), "done_at": list(self.done_at)}

    async def generate(self, requests: list[Any]) -> list[Any]:
        import asyncio

        fut = asyncio.get_running_loop().create_future()
        self._pending.append((requests, fut))
        if not self._flushing:
            self._flushing = True
            asyncio.ensure_future(self._flush())
        return await fut

    async def _flush(self) -> None:
        import asyncio

        async with self._lock:  # one batch on the device at a time; new calls gather meanwhile
            await asyncio.sleep(self.window_s)
            batch, n = [], 0
            while self._pending and (not batch or n + len(self._pending[0][0]) <= self.max_batch):
                reqs, fut = self._pending.pop(0)
                batch.append((reqs, fut))
                n += len(reqs)
            self._flushing = bool(self._pending)
            if self._pending:
                asyncio.ensure_future(self._flush())
            flat = [r for reqs, _ in batch for r in reqs]
            self._busy = len(flat)
            try:
                clips = await asyncio.get_running_loop().run_in_executor(None, self.generator.generate, flat)
            except Exception as exc:  # noqa: BLE001 - every caller of the batch gets the error
                for _, fut in batch:
                    fut.set_exception(exc)
                return
            finally:
                self._busy = 0
            self.batches.append(len(flat))
            self.done_at.append(time.time())
            i = 0
            for reqs, fut in batch:
                fut.set_result(clips[i:i + len(reqs)])
                i += len(reqs)
