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
resumed run) only ever sees complete files.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from spiral import __version__
from spiral.errors import RunDirError

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


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file + rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=1, sort_keys=False) + "\n").encode())


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class RunDir:
    """A run directory. Use :meth:`prepare` to create or reopen one safely."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    # -- opening ------------------------------------------------------------------------
    @classmethod
    def prepare(cls, path: str | Path, config: dict[str, Any], identity: str, resume: bool = False) -> "RunDir":
        """Create ``path`` for a new run, or reopen it with ``resume``.

        Refuses (with :class:`RunDirError`) a path that is a file, is not writable, holds a
        different run, or holds this run without ``resume``.
        """
        p = Path(path)
        if p.exists() and not p.is_dir():
            raise RunDirError(f"output path {p} exists and is not a directory", "choose another --out")
        try:
            p.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunDirError(f"cannot create output directory {p}: {exc.strerror}",
                              "choose a writable --out") from None
        if not os.access(p, os.W_OK | os.X_OK):
            raise RunDirError(f"output directory {p} is not writable", "choose a writable --out")
        run = cls(p)
        cfg_path = p / CONFIG
        if cfg_path.exists():
            try:
                existing = json.loads(cfg_path.read_text())
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise RunDirError(f"{cfg_path} is corrupt", "choose another --out") from None
            if existing.get("config_hash") != identity:
                goal = existing.get("config", {}).get("goal", "?")
                raise RunDirError(f"{p} holds a different run (goal {goal!r})",
                                  "choose another --out, or delete that directory")
            if not resume:
                raise RunDirError(f"{p} already holds this run",
                                  "pass --resume to continue it, or choose another --out")
            return run
        if any(x for x in p.iterdir() if not x.name.startswith(".")):
            raise RunDirError(f"{p} is not empty and holds no SPIRAL run", "choose an empty or new --out")
        try:
            atomic_write_json(cfg_path, {"spiral_version": __version__, "config_hash": identity, "config": config})
        except OSError as exc:
            raise RunDirError(f"cannot write to {p}: {exc.strerror}", "choose a writable --out") from None
        return run

    # -- files --------------------------------------------------------------------------
    def file(self, name: str) -> Path:
        return self.path / name

    def load_state(self) -> dict[str, Any] | None:
        f = self.path / STATE
        if not f.exists():
            return None
        try:
            return json.loads(f.read_text())
        except json.JSONDecodeError as exc:  # pragma: no cover - state.json is written atomically
            raise RunDirError(f"{f} is corrupt: {exc}", "start the run again in a new --out") from None

    def save_state(self, state: dict[str, Any]) -> None:
        atomic_write_json(self.path / STATE, state)

    def segment_path(self, index: int) -> Path:
        return self.path / SEGMENTS / f"{index:04d}.npy"

    def write_segment(self, index: int, frames: np.ndarray, meta: dict[str, Any]) -> tuple[str, str]:
        """Write an accepted clip atomically; returns ``(relative path, sha256)``."""
        import io

        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(frames, dtype=np.uint8), allow_pickle=False)
        data = buf.getvalue()
        path = self.segment_path(index)
        atomic_write_bytes(path, data)
        sha = hashlib.sha256(data).hexdigest()
        atomic_write_json(path.with_suffix(".json"), {**meta, "sha256": sha})
        return str(path.relative_to(self.path)), sha

    def write_filmstrip(self, name: str, frames: np.ndarray, n: int = 6) -> str:
        """A strip of ``n`` evenly spaced frames (PNG) for the report; returns its relative path."""
        import io

        from PIL import Image

        idx = np.linspace(0, len(frames) - 1, min(n, len(frames))).round().astype(int)
        strip = np.concatenate([frames[i] for i in idx], axis=1)
        buf = io.BytesIO()
        Image.fromarray(strip).save(buf, format="PNG")
        path = self.path / ATTEMPTS / f"{name}.png"
        atomic_write_bytes(path, buf.getvalue())
        return str(path.relative_to(self.path))

    def read_segment(self, index: int) -> np.ndarray:
        return np.load(self.segment_path(index), allow_pickle=False)

    def segment_files(self) -> list[Path]:
        d = self.path / SEGMENTS
        return sorted(d.glob("*.npy")) if d.exists() else []
