"""The last line of defence: every core sink (trace, run-directory JSON, state, segment
metadata, memory, report) redacts a secret it is handed, whatever the producer did."""

from __future__ import annotations

import json
import secrets
import sqlite3

import numpy as np
import pytest

from spiral import redaction
from spiral.core.memory import EpisodeMemory
from spiral.core.rundir import RunDir, atomic_write_json
from spiral.core.trace import Trace, read_trace
from spiral.core.types import SubAction, Verdict


@pytest.fixture
def key(monkeypatch):
    k = "sk-test-" + secrets.token_hex(16)
    monkeypatch.setenv("SPIRAL_API_KEY", k)
    yield k
    redaction.forget_registered()


def escaped(k: str) -> str:
    return "\u200b".join(k)


def no_key(path, k):
    data = path.read_bytes().decode("utf-8", "ignore")
    return k not in data and k not in data.replace("\u200b", "").replace("\\u200b", "")


def test_trace_file_and_listeners(key, tmp_path):
    seen = []
    tr = Trace(tmp_path / "trace.jsonl")
    tr.listeners.append(seen.append)
    tr.emit("plan", steps=[{"prompt": f"lift {key}"}, {"prompt": escaped(key)}], version=0)
    tr.emit("decision", action="accept", reason="ok")
    tr.close()
    assert no_key(tmp_path / "trace.jsonl", key)
    ev = read_trace(tmp_path / "trace.jsonl")
    assert ev[0]["steps"][0]["prompt"] == "lift [REDACTED]" and ev[0]["seq"] == 0 and ev[1]["seq"] == 1
    assert key not in json.dumps(seen) and key not in json.dumps(tr.events)


def test_run_directory_json_state_and_segments(key, tmp_path):
    rd = RunDir.prepare(tmp_path / "run", {"goal": f"g {key}"}, "abc")
    rd.save_state({"plan": {"steps": [{"prompt": key}]}})
    rd.write_segment(0, np.zeros((2, 8, 8, 3), np.uint8), {"prompt": escaped(key)})
    atomic_write_json(tmp_path / "run" / "extra.json", {"k": key})
    for f in (tmp_path / "run").rglob("*"):
        if f.is_file():
            assert no_key(f, key), f


def test_memory(key, tmp_path):
    mem = EpisodeMemory(tmp_path / "memory.sqlite")
    frame = np.zeros((8, 8, 3), np.uint8)
    mem.register_objects([{"id": "mug", "description": f"a mug {key}"}], frame)
    sub = SubAction(kind="lift", subject="mug", prompt=f"lift {key}")
    mem.add_segment(0, sub, "segments/0000.npy", "0" * 64, frame)
    v = Verdict(passed=False, scores={}, failure_type="missing_action", feedback=f"bad {escaped(key)}")
    mem.log_failure(0, 0, v, "reseed")
    assert key not in json.dumps([mem.objects(), mem.segments(), mem.failures()])
    mem.close()
    db = sqlite3.connect(tmp_path / "memory.sqlite")
    dump = "\n".join(db.iterdump())
    db.close()
    assert key not in dump and key not in dump.replace("\u200b", "")
