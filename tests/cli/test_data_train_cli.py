from typer.testing import CliRunner

from spiral.cli.main import app

runner = CliRunner()


def test_dataset_build_info_show_and_train(tmp_path):
    ds = tmp_path / "ds"
    r = runner.invoke(app, ["dataset", "build", "--out", str(ds), "--train", "4", "--validation", "2", "--test", "1",
                            "--shard-size", "4", "--max-steps", "2", "--workers", "1"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["dataset", "info", str(ds)])
    assert r.exit_code == 0 and '"train": 4' in r.output
    r = runner.invoke(app, ["dataset", "show", str(ds), "--out", str(tmp_path / "g.png"), "--n", "2"])
    assert r.exit_code == 0 and (tmp_path / "g.png").exists()
    r = runner.invoke(app, ["dataset", "show", str(ds), "--split", "nope"])
    assert r.exit_code == 2 and "unknown split" in r.output
    r = runner.invoke(app, ["dataset", "info", str(tmp_path / "missing")])
    assert r.exit_code == 2 and "spiral dataset build" in r.output
    r = runner.invoke(app, ["train", "world-model", "--data", str(ds), "--out", str(tmp_path / "tr"),
                            "--max-steps", "2", "--batch-size", "2", "--threads", "1",
                            "--oversample-kind", "push=1", "--oversample-kind", "move_next_to=0.5"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "tr" / "final" / "model.safetensors").exists()
    import json

    report = json.loads((tmp_path / "tr" / "report.json").read_text())
    assert report["train_config"]["oversample_kinds"] == {"push": 1.0, "move_next_to": 0.5}
    for bad, says in (("push", "KIND=WEIGHT"), ("push=lots", "KIND=WEIGHT"), ("teleport=1", "unknown action kind")):
        r = runner.invoke(app, ["train", "world-model", "--data", str(ds), "--out", str(tmp_path / "bad"),
                                "--max-steps", "1", "--oversample-kind", bad])
        assert r.exit_code == 2 and says in r.output, r.output


def test_dataset_build_rejects_bad_options(tmp_path):
    r = runner.invoke(app, ["dataset", "build", "--out", str(tmp_path / "x"), "--size", "16"])
    assert r.exit_code == 2 and "size" in r.output


def test_bad_options_are_clear_errors_before_any_work(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    cases = [
        (["dataset", "build", "--out", str(afile)], "not a directory"),
        (["dataset", "build", "--out", str(tmp_path / "d"), "--shard-size", "0"], "--shard-size"),
        (["dataset", "build", "--out", str(tmp_path / "d"), "--shard-size", "-1"], "--shard-size"),
        (["dataset", "build", "--out", str(tmp_path / "d"), "--validation", "0"], "--validation"),
        (["dataset", "build", "--out", str(tmp_path / "d"), "--min-steps", "3", "--max-steps", "2"], "below --min-steps"),
        (["dataset", "show", str(tmp_path), "--out", str(tmp_path / "s.gif")], "neither a .png nor an .mp4"),
        (["dataset", "show", str(tmp_path), "--out", str(tmp_path)], "neither a .png nor an .mp4"),
        (["dataset", "show", str(tmp_path), "--n", "0"], "--n"),
        (["train", "world-model", "--out", str(afile)], "not a directory"),
        (["train", "world-model", "--out", str(tmp_path / "t"), "--threads", "0"], "--threads"),
        (["train", "world-model", "--out", str(tmp_path / "t"), "--batch-size", "0"], "--batch-size"),
        (["train", "world-model", "--out", str(tmp_path / "t"), "--oversample-revealed", "nan"], "finite"),
        (["train", "world-model", "--out", str(tmp_path / "t"), "--oversample-kind", "push=inf"], "finite"),
    ]
    for args, says in cases:
        r = runner.invoke(app, args)
        assert r.exit_code == 2 and says in r.output and "Traceback" not in r.output, (args, r.output)
    assert not (tmp_path / "d").exists() and not (tmp_path / "t").exists()
    assert afile.read_text() == "x"
