"""``trace.jsonl``: one JSON object per event, appended and flushed as it happens.

Every event has ``seq`` (0, 1, 2, …), ``event`` (its kind) and ``t`` (seconds since the
run started). Timing fields live under ``t`` and ``timing`` only, so two runs of the same
config and seed give the same trace once those are dropped (:func:`strip_timings`).
The event kinds and their fields are documented in ``docs/trace.md`` and validated by
``spiral/core/trace.schema.json``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from spiral import redaction

log = logging.getLogger(__name__)

EVENTS = ("run_start", "resume", "scene", "plan", "precheck", "request", "clip", "verdict", "decision",
          "accept", "replan", "ground", "episode_end")
# `cost` (tokens an LLM/VLM agent paid for) depends on the response cache like timings on the clock
TIMING_KEYS = ("t", "timing", "cost")


def _default(o: Any) -> Any:
    if hasattr(o, "model_dump"):
        return o.model_dump(mode="json")
    if hasattr(o, "tolist"):
        return o.tolist()
    return str(o)


class Trace:
    """Appends events to ``path`` (or keeps them in memory if ``path`` is None)."""

    def __init__(self, path: str | Path | None, resume: bool = False):
        self.path = Path(path) if path else None
        self.events: list[dict[str, Any]] = []
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        self.seq = 0
        self.t0 = time.perf_counter()
        self._f = None
        if self.path is not None:
            if resume and self.path.exists():
                self._repair()
            self._f = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def _repair(self) -> None:
        """Drop a half-written last line (a kill mid-write) and continue the numbering."""
        assert self.path is not None
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            with open(self.path, "r+b") as f:
                f.truncate(cut)
            data = data[:cut]
        try:
            lines = [ln for ln in data.decode("utf-8").splitlines() if ln.strip()]
            self.events = [json.loads(ln) for ln in lines]
        except ValueError as exc:  # not UTF-8 or not JSON: edited or damaged, not a kill mid-write
            from spiral.errors import RunDirError

            raise RunDirError(f"{self.path} is corrupt ({type(exc).__name__}: {exc})",
                              "restore it, or start the run again in a new --out") from None
        self.seq = len(self.events)

    def truncate(self, n: int) -> None:
        """Keep only the first ``n`` events (resume: drop what came after the checkpoint)."""
        if n >= self.seq:
            return
        self.events = self.events[:n]
        self.seq = n
        if self._f is not None and self.path is not None:
            # cut the file after its n-th line, in place: one ftruncate, so a kill during the
            # resume leaves either the old trace or the kept prefix, never less
            self._f.flush()
            data = self.path.read_bytes()
            cut = 0
            for _ in range(n):
                cut = data.index(b"\n", cut) + 1
            os.truncate(self.path, cut)

    def emit(self, event: str, **fields: Any) -> dict[str, Any]:
        if event not in EVENTS:
            raise ValueError(f"unknown trace event {event!r}")
        rec = {"seq": self.seq, "event": event, "t": round(time.perf_counter() - self.t0, 4), **fields}
        if self._f is not None or redaction.active():  # (an in-memory trace with nothing to hide: skip)
            line = json.dumps(rec, default=_default)
            clean = redaction.redact(line)  # no secret (e.g. echoed by a model) reaches the file or listeners
            if clean != line:
                line, rec = clean, json.loads(clean)
        self.seq += 1
        self.events.append(rec)
        if self._f is not None:
            self._f.write(line + "\n")
            self._f.flush()
        for fn in self.listeners:
            try:
                fn(rec)
            except Exception:  # a broken progress bar must not break the run
                log.exception("trace listener failed")
        return rec

    def fsync_later(self) -> Any:
        """A callable that syncs what was written so far to disk, safe to run on another
        thread (events are flushed to the OS as they are emitted); a no-op without a file."""
        if self._f is None:
            return lambda: None
        fd = self._f.fileno()
        return lambda: os.fsync(fd)

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None


def read_trace(path: str | Path) -> list[dict[str, Any]]:
    out = []
    for ln in Path(path).read_text(encoding="utf-8").splitlines():
        if ln.strip():
            try:
                out.append(json.loads(ln))
            except json.JSONDecodeError:
                break  # a half-written last line
    return out


def strip_timings(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events without their timing (and cost) fields (for determinism checks)."""
    return [{k: v for k, v in e.items() if k not in TIMING_KEYS} for e in events]
