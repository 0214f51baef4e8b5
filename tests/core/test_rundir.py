"""rundir.py: atomic files, ordered background writes, errors that surface."""

from __future__ import annotations

import json
import os
import threading

import numpy as np
import pytest

from spiral.core import rundir as rd_mod
from spiral.core.rundir import RunDir


def _clip(v: int) -> np.ndarray:
    return np.full((4, 8, 8, 3), v, np.uint8)


@pytest.mark.parametrize("background", [False, True])
def test_segment_state_and_filmstrip_land(tmp_path, background):
    run = RunDir(tmp_path, background=background)
    path, sha = run.write_segment(0, _clip(7), {"index": 0})
    thumb = run.write_filmstrip("v0-s000-a0", _clip(7))
    run.save_state({"segments": [{"path": path, "sha256": sha}]})
    assert (run.read_segment(0) == 7).all()  # reading waits for the writer
    assert run.load_state()["segments"][0]["sha256"] == sha
    run.close()
    side = json.loads((tmp_path / path).with_suffix(".json").read_text())
    assert side == {"index": 0, "sha256": sha}
    assert (tmp_path / thumb).stat().st_size > 0
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_background_writes_keep_their_order(tmp_path, monkeypatch):
    """state.json is never on disk before the segment files it lists."""
    gate = threading.Event()
    order = []
    real = rd_mod.atomic_write_bytes

    def slow(path, data, fsync=True):
        if path.suffix == ".npy":
            gate.wait(5)  # hold the segment back
        order.append(path.name)
        real(path, data, fsync)

    monkeypatch.setattr(rd_mod, "atomic_write_bytes", slow)
    run = RunDir(tmp_path, background=True)
    run.write_segment(0, _clip(1), {})
    run.save_state({"next_step": 1})
    assert not (tmp_path / "state.json").exists()  # queued behind the held segment
    gate.set()
    run.close()
    assert order == ["0000.npy", "0000.json", "state.json"]


def test_a_failed_write_surfaces_and_stops_later_writes(tmp_path, monkeypatch):
    real = rd_mod.atomic_write_bytes

    def failing(path, data, fsync=True):
        if path.suffix == ".npy":
            raise OSError(28, "No space left on device")
        real(path, data, fsync)

    monkeypatch.setattr(rd_mod, "atomic_write_bytes", failing)
    run = RunDir(tmp_path, background=True)
    run.write_segment(0, _clip(1), {})
    with pytest.raises(OSError, match="No space left"):  # at the next write or at the flush
        run.save_state({"next_step": 1})
        run.flush()
    assert not (tmp_path / "state.json").exists()  # no checkpoint after a lost segment
    with pytest.raises(OSError):
        run.write_segment(1, _clip(2), {})
    run._failed = None
    run.close()


def test_atomic_write_leaves_the_old_file_on_error(tmp_path, monkeypatch):
    target = tmp_path / "f.json"
    rd_mod.atomic_write_json(target, {"a": 1})

    def boom(*_):
        raise OSError(5, "I/O error")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        rd_mod.atomic_write_json(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_prepare_locks_the_directory_until_close(tmp_path):
    """One writer per run directory: a second prepare (a resume racing a resume) is
    refused naming the holder; close() lets the next one in."""
    from spiral.core.lock import DirLockedError

    out = tmp_path / "run"
    first = RunDir.prepare(out, {"goal": "g"}, "id1")
    with pytest.raises(DirLockedError, match=f"process {os.getpid()}"):
        RunDir.prepare(out, {"goal": "g"}, "id1", resume=True)
    first.close()
    RunDir.prepare(out, {"goal": "g"}, "id1", resume=True).close()
    assert [p.name for p in out.iterdir() if not p.name.startswith(".")] == ["config.json"]


def test_resume_of_a_directory_with_no_run_is_refused(tmp_path):
    from spiral.errors import RunDirError

    with pytest.raises(RunDirError, match="holds no run to resume"):
        RunDir.prepare(tmp_path / "typo", {"goal": "g"}, "id1", resume=True)
    assert not (tmp_path / "typo" / "config.json").exists()


def test_resume_removes_the_temporary_files_of_killed_writes(tmp_path):
    out = tmp_path / "run"
    RunDir.prepare(out, {"goal": "g"}, "id1").close()
    (out / "segments").mkdir()
    (out / "attempts").mkdir()
    left = [out / "segments" / ".0003.npy.ab12cd.tmp", out / ".state.json.x1.tmp",
            out / "attempts" / ".v0-s000-a0.png.zz.tmp", out / ".video.mp4.q9.mp4"]
    kept = [out / "segments" / "0000.npy", out / "notes.tmp"]
    for f in left + kept:
        f.write_bytes(b"x")
    RunDir.prepare(out, {"goal": "g"}, "id1", resume=True).close()
    assert not [f for f in left if f.exists()]
    assert all(f.exists() for f in kept)
