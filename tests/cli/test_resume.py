"""A run killed with SIGKILL at any moment resumes from its last accepted segment."""

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from spiral.api import run
from spiral.config import build_config

GOAL = ("stack the green cube on the blue one, then put the red ball in the bowl, "
        "then move the yellow ball next to the green cube, then push the purple bowl to the left")
SETS = ["generator.latency_s=0.2", "generator.fault_rate=0.3"]


def _cmd(out, resume=False, speculate=False, extra=()):
    cmd = [sys.executable, "-m", "spiral.cli.main", "run", GOAL, "--out", str(out), "-q", "--generator", "sim-faulty"]
    for s in SETS + (["loop.speculate=true"] if speculate else []) + list(extra):
        cmd += ["--set", s]
    return cmd + (["--resume"] if resume else [])


def _accepted(out):
    f = out / "state.json"
    if not f.exists():
        return {}
    st = json.loads(f.read_text())
    return {s["path"]: hashlib.sha256((out / s["path"]).read_bytes()).hexdigest() for s in st["segments"]}


@pytest.mark.parametrize("speculate", ["never", "alternating", "experience"])
def test_kill_anywhere_then_resume_gives_the_uninterrupted_result(tmp_path, speculate):
    """``alternating``: loop.speculate on in every other process (killed with a clip being
    generated ahead, resumed with it off or on), against an uninterrupted run without it.
    ``experience``: with a cross-episode experience store, which ranks the refinement
    strategies from the outcomes so far; a resume forgets the outcomes of the work it redoes."""
    extra = [f"memory.experience_path={tmp_path / 'exp-killed.sqlite'}"] if speculate == "experience" else []
    ref_sets = SETS + ([f"memory.experience_path={tmp_path / 'exp-ref.sqlite'}"] if extra else [])
    ref_result, ref = run(build_config(overrides={"goal": GOAL, "generator": {"name": "sim-faulty"}}, sets=ref_sets),
                          tmp_path / "ref")
    assert ref_result.status == "completed"
    out = tmp_path / "killed"
    rng = random.Random(7)
    seen: dict[str, str] = {}
    kills = mid_run_kills = 0
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    for round_ in range(12):
        spec = speculate == "alternating" and round_ % 2 == 0
        proc = subprocess.Popen(_cmd(out, resume=round_ > 0, speculate=spec, extra=extra), env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if round_ == 0:  # the first kill lands right after the first accepted segment (never a lucky miss)
            deadline = time.monotonic() + 60
            while proc.poll() is None and not _accepted(out) and time.monotonic() < deadline:
                time.sleep(0.01)
        else:
            time.sleep(rng.uniform(0.8, 1.5) + 0.3 * round_)  # later rounds wait longer: progress is certain
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            mid_run_kills += bool(_accepted(out))
        else:
            _, err = proc.communicate()
            assert proc.returncode == 0, err.decode()
        now = _accepted(out)
        for path, sha in seen.items():  # every segment accepted before stays bit-identical
            assert now.get(path) == sha, f"{path} changed after a kill"
        seen.update(now)
        if proc.returncode == 0:
            break
    else:
        raise AssertionError("the run never finished")
    assert mid_run_kills >= 1, "the test must kill the run at least once after a segment was accepted"
    assert (out / "video.mp4").read_bytes() == (ref.path / "video.mp4").read_bytes()
    ref_segs = sorted(p.name for p in (ref.path / "segments").glob("*.npy"))
    assert ref_segs == sorted(p.name for p in (out / "segments").glob("*.npy"))
    for name in ref_segs:
        assert (out / "segments" / name).read_bytes() == (ref.path / "segments" / name).read_bytes()
    events = [json.loads(x) for x in (out / "trace.jsonl").read_text().splitlines()]
    assert [e["seq"] for e in events] == list(range(len(events))), "the trace stays well-formed"
    assert any(e["event"] == "resume" for e in events)
    st = json.loads((out / "state.json").read_text())
    assert st["status"] == "completed"
    if extra:  # the store holds each outcome once, as after the uninterrupted run
        from spiral.core.memory import ExperienceStore

        ref_stats = ExperienceStore(tmp_path / "exp-ref.sqlite").stats()
        assert ref_stats and ExperienceStore(tmp_path / "exp-killed.sqlite").stats() == ref_stats


class _Crash(BaseException):
    """Stands for a kill: not an Exception, so nothing in the loop handles it."""


def test_a_resume_forgets_the_experience_outcomes_of_the_work_it_redoes(tmp_path, monkeypatch):
    """Crash at every generator call in turn and resume: the strategies are ranked from the
    same outcomes as in the uninterrupted run, so the video is the same, and the store ends
    up holding each outcome once."""
    from spiral.core.memory import ExperienceStore
    from spiral.generators.sim_faulty import FaultySimGenerator

    sets = ["generator.fault_rate=0.5"]

    def cfg(store):
        return build_config(overrides={"goal": GOAL, "generator": {"name": "sim-faulty"}},
                            sets=sets + [f"memory.experience_path={store}"])

    # a store that already prefers a strategy, so that the ranking matters from the start
    for name in ("ref", *[f"k{n}" for n in range(40)]):
        ExperienceStore(tmp_path / f"{name}.sqlite").record("missing_action", "rewrite_prompt", True)
    res, ref = run(cfg(tmp_path / "ref.sqlite"), tmp_path / "ref")
    ref_stats = ExperienceStore(tmp_path / "ref.sqlite").stats()
    assert res.generator_calls > res.segments  # refinements happened: outcomes were logged
    real = FaultySimGenerator.generate
    checked = 0
    for n in range(1, res.generator_calls):
        calls = {"n": 0}

        def crashing(self, requests, n=n, calls=calls):
            calls["n"] += 1
            if calls["n"] == n + 1:
                raise _Crash
            return real(self, requests)

        monkeypatch.setattr(FaultySimGenerator, "generate", crashing)
        out, store = tmp_path / f"k{n}", tmp_path / f"k{n}.sqlite"
        with pytest.raises(_Crash):
            run(cfg(store), out)
        monkeypatch.setattr(FaultySimGenerator, "generate", real)
        res2, rd = run(cfg(store), out, resume=True)
        assert res2.generator_calls == res.generator_calls, n
        assert (rd.path / "video.mp4").read_bytes() == (ref.path / "video.mp4").read_bytes(), n
        assert ExperienceStore(store).stats() == ref_stats, n
        checked += 1
    assert checked >= 3


def _killed_run(out, env, extra=()):
    """A run SIGKILLed right after its first accepted segment."""
    proc = subprocess.Popen(_cmd(out, extra=extra), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while proc.poll() is None and not _accepted(out) and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _accepted(out), "the run was not killed mid-way"


def test_two_resumes_of_one_run_directory_one_proceeds_the_other_exits_2(tmp_path):
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    out = tmp_path / "killed"
    slow = ("generator.latency_s=0.6",)  # the rest of the run outlasts the second process's start
    _killed_run(out, env, slow)
    (out / "segments" / ".0007.npy.left0ver.tmp").write_bytes(b"half")  # as a second kill leaves it
    first = subprocess.Popen(_cmd(out, resume=True, extra=slow), env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    # the second starts once the first holds the directory (started together, a slow start of
    # the second on a loaded machine could find the run already finished, and exit 0 rightly)
    from spiral.core.lock import holder

    deadline = time.monotonic() + 60
    while first.poll() is None and (holder(out) or {}).get("pid") != first.pid and time.monotonic() < deadline:
        time.sleep(0.01)
    second = subprocess.Popen(_cmd(out, resume=True, extra=slow), env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    procs = [first, second]
    results = [(p.pid, p.wait(timeout=300), p.stderr.read()) for p in procs]
    codes = sorted(code for _, code, _ in results)
    assert codes == [0, 2], results
    winner = next(pid for pid, code, _ in results if code == 0)
    loser_err = next(err for _, code, err in results if code == 2)
    assert f"process {winner}" in loser_err and "being written by another" in loser_err
    events = [json.loads(x) for x in (out / "trace.jsonl").read_text().splitlines()]
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert json.loads((out / "state.json").read_text())["status"] == "completed"
    assert not list(out.rglob("*.tmp"))  # the resume removed what killed writes left


def test_resume_of_a_directory_with_no_run_exits_2_and_writes_nothing(tmp_path):
    r = subprocess.run([sys.executable, "-m", "spiral.cli.main", "run", "--out", str(tmp_path / "typo"), "--resume",
                        "-q"], capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 2 and "holds no run to resume" in r.stderr
    assert not (tmp_path / "typo").exists()


@pytest.mark.parametrize("damage", ["modified", "missing"])
def test_a_resume_refuses_an_accepted_segment_that_changed_or_went_missing(tmp_path, monkeypatch, damage):
    """Accepted segments are checked against their sha256 on resume: a changed or missing one
    is refused (a clear error naming it), never stitched into the video."""
    from spiral.errors import RunDirError
    from spiral.generators.sim_faulty import FaultySimGenerator

    cfg = build_config(overrides={"goal": GOAL, "generator": {"name": "sim-faulty"}},
                       sets=["generator.fault_rate=0.0"])
    real = FaultySimGenerator.generate
    calls = {"n": 0}

    def crashing(self, requests):
        calls["n"] += 1
        if calls["n"] == 3:
            raise _Crash
        return real(self, requests)

    monkeypatch.setattr(FaultySimGenerator, "generate", crashing)
    out = tmp_path / "r"
    with pytest.raises(_Crash):
        run(cfg, out)
    monkeypatch.setattr(FaultySimGenerator, "generate", real)
    seg = out / "segments" / "0000.npy"
    assert seg.exists()
    if damage == "modified":
        import numpy as np

        frames = np.load(seg)
        frames[0, 0, 0] ^= 1  # one pixel, still a valid array file
        np.save(seg, frames)
    else:
        seg.unlink()
    with pytest.raises(RunDirError, match="0000.npy is missing or was modified"):
        run(cfg, out, resume=True)
