"""The command line: help, the demo run, `show`, and the bad-input catalogue."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from spiral.cli.main import app

pytestmark = pytest.mark.usefixtures("fast_default_generator")  # loop mechanics: sim-faulty as the default

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.mark.parametrize("cmd", [[], ["run"], ["show"], ["config"], ["scene"], ["scene", "new"], ["scene", "render"]])
def test_help_is_complete(cmd):
    r = invoke(*cmd, "--help")
    assert r.exit_code == 0
    assert "Usage" in r.output
    if cmd == ["run"]:
        for opt in ("--scene-seed", "--scene", "--image", "--generator", "--planner", "--critic", "--mode",
                    "--config", "--set", "--out", "--resume", "--seed"):
            assert opt in r.output, opt


def test_version():
    r = invoke("--version")
    assert r.exit_code == 0 and "spiral" in r.output


def test_default_run_and_show(tmp_path):
    out = tmp_path / "demo"
    r = invoke("run", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert "goal reached" in r.output
    for name in ("config.json", "trace.jsonl", "video.mp4", "report.html", "memory.sqlite", "state.json"):
        assert (out / name).exists()
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["config"]["generator"]["name"] == "sim-faulty" and cfg["config"]["goal"]
    s = invoke("show", str(out))
    assert s.exit_code == 0 and "initial plan" in s.output and "accept" in s.output
    html = (out / "report.html").read_text()
    assert "<video" in html and "Step 0" in html and "video.mp4" in html


def test_show_rejects_non_runs(tmp_path):
    r = invoke("show", str(tmp_path))
    assert r.exit_code == 2 and "not a SPIRAL run directory" in r.output


def test_scene_new_and_render(tmp_path):
    r = invoke("scene", "new", str(tmp_path / "s.json"), "--seed", "4", "--png", str(tmp_path / "s.png"))
    assert r.exit_code == 0
    r = invoke("run", "stack all the cubes", "--scene", str(tmp_path / "s.json"), "--out", str(tmp_path / "r"), "-q")
    assert r.exit_code == 0, r.output
    r = invoke("scene", "render", str(tmp_path / "s.json"), str(tmp_path / "x.png"), "--size", "16")
    assert r.exit_code == 2 and "greater than or equal to 32" in r.output


def test_image_input(tmp_path):
    from PIL import Image

    from spiral.worlds.tabletop.render import render_scene
    from spiral.worlds.tabletop.scene import random_scene

    Image.fromarray(render_scene(random_scene(8), 256)).save(tmp_path / "first.png")
    r = invoke("run", "put every ball in the bowl", "--image", str(tmp_path / "first.png"), "--out",
               str(tmp_path / "r"), "-q")
    assert r.exit_code == 0, r.output


def _corrupt_png(tmp_path):
    p = tmp_path / "broken.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    return str(p)


def _four_balls(tmp_path):
    p = tmp_path / "four.json"
    objs = [{"kind": "ball", "color": c, "x": 0.15 + 0.22 * i, "y": 0.3} for i, c in
            enumerate(["red", "green", "blue", "yellow"])] + [{"kind": "bowl", "color": "white", "x": 0.5, "y": 0.7}]
    p.write_text(json.dumps({"objects": objs}))
    return str(p)


BAD = [
    (["run", ""], "the goal is empty"),
    (["run", "   "], "the goal is empty"),
    (["run", "fly the cube to the moon"], "can't parse"),
    (["run", "put the orange ball in the bowl"], "orange"),
    (["run", "put the pink cube in the bowl", "--scene-seed", "3"], "pink"),
    (["run", "--scene-seed", "3"], "no goal given"),
    (["run", "put every ball in the bowl", "--scene", "FOURBALLS"], "room for"),
    (["run", "stack the bowl on the green cube"], "cannot stack"),
    (["run", "stack all the cubes", "--image", "/no/such.png"], "image not found"),
    (["run", "stack all the cubes", "--image", "CORRUPT"], "cannot read image"),
    (["run", "stack all the cubes", "--scene", "/no/such.json"], "scene file not found"),
    (["run", "--set", "loop.max_atempts=3"], "did you mean 'max_attempts'"),
    (["run", "--set", "loop.max_attempts=many"], "valid integer"),
    (["run", "--set", "generator.fault_rate=2"], "less than or equal to 1"),
    (["run", "--set", "generator.wings=2"], "unknown option generator.wings"),
    (["run", "--generator", "nope"], "available generators"),
    (["run", "--mode", "sideways"], "closed-loop"),
    (["run", "--config", "/no/such.yaml"], "config file not found"),
    (["run", "--scene-seed", "1", "--image", "x.png", "stack all the cubes"], "only one of"),
    (["run", "--resume"], "--resume needs --out"),
    (["run", "stack all the cubes", "--image", "BOMB"], "decompression bomb"),
    (["run", "--config", "LATIN1"], "does not parse"),
    (["run", "--set", "loop.guidance=NaN"], "finite number"),
    (["run", "--set", "loop.guidance=Infinity"], "finite number"),
    (["run", "--set", "loop.steps=10", "--set", "loop.max_steps=4"], "above loop.max_steps"),
    (["run", "--set", "memory.experience_path=TMPDIR"], "cannot be used"),
]


def _bomb_png(tmp_path):
    """A 45-byte PNG whose header claims 15000x15000 pixels."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    p = tmp_path / "bomb.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 15000, 15000, 8, 0, 0, 0, 0))
                  + chunk(b"IEND", b""))
    return str(p)


def _latin1_config(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_bytes("loop:\n  max_attempts: 3  # d\xe9j\xe0\n".encode("latin-1"))
    return str(p)


@pytest.mark.parametrize("args, needle", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_gets_a_clear_error(tmp_path, args, needle):
    subst = {"CORRUPT": _corrupt_png, "FOURBALLS": _four_balls, "BOMB": _bomb_png, "LATIN1": _latin1_config}
    args = [subst[a](tmp_path) if a in subst else a.replace("TMPDIR", str(tmp_path)) for a in args]
    out = tmp_path / "out"
    r = invoke(*args, "--out", str(out), "-q") if "--resume" not in args else invoke(*args)
    assert r.exit_code == 2, r.output
    assert needle in r.output, r.output
    assert "hint:" in r.output
    assert "Traceback" not in r.output
    assert not out.exists(), "a bad input must not leave a run directory behind"


def test_unwritable_output(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    r = invoke("run", "--out", str(f / "sub"), "-q")
    assert r.exit_code == 2 and "cannot create output directory" in r.output
    r = invoke("run", "--out", str(f), "-q")
    assert r.exit_code == 2 and "not a directory" in r.output
    assert f.read_text() == "x"


def test_output_dir_with_another_run_is_left_untouched(tmp_path):
    out = tmp_path / "r"
    assert invoke("run", "stack all the cubes", "--scene-seed", "5", "--out", str(out), "-q").exit_code == 0
    before = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    r = invoke("run", "put every ball in the bowl", "--scene-seed", "6", "--out", str(out), "-q")
    assert r.exit_code == 2 and "holds a different run" in r.output
    r = invoke("run", "stack all the cubes", "--scene-seed", "5", "--out", str(out), "-q")
    assert r.exit_code == 2 and "--resume" in r.output
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    r = invoke("run", "--out", str(other), "-q")
    assert r.exit_code == 2 and "not empty" in r.output
    after = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert before == after and (other / "notes.txt").read_text() == "mine"


def test_resume_of_a_finished_run_is_a_no_op(tmp_path):
    out = tmp_path / "r"
    assert invoke("run", "stack all the cubes", "--scene-seed", "5", "--out", str(out), "-q").exit_code == 0
    video = (out / "video.mp4").read_bytes()
    r = invoke("run", "stack all the cubes", "--scene-seed", "5", "--out", str(out), "--resume", "-q")
    assert r.exit_code == 0
    assert (out / "video.mp4").read_bytes() == video


def test_stopped_run_exits_3_with_partial_result(tmp_path):
    out = tmp_path / "r"
    r = invoke("run", "stack the green cube on the blue one, then put the red ball in the bowl", "--out", str(out),
               "--set", "loop.max_generator_calls=1", "--set", "generator.fault_rate=0")
    assert r.exit_code == 3
    assert "budget" in r.output
    assert (out / "video.mp4").exists() and (out / "report.html").exists()
    seg = np.load(out / "segments" / "0000.npy")
    assert seg.dtype == np.uint8 and seg.ndim == 4


def test_a_write_failure_mid_run_is_a_clear_error_and_the_run_resumes(tmp_path, monkeypatch):
    """The disk fills up after the first accepted segment: exit 2 with what failed and how to
    go on (no traceback); once there is room again, --resume finishes the run."""
    import errno

    from spiral.core import rundir

    real = rundir.atomic_write_bytes
    writes = {"n": 0}

    def full_after_a_while(path, data, fsync=True):
        writes["n"] += 1
        if "segments" in str(path) and path.name.startswith("0001"):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, data, fsync)

    monkeypatch.setattr(rundir, "atomic_write_bytes", full_after_a_while)
    out = tmp_path / "r"
    r = runner.invoke(app, ["run", "--out", str(out), "-q", "-g", "sim"])
    assert r.exit_code == 2, r.output
    assert "could not write the run directory" in r.output and "No space left on device" in r.output
    assert "--resume" in r.output and "Traceback" not in r.output
    monkeypatch.setattr(rundir, "atomic_write_bytes", real)
    r = runner.invoke(app, ["run", "--out", str(out), "-q", "-g", "sim", "--resume"])
    assert r.exit_code == 0, r.output
    assert (out / "video.mp4").exists() and json.loads((out / "state.json").read_text())["status"] == "completed"


def test_damaged_run_directory_files_are_clear_errors(tmp_path):
    bad_cfg = tmp_path / "a"
    bad_cfg.mkdir()
    (bad_cfg / "config.json").write_text("[]")
    for args in (["run", "--out", str(bad_cfg), "-q"], ["show", str(bad_cfg)]):
        r = runner.invoke(app, args)
        assert r.exit_code == 2 and "Traceback" not in r.output, r.output
        assert "corrupt" in r.output or "cannot read run" in r.output
    out = tmp_path / "b"
    assert runner.invoke(app, ["run", "--out", str(out), "-q", "-g", "sim"]).exit_code == 0
    with open(out / "trace.jsonl", "ab") as f:
        f.write(b"\xff\xfe{not json}\n")
    r = runner.invoke(app, ["show", str(out)])
    assert r.exit_code == 2 and "cannot read run" in r.output, r.output
    from spiral.core.trace import Trace
    from spiral.errors import RunDirError

    with pytest.raises(RunDirError, match="trace.jsonl is corrupt"):  # what a resume reads first
        Trace(out / "trace.jsonl", resume=True)


def test_scene_commands_refuse_bad_paths_and_sizes_before_writing(tmp_path):
    scene = tmp_path / "s.json"
    for args, needle in ((["scene", "new", str(scene), "--png", str(tmp_path / "s.xyz")], "image format"),
                         (["scene", "new", str(scene), "--size", "0"], "--size"),
                         (["scene", "new", str(scene), "--size", "100000"], "--size")):
        r = runner.invoke(app, args)
        assert r.exit_code == 2 and needle in r.output and "Traceback" not in r.output, r.output
        assert not scene.exists()  # nothing written when the picture cannot be
    assert runner.invoke(app, ["scene", "new", str(scene)]).exit_code == 0
    for out, needle in ((tmp_path / "o.xyz", "image format"), (tmp_path, "is a directory"),
                        (tmp_path / "no" / "such" / "dir.png", "cannot write")):
        r = runner.invoke(app, ["scene", "render", str(scene), str(out)])
        assert r.exit_code == 2 and needle in r.output and "Traceback" not in r.output, r.output


def test_text_that_looks_like_rich_markup_is_printed_as_it_is(tmp_path):
    r = runner.invoke(app, ["run", "stack all the cubes [/b]", "--out", str(tmp_path / "x"), "-q"])
    assert r.exit_code == 2 and "stack all the cubes [/b]" in r.output and "Traceback" not in r.output, r.output
    out = tmp_path / "r"
    assert runner.invoke(app, ["run", "--out", str(out), "-q", "-g", "sim"]).exit_code == 0
    cfg = json.loads((out / "config.json").read_text())
    cfg["config"]["goal"] = "put the cube in the bowl [/red] [bold]now"
    (out / "config.json").write_text(json.dumps(cfg))
    r = runner.invoke(app, ["show", str(out)])
    assert r.exit_code == 0 and "put the cube in the bowl [/red] [bold]now" in r.output, r.output


def test_scene_new_checks_every_output_path_before_writing(tmp_path):
    from typer.testing import CliRunner

    from spiral.cli.main import app

    (tmp_path / "afile").write_text("a file, not a folder")
    r = CliRunner().invoke(app, ["scene", "new", str(tmp_path / "s.json"), "--png", str(tmp_path / "afile" / "x.png")])
    assert r.exit_code == 2 and "afile is a file" in r.output
    assert not (tmp_path / "s.json").exists()
    r = CliRunner().invoke(app, ["scene", "new", str(tmp_path / "s.json"), "--png", str(tmp_path / "no" / "x.png")])
    assert r.exit_code == 2 and "does not exist" in r.output and not (tmp_path / "s.json").exists()


def test_a_video_too_large_for_memory_is_refused_before_any_work(tmp_path):
    import time

    from typer.testing import CliRunner

    from spiral.cli.main import app

    t0 = time.perf_counter()
    r = CliRunner().invoke(app, ["run", "--generator", "sim", "-q", "--out", str(tmp_path / "r"),
                                 "--set", "scene.size=1024", "--set", "output.video_scale=16"])
    assert r.exit_code == 2 and "GiB of memory" in r.output and "--set output.video_scale=" in r.output
    assert time.perf_counter() - t0 < 5 and not (tmp_path / "r").exists()
