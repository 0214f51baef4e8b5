"""The text+image-to-video families on tiny random-weight components (no download), alone
and in the closed loop. One table row per family: its name, a frame count it refuses and
the ``--set`` its error must suggest, a size it refuses and the suggested size. (SVD takes
no text and samples one seed per call: ``test_svd.py``.)"""

import pytest

from spiral.generators.diffusers.testing import dummy_generator
from spiral.registry import load_class

from . import helpers as h

FAMILIES = [
    # name, bad frames, frames fix, bad size, size fix
    ("wan2.1-i2v", 12, "loop.frames_per_segment=13", 40, "scene.size=48"),
    ("wan2.2-i2v-a14b", 12, "loop.frames_per_segment=13", 40, "scene.size=48"),
    ("wan2.2-ti2v-5b", 12, "loop.frames_per_segment=13", 80, "scene.size=96"),
    ("cogvideox-i2v", 12, "loop.frames_per_segment=13", 40, "scene.size=48"),
    ("ltx-video-i2v", 12, "loop.frames_per_segment=17", 48, "scene.size=64"),
    ("hunyuanvideo-i2v", 12, "loop.frames_per_segment=13", 40, "scene.size=48"),
]
NAMES = [f[0] for f in FAMILIES]


@pytest.fixture(scope="module", params=NAMES)
def gen(request):
    g = dummy_generator(request.param)
    assert g.name == request.param
    return g


def test_registered_under_its_name(gen):
    assert load_class("generator", gen.name) is type(gen)


def test_one_generation(gen):
    h.check_one_generation(gen)


def test_determinism_under_a_seed(gen):
    h.check_determinism(gen)


def test_seeds_are_batched_in_one_call(gen):
    h.check_batching(gen, batched=True)


def test_prompt_embedding_is_cached_across_retries(gen):
    h.check_prompt_cache(gen)


@pytest.mark.parametrize("name, frames, frames_fix, size, size_fix", FAMILIES, ids=NAMES)
def test_constraints_are_checked_before_loading(name, frames, frames_fix, size, size_fix):
    cls = load_class("generator", name)
    h.check_frame_rule(cls, frames, frames_fix)
    h.check_size_rule(cls, size, size_fix)


def test_closed_loop_writes_a_run_directory(gen, tmp_path):
    h.run_closed_loop(gen, tmp_path, frames=9)


def test_cogvideox_1_0_wants_49_frames_before_loading():
    """CogVideoX 1.0 has learned positional embeddings: one size and one clip length, both
    checked from the config, before ~20 GB of weights load."""
    cls = load_class("generator", "cogvideox-i2v")
    gen = cls(config=cls.Config(model="THUDM/CogVideoX-5b-I2V", model_size=(480, 720)))
    errs = gen.constraint_errors(9, 64, 64)
    assert len(errs) == 1 and "only generates 49 frames; 9 were asked for" in errs[0][0]
    assert "loop.frames_per_segment=49" in errs[0][1]
    assert gen.constraint_errors(49, 64, 64) == []
    assert cls(config=cls.Config()).constraint_errors(9, 64, 64) == []  # 1.5: 4k+1 frames
