import json

import numpy as np
import pytest

from spiral.bench.runner import compare, run_suite, summarize
from spiral.bench.tasks import builtin_suite
from spiral.errors import InputFileError


def _small_suite(tmp_path, n=3):
    lines = builtin_suite().read_text().splitlines()
    picked = [ln for ln in lines if '"category":"single"' in ln][:n - 1] + \
        [ln for ln in lines if '"category":"short"' in ln][:1]
    p = tmp_path / "tasks.jsonl"
    p.write_text("\n".join(picked) + "\n")
    return p


def test_run_resume_and_compare(tmp_path):
    tasks = _small_suite(tmp_path)
    base = {"generator": {"name": "sim"}}
    out = tmp_path / "res"
    s = run_suite(tasks, out, "closed-loop", base, workers=1)
    assert s["tasks"] == 3 and s["overall"]["task_success"]["mean"] == 1.0
    # the exact simulator's episodes are clean: strict success equals the lenient one, and leads
    assert s["overall"]["strict_success"]["mean"] == 1.0
    assert [k for k in s["overall"] if k not in ("n", "errors")][:3] == ["strict_success", "task_success",
                                                                         "strict_clean"]
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert all(0.0 < r["loop_overhead_share"] < 1.0 for r in rows)
    assert {r["id"] for r in rows} == {json.loads(x)["id"] for x in tasks.read_text().splitlines()}
    for r in rows:
        assert (out / "runs" / r["id"] / "video.mp4").exists()
        for k in ("task_success", "subaction_completion", "permanence", "identity_kept", "no_sudden_switch",
                  "generator_calls", "wall_s", "temporal_flicker_score", "consistency_subject", "loop_overhead_share"):
            assert k in r
    # resume: drop one result (as if killed before it finished) and a half-written line
    keep = (out / "results.jsonl").read_text().splitlines()[:2]
    (out / "results.jsonl").write_text("\n".join(keep) + "\n{\"id\": \"half")
    s2 = run_suite(tasks, out, "closed-loop", base, workers=1)
    assert s2["tasks"] == 3 and len((out / "results.jsonl").read_text().splitlines()) == 3
    # a different configuration in the same directory is refused
    with pytest.raises(InputFileError, match="another benchmark configuration"):
        run_suite(tasks, out, "open-loop", base, workers=1)
    s3 = run_suite(tasks, tmp_path / "faulty", "plan-only", {"generator": {"name": "sim-faulty", "fault_rate": 1.0}},
                   workers=1)
    assert s3["overall"]["task_success"]["mean"] < 1.0
    assert s3["overall"]["strict_success"]["mean"] <= s3["overall"]["task_success"]["mean"]
    # best-of-n: open-loop episodes at the closed loop's generator calls, best kept
    bon = run_suite(tasks, tmp_path / "bon", "best-of-n", base, workers=1, match=out)
    assert bon["tasks"] == 3
    rows_b = [json.loads(x) for x in (tmp_path / "bon" / "results.jsonl").read_text().splitlines()]
    closed = {r["id"]: r["generator_calls"] for r in rows}
    assert all(r["tries"] >= 1 and r["generator_calls"] <= max(closed[r["id"]], r["horizon"]) for r in rows_b)
    # a larger budget (as if the closed loop had retried): several episodes per task
    big = tmp_path / "big"
    big.mkdir()
    (big / "results.jsonl").write_text("".join(json.dumps({**r, "generator_calls": 3 * r["horizon"]}) + "\n"
                                               for r in rows))
    run_suite(tasks, tmp_path / "bon3", "best-of-n", {"generator": {"name": "sim-faulty", "fault_rate": 0.5}},
              workers=1, match=big)
    rows_b = [json.loads(x) for x in (tmp_path / "bon3" / "results.jsonl").read_text().splitlines()]
    assert all(r["tries"] == 3 for r in rows_b)
    for r in rows_b:  # the kept episode is named; the cost counts every episode
        task_dir = tmp_path / "bon3" / "runs" / r["id"]
        assert (task_dir / r["kept"] / "video.mp4").exists()
        results = [json.loads((task_dir / f"try-{k}" / "state.json").read_text())["result"] for k in range(r["tries"])]
        assert r["generator_calls"] == sum(x["generator_calls"] for x in results)
        assert r["wall_s"] == pytest.approx(sum(x["wall_s"] for x in results))
        assert r["nfe"] == sum(x["nfe"] for x in results)
    with pytest.raises(InputFileError, match="--match"):
        run_suite(tasks, tmp_path / "bon2", "best-of-n", base, workers=1)
    table = compare([out, tmp_path / "faulty"])
    assert table[0]["task_success"]["mean"] > table[1]["task_success"]["mean"]
    assert list(table[0])[3:5] == ["strict_success", "task_success"]  # strict first, side by side
    assert table[0]["strict_success"]["mean"] > table[1]["strict_success"]["mean"]


def test_summary_confidence_intervals():
    rows = [{"category": "a", "horizon": 1, "x": v} for v in (0.0, 1.0, 1.0, 1.0)]
    s = summarize(rows)
    assert s["overall"]["x"]["mean"] == 0.75 and s["overall"]["x"]["ci95"] > 0


def test_cli_bench_tasks_shortcut_run_and_compare(tmp_path):
    from typer.testing import CliRunner

    from spiral.cli.main import app

    tasks = _small_suite(tmp_path, n=2)
    r = CliRunner().invoke(app, ["bench", "--tasks", str(tasks), "--out", str(tmp_path / "a"), "--workers", "1"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "a" / "summary.json").exists()
    r = CliRunner().invoke(app, ["bench", "compare", str(tmp_path / "a"), "--out", str(tmp_path / "c.json")])
    assert r.exit_code == 0 and (tmp_path / "c.json").exists()
    r = CliRunner().invoke(app, ["bench", "run", "--tasks", str(tmp_path / "missing.jsonl")])
    assert r.exit_code == 2 and "task file not found" in r.output


def test_cli_bench_run_picks_a_builtin_suite_by_name(tmp_path):
    from typer.testing import CliRunner

    from spiral.cli.main import app

    for args in (["--suite", "hard"], ["--tasks", "hard"]):
        out = tmp_path / args[0].strip("-")
        r = CliRunner().invoke(app, ["bench", "run", *args, "--limit", "1", "--generator", "sim", "--workers", "1",
                                     "--out", str(out)])
        assert r.exit_code == 0, r.output
        cfg = json.loads((out / "config.json").read_text())
        assert cfg["suite"].endswith("actwm-bench-hard.jsonl")
        assert json.loads((out / "results.jsonl").read_text())["id"] == "hard-crowded-000"
    r = CliRunner().invoke(app, ["bench", "run", "--suite", "medium", "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and "no built-in suite 'medium'" in r.output and "lite, hard" in r.output
    r = CliRunner().invoke(app, ["bench", "run", "--suite", "hard", "--tasks", "x.jsonl", "--out", str(tmp_path / "y")])
    assert r.exit_code == 2 and "not both" in r.output


def test_cli_bench_run_honours_scene_and_output_settings_and_refuses_task_keys(tmp_path):
    """scene.size and output.* reach every task's run; what each task sets (goal, seed,
    mode, the scene source) is refused on --set, and gives way when a --config file has it."""
    from typer.testing import CliRunner

    from spiral.cli.main import app

    tasks = _small_suite(tmp_path, n=1)
    out = tmp_path / "a"
    r = CliRunner().invoke(app, ["bench", "run", "--tasks", str(tasks), "--out", str(out), "--workers", "1",
                                 "--generator", "sim", "--set", "scene.size=96", "--set", "output.report=false"])
    assert r.exit_code == 0, r.output
    run = next((out / "runs").iterdir())
    assert json.loads((run / "config.json").read_text())["config"]["scene"]["size"] == 96
    assert np.load(next((run / "segments").glob("*.npy"))).shape[1:3] == (96, 96)
    assert not (run / "report.html").exists()
    for bad in ("goal=stack them", "seed=3", "scene.seed=4", "mode=open-loop"):
        r = CliRunner().invoke(app, ["bench", "run", "--tasks", str(tasks), "--out", str(tmp_path / "b"),
                                     "--set", bad])
        key = bad.split("=")[0]
        assert r.exit_code == 2 and f"{key} is set by each task" in r.output, (bad, r.output)
    cfg = tmp_path / "run-config.json"
    cfg.write_text(json.dumps({"goal": "stack the cubes", "seed": 5, "generator": {"name": "sim"}}))
    r = CliRunner().invoke(app, ["bench", "run", "--tasks", str(tasks), "--out", str(tmp_path / "c"),
                                 "--workers", "1", "--config", str(cfg)])
    assert r.exit_code == 0, r.output
    assert "goal, seed in" in r.output and "are replaced by each task's" in r.output
    # a proxy's password stays out of the benchmark's config.json; default scene settings are not recorded
    args = ["bench", "run", "--tasks", str(tasks), "--out", str(tmp_path / "d"), "--workers", "1",
            "--generator", "sim", "--set", "agents.base_url=http://alice:s3cretpw@127.0.0.1:9/v1"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    saved = json.loads((tmp_path / "d" / "config.json").read_text())
    assert "s3cretpw" not in json.dumps(saved) and "scene" not in saved["base"]
    r = CliRunner().invoke(app, args)  # the same command resumes (compared as written, password-free)
    assert r.exit_code == 0, r.output


def test_an_errored_task_is_counted_and_runs_again_on_resume(tmp_path):
    good = json.loads(_small_suite(tmp_path, n=1).read_text().splitlines()[0])
    img = tmp_path / "first.png"
    bad = {"id": "needs-image", "goal": good["goal"], "image": str(img)}
    tasks = tmp_path / "t.jsonl"
    tasks.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    base = {"generator": {"name": "sim"}}
    s = run_suite(tasks, tmp_path / "r", "closed-loop", base, workers=1)
    assert s["overall"]["errors"] == 1 and s["overall"]["n"] == 2
    assert s["overall"]["task_success"]["mean"] == 0.5  # the error counts as a failure
    rows = {json.loads(x)["id"]: json.loads(x) for x in (tmp_path / "r" / "results.jsonl").read_text().splitlines()}
    assert rows["needs-image"]["status"] == "error" and "first.png" in rows["needs-image"]["reason"]
    # the image appears (a copy of the good task's first frame): resuming runs that task again
    from PIL import Image

    from spiral.bench.metrics._episode import load_episode

    Image.fromarray(load_episode(tmp_path / "r" / "runs" / good["id"]).first).save(img)
    s = run_suite(tasks, tmp_path / "r", "closed-loop", base, workers=1)
    lines = [json.loads(x) for x in (tmp_path / "r" / "results.jsonl").read_text().splitlines()]
    assert s["overall"]["errors"] == 0 and len(lines) == 2
    assert {r["id"]: r["status"] for r in lines}["needs-image"] != "error"


def test_cli_bench_schema_prints_the_task_schema(tmp_path):
    from typer.testing import CliRunner

    from spiral.bench.tasks import task_schema
    from spiral.cli.main import app

    r = CliRunner().invoke(app, ["bench", "schema"])
    assert r.exit_code == 0 and json.loads(r.stdout) == task_schema()
    r = CliRunner().invoke(app, ["bench", "schema", "--out", str(tmp_path / "s.json")])
    assert r.exit_code == 0 and json.loads((tmp_path / "s.json").read_text()) == task_schema()
