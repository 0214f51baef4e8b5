"""What a new user sees in the first ten minutes: the goal and plan before generating,
honest wall time, plural forms, `spiral show` at 80 columns, defaults in help, and one
output-path convention (`--out`) with the old forms still accepted."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from spiral.cli.main import _n, app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_plural_forms():
    assert _n(1, "segment") == "1 segment" and _n(2, "segment") == "2 segments"
    assert _n(1, "retry") == "1 retry" and _n(0, "retry") == "0 retries"
    assert _n(1, "generator call") == "1 generator call" and _n(3, "replan") == "3 replans"


def test_run_prints_goal_and_plan_first_and_honest_time(tmp_path):
    r = invoke("run", "put the red ball in the bowl", "-g", "sim", "--out", str(tmp_path / "r"))
    assert r.exit_code == 0, r.output
    text = r.output
    goal, plan = text.index("goal: put the red ball in the bowl"), text.index("plan:")
    assert goal < plan < text.index("run directory")
    assert re.search(r"^\s+0\. put the red ball in the purple bowl$", text, re.MULTILINE), text
    assert "1 segment · 1 generator call · 0 retries · 0 replans" in text
    m = re.search(r"· ([\d.]+) s \(the loop ([\d.]+) s\)", text)
    assert m and float(m.group(1)) >= float(m.group(2)), text


def test_quiet_prints_no_plan(tmp_path):
    r = invoke("run", "put the red ball in the bowl", "--out", str(tmp_path / "r"), "-q")
    assert r.exit_code == 0 and "plan:" not in r.output and "goal:" not in r.output


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory):
    """A run with refinements, two replans and a stop (deterministic: same config, same trace)."""
    out = tmp_path_factory.mktemp("fail") / "r"
    r = invoke("run", "stack all the cubes", "--scene-seed", "5", "-g", "sim-faulty", "--seed", "13",
               "--set", "generator.fault_rate=0.8", "--set", "loop.max_attempts=2", "--set", "loop.on_failure=stop",
               "--out", str(out), "-q")
    assert r.exit_code == 3, r.output
    return out


def test_show_fits_80_columns_with_plan_versions(failing_run, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    r = invoke("show", str(failing_run))
    assert r.exit_code == 0, r.output
    assert max(len(line) for line in r.output.splitlines() if "stopped:" not in line) <= 80
    events = [json.loads(x) for x in (failing_run / "trace.jsonl").read_text().splitlines()]
    failures = {e["verdict"]["failure_type"] for e in events if e["event"] == "verdict" and e["verdict"]["failure_type"]}
    assert failures and all(re.search(rf"\b{f}\b", r.output) for f in failures), r.output
    assert "v1 attempt 2" in r.output and "v2 attempt 1" in r.output
    assert "1 segment · 7 generator calls · 3 retries · 2 replans" in r.output


def test_no_double_full_stop_in_the_report(failing_run):
    html = (failing_run / "report.html").read_text()
    status = html[html.index("Status:"):][:600]
    assert ".." not in status and "replan budget" in status


def test_run_help_names_the_defaults():
    r = invoke("run", "--help")
    text = " ".join(r.output.split())
    assert "default tiny-ti2v" in text and "default symbolic" in text and "default perception" in text


def test_scene_new_and_render_take_out(tmp_path):
    r = invoke("scene", "new", "--out", str(tmp_path / "s.json"), "--out", str(tmp_path / "s.png"), "--seed", "3")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "s.json").exists() and (tmp_path / "s.png").exists() and "deprecated" not in r.output
    r = invoke("scene", "render", str(tmp_path / "s.json"), "--out", str(tmp_path / "x.png"), "--size", "64")
    assert r.exit_code == 0 and (tmp_path / "x.png").exists() and "deprecated" not in r.output
    r = invoke("scene", "new", "--out", str(tmp_path / "only.png"))
    assert r.exit_code == 0 and (tmp_path / "only.png").exists()


def test_old_output_forms_still_work_with_a_note(tmp_path):
    r = invoke("scene", "new", str(tmp_path / "s.json"), "--png", str(tmp_path / "s.png"))
    assert r.exit_code == 0 and (tmp_path / "s.json").exists() and (tmp_path / "s.png").exists()
    assert "`spiral scene new FILE` is deprecated; use --out FILE" in r.output and "--png FILE is deprecated" in r.output
    r = invoke("scene", "render", str(tmp_path / "s.json"), str(tmp_path / "y.png"))
    assert r.exit_code == 0 and (tmp_path / "y.png").exists() and "deprecated; use --out PNG" in r.output


@pytest.mark.parametrize("args, needle", [
    (["scene", "new"], "nothing to write"),
    (["scene", "new", "--out", "a.json", "--out", "b.json"], "at most one .json"),
    (["scene", "new", "--out", "a.txt"], "what to write there"),
    (["scene", "render", "SCENE"], "no picture to write"),
    (["scene", "render", "SCENE", "a.png", "--out", "b.png"], "given twice"),
])
def test_bad_out_forms(tmp_path, monkeypatch, args, needle):
    monkeypatch.chdir(tmp_path)
    invoke("scene", "new", "--out", "scene.json")
    args = ["scene.json" if a == "SCENE" else a for a in args]
    r = invoke(*args)
    assert r.exit_code == 2 and needle in r.output, r.output
    assert not (tmp_path / "a.json").exists() and not (tmp_path / "b.png").exists()


def test_report_uses_plural_forms(failing_run):
    html = (failing_run / "report.html").read_text()
    assert "1 segment · 7 generator calls · 3 retries · 2 replans" in html
