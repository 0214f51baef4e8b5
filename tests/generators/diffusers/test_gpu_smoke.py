"""Real weights on a real GPU (``pytest -m gpu``; skipped by default and without CUDA).

Environment: ``SPIRAL_GPU_GENERATOR`` (default ``wan2.2-ti2v-5b``), ``SPIRAL_GPU_MODEL``
(Hub id or local directory; default: the family's), ``SPIRAL_GPU_OFFLOAD`` (default
``model``). The weights must be downloadable or already in the Hugging Face cache.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from spiral.registry import load_class

from . import helpers as h

pytestmark = pytest.mark.gpu

# smallest sensible first-try settings per family: (scene.size, frames, fps)
SETTINGS = {"wan2.1-i2v": (480, 17, 16), "wan2.2-i2v-a14b": (480, 17, 16), "wan2.2-ti2v-5b": (704, 17, 24),
            "cogvideox-i2v": (768, 17, 16), "ltx-video-i2v": (512, 17, 24), "hunyuanvideo-i2v": (544, 17, 24),
            "svd": (576, 14, 7)}


@pytest.fixture(scope="module")
def gpu_generator():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    name = os.environ.get("SPIRAL_GPU_GENERATOR", "wan2.2-ti2v-5b")
    cls = load_class("generator", name)
    opts = {"offload": os.environ.get("SPIRAL_GPU_OFFLOAD", "model"), "steps": 10, "device": "cuda"}
    if os.environ.get("SPIRAL_GPU_MODEL"):
        opts["model"] = os.environ["SPIRAL_GPU_MODEL"]
    if cls.supports_vae_tiling:
        opts["vae_tiling"] = True
    if name == "svd":
        opts["on_prompt"] = "ignore"
    return cls(**opts)


def test_real_weights_generate_a_clip_near_the_conditioning_frame(gpu_generator):
    size, frames, fps = SETTINGS[gpu_generator.name]
    cond = h.cond_frame(size)
    clip = gpu_generator.generate([h.request(seed=0, num_frames=frames, size=size, fps=fps, cond=cond)])[0]
    assert clip.frames.shape == (frames, size, size, 3) and clip.frames.dtype == np.uint8
    # a trained I2V model starts from (a reconstruction of) the conditioning frame
    assert np.abs(clip.frames[0].astype(int) - cond.astype(int)).mean() < 40


def test_real_weights_closed_loop(gpu_generator, tmp_path):
    from spiral.api import run
    from spiral.config import build_config
    from spiral.registry import build

    size, frames, fps = SETTINGS[gpu_generator.name]
    cfg = build_config(overrides={"goal": "stack all the cubes", "scene": {"seed": 5},
                                  "generator": {"name": gpu_generator.name}},
                       sets=[f"scene.size={size}", f"loop.frames_per_segment={frames}", f"loop.fps={fps}",
                             "loop.max_attempts=2", "loop.max_replans=0", "loop.steps=10"])
    gpu_generator.check_run_config(cfg)
    result, rd = run(cfg, tmp_path / "run", components=(build("planner", cfg.planner, config=cfg), gpu_generator,
                                                        build("critic", cfg.critic, config=cfg)))
    assert (rd.path / "video.mp4").is_file() and result.generator_calls >= 1
    events = [json.loads(x) for x in (rd.path / "trace.jsonl").read_text().splitlines()]
    assert any(e["event"] == "clip" and e["meta"]["generator"] == gpu_generator.name for e in events)
