"""The tiny TI2V model: shapes, seeds, log-probs, save/load, a tiny end-to-end train."""

import json
import math

import numpy as np
import pytest
import torch

from spiral.data.tiny_ti2v import tabletop_inputs
from spiral.generators.tiny_ti2v import tabletop_palette
from spiral.models.tiny_ti2v.configuration_tiny_ti2v import TinyTI2VConfig
from spiral.models.tiny_ti2v.modeling_tiny_ti2v import TinyTI2V, load_pretrained, save_pretrained
from spiral.models.tiny_ti2v.sampling import (
    best_of_k_logprob,
    gaussian_logprob,
    generate_clips,
    sample_layer,
    subpixel_offset,
)
from spiral.models.tiny_ti2v.tokenization_tiny_ti2v import Tokenizer, build_vocab
from spiral.worlds.tabletop.render import render_scene
from spiral.worlds.tabletop.scene import random_scene

INPUTS = tabletop_inputs()  # what training takes from the world and the dataset
VOCAB = build_vocab(["put the red cube in the blue bowl", "stack the green cube on the yellow one", "push left"])


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    cfg = TinyTI2VConfig(vocab=VOCAB, channels=[8, 16, 16, 16], text_dim=16, text_heads=2, text_layers=1)
    model = TinyTI2V(cfg).eval()
    with torch.no_grad():  # make the random model move something: a confident mask where it is red
        model.head.bias[0] = 0.0
    model.palette = tabletop_palette()  # the world's colours, handed over as data (not saved with the weights)
    return model, Tokenizer(cfg.vocab, cfg.max_text_len)


def _frames(n=2):
    return np.stack([render_scene(random_scene(s)) for s in range(n)])


def test_forward_shapes(tiny):
    model, tok = tiny
    x = torch.rand(3, 3, 64, 64)
    out = model(x, tok.batch(["put the red cube in the blue bowl", "", "push left"]))
    assert out["mask_a"].shape == (3, 64, 64) and out["heat_a"].shape == (3, 4096)
    assert out["fill"].shape == (3, 3, 64, 64) and out["scale"].shape == (3, 3)
    assert float(out["fill"].detach().min()) >= 0 and float(out["fill"].detach().max()) <= 1


def test_sampling_is_deterministic_per_seed_and_batched(tiny):
    model, tok = tiny
    f = _frames(2)
    prompts = ["put the red cube in the blue bowl"] * 2
    a = generate_clips(model, tok, f, prompts, [1, 2], num_frames=8)
    b = generate_clips(model, tok, f, prompts, [1, 2], num_frames=8)
    for x, y in zip(a, b):
        assert x["frames"].shape == (8, 64, 64, 3) and x["frames"].dtype == np.uint8
        assert np.array_equal(x["frames"], y["frames"]) and x["logprob"] == y["logprob"]
        assert np.array_equal(x["frames"][0], f[0] if x is a[0] else f[1])
    # the same request in a batch of one gives (up to float rounding at mask edges) the same clip
    c = generate_clips(model, tok, f[1:], prompts[1:], [2], num_frames=8)[0]
    assert np.mean(c["frames"] != a[1]["frames"]) < 0.01


def test_different_seeds_give_different_end_points(tiny):
    model, tok = tiny
    f = _frames(1)
    ends = {tuple(np.round(r["ends"][0], 2)) for r in
            generate_clips(model, tok, np.repeat(f, 6, 0), ["push left"] * 6, list(range(6)), num_frames=4)
            if r["ends"]}
    assert len(ends) >= 5


def test_logprob_matches_direct_computation():
    torch.manual_seed(0)
    logits = torch.randn(64 * 64)
    for k in (1, 3):
        g = torch.Generator().manual_seed(5)
        s = sample_layer(logits, 64, g, temperature=0.7, k=k, jitter=0.5)
        # redo the draws by hand
        g2 = torch.Generator().manual_seed(5)
        probs = torch.softmax(logits.double() / 0.7, -1)
        draws = torch.multinomial(probs.float(), k, replacement=True, generator=g2)
        best = int(draws[torch.argmax(probs[draws])])
        assert best == s.index
        jit = torch.randn(2, generator=g2, dtype=torch.float64) * 0.5
        normal = torch.distributions.Normal(0.0, 0.5)
        cell = math.log(float(probs[best])) if k == 1 else best_of_k_logprob(probs, best, k)
        direct = cell + float(normal.log_prob(jit).sum())
        assert s.logprob == pytest.approx(direct, abs=1e-6)
        cy, cx = divmod(best, 64)
        assert s.xy == pytest.approx((cx + 0.5 + float(jit[0]), cy + 0.5 + float(jit[1])))
    # best-of-k probabilities sum to one
    p = torch.softmax(torch.randn(50, dtype=torch.float64), -1)
    total = sum(math.exp(best_of_k_logprob(p, i, 4)) for i in range(50))
    assert total == pytest.approx(1.0, abs=1e-9)
    assert gaussian_logprob(0.0, 1.0) == pytest.approx(-0.5 * math.log(2 * math.pi))


def test_subpixel_refinement_moves_to_the_heatmap_mean_and_keeps_the_logprob():
    # a heatmap whose mass sits at (20.8, 10.5) in pixels: cells 20 and 21 of row 10, 1 : 4
    logits = torch.full((64 * 64,), -30.0)
    logits[10 * 64 + 20] = 0.0
    logits[10 * 64 + 21] = math.log(4.0)
    ox, oy = subpixel_offset(logits, 10 * 64 + 21, 64)
    assert ox == pytest.approx(-0.2, abs=1e-6) and oy == pytest.approx(0.0, abs=1e-6)
    # the offset stays inside the drawn cell
    assert subpixel_offset(logits, 10 * 64 + 20, 64)[0] == pytest.approx(0.5)
    # the corner cell has a clipped window
    corner = torch.zeros(64 * 64)
    assert subpixel_offset(corner, 0, 64) == pytest.approx((0.5, 0.5))
    plain = sample_layer(logits, 64, torch.Generator().manual_seed(1), 1.0, 2, 0.25)
    refined = sample_layer(logits, 64, torch.Generator().manual_seed(1), 1.0, 2, 0.25, subpixel=True)
    assert refined.index == plain.index and refined.logprob == plain.logprob
    dx = refined.xy[0] - plain.xy[0]
    assert dx == pytest.approx(subpixel_offset(logits, plain.index, 64)[0])


def test_save_load_round_trip(tiny, tmp_path):
    model, tok = tiny
    save_pretrained(model, tmp_path / "w")
    again = load_pretrained(tmp_path / "w")
    f = _frames(1)
    a = generate_clips(model, tok, f, ["push left"], [3], num_frames=5)[0]
    with pytest.raises(ValueError, match="palette"):  # the clean-up needs the world's colours
        generate_clips(again, tok, f, ["push left"], [3], num_frames=5)
    b = generate_clips(again, tok, f, ["push left"], [3], num_frames=5, palette=model.palette)[0]
    assert np.array_equal(a["frames"], b["frames"])
    from spiral.errors import InputFileError

    with pytest.raises(InputFileError):
        load_pretrained(tmp_path / "nothing")
    # damaged weights, weights of another architecture, a config that is not one: clear errors
    w = tmp_path / "w"
    data = (w / "model.safetensors").read_bytes()
    (w / "model.safetensors").write_bytes(data[:100])
    with pytest.raises(InputFileError, match="cannot be loaded"):
        load_pretrained(w)
    (w / "model.safetensors").write_bytes(data)
    cfg = json.loads((w / "config.json").read_text())
    (w / "config.json").write_text(json.dumps({**cfg, "channels": [8, 8, 8, 8]}))
    with pytest.raises(InputFileError, match="cannot be loaded"):
        load_pretrained(w)
    (w / "config.json").write_text("{nope")
    with pytest.raises(InputFileError, match="is not a tiny-ti2v config"):
        load_pretrained(w)


def test_dataset_to_training_to_sampling_end_to_end(tmp_path):
    from spiral.core.types import GenerationRequest
    from spiral.data.actwm_lite import DatasetSpec, build
    from spiral.generators.tiny_ti2v import TinyTI2VGenerator
    from spiral.models.tiny_ti2v.training import TrainConfig, train

    build(tmp_path / "ds", DatasetSpec(train=6, validation=2, test=1, shard_size=6, max_steps=2), workers=1)
    rep = train(TrainConfig(data=str(tmp_path / "ds"), out=str(tmp_path / "tr"), max_steps=6, batch_size=4,
                            val_every=3, ckpt_every=3, threads=1, channels=(8, 16, 16, 16), fill_copy=2,
                            oversample_revealed=3), INPUTS)
    assert rep["steps"] == 6 and (tmp_path / "tr" / "final" / "model.safetensors").exists()
    assert (tmp_path / "tr" / "log.csv").read_text().count("validation") >= 2
    # resume: more steps continue from the checkpoint
    rep2 = train(TrainConfig(data=str(tmp_path / "ds"), out=str(tmp_path / "tr"), max_steps=6, batch_size=4,
                             val_every=3, ckpt_every=3, threads=1, channels=(8, 16, 16, 16), fill_copy=2,
                             oversample_revealed=3), INPUTS)
    assert rep2["steps"] == 6
    assert TinyTI2VConfig.load(tmp_path / "tr" / "final" / "config.json").fill_copy == 2
    gen = TinyTI2VGenerator.from_config(TinyTI2VGenerator.Config(weights=str(tmp_path / "tr" / "final"), threads=1))
    req = GenerationRequest(prompt="push the red cube left", cond_frame=render_scene(random_scene(1)), num_frames=6,
                            seed=1)
    (clip,) = gen.generate([req])
    assert clip.frames.shape == (6, 64, 64, 3) and "logprob" in clip.meta


def test_step_schedule_repeats_a_run_bit_for_bit_across_a_kill_and_resume(tmp_path):
    """``schedule="steps"``: the learning rate and every random draw are functions of
    (seed, step), so a run killed after its step-3 checkpoint and resumed ends with the
    same weights as the run that went straight through."""
    from safetensors.torch import load_file

    from spiral.data.actwm_lite import DatasetSpec, build
    from spiral.errors import ConfigError
    from spiral.models.tiny_ti2v.training import TrainConfig, train

    build(tmp_path / "ds", DatasetSpec(train=6, validation=2, test=1, shard_size=6, max_steps=2), workers=1)

    def cfg(out, schedule="steps"):
        return TrainConfig(data=str(tmp_path / "ds"), out=str(tmp_path / out), max_steps=6, batch_size=4,
                           val_every=100, ckpt_every=3, threads=1, channels=(8, 16, 16, 16), fill_copy=2,
                           schedule=schedule, warmup=2)

    train(cfg("straight"), INPUTS)

    class Killed(Exception):
        pass

    def kill_at_4(info):
        if info["step"] == 4:
            raise Killed

    with pytest.raises(Killed):
        train(cfg("resumed"), INPUTS, progress=kill_at_4)
    rep = train(cfg("resumed"), INPUTS)  # resumes from the step-3 checkpoint
    assert rep["steps"] == 6
    a = load_file(str(tmp_path / "straight" / "final" / "model.safetensors"))
    b = load_file(str(tmp_path / "resumed" / "final" / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    # the default schedule draws from one stream per run: the resumed run differs
    train(cfg("auto-straight", schedule="auto"), INPUTS)
    with pytest.raises(Killed):
        train(cfg("auto-resumed", schedule="auto"), INPUTS, progress=kill_at_4)
    train(cfg("auto-resumed", schedule="auto"), INPUTS)
    c = load_file(str(tmp_path / "auto-straight" / "final" / "model.safetensors"))
    d = load_file(str(tmp_path / "auto-resumed" / "final" / "model.safetensors"))
    assert not all(torch.equal(c[k], d[k]) for k in c)
    with pytest.raises(ConfigError, match="schedule"):
        train(cfg("bad", schedule="cosine"), INPUTS)


def test_soft_dice_and_the_fill_weight_of_revealed_objects():
    from spiral.models.tiny_ti2v.training import losses, object_pixels, soft_dice
    from spiral.worlds.tabletop.scene import TABLE_RGB

    target = torch.zeros(2, 8, 8)
    target[:, 2:5, 2:5] = 1
    sure = (target * 2 - 1) * 20  # logits that agree with the target
    assert soft_dice(sure, target).max() < 1e-3
    assert soft_dice(-sure, target).min() > 0.9
    # a batch whose fill target is table everywhere but one revealed cube pixel block
    B, H = 2, 8
    fills = torch.tensor(TABLE_RGB, dtype=torch.float32).view(1, 3, 1, 1).repeat(B, 1, H, H) / 255
    masks = torch.zeros(B, 2, H, H, dtype=torch.uint8)
    masks[:, 0, 1:6, 1:6] = 1
    batch = {"frames": fills.clone(), "fills": fills.clone(), "masks": masks,
             "target_a": torch.full((B, 2), 4.0), "target_b": torch.full((B, 2), 4.0),
             "scale": torch.ones(B, dtype=torch.long), "lift": torch.zeros(B), "has_b": torch.zeros(B)}
    batch["fills"][:, :, 2:4, 2:4] = torch.tensor([0.2, 0.3, 0.9]).view(1, 3, 1, 1)  # a blue cube under it
    as_uint8 = (batch["fills"].permute(0, 2, 3, 1) * 255).round().to(torch.uint8).numpy()
    batch["fill_objects"] = torch.from_numpy(object_pixels(as_uint8, INPUTS.palette))
    assert batch["fill_objects"].sum() == B * 4  # the blue pixels, not the table
    out = {"mask_a": sure.new_zeros(B, H, H), "mask_b": sure.new_zeros(B, H, H),
           "heat_a": torch.zeros(B, H * H), "heat_b": torch.zeros(B, H * H),
           "fill": fills.clone(),  # predicts table where the cube is: the failure seen on stacks
           "scale": torch.zeros(B, 3), "lift": torch.zeros(B), "has_b": torch.zeros(B)}
    plain = losses(out, batch)
    weighted = losses(out, batch, fill_object_weight=4.0)
    assert weighted["fill"] > 3 * plain["fill"]
    out["fill"] = batch["fills"].clone()  # a perfect fill costs nothing either way
    assert losses(out, batch, fill_object_weight=4.0)["fill"] < 1e-6
    assert losses(out, batch, dice_weight=1.0)["mask"] > plain["mask"]


class _Oracle:
    """Stands in for the model in ``self_rendered_frames``: predicts the true masks and fill
    of the sub-actions ``prev`` (so the rendering should reproduce the simulator's frame)."""

    def __init__(self, data, prev, cfg):
        self.data, self.prev, self.config, self.training = data, prev, cfg, False

    def eval(self):
        return self

    def train(self, mode=True):
        return self

    def __call__(self, x, ids):
        m = torch.from_numpy(self.data["masks"][self.prev]).float() * 40 - 20
        fill = torch.from_numpy(self.data["fills"][self.prev]).permute(0, 3, 1, 2).float() / 255
        return {"mask_a": m[:, 0], "mask_b": m[:, 1], "fill": fill}


def test_self_rendered_inputs_reproduce_the_simulator_with_a_perfect_model(tmp_path):
    from spiral.data.actwm_lite import DatasetSpec, build
    from spiral.models.tiny_ti2v.training import load_arrays, self_rendered_frames

    build(tmp_path / "ds", DatasetSpec(train=4, validation=1, test=1, shard_size=4, max_steps=3), workers=1)
    data = load_arrays(str(tmp_path / "ds"), "train", INPUTS)
    prev = data["prev"]
    assert (prev[[m["step"] == 0 for m in data["meta"]]] == -1).all()
    follow = np.flatnonzero(prev >= 0)
    assert follow.size > 0
    assert all(data["meta"][prev[i]]["key"] == data["meta"][i]["key"] for i in follow)
    cfg = TinyTI2VConfig(vocab=VOCAB)
    tok = Tokenizer(VOCAB, cfg.max_text_len)
    own = self_rendered_frames(_Oracle(data, prev[follow], cfg), data, prev[follow], tok,
                               np.random.default_rng(0), mask_jitter=0.0)
    sim = data["frames"][follow]  # the simulator's start frames of the follow-up steps
    assert own.shape == sim.shape and own.dtype == np.uint8
    differ = (np.abs(own.astype(int) - sim.astype(int)).sum(-1) > 30).mean()
    # only the renderer's half-pixel placement and anti-aliased rims differ
    assert differ < 0.01
    # a model that moves nothing leaves the previous frame as it was
    still = _Oracle(data, prev[follow], cfg)
    still.data = {**data, "masks": np.zeros_like(data["masks"])}
    same = self_rendered_frames(still, data, prev[follow], tok, np.random.default_rng(0), mask_jitter=0.0)
    assert np.array_equal(same, data["frames"][prev[follow]])


def test_the_fill_can_copy_the_frame_from_above_or_below(tiny):
    from spiral.models.tiny_ti2v.training import load_widening_head

    model, tok = tiny
    wide = TinyTI2V(model.config.model_copy(update={"fill_copy": 3})).eval()
    load_widening_head(wide, model.state_dict())
    x = torch.rand(2, 3, 64, 64)
    ids = tok.batch(["push left", "put the red cube in the blue bowl"])
    with torch.no_grad():
        a, b = model(x, ids), wide(x, ids)
        # the old head's outputs are kept; only the fill gains its copies
        for k in ("mask_a", "mask_b", "heat_a", "heat_b", "scale", "lift", "has_b"):
            assert torch.equal(a[k], b[k])
        gen = torch.full((2, 3, 64, 64), 0.25)
        # choices: generate, copies from 1..3 px below, copies from 3..1 px above; then the gain
        logits = torch.full((2, 8, 64, 64), -30.0)
        logits[:, 2] = 30.0  # copy from 2 px below
        logits[:, 7] = 0.0  # gain 1
        f = wide.copy_fill(x, gen, logits)
        assert torch.allclose(f[:, :, :62], x[:, :, 2:], atol=1e-6)
        assert torch.allclose(f[:, :, 62:], x[:, :, 63:].expand(-1, -1, 2, -1), atol=1e-6)  # edge replicated
        logits[:, 2], logits[:, 4] = -30.0, 30.0  # k = 4: 3 px above
        f = wide.copy_fill(x, gen, logits)
        assert torch.allclose(f[:, :, 3:], x[:, :, :61], atol=1e-6)
        logits[:, 4], logits[:, 0] = -30.0, 30.0  # generate
        assert torch.allclose(wide.copy_fill(x, gen, logits), gen, atol=1e-6)


def test_revealed_objects_flags_the_cube_under_a_lifted_cube():
    from spiral.models.tiny_ti2v.training import revealed_objects
    from spiral.worlds.tabletop.actions import make_action
    from spiral.worlds.tabletop.scene import Scene, SceneObject
    from spiral.worlds.tabletop.targets import step_targets

    sc = Scene(objects=[SceneObject(kind="cube", color="red", x=0.3, y=0.5),
                        SceneObject(kind="cube", color="blue", x=0.3, y=0.5, on="red_cube"),
                        SceneObject(kind="ball", color="green", x=0.7, y=0.3)])
    acts = [make_action(sc, "pick_place", "blue_cube", params={"region": "right"}),  # uncovers the red cube
            make_action(sc, "push", "green_ball", params={"direction": "left"})]  # reveals table only
    ts = [step_targets(sc, a) for a in acts]
    flags = revealed_objects(np.stack([t.frame for t in ts]), np.stack([t.fill for t in ts]),
                             np.stack([np.stack([t.mask_a, t.mask_b]) for t in ts]).astype(np.uint8), palette=INPUTS.palette)
    assert flags.tolist() == [True, False]


def test_oversampling_by_kind_and_revealed_sets_the_draw_weights():
    from spiral.errors import ConfigError
    from spiral.models.tiny_ti2v.training import TrainConfig, check_oversampling, draw_weights

    data = {"kinds": np.array(["push", "move_next_to", "move_next_to", "stack"]),
            "revealed": np.array([False, False, True, True])}
    assert draw_weights(data, TrainConfig(oversample_revealed=0)) is None
    p = draw_weights(data, TrainConfig(oversample_revealed=2, oversample_kinds={"move_next_to": 1.0}))
    # push 1, next-to 1 + 1, next-to revealed 1 + 2 + 1, stack revealed 1 + 2
    np.testing.assert_allclose(p, np.array([1, 2, 4, 3]) / 10)
    p = draw_weights(data, TrainConfig(oversample_revealed=0, oversample_kinds={"stack": 3.0}))
    np.testing.assert_allclose(p, np.array([1, 1, 1, 4]) / 7)
    with pytest.raises(ConfigError, match="unknown action kind.*move_near"):
        check_oversampling(TrainConfig(oversample_kinds={"move_near": 1.0}), INPUTS.action_kinds)
    with pytest.raises(ConfigError, match=">= 0"):
        check_oversampling(TrainConfig(oversample_kinds={"push": -1.0}), INPUTS.action_kinds)


def test_resume_takes_runtime_changes_repairs_a_broken_swap_and_names_real_differences(tmp_path):
    """A run resumes from another spelling of its --out, with other threads or validation
    cadence; a kill between the two renames of a checkpoint swap loses nothing; the log
    holds each step once; a change that would alter the weights is refused, named."""
    import csv

    from spiral.data.actwm_lite import DatasetSpec, build
    from spiral.errors import ConfigError
    from spiral.models.tiny_ti2v.training import TrainConfig, train

    build(tmp_path / "ds", DatasetSpec(train=6, validation=2, test=1, shard_size=6, max_steps=2), workers=1)

    def cfg(out, **kw):
        base = {"data": str(tmp_path / "ds"), "out": str(out), "max_steps": 6, "batch_size": 4, "val_every": 1,
                "ckpt_every": 3, "threads": 1, "channels": (8, 16, 16, 16), "fill_copy": 2, "schedule": "steps",
                "warmup": 2}
        return TrainConfig(**{**base, **kw})

    class Killed(Exception):
        pass

    def kill_at_4(info):
        if info["step"] == 4:
            raise Killed

    out = tmp_path / "r"
    with pytest.raises(Killed):
        train(cfg(out), INPUTS, progress=kill_at_4)
    # a kill between the renames of a swap: the whole checkpoint sits in checkpoint.old
    (out / "checkpoint").rename(out / "checkpoint.old")
    (out / "checkpoint.tmp").mkdir()  # and a half-written new one
    rep = train(cfg(tmp_path / "x" / ".." / "r", threads=2, val_every=2), INPUTS)
    assert rep["steps"] == 6 and not (out / "checkpoint.old").exists() and not (out / "checkpoint.tmp").exists()
    with open(out / "log.csv") as f:
        steps = [int(r["step"]) for r in csv.DictReader(f) if r["split"] == "validation"]
    assert steps == sorted(set(steps)), "each step is logged once"
    with pytest.raises(ConfigError, match=r"lr: 0.002 then, 0.001 now"):
        train(cfg(out, max_steps=8, lr=1e-3), INPUTS)


def test_the_weights_record_the_dataset_frame_size_and_fine_tuning_keeps_the_fill_head(tmp_path):
    from spiral.data.actwm_lite import DatasetSpec, build
    from spiral.errors import ConfigError
    from spiral.models.tiny_ti2v.training import TrainConfig, train

    build(tmp_path / "ds", DatasetSpec(train=4, validation=2, test=1, shard_size=6, max_steps=2, size=32), workers=1)
    common = {"data": str(tmp_path / "ds"), "max_steps": 2, "batch_size": 2, "val_every": 100, "ckpt_every": 100,
              "threads": 1, "channels": (8, 16, 16, 16)}
    train(TrainConfig(out=str(tmp_path / "a"), fill_copy=2, **common), INPUTS)
    assert TinyTI2VConfig.load(tmp_path / "a" / "final" / "config.json").image_size == 32
    with pytest.raises(ConfigError, match="have fill_copy 2; fine-tuning keeps it"):
        train(TrainConfig(out=str(tmp_path / "b"), fill_copy=0, init_from=str(tmp_path / "a" / "final"), **common), INPUTS)


def test_a_second_trainer_on_one_output_directory_is_refused(tmp_path):
    from spiral.core.lock import DirLock, DirLockedError
    from spiral.data.actwm_lite import DatasetSpec, build
    from spiral.models.tiny_ti2v.training import TrainConfig, train

    build(tmp_path / "ds", DatasetSpec(train=2, validation=1, test=1, shard_size=6, max_steps=1), workers=1)
    cfg = TrainConfig(data=str(tmp_path / "ds"), out=str(tmp_path / "tr"), max_steps=1, batch_size=2, threads=1,
                      channels=(8, 16, 16, 16))
    with DirLock(tmp_path / "tr"), pytest.raises(DirLockedError, match="being written by another process"):
        train(cfg, INPUTS)
    assert [p.name for p in (tmp_path / "tr").iterdir()] == [".spiral.lock"]
