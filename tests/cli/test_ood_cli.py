"""`spiral run --image/--scene`: first frames the built-in perception cannot read are
refused (exit 2, nothing written) or warned about, with the fix; a user can force them."""

from __future__ import annotations

import logging

import numpy as np
from typer.testing import CliRunner

from spiral.cli.main import app
from spiral.config import build_config
from spiral.errors import InputFileError
from spiral.worlds.tabletop.world import check_domain

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, list(args), catch_exceptions=False)


def _gradient_png(path):
    from PIL import Image

    g = np.linspace(0, 255, 200, dtype=np.float32)
    img = np.stack([np.tile(g, (200, 1)), np.tile(g[:, None], (1, 200)), np.full((200, 200), 90.0)], -1)
    Image.fromarray(img.astype(np.uint8)).save(path)
    return str(path)


def test_photo_like_image_is_refused_with_the_fix(tmp_path):
    out = tmp_path / "r"
    r = invoke("run", "put the red ball in the bowl", "--image", _gradient_png(tmp_path / "g.png"), "--out", str(out))
    assert r.exit_code == 2, r.output
    text = " ".join(r.output.split())
    assert "does not look like a tabletop render" in text
    assert "--planner llm --critic vlm" in text and "scene.domain_check=off" in text
    assert not out.exists()  # nothing written


def test_forced_with_set(tmp_path):
    img = _gradient_png(tmp_path / "g.png")
    for mode, needle in (("warn", "may not be a tabletop render"), ("off", None)):
        r = invoke("run", "push the red ball left", "--image", img, "--out", str(tmp_path / mode), "-q",
                   "--set", f"scene.domain_check={mode}", "--mode", "plan-only")
        assert r.exit_code != 2 or "does not look like" not in r.output, r.output
        if needle:
            assert needle in " ".join(r.output.split())
        else:
            assert "tabletop render" not in r.output


def test_renders_as_images_and_scene_files_pass(tmp_path):
    from PIL import Image

    from spiral.worlds.tabletop.render import render_scene
    from spiral.worlds.tabletop.scene import random_scene

    Image.fromarray(render_scene(random_scene(8), 256)).save(tmp_path / "first.jpg", quality=90)
    cfg = build_config(overrides={"goal": "x", "scene": {"image": str(tmp_path / "first.jpg")}})
    from spiral.api import first_frame

    frame, _, info = first_frame(cfg)
    assert check_domain(cfg, frame, info).verdict == "ok"


def _frame():
    g = np.linspace(0, 255, 64, dtype=np.uint8)
    return np.stack([np.tile(g, (64, 1))] * 3, -1)


def test_check_applies_only_to_the_built_in_components(caplog):
    info = {"source": "image", "path": "g.png"}
    llm = build_config(overrides={"goal": "x", "planner": {"name": "llm"}, "critic": {"name": "vlm"}})
    assert check_domain(llm, _frame(), info) is None
    for over in ({"planner": {"name": "llm"}}, {"critic": {"name": "vlm"}}, {}):
        cfg = build_config(overrides={"goal": "x", **over})
        try:
            check_domain(cfg, _frame(), info)
        except InputFileError as exc:
            assert "built-in" in exc.message and "--planner llm --critic vlm" in exc.hint
        else:
            raise AssertionError(f"not refused with {over}")
    seeded = build_config(overrides={"goal": "x"})
    assert check_domain(seeded, _frame(), {"source": "seed", "seed": 1}) is None  # the world's own render
    warn = build_config(overrides={"goal": "x"}, sets=["scene.domain_check=warn"])
    with caplog.at_level(logging.WARNING, logger="spiral.api"):
        assert check_domain(warn, _frame(), info).verdict == "out-of-domain"
    assert "may not be a tabletop render" in caplog.text


def test_domain_check_is_not_part_of_the_run_identity():
    a = build_config(overrides={"goal": "x"})
    b = build_config(overrides={"goal": "x"}, sets=["scene.domain_check=off"])
    assert a.identity() == b.identity()


def test_bad_domain_check_value():
    r = invoke("run", "x", "--set", "scene.domain_check=maybe")
    assert r.exit_code == 2 and "domain_check" in r.output


def test_small_frames_are_judged_at_64_px(tmp_path):
    """At scene.size 32 a render's anti-aliased edges are a large share of it: the check
    looks at the source at 64 px instead, so a render still passes and a photo is still refused."""
    from PIL import Image

    from spiral.api import first_frame
    from spiral.worlds.tabletop.render import render_scene
    from spiral.worlds.tabletop.scene import random_scene

    for seed in range(8):
        Image.fromarray(render_scene(random_scene(seed), 256)).save(tmp_path / f"r{seed}.png")
        cfg = build_config(overrides={"goal": "x", "scene": {"image": str(tmp_path / f"r{seed}.png"), "size": 32}})
        frame, _, info = first_frame(cfg)
        assert frame.shape[0] == 32 and check_domain(cfg, frame, info).verdict == "ok"
    cfg = build_config(overrides={"goal": "x", "scene": {"image": _gradient_png(tmp_path / "g.png"), "size": 32}})
    frame, _, info = first_frame(cfg)
    try:
        check_domain(cfg, frame, info)
    except InputFileError:
        pass
    else:
        raise AssertionError("a gradient at 32 px was not refused")


def test_the_trace_records_the_confidence(tmp_path):
    import json

    assert invoke("scene", "new", "--out", str(tmp_path / "s.json"), "--seed", "2").exit_code == 0  # purple cube…
    r = invoke("run", "put the purple cube in the red bowl", "--scene", str(tmp_path / "s.json"), "-g", "sim",
               "--mode", "plan-only", "--out", str(tmp_path / "r"), "-q")
    assert r.exit_code == 0, r.output
    events = [json.loads(x) for x in (tmp_path / "r" / "trace.jsonl").read_text().splitlines()]
    scene = next(e for e in events if e["event"] == "scene")
    assert scene["source"] == "file" and scene["domain_confidence"] == 1.0
