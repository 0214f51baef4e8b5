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
