"""`spiral bench critic` on the built-in perception critic."""

import json

from typer.testing import CliRunner

from spiral.cli.main import app

runner = CliRunner()


def test_bench_critic_writes_json_and_prints_tables(tmp_path):
    out = tmp_path / "b"
    r = runner.invoke(app, ["bench", "critic", "--n", "2", "--seed", "3", "--out", str(out), "-q"],
                      catch_exceptions=False)
    assert r.exit_code == 0, r.output
    rep = json.loads((out / "critic_fidelity.json").read_text())
    assert rep["critic"] == "perception" and rep["n_scenes"] == 2 and rep["seed"] == 3
    assert set(rep) >= {"balanced_accuracy", "detection", "per_type", "per_corruption", "confusion", "rows",
                        "skipped", "wall_s", "config"}
    assert rep["config"]["critic"]["name"] == "perception"
    for needle in ("critic perception", "per failure type", "per corruption", "confusion", "wrote"):
        assert needle in r.output


def test_bench_critic_bad_input(tmp_path):
    r = runner.invoke(app, ["bench", "critic", "--critic", "oracle", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "unknown critic 'oracle'" in r.output
    r = runner.invoke(app, ["bench", "critic", "--set", "critic.jump_treshold=1", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "jump_treshold" in r.output
    r = runner.invoke(app, ["bench", "critic", "--corruptions", "melt", "--n", "1", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "unknown corruption" in r.output
    r = runner.invoke(app, ["bench", "--help"])
    assert r.exit_code == 0 and "critic" in r.output


def test_bench_critic_real_writes_json_and_prints_false_rejections_and_residue(tmp_path):
    out = tmp_path / "r"
    r = runner.invoke(app, ["bench", "critic", "--real", "--n", "2", "--part", "dev", "--out", str(out), "-q"],
                      catch_exceptions=False)
    assert r.exit_code == 0, r.output
    rep = json.loads((out / "critic_real.json").read_text())
    assert rep["part"] == "dev" and rep["n_clips"] >= 6 and rep["critic"] == "perception"
    assert set(rep) >= {"false_rejection", "residue", "balanced_accuracy", "per_type", "confusion", "rows",
                        "distinct_clips", "config"}
    assert {x["part"] for x in rep["rows"]} == {"dev"}
    for needle in ("dev part", "false rejections", "residue recall", "suite: step kind", "confusion", "wrote"):
        assert needle in r.output
    r = runner.invoke(app, ["bench", "critic", "--real", "--part", "test", "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and "unknown --part" in r.output
