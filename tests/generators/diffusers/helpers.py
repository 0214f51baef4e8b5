"""Shared checks of the diffusers adapters, run by each family's test file on tiny random models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from spiral.core.types import Clip, GenerationRequest
from spiral.errors import BackendError, ConfigError

PROMPT = "put the red cube in the bowl"


def cond_frame(size: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    frame = np.full((size, size, 3), 200, np.uint8)
    frame[size // 4: size // 2, size // 4: size // 2] = (220, 30, 30)
    return np.clip(frame.astype(int) + rng.integers(-10, 10, frame.shape), 0, 255).astype(np.uint8)


def request(seed: int = 0, num_frames: int = 9, size: int = 64, prompt: str = PROMPT, **kw: Any) -> GenerationRequest:
    return GenerationRequest(prompt=prompt, cond_frame=kw.pop("cond", cond_frame(size)), num_frames=num_frames,
                             height=size, width=size, seed=seed, **kw)


def check_one_generation(gen: Any, num_frames: int = 9, size: int = 64) -> Clip:
    """One request through the adapter: a uint8 T×H×W×3 clip at the request's size and fps."""
    (clip,) = gen.generate([request(seed=3, num_frames=num_frames, size=size, fps=12)])
    assert isinstance(clip, Clip)
    assert clip.frames.dtype == np.uint8
    assert clip.frames.shape == (num_frames, size, size, 3)
    assert clip.fps == 12
    assert clip.meta["generator"] == gen.name and clip.meta["seed"] == 3 and clip.meta["nfe"] >= 2
    assert clip.frames.std() > 0  # random weights give noise, not a constant
    return clip


def check_determinism(gen: Any) -> None:
    """The same request gives the same clip; another seed another clip."""
    a = gen.generate([request(seed=7)])[0].frames
    b = gen.generate([request(seed=7)])[0].frames
    c = gen.generate([request(seed=8)])[0].frames
    np.testing.assert_array_equal(a, b)
    assert np.abs(a.astype(int) - c.astype(int)).mean() > 1.0


def check_batching(gen: Any, batched: bool = True) -> None:
    """Requests that differ only by seed share one pipeline call (when the family batches),
    and each clip equals the one its seed gives alone (up to float rounding)."""
    reqs = [request(seed=s) for s in (11, 12, 13)]
    calls = gen.stats["pipeline_calls"]
    together = gen.generate(reqs)
    assert gen.stats["pipeline_calls"] - calls == (1 if batched else 3)
    assert [c.meta["batch"] for c in together] == ([3, 3, 3] if batched else [1, 1, 1])
    alone = [gen.generate([r])[0] for r in reqs]
    for t, a in zip(together, alone):
        assert np.abs(t.frames.astype(int) - a.frames.astype(int)).max() <= 2
    # a different prompt is a different call
    calls = gen.stats["pipeline_calls"]
    gen.generate([request(seed=1), request(seed=2, prompt="stack the blue cube on the green cube")])
    assert gen.stats["pipeline_calls"] - calls == 2


def check_prompt_cache(gen: Any) -> None:
    """The prompt's embedding is computed once across retries (new seed, more steps)."""
    gen.clear_prompt_cache()
    hits, misses = gen.stats["prompt_cache_hits"], gen.stats["prompt_cache_misses"]
    c1 = gen.generate([request(seed=1, prompt="swap the red ball and the blue cube")])[0]
    c2 = gen.generate([request(seed=2, prompt="swap the red ball and the blue cube")])[0]
    c3 = gen.generate([request(seed=2, steps=3, prompt="swap the red ball and the blue cube")])[0]
    assert (c1.meta["prompt_cache"], c2.meta["prompt_cache"], c3.meta["prompt_cache"]) == ("miss", "hit", "hit")
    assert gen.stats["prompt_cache_misses"] - misses == 1 and gen.stats["prompt_cache_hits"] - hits == 2


def check_frame_rule(cls: type, bad: int, hint: str) -> None:
    """A frame count the model cannot make is refused before any weights load, by
    ``generate`` (BackendError) and at build time from a run config (ConfigError)."""
    from spiral.config import build_config

    gen = cls(model="/nonexistent/model-dir", device="cpu")
    with pytest.raises(BackendError) as e:
        gen.generate([request(num_frames=bad)])
    assert hint in e.value.hint and str(bad) in e.value.message
    assert gen._pipe is None and gen.stats["loads"] == 0
    cfg = build_config(overrides={"goal": "stack all the cubes", "generator": {"name": gen.name}},
                       sets=[f"loop.frames_per_segment={bad}"])
    with pytest.raises(ConfigError) as e:
        cls.from_config(cls.Config(model="/nonexistent/model-dir"), config=cfg)
    assert hint in e.value.hint


def check_size_rule(cls: type, bad: int, hint: str) -> None:
    gen = cls(model="/nonexistent/model-dir", device="cpu")
    with pytest.raises(BackendError) as e:
        gen.generate([request(size=bad)])
    assert hint in e.value.hint and gen._pipe is None


def run_closed_loop(gen: Any, tmp_path: Path, frames: int = 9, extra_sets: tuple[str, ...] = ()) -> dict[str, Any]:
    """The closed loop with the built-in planner and critic through ``spiral.api.run``,
    writing a run directory; the critic rejects noise, so the run may stop."""
    from spiral.api import run
    from spiral.config import build_config
    from spiral.registry import build

    cfg = build_config(overrides={"goal": "stack all the cubes", "scene": {"seed": 5},
                                  "generator": {"name": gen.name}},
                       sets=[f"loop.frames_per_segment={frames}", "loop.max_attempts=2", "loop.max_replans=0",
                             "loop.steps=2", 'loop.strategies=["reseed"]', *extra_sets])
    planner = build("planner", cfg.planner, config=cfg)
    critic = build("critic", cfg.critic, config=cfg)
    result, rd = run(cfg, tmp_path / "run", components=(planner, gen, critic))
    assert result.status in ("completed", "stopped") and result.generator_calls >= 1
    for name in ("config.json", "trace.jsonl", "video.mp4", "report.html", "state.json"):
        assert (rd.path / name).is_file(), name
    events = [json.loads(line) for line in (rd.path / "trace.jsonl").read_text().splitlines()]
    reqs = [e for e in events if e["event"] == "request"]
    clips = [e for e in events if e["event"] == "clip"]
    assert reqs and len(reqs) == len(clips) == result.generator_calls
    assert all(r["request"]["num_frames"] == frames and r["request"]["steps"] == 2 for r in reqs)
    assert all(c["meta"]["generator"] == gen.name and c["shape"] == [frames, 64, 64, 3] for c in clips)
    if gen.takes_text and len(clips) > 1:  # a reseed keeps the prompt: its embedding is reused
        assert clips[1]["meta"]["prompt_cache"] == "hit"
    assert json.loads((rd.path / "config.json").read_text())["config"]["generator"]["name"] == gen.name
    return {"result": result, "events": events, "dir": rd.path}
