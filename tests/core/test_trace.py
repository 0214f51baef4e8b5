"""The trace file: appended as events happen, repaired and cut back on resume."""

from __future__ import annotations

import json

import pytest

from spiral.core.trace import Trace
from spiral.errors import RunDirError


def _events(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_truncate_cuts_the_file_in_place_and_appending_goes_on(tmp_path):
    p = tmp_path / "trace.jsonl"
    t = Trace(p)
    for i in range(5):
        t.emit("scene", i=i)
    t.close()
    t = Trace(p, resume=True)
    assert t.seq == 5
    inode = p.stat().st_ino
    t.truncate(2)
    assert p.stat().st_ino == inode  # cut in place (no rewrite that a kill could interrupt half-way)
    assert [e["i"] for e in _events(p)] == [0, 1]
    t.emit("resume", step=0, segments=0)
    t.close()
    assert [e["seq"] for e in _events(p)] == [0, 1, 2] and _events(p)[2]["event"] == "resume"


def test_a_half_written_line_is_dropped_and_a_damaged_file_refused(tmp_path):
    p = tmp_path / "trace.jsonl"
    t = Trace(p)
    t.emit("scene", i=0)
    t.close()
    with open(p, "ab") as f:
        f.write(b'{"seq": 1, "ev')  # a kill mid-write
    assert Trace(p, resume=True).seq == 1
    with open(p, "ab") as f:
        f.write(b"\xff\xfe{}\n")
    with pytest.raises(RunDirError, match="is corrupt"):
        Trace(p, resume=True)
