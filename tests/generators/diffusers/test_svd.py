"""``svd``: the adapter on tiny random-weight components (no download), alone and in the closed loop."""

import logging

import numpy as np
import pytest

from spiral.errors import BackendError, ConfigError
from spiral.generators.diffusers.testing import dummy_generator
from spiral.registry import load_class

from . import helpers as h

NAME = "svd"

# diffusers' Euler scheduler builds its sigmas with an old numpy idiom (harmless)
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


@pytest.fixture(scope="module")
def gen():
    return dummy_generator(NAME)


def test_registered_under_its_name(gen):
    assert load_class("generator", NAME) is type(gen) and gen.name == NAME


def test_one_generation(gen):
    h.check_one_generation(gen)


def test_determinism_under_a_seed(gen):
    h.check_determinism(gen)


def test_one_call_per_seed_and_same_clips_as_alone(gen):
    h.check_batching(gen, batched=False)



def test_one_frame_is_refused_before_loading():
    gen = load_class("generator", NAME)(model="/nonexistent/model-dir", device="cpu")
    with pytest.raises(BackendError) as e:
        gen.generate([h.request(num_frames=1)])
    assert "loop.frames_per_segment=14" in e.value.hint and gen._pipe is None


def test_any_frame_count_runs(gen):
    assert gen.generate([h.request(num_frames=6, seed=1)])[0].frames.shape == (6, 64, 64, 3)


def test_prompt_is_ignored_with_one_warning(gen, caplog):
    gen._warned.clear()
    with caplog.at_level(logging.WARNING, logger="spiral.generators.diffusers.svd"):
        a = gen.generate([h.request(seed=4, prompt="stack the red cube on the blue cube")])[0]
        b = gen.generate([h.request(seed=4, prompt="push the blue cube to the left")])[0]
    assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1
    assert "takes no text" in caplog.records[0].message
    np.testing.assert_array_equal(a.frames, b.frames)  # the text changes nothing
    assert a.meta["prompt_ignored"] is True and "prompt_cache" not in a.meta


def test_on_prompt_error_refuses_text_early():
    from spiral.config import build_config

    cls = load_class("generator", NAME)
    gen = cls(on_prompt="error", model="/nonexistent/model-dir")
    with pytest.raises(BackendError, match="takes no text"):
        gen.generate([h.request()])
    cfg = build_config(overrides={"goal": "stack all the cubes", "generator": {"name": NAME}},
                       sets=["loop.frames_per_segment=14"])
    with pytest.raises(ConfigError) as e:
        cls.from_config(cls.Config(on_prompt="error"), config=cfg)
    assert "generator.on_prompt=warn" in e.value.hint


def test_lora_is_refused():
    with pytest.raises(ConfigError, match="LoRA"):
        load_class("generator", NAME)(lora="/some/lora.safetensors")


def test_size_is_checked_before_loading():
    h.check_size_rule(load_class("generator", NAME), 36, "scene.size=40")


def test_closed_loop_writes_a_run_directory(gen, tmp_path):
    h.run_closed_loop(gen, tmp_path, frames=9)
