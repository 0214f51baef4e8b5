"""``wan2.2-i2v-a14b``: the adapter on tiny random-weight components (no download), alone and in the closed loop."""

import pytest

from spiral.generators.diffusers.testing import dummy_generator
from spiral.registry import load_class

from . import helpers as h

NAME = "wan2.2-i2v-a14b"


@pytest.fixture(scope="module")
def gen():
    return dummy_generator(NAME)


def test_registered_under_its_name(gen):
    assert load_class("generator", NAME) is type(gen) and gen.name == NAME


def test_one_generation(gen):
    h.check_one_generation(gen)


def test_determinism_under_a_seed(gen):
    h.check_determinism(gen)


def test_seeds_are_batched_in_one_call(gen):
    h.check_batching(gen, batched=True)


def test_prompt_embedding_is_cached_across_retries(gen):
    h.check_prompt_cache(gen)


def test_frame_count_is_checked_before_loading():
    h.check_frame_rule(load_class("generator", NAME), 12, "loop.frames_per_segment=13")


def test_size_is_checked_before_loading():
    h.check_size_rule(load_class("generator", NAME), 40, "scene.size=48")


def test_closed_loop_writes_a_run_directory(gen, tmp_path):
    h.run_closed_loop(gen, tmp_path, frames=9)
