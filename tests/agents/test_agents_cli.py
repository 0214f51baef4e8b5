"""End to end: ``spiral run --planner llm --critic vlm`` and ``spiral bench critic --critic vlm``
against the scripted server, through the CLI, the loop, the real agents and the real
``openai`` client. Every run directory is complete, every trace line matches the schema, and
the API key appears nowhere in the run directory, the cache or the output."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from jsonschema import Draft202012Validator
from PIL import Image
from scripted_server import SECRET, agent_router, demo_plan, goal, kitchen_plan, ok, verdict
from typer.testing import CliRunner

from spiral.cli.main import app
from spiral.core.trace import read_trace, strip_timings

pytestmark = pytest.mark.usefixtures("fast_default_generator")  # loop mechanics: sim-faulty as the default

runner = CliRunner()
KITCHEN_GOAL = "put the mug in the cupboard and close it"
RUN_FILES = ("config.json", "trace.jsonl", "state.json", "memory.sqlite", "video.mp4", "report.html")


@pytest.fixture
def kitchen_png(tmp_path) -> Path:
    """A photo-like first frame with nothing the tabletop perception recognises."""
    img = np.zeros((96, 128, 3), np.uint8)
    img[:] = (200, 170, 140)
    img[60:] = (120, 100, 80)
    img[10:50, 10:40] = (90, 110, 130)
    img[20:40, 70:110] = (170, 140, 120)
    img[45:58, 80:92] = (140, 100, 90)
    path = tmp_path / "kitchen.png"
    Image.fromarray(img).save(path)
    return path


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv("SPIRAL_API_KEY", SECRET)


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(resources.files("spiral.core").joinpath("trace.schema.json").read_text())
    return Draft202012Validator(schema)


def spiral(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def assert_no_secret(*paths: Path, text: str = "") -> None:
    assert SECRET not in text
    for root in paths:
        for f in [root] if root.is_file() else root.rglob("*"):
            if f.is_file():
                assert SECRET.encode() not in f.read_bytes(), f


def check_trace(out: Path, validator) -> list[dict]:
    events = read_trace(out / "trace.jsonl")
    for e in events:
        errs = [err.message[:200] for err in validator.iter_errors(e)]
        assert not errs, (e["event"], errs)
    return events


def test_kitchen_image_end_to_end(server, key, kitchen_png, tmp_path, validator):
    server.router = agent_router(kitchen_plan(), [verdict()], goal())
    out = tmp_path / "run"
    r = spiral("run", KITCHEN_GOAL, "--image", str(kitchen_png), "--planner", "llm", "--critic", "vlm",
               "--set", f"agents.base_url={server.url}", "--out", str(out), "-vv")
    assert r.exit_code == 0, r.output
    assert "goal reached" in r.output
    for name in RUN_FILES:
        assert (out / name).exists(), name
    assert len(list((out / "segments").glob("*.npy"))) == 2
    events = check_trace(out, validator)
    kinds = [e["event"] for e in events]
    assert kinds[:3] == ["run_start", "scene", "plan"] and kinds[-1] == "episode_end"
    plan = events[2]
    assert [s["subject"] for s in plan["steps"]] == ["mug", "cupboard"]
    assert plan["cost"]["requests"] == 1 and plan["cost"]["model"] == "scripted-vlm"  # detected from /models
    verdicts = [e for e in events if e["event"] == "verdict"]
    assert len(verdicts) == 2 and all(v["verdict"]["critic"] == "vlm" and v["cost"]["requests"] == 1
                                      for v in verdicts)
    assert verdicts[0]["verdict"]["perceived"]["frames"] == [0, 2, 4, 7, 9, 11]
    assert verdicts[0]["verdict"]["perceived"]["references"] == ["first_frame"]  # no positions: the whole frame
    end = events[-1]
    assert end["goal"] == {"satisfied": True, "unmet": [], "missing_objects": [], "conditions_met": 2,
                           "conditions_total": 2}
    assert end["cost"] == {"requests": 4, "retries": 0, "repairs": 0, "cache_hits": 0, "prompt_tokens": 400,
                           "completion_tokens": 40}
    state = json.loads((out / "state.json").read_text())
    assert state["result"]["cost"]["requests"] == 4
    cfg = json.loads((out / "config.json").read_text())["config"]
    assert cfg["agents"]["base_url"] == server.url and cfg["planner"]["name"] == "llm"
    # the key was used (as the bearer token) and went nowhere else
    assert all(req["headers"]["authorization"] == f"Bearer {SECRET}" for req in server.requests)
    assert_no_secret(out, tmp_path / "llm-cache", text=r.output)
    assert "HTTP Request: POST" in r.output  # -vv really logged the requests


def test_rerun_is_served_from_the_cache(server, key, kitchen_png, tmp_path):
    server.router = agent_router(kitchen_plan(), [verdict()], goal())
    args = ["run", KITCHEN_GOAL, "--image", str(kitchen_png), "--planner", "llm", "--critic", "vlm",
            "--set", f"agents.base_url={server.url}", "-q"]
    assert spiral(*args, "--out", str(tmp_path / "a")).exit_code == 0
    paid = len(server.requests)
    assert paid == 4
    assert spiral(*args, "--out", str(tmp_path / "b")).exit_code == 0
    assert len(server.requests) == paid  # nothing paid twice
    a, b = (read_trace(tmp_path / d / "trace.jsonl") for d in "ab")
    assert b[-1]["cost"]["cache_hits"] == 4 and b[-1]["cost"]["prompt_tokens"] == 0
    assert strip_timings(a)[1:] == strip_timings(b)[1:]  # same run, once timings and costs are dropped
    assert_no_secret(tmp_path / "llm-cache")


def test_a_failed_verdict_is_refined_with_the_vlm_feedback(server, key, kitchen_png, tmp_path, validator):
    feedback = "The mug never left the counter; a hand must lift it into the cupboard."
    server.router = agent_router(kitchen_plan(), [verdict(False, "missing_action", feedback), verdict()])
    out = tmp_path / "run"
    # no cache: the generator gives the same still clip again, which a cache would judge the same way
    r = spiral("run", KITCHEN_GOAL, "--image", str(kitchen_png), "--planner", "llm", "--critic", "vlm",
               "--set", f"agents.base_url={server.url}", "--set", "agents.cache=false", "--out", str(out), "-q")
    assert r.exit_code == 0, r.output
    events = check_trace(out, validator)
    decisions = [e for e in events if e["event"] == "decision"]
    # the LLM planner cannot locate objects: the instruction is the critic's feedback, in words
    assert decisions[0]["action"] == "refine" and decisions[0]["strategy"] == "instruct"
    retry = [e for e in events if e["event"] == "request"][1]
    assert feedback in retry["request"]["prompt"]


def test_global_drift_replans_through_the_llm(server, key, tmp_path, validator):
    server.router = agent_router(demo_plan(), [verdict(False, "identity_drift", "Everything changed colour.",
                                                        scope="global"), verdict()])
    out = tmp_path / "run"
    r = spiral("run", "--planner", "llm", "--critic", "vlm", "--set", f"agents.base_url={server.url}",
               "--set", "agents.cache=false", "--out", str(out), "-q")
    assert r.exit_code == 0, r.output
    events = check_trace(out, validator)
    (rep,) = [e for e in events if e["event"] == "replan"]
    assert rep["from_version"] == 0 and rep["to_version"] == 1 and rep["cost"]["requests"] == 1
    assert "Everything changed colour." in rep["feedback"]
    replan_req = [q for q in server.bodies() if "Write a new plan" in json.dumps(q)]
    assert len(replan_req) == 1 and "<data>Everything changed colour.</data>" in json.dumps(replan_req[0])


def test_tabletop_llm_planner_with_vlm_critic(server, key, tmp_path, validator):
    server.router = agent_router(demo_plan(), [verdict()], goal())
    out = tmp_path / "run"
    r = spiral("run", "--planner", "llm", "--critic", "vlm", "--set", f"agents.base_url={server.url}",
               "--set", "critic.frames=4", "--out", str(out), "-q")
    assert r.exit_code == 0, r.output
    events = check_trace(out, validator)
    assert [s["kind"] for s in events[2]["steps"]] == ["stack", "put_in"]
    v = next(e for e in events if e["event"] == "verdict")
    assert v["verdict"]["perceived"]["frames"] == [0, 4, 7, 11]
    assert v["verdict"]["perceived"]["references"][:2] == ["green_cube", "blue_cube"]
    assert events[-1]["goal"]["satisfied"] is True


def test_tabletop_llm_plan_is_executable_and_checked_by_perception(server, tmp_path):
    """The grounded LLM plan runs in the simulator and the perception critic confirms the goal
    from pixels (no VLM involved)."""
    server.router = agent_router(demo_plan(), [])
    out = tmp_path / "run"
    r = spiral("run", "--planner", "llm", "--generator", "sim", "--set", f"agents.base_url={server.url}",
               "--out", str(out))
    assert r.exit_code == 0, r.output
    assert "goal reached" in r.output
    assert len(server.requests) == 1


def test_a_plan_that_stays_invalid_fails_before_anything_is_written(server, key, tmp_path):
    bad = demo_plan()
    bad["steps"][0]["subject"] = "golden_cube"
    server.router = agent_router(bad)
    out = tmp_path / "run"
    r = spiral("run", "--planner", "llm", "--critic", "vlm", "--set", f"agents.base_url={server.url}",
               "--out", str(out))
    assert r.exit_code == 2
    assert "no valid answer after one repair round-trip" in r.output and "golden_cube" in r.output
    assert not out.exists()
    assert len(server.requests) == 2
    assert_no_secret(tmp_path, text=r.output)


def test_a_critic_that_breaks_mid_run_is_a_clear_error_and_the_run_resumes(server, key, kitchen_png, tmp_path):
    state = {"verdict_ok": False}

    def route(body):
        text = json.dumps(body)
        if "You are the planner" in text:
            return ok(kitchen_plan())
        if "You are the critic" in text:
            return ok(verdict()) if state["verdict_ok"] else {"content": "LGTM!!"}
        return ok(goal())

    server.router = route
    out = tmp_path / "run"
    args = ["run", KITCHEN_GOAL, "--image", str(kitchen_png), "--planner", "llm", "--critic", "vlm",
            "--set", f"agents.base_url={server.url}", "--out", str(out), "-q"]
    r = spiral(*args)
    assert r.exit_code == 2
    assert "the critic model gave no valid answer after one repair round-trip" in r.output
    assert (out / "state.json").exists() and json.loads((out / "state.json").read_text())["status"] == "running"
    state["verdict_ok"] = True  # the endpoint is fixed
    r = spiral(*args, "--resume")
    assert r.exit_code == 0, r.output
    assert json.loads((out / "state.json").read_text())["status"] == "completed"
    assert_no_secret(out, text=r.output)


def test_an_unreachable_endpoint_is_a_clear_error(tmp_path):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    r = spiral("run", "--planner", "llm", "--set", f"agents.base_url=http://127.0.0.1:{port}/v1",
               "--set", "agents.model=m", "--set", "agents.max_retries=1", "--set", "agents.backoff_s=0.01",
               "--out", str(tmp_path / "run"))
    assert r.exit_code == 2
    assert "cannot connect" in r.output and "is the server running" in r.output


def test_keys_are_refused_as_config(tmp_path):
    r = spiral("run", "--planner", "llm", "--set", f"agents.api_key={SECRET}", "--out", str(tmp_path / "r"))
    assert r.exit_code == 2 and "looks like a secret" in r.output and "SPIRAL_API_KEY" in r.output
    assert SECRET not in r.output
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"agents:\n  api_key: {SECRET}\n")
    r = spiral("run", "-c", str(cfg), "--out", str(tmp_path / "r"))
    assert r.exit_code == 2 and "looks like a secret" in r.output and SECRET not in r.output


def test_bench_critic_against_a_vlm(server, key, tmp_path):
    def route(body):  # a VLM that says "did not move" whenever anything is wrong, else passes
        return ok(verdict())

    server.router = route
    out = tmp_path / "bench"
    r = spiral("bench", "critic", "--critic", "vlm", "--n", "1", "--set", f"agents.base_url={server.url}",
               "--set", "critic.frames=3", "--out", str(out), "-q")
    assert r.exit_code == 0, r.output
    rep = json.loads((out / "critic_fidelity.json").read_text())
    n = rep["n_clips"]
    assert rep["critic"] == "vlm" and n >= 8 and len(server.requests) == n
    assert rep["detection"]["tnr"] == 1.0 and rep["detection"]["tpr"] == 0.0  # an always-pass critic
    assert rep["detection"]["balanced_accuracy"] == 0.5
    assert rep["cost"]["requests"] == n and rep["cost"]["prompt_tokens"] == 100 * n
    assert rep["config"]["critic"]["frames"] == 3 and rep["config"]["agents"]["base_url"] == server.url
    assert "per failure type" in r.output and "balanced accuracy" in r.output
    assert_no_secret(out, text=r.output)


def test_bench_critic_reports_a_broken_vlm_as_errors(server, tmp_path):
    server.router = lambda body: {"content": "no idea"}
    out = tmp_path / "bench"
    r = spiral("bench", "critic", "--critic", "vlm", "--n", "1", "--corruptions", "static,teleport",
               "--set", f"agents.base_url={server.url}", "--out", str(out), "-q")
    assert r.exit_code == 0, r.output
    rep = json.loads((out / "critic_fidelity.json").read_text())
    assert rep["errors"] == rep["n_clips"] == 3
    assert "no valid answer" in rep["rows"][0]["feedback"]
