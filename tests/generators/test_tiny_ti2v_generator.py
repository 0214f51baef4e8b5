"""The tiny-ti2v generator adapter with a tiny random model (no weights needed)."""

import os

import numpy as np
import pytest
import torch

from spiral.core.types import GenerationRequest
from spiral.generators.tiny_ti2v import TinyTI2VGenerator
from spiral.models.tiny_ti2v.configuration_tiny_ti2v import TinyTI2VConfig
from spiral.models.tiny_ti2v.modeling_tiny_ti2v import TinyTI2V
from spiral.models.tiny_ti2v.tokenization_tiny_ti2v import build_vocab
from spiral.worlds.tabletop.render import render_scene
from spiral.worlds.tabletop.scene import random_scene


@pytest.fixture(scope="module")
def gen():
    torch.manual_seed(1)
    cfg = TinyTI2VConfig(vocab=build_vocab(["stack the green cube on the blue cube"]), channels=[8, 16, 16, 16],
                         text_dim=16, text_heads=2, text_layers=1)
    return TinyTI2VGenerator(model=TinyTI2V(cfg).eval(), config=TinyTI2VGenerator.Config(threads=1))


def test_batched_requests_and_sizes(gen):
    f = render_scene(random_scene(2))
    reqs = [GenerationRequest(prompt="stack the green cube on the blue cube", cond_frame=f, seed=s, num_frames=6)
            for s in range(3)]
    reqs.append(GenerationRequest(prompt="x", cond_frame=render_scene(random_scene(2), 96), seed=0, num_frames=4,
                                  height=96, width=96))
    clips = gen.generate(reqs)
    assert [c.frames.shape for c in clips] == [(6, 64, 64, 3)] * 3 + [(4, 96, 96, 3)]
    assert all(c.frames.dtype == np.uint8 and "logprob" in c.meta and c.meta["nfe"] == 1 for c in clips)
    assert gen.default_steps == 2


def test_loop_runs_with_the_learned_generator(gen, tmp_path, cfg_factory):
    from spiral.agents.perception_critic import PerceptionCritic
    from spiral.agents.symbolic_planner import SymbolicPlanner
    from spiral.api import run

    cfg = cfg_factory("stack all the cubes", sets=["loop.max_attempts=2", "loop.max_replans=0",
                                                   'generator.name="tiny-ti2v"'])
    res, rd = run(cfg, tmp_path / "r", components=(SymbolicPlanner(), gen, PerceptionCritic()))
    assert (rd.path / "video.mp4").exists() and res.generator_calls >= 1
    text = (rd.path / "trace.jsonl").read_text()
    assert '"logprob"' in text


def test_missing_weights_give_a_clear_error(tmp_path):
    from spiral.errors import InputFileError

    with pytest.raises(InputFileError, match="no tiny-ti2v weights"):
        TinyTI2VGenerator(config=TinyTI2VGenerator.Config(weights=str(tmp_path)))


def test_thread_policy_follows_the_batch_and_restores_the_setting(gen):
    auto = TinyTI2VGenerator(model=gen.model, tokenizer=gen.tok)
    assert auto._threads(1) == 1 and auto._threads(2) == 1
    assert auto._threads(8) == min(2, len(os.sched_getaffinity(0)))
    assert TinyTI2VGenerator(model=gen.model, tokenizer=gen.tok,
                             config=TinyTI2VGenerator.Config(threads=3))._threads(1) == 3
    seen = []
    real = torch.set_num_threads
    before = torch.get_num_threads()
    try:
        torch.set_num_threads = lambda n: (seen.append(n), real(n))  # type: ignore[assignment]
        auto.generate([GenerationRequest(prompt="x", cond_frame=render_scene(random_scene(2)), num_frames=3)])
    finally:
        torch.set_num_threads = real
    assert seen == [1, before] and torch.get_num_threads() == before


def test_layer_cleanup_switch_overrides_the_weights_config():
    """``layer_cleanup=false`` samples as the weights' config with both clean-up rules off
    (the shipped weights have them on); the default keeps the config's."""
    import copy

    from spiral.bench.world_model import chain_episodes
    from spiral.models.tiny_ti2v.sampling import generate_clips

    on = TinyTI2VGenerator()
    off = TinyTI2VGenerator.from_config(TinyTI2VGenerator.Config(layer_cleanup=False))
    assert on.model.config.prune_masks and on.model.config.clean_background
    eps = chain_episodes(12, 2)
    reqs = [GenerationRequest(prompt=e["plan"].steps[0].prompt, cond_frame=e["first"], num_frames=6, seed=i)
            for i, e in enumerate(eps)]
    a, b = on.generate(reqs), off.generate(reqs)
    plain = copy.copy(off.model)
    plain.config = off.model.config.model_copy(update={"prune_masks": False, "clean_background": False})
    ref = generate_clips(plain, off.tok, np.stack([r.cond_frame for r in reqs]), [r.prompt for r in reqs],
                         [r.seed for r in reqs], num_frames=6)
    assert all(np.array_equal(c.frames, r["frames"]) for c, r in zip(b, ref))
    assert any(not np.array_equal(x.frames, y.frames) for x, y in zip(a, b))
    assert [x.meta["logprob"] for x in a] == [y.meta["logprob"] for y in b]  # the clean-up is deterministic


class _PeakedModel(torch.nn.Module):
    """A stand-in network: the layer is a 6×6 square at (20..26, 20..26); its end-point
    heatmap has a strong peak at (44, 44) and a weaker one at (12, 44)."""

    def __init__(self):
        super().__init__()
        self.config = TinyTI2VConfig(vocab=build_vocab(["move it"]), layer_cover=0.65, prune_masks=False,
                                     clean_background=False)

    def forward(self, x, ids, kf=None):
        b, _, h, w = x.shape
        mask = torch.full((b, h, w), -8.0)
        mask[:, 20:26, 20:26] = 8.0
        heat = torch.full((b, h, w), -6.0)
        heat[:, 44, 44] = 6.0
        heat[:, 44, 12] = 5.0
        return {"mask_a": mask, "mask_b": torch.full((b, h, w), -8.0), "heat_a": heat.flatten(1),
                "heat_b": heat.flatten(1), "fill": x.clone(), "scale": torch.tensor([[0.0, 5.0, 0.0]] * b),
                "lift": torch.full((b,), 5.0), "has_b": torch.full((b,), -5.0)}


def test_hints_steer_the_end_point_and_exploration_widens_the_samples():
    """A refinement's hints (spiral.core.refine): ``target`` puts the layer's end where the
    subject must be drawn, ``avoid`` keeps it away from where a failed attempt put it, and
    ``explore`` samples hotter, so seeds land on the model's second choice too."""
    from spiral.models.tiny_ti2v.sampling import HINT_KEYS

    g = TinyTI2VGenerator(model=_PeakedModel(), config=TinyTI2VGenerator.Config(threads=1))
    assert g.hint_keys == HINT_KEYS
    f = np.full((64, 64, 3), 100, np.uint8)
    f[20:26, 20:26] = (220, 40, 40)

    def ends(n=24, **hints):
        clips = g.generate([GenerationRequest(prompt="move it", cond_frame=f, num_frames=3, seed=s, hints=hints)
                            for s in range(n)])
        return np.array([c.meta["ends"][0] for c in clips])

    plain = ends()
    assert np.all(np.abs(plain - 44.5) < 2)  # the default sampler always takes the strong peak
    # explore: some seeds take the second peak
    hot = ends(explore=1.0)
    assert (np.abs(hot[:, 0] - 12.5) < 2).sum() >= 3
    # target: the subject drawn at (0.36, 0.36) must end at (0.2, 0.7): the layer's centroid (23, 23) moves there
    tgt = ends(subject=[23 / 64, 23 / 64], target=[12.5 / 64, 44.5 / 64])
    assert np.all(np.abs(tgt - [12.5, 44.5]) < 2)
    # avoid: not where the failed attempt ended (the strong peak)
    away = ends(avoid=[[44.5 / 64, 44.5 / 64]])
    assert np.all(np.hypot(away[:, 0] - 44.5, away[:, 1] - 44.5) > 4)
    # the log-prob is that of the distribution sampled from: the steered samples are likely under it
    c = g.generate([GenerationRequest(prompt="move it", cond_frame=f, num_frames=3, seed=0,
                                      hints={"subject": [23 / 64, 23 / 64], "target": [12.5 / 64, 44.5 / 64]})])[0]
    assert c.meta["logprob"] > -8


def test_the_grpo_variant_loads_by_name_and_differs_only_in_trained_weights():
    """``generator.weights: tiny-ti2v-grpo`` resolves to the post-trained weights in the package
    (GRPO with --trainable heads: only the decoder and the output head moved)."""
    pytest.importorskip("torch")
    import torch

    from spiral.generators.tiny_ti2v import TinyTI2VGenerator, shipped_weights, weights_path

    path = weights_path("tiny-ti2v-grpo")
    assert path.parent == shipped_weights().parent and (path / "model.safetensors").is_file()
    assert weights_path(None) == shipped_weights() and str(weights_path("runs/x")) == "runs/x"
    grpo = TinyTI2VGenerator(config=TinyTI2VGenerator.Config(weights="tiny-ti2v-grpo")).model.state_dict()
    base = TinyTI2VGenerator().model.state_dict()
    moved = {k for k in base if not torch.equal(base[k], grpo[k])}
    assert moved and all(k.startswith(("head", "dec")) for k in moved)
