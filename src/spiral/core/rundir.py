"""The run directory: what a run leaves behind, written so that a kill never corrupts it.

```
runs/<name>/
  config.json      resolved config (no secrets) + its identity hash
  trace.jsonl      one JSON event per line (docs/trace.md)
  state.json       checkpoint: plan, accepted segments, budgets used (resume reads it)
  memory.sqlite    episode memory
  segments/        accepted clips: NNNN.npy (T×H×W×3 uint8) + NNNN.json, written atomically
  attempts/        a filmstrip PNG of every attempt (accepted or not), for the report
  video.mp4        the stitched result (H.264)
  report.html      plan, attempts, verdicts, timings
```
Every file is written to a temporary name and renamed into place, so a reader (or a
resumed run) only ever sees complete files. With ``background`` (what a run uses), the
writes go through one background thread in order: the loop does not wait for the disk,
and ``state.json`` is written only after the segment files it lists, so a killed run
resumes from the last accepted segment that reached the disk.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from spiral import __version__
from spiral.core.lock import DirLock
from spiral.errors import RunDirError
from spiral.redaction import redact

log = logging.getLogger(__name__)

CONFIG = "config.json"
STATE = "state.json"
TRACE = "trace.jsonl"
MEMORY = "memory.sqlite"
VIDEO = "video.mp4"
REPORT = "report.html"
SEGMENTS = "segments"
ATTEMPTS = "attempts"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def is_temp_file(path: Path) -> bool:
    """A temporary file of :func:`atomic_write_bytes` (``.NAME.XXXX.tmp``) or of the video
    writer (``.video.mp4.XXXX.mp4``): never a complete file."""
    n = path.name
    return n.startswith(".") and (n.endswith(".tmp") or (n.startswith(f".{VIDEO}.") and n.endswith(".mp4")))


def remove_temp_files(root: Path) -> int:
    """Remove the temporary files that killed writes left in ``root`` and its ``segments/``
    and ``attempts/``; call it only while holding the directory's lock. Returns how many."""
    n = 0
    for d in (root, root / SEGMENTS, root / ATTEMPTS):
        if not d.is_dir():
            continue
        for f in d.iterdir():
            if f.is_file() and is_temp_file(f):
                f.unlink(missing_ok=True)
                n += 1
    return n


def atomic_write_bytes(path: Path, data: bytes, fsync: bool = True) -> None:
    """Write ``data`` to ``path`` via a temporary file + rename: readers never see half a
    file. ``fsync`` also makes it survive a power loss (a killed process never loses it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_json(path: Path, obj: Any, compact: bool = False) -> None:
    """JSON, indented for people; ``compact`` for files rewritten often (the C encoder).
    Secrets are redacted (:func:`spiral.redaction.redact`), as in every text file written here."""
    text = json.dumps(obj, separators=(",", ":")) if compact else json.dumps(obj, indent=1, sort_keys=False)
    atomic_write_bytes(path, (redact(text) + "\n").encode())


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_png(path: Path, img: np.ndarray) -> None:
    from spiral.core.png import encode_png

    atomic_write_bytes(path, encode_png(img, compress_level=1), fsync=False)


def _check(p: Path, identity: str, resume: bool) -> bool:
    """Whether ``p`` holds this run (resumable); refuses a directory that holds another run,
    this run without ``resume``, nothing with ``resume``, or other files. Reads only."""
    cfg_path = p / CONFIG
    if cfg_path.exists():
        try:
            existing = json.loads(cfg_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            existing = None
        if not isinstance(existing, dict) or not isinstance(existing.get("config"), dict):
            raise RunDirError(f"{cfg_path} is corrupt (not a SPIRAL run's config)", "choose another --out")
        if existing.get("config_hash") != identity:
            goal = existing["config"].get("goal", "?")
            raise RunDirError(f"{p} holds a different run (goal {goal!r})",
                              "choose another --out, or delete that directory")
        if not resume:
            raise RunDirError(f"{p} already holds this run", "pass --resume to continue it, or choose another --out")
        return True
    if resume:
        raise RunDirError(f"{p} holds no run to resume (no {CONFIG})",
                          "check the path, or drop --resume to start a new run there")
    if p.is_dir() and any(x for x in p.iterdir() if not x.name.startswith(".")):
        raise RunDirError(f"{p} is not empty and holds no SPIRAL run", "choose an empty or new --out")
    return False


class RunDir:
    """A run directory. Use :meth:`prepare` to create or reopen one safely."""

    def __init__(self, path: str | Path, background: bool = False):
        self.path = Path(path)
        self.background = background  # write through one FIFO thread (see the module doc)
        self._writer: Any = None
        self._failed: BaseException | None = None  # after a failed write, later ones are skipped
        self.lock: DirLock | None = None  # held from prepare() to close(): one writer at a time

    # -- opening ------------------------------------------------------------------------
    @classmethod
    def prepare(cls, path: str | Path, config: dict[str, Any], identity: str, resume: bool = False) -> RunDir:
        """Create ``path`` for a new run, or reopen it with ``resume``.

        Refuses (with :class:`RunDirError`) a path that is a file, is not writable, holds a
        different run, or holds this run without ``resume``.
        """
        p = Path(path)
        if p.exists() and not p.is_dir():
            raise RunDirError(f"output path {p} exists and is not a directory", "choose another --out")
        if p.is_dir() or resume:  # refuse what can be refused before touching anything (even the lock's label)
            _check(p, identity, resume)
        try:
            p.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunDirError(f"cannot create output directory {p}: {exc.strerror}",
                              "choose a writable --out") from None
        if not os.access(p, os.W_OK | os.X_OK):
            raise RunDirError(f"output directory {p} is not writable", "choose a writable --out")
        run = cls(p)
        run.lock = DirLock(p, "--out").acquire()  # a second writer (a resume racing a resume) stops here
        try:
            if _check(p, identity, resume):  # again, under the lock: another writer may have been first
                removed = remove_temp_files(p)  # of writes a kill interrupted (we hold the lock: nobody writes)
                if removed:
                    log.info("removed %d temporary file(s) of interrupted writes in %s", removed, p)
            else:
                try:
                    atomic_write_json(p / CONFIG, {"spiral_version": __version__, "config_hash": identity,
                                                   "config": config})
                except OSError as exc:
                    raise RunDirError(f"cannot write to {p}: {exc.strerror}", "choose a writable --out") from None
        except BaseException:
            run.lock.release()
            raise
        return run

    # -- files --------------------------------------------------------------------------
    def file(self, name: str) -> Path:
        return self.path / name

    def load_state(self) -> dict[str, Any] | None:
        self.flush()
        f = self.path / STATE
        if not f.exists():
            return None
        try:
            return json.loads(f.read_text())
        except json.JSONDecodeError as exc:  # pragma: no cover - state.json is written atomically
            raise RunDirError(f"{f} is corrupt: {exc}", "start the run again in a new --out") from None

    def save_state(self, state: dict[str, Any], before: Any = None) -> None:
        """Checkpoint (serialised now, written after everything submitted before it);
        ``before`` (a callable) runs first in the same order, e.g. syncing the trace."""
        data = (redact(json.dumps(state, separators=(",", ":"))) + "\n").encode()

        def write() -> None:
            if before is not None:
                before()
            atomic_write_bytes(self.path / STATE, data)

        self._submit(write)

    def segment_path(self, index: int) -> Path:
        return self.path / SEGMENTS / f"{index:04d}.npy"

    def write_segment(self, index: int, frames: np.ndarray, meta: dict[str, Any]) -> tuple[str, str]:
        """Write an accepted clip atomically; returns ``(relative path, sha256)``."""
        import io

        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(frames, dtype=np.uint8), allow_pickle=False)
        data = buf.getvalue()
        path = self.segment_path(index)
        sha = hashlib.sha256(data).hexdigest()
        side = (redact(json.dumps({**meta, "sha256": sha}, indent=1)) + "\n").encode()

        def write() -> None:
            atomic_write_bytes(path, data)
            atomic_write_bytes(path.with_suffix(".json"), side)

        self._submit(write)
        return str(path.relative_to(self.path)), sha

    def write_filmstrip(self, name: str, frames: np.ndarray, n: int = 6) -> str:
        """A strip of ``n`` evenly spaced frames (PNG) for the report; returns its relative
        path at once. The PNG is encoded and written by a background thread, off the loop's
        path (it is for inspection, not for resuming); :meth:`flush` waits for it."""
        idx = np.linspace(0, len(frames) - 1, min(n, len(frames))).round().astype(int)
        strip = np.concatenate([frames[i] for i in idx], axis=1)
        path = self.path / ATTEMPTS / f"{name}.png"
        self._submit(_write_png, path, strip)
        return str(path.relative_to(self.path))

    def _submit(self, fn: Any, *args: Any) -> None:
        if not self.background:
            fn(*args)
            return
        if self._failed is not None:  # a failed write (disk full, permissions) surfaces here
            raise self._failed
        if self._writer is None:
            from concurrent.futures import ThreadPoolExecutor

            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spiral-rundir")

        def job() -> None:
            if self._failed is not None:
                return  # never write a checkpoint after a segment that failed to write
            try:
                fn(*args)
            except BaseException as exc:
                self._failed = exc
                raise

        self._writer.submit(job)

    def flush(self) -> None:
        """Wait for the background writes; re-raises the error of a failed one."""
        if self._writer is not None:  # one FIFO worker: a no-op queued now runs after them all
            self._writer.submit(lambda: None).result()
        if self._failed is not None:
            raise self._failed

    def close(self) -> None:
        """Wait for the background writes and stop the writer thread."""
        try:
            self.flush()
        finally:
            if self._writer is not None:
                self._writer.shutdown(wait=True)
                self._writer = None
            if self.lock is not None:
                self.lock.release()

    def read_segment(self, index: int) -> np.ndarray:
        self.flush()
        return np.load(self.segment_path(index), allow_pickle=False)
