"""Long-horizon memory.

:class:`EpisodeMemory` is one episode's state, persisted as SQLite in the run directory
(``memory.sqlite``): the object registry with each object's appearance in the first frame,
keyframes (the first frame and the last frame of every accepted segment), the accepted
segments, and a failure log that records which refinement fixed each failure.

:class:`ExperienceStore` is a cross-episode SQLite file the user points to
(``memory.experience_path``): per failure type, how often each refinement strategy was
tried and how often it fixed the failure. The loop tries the historically best first.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np

from spiral.core.png import decode_png, encode_png
from spiral.core.types import SubAction, Verdict
from spiral.redaction import redact

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (id TEXT PRIMARY KEY, color TEXT, kind TEXT, appearance TEXT);
CREATE TABLE IF NOT EXISTS keyframes (idx INTEGER PRIMARY KEY, step INTEGER, png BLOB);
CREATE TABLE IF NOT EXISTS segments (idx INTEGER PRIMARY KEY, sub_action TEXT, path TEXT, sha256 TEXT);
CREATE TABLE IF NOT EXISTS failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT, step INTEGER, attempt INTEGER, plan_version INTEGER,
    failure_type TEXT, feedback TEXT, strategy TEXT, fixed INTEGER DEFAULT 0, fixed_by TEXT);
"""


def _png(frame: np.ndarray) -> bytes:
    return encode_png(frame, compress_level=1)  # speed over size: 64x64 frames


_unpng = decode_png


class EpisodeMemory:
    """One episode's memory. ``path=None`` keeps it in RAM (tests, benchmarks)."""

    def __init__(self, path: str | Path | None = None):
        self.path = str(path) if path else ":memory:"
        self.db = sqlite3.connect(self.path)
        if self.path != ":memory:":
            # WAL: a commit appends to the log instead of rewriting pages and syncing twice;
            # NORMAL: consistent after a crash, synced at checkpoints (a resume re-derives
            # anything after the run's last checkpoint anyway, see ``truncate``)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        self.db.commit()
        self._objects: list[dict[str, Any]] | None = None

    def close(self) -> None:
        self.db.close()

    # -- registry ---------------------------------------------------------------------
    def register_objects(self, objects: list[dict[str, Any]], first_frame: np.ndarray) -> None:
        with self.db:
            self.db.execute("DELETE FROM objects")
            for o in objects:
                self.db.execute("INSERT INTO objects VALUES (?,?,?,?)",  # model-written text: redacted
                                (redact(o["id"]), o.get("color"), o.get("kind"), redact(json.dumps(o))))
            self.db.execute("INSERT OR REPLACE INTO keyframes VALUES (0, -1, ?)", (_png(first_frame),))
        self._objects = None

    def objects(self) -> list[dict[str, Any]]:
        if self._objects is None:
            rows = self.db.execute("SELECT appearance FROM objects ORDER BY rowid").fetchall()
            self._objects = [json.loads(r[0]) for r in rows]
        return self._objects

    def known_kinds(self) -> dict[str, str]:
        return {o["color"]: o["kind"] for o in self.objects() if o.get("color")}

    def first_frame(self) -> np.ndarray | None:
        row = self.db.execute("SELECT png FROM keyframes WHERE idx = 0").fetchone()
        return _unpng(row[0]) if row else None

    # -- segments and keyframes -------------------------------------------------------
    def add_segment(self, index: int, sub_action: SubAction, path: str, sha256: str,
                    last_frame: np.ndarray) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO segments VALUES (?,?,?,?)",
                            (index, redact(sub_action.model_dump_json()), path, sha256))
            self.db.execute("INSERT OR REPLACE INTO keyframes VALUES (?,?,?)",
                            (index + 1, index, _png(last_frame)))

    def segments(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT idx, sub_action, path, sha256 FROM segments ORDER BY idx").fetchall()
        return [{"index": i, "sub_action": json.loads(s), "path": p, "sha256": h} for i, s, p, h in rows]

    def keyframes(self) -> list[np.ndarray]:
        rows = self.db.execute("SELECT png FROM keyframes ORDER BY idx").fetchall()
        return [_unpng(r[0]) for r in rows]

    def truncate(self, n_segments: int, plan_version: int | None = None) -> None:
        """Forget what came after the checkpoint (resume): segments from index ``n_segments``
        on, their keyframes, and failures logged after it (they will be logged again)."""
        with self.db:
            self.db.execute("DELETE FROM segments WHERE idx >= ?", (n_segments,))
            self.db.execute("DELETE FROM keyframes WHERE idx > ?", (n_segments,))
            if plan_version is not None:
                self.db.execute("DELETE FROM failures WHERE plan_version > ? OR (plan_version = ? AND step >= ?)",
                                (plan_version, plan_version, n_segments))

    # -- failure log --------------------------------------------------------------------
    def log_failure(self, step: int, attempt: int, verdict: Verdict, strategy: str | None,
                    plan_version: int = 0) -> int:
        with self.db:
            cur = self.db.execute(
                "INSERT INTO failures (step, attempt, plan_version, failure_type, feedback, strategy) "
                "VALUES (?,?,?,?,?,?)",
                (step, attempt, plan_version, verdict.failure_type, redact(verdict.feedback), strategy))
        return int(cur.lastrowid)

    def mark_fixed(self, failure_id: int, fixed_by: str) -> None:
        with self.db:
            self.db.execute("UPDATE failures SET fixed = 1, fixed_by = ? WHERE id = ?", (fixed_by, failure_id))

    def failures(self) -> list[dict[str, Any]]:
        cols = ("id", "step", "attempt", "plan_version", "failure_type", "feedback", "strategy", "fixed", "fixed_by")
        rows = self.db.execute(f"SELECT {', '.join(cols)} FROM failures ORDER BY id").fetchall()
        return [dict(zip(cols, r)) for r in rows]


class ExperienceStore:
    """Cross-episode statistics: which refinement strategy fixed which failure type.

    Each outcome is logged with the run it came from and the trace position it was made
    at, so that a resumed run can forget the outcomes of the work it redoes
    (:meth:`forget_after`) and rank strategies as the uninterrupted run did. Counts from
    stores written before outcomes were logged (table ``experience``) are read as they are.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.execute("CREATE TABLE IF NOT EXISTS experience (failure_type TEXT, strategy TEXT, "
                       "tries INTEGER, fixes INTEGER, PRIMARY KEY (failure_type, strategy))")
            db.execute("CREATE TABLE IF NOT EXISTS outcomes (run TEXT, seq INTEGER, failure_type TEXT, "
                       "strategy TEXT, fixed INTEGER)")
            db.execute("CREATE INDEX IF NOT EXISTS outcomes_run ON outcomes (run, seq)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def record(self, failure_type: str, strategy: str, fixed: bool, run: str = "", seq: int = 0) -> None:
        with closing(self._connect()) as db, db:
            db.execute("INSERT INTO outcomes VALUES (?,?,?,?,?)", (run, seq, failure_type, strategy, int(fixed)))

    def forget_after(self, run: str, seq: int) -> int:
        """Drop ``run``'s outcomes logged at trace position ``seq`` or later; how many."""
        with closing(self._connect()) as db, db:
            return db.execute("DELETE FROM outcomes WHERE run = ? AND seq >= ?", (run, seq)).rowcount

    def stats(self, failure_type: str | None = None) -> dict[tuple[str, str], tuple[int, int]]:
        where = " WHERE failure_type = ?" if failure_type else ""
        args = (failure_type,) if failure_type else ()
        out: dict[tuple[str, str], tuple[int, int]] = {}
        with closing(self._connect()) as db:
            rows = db.execute("SELECT failure_type, strategy, tries, fixes FROM experience" + where, args).fetchall()
            rows += db.execute("SELECT failure_type, strategy, COUNT(*), SUM(fixed) FROM outcomes" + where
                               + " GROUP BY failure_type, strategy", args).fetchall()
        for f, s, t, x in rows:
            t0, x0 = out.get((f, s), (0, 0))
            out[(f, s)] = (t0 + int(t), x0 + int(x or 0))
        return out

    def rank(self, failure_type: str, strategies: list[str]) -> list[str]:
        """``strategies`` ordered by smoothed fix rate (ties keep the given order)."""
        st = self.stats(failure_type)

        def rate(s: str) -> float:
            tries, fixes = st.get((failure_type, s), (0, 0))
            return (fixes + 1) / (tries + 2)

        return sorted(strategies, key=lambda s: -rate(s))
