"""flow_grpo.py on the tiny random-weight diffusers components: SDE log-probs, LoRA-only training,
the saved LoRA loading back into the generator adapter."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("diffusers")
pytest.importorskip("peft")
torch = pytest.importorskip("torch")

from spiral.errors import ConfigError
from spiral.generators.diffusers.testing import dummy_generator
from spiral.rl.flow_grpo import FlowGRPOConfig, FlowMatchingPolicy, gaussian_logprob, sde_mean, sde_std
from spiral.rl.grpo import GRPOConfig, GRPOTrainer
from tests.generators.diffusers.helpers import request


def brightness(clips, requests, **info):
    """A reward that differs between seeds of random weights: mean brightness of the last frame."""
    return [float(c.frames[-1].mean()) / 255.0 for c in clips]


def _policy(family="wan2.1-i2v", steps=3, **kw):
    return FlowMatchingPolicy(dummy_generator(family, steps=steps), FlowGRPOConfig(**kw))


def _all_params(pipe):
    out = {}
    for comp in ("transformer", "transformer_2", "vae", "text_encoder", "image_encoder"):
        mod = getattr(pipe, comp, None)
        if mod is not None:
            out.update({f"{comp}.{k}": v.detach().clone() for k, v in mod.named_parameters()})
    return out


def test_sde_step_maths():
    s_t, std = sde_std(0.5, 0.25, 0.9, 0.7)
    assert s_t == pytest.approx(0.7) and std == pytest.approx(0.7 * 0.5)
    assert np.isfinite(sde_std(1.0, 0.9, 0.9, 0.7)[0])  # t = 1 stays finite
    x, v = torch.randn(2, 3), torch.randn(2, 3)
    # with no noise (a -> 0) the mean is the Euler (ODE) step
    assert torch.allclose(sde_mean(x, v, 0.5, 0.25, 0.0), x - 0.25 * v)
    lp = gaussian_logprob(x, x, 2.0)
    assert lp.shape == (2,) and lp[0] == pytest.approx(-np.log(2.0) - 0.5 * np.log(2 * np.pi))


def test_ratio_is_one_loss_finite_and_only_lora_changes(tmp_path):
    pol = _policy()
    base = _all_params(pol.pipe)
    lora = {k: v.detach().clone() for k, v in pol.trainable_state().items()}
    assert lora and all("lora_" in k for k in lora)
    cfg = GRPOConfig(group_size=4, steps=1, lr=1e-2, kl_beta=0.1, tensorboard=False)
    tr = GRPOTrainer(pol, brightness, [request(seed=0)], cfg, out_dir=tmp_path)
    row = tr.step().row
    assert row["ratio_max_dev"] == 0.0  # exactly 1 before the first update
    assert row["kl"] == 0.0 and np.isfinite(row["loss"]) and row["mixed_share"] == 1.0
    after = _all_params(pol.pipe)
    changed_base = [k for k in base if "lora_" not in k and not torch.equal(base[k], after[k])]
    assert changed_base == []
    assert any(not torch.equal(lora[k], v) for k, v in pol.trainable_state().items())
    assert (tmp_path / "checkpoints" / "ckpt-000001" / "trainable.safetensors").exists()
    # after the update, the same records score differently, and the reference is the base
    recs = pol.sample([request(seed=0)] * 2, [1, 2])[1]
    assert not torch.equal(pol.logprob(recs), pol.reference_logprob(recs))


def test_saved_lora_loads_into_the_generator_adapter_and_changes_its_output(tmp_path):
    pol = _policy()
    with torch.no_grad():
        for p in pol.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=torch.Generator().manual_seed(0)))
    path = pol.save_lora(tmp_path / "lora")
    assert path.name == "pytorch_lora_weights.safetensors" and path.exists()
    trained = pol.gen.generate([request(seed=5)])[0].frames  # the policy's generator, LoRA active
    loaded = dummy_generator("wan2.1-i2v", steps=3, lora=str(tmp_path / "lora")).generate([request(seed=5)])[0]
    plain = dummy_generator("wan2.1-i2v", steps=3).generate([request(seed=5)])[0]
    np.testing.assert_array_equal(loaded.frames, trained)
    assert np.abs(loaded.frames.astype(int) - plain.frames).mean() > 0.1


def test_sampling_is_deterministic_windowed_and_leaves_the_generator_as_it_was():
    pol = _policy(steps=4, sde_window=(1, 3))
    plain = pol.gen.generate([request(seed=9)])[0].frames
    a, ra = pol.sample([request(seed=0)] * 2, [1, 2])
    b, rb = pol.sample([request(seed=0)] * 2, [1, 2])
    assert [s.index for s in ra[0].call.steps] == [1, 2]
    assert torch.equal(pol.sampled_logprob(ra), pol.sampled_logprob(rb))
    np.testing.assert_array_equal(a[1].frames, b[1].frames)
    assert np.abs(a[0].frames.astype(int) - a[1].frames).mean() > 0.1  # seeds differ
    assert "step" not in vars(pol.pipe.scheduler)
    np.testing.assert_array_equal(pol.gen.generate([request(seed=9)])[0].frames, plain)
    with pytest.raises(ConfigError, match="sde_window"):
        _policy(steps=2, sde_window=(5, 6)).sample([request(seed=0)], [1])


@pytest.mark.parametrize("family", ["cogvideox-i2v", "svd"])
def test_non_flow_families_are_refused(family):
    with pytest.raises(ConfigError, match="not a flow-matching model"):
        FlowMatchingPolicy(dummy_generator(family))


@pytest.mark.parametrize("family", ["wan2.2-i2v-a14b", "wan2.2-ti2v-5b", "ltx-video-i2v", "hunyuanvideo-i2v"])
def test_other_flow_families_ratio_one_and_gradient(family):
    pol = _policy(family)
    recs = pol.sample([request(seed=0)] * 2, [1, 2])[1]
    lp = pol.logprob(recs)
    assert torch.equal(lp, pol.sampled_logprob(recs)) and torch.equal(lp, pol.reference_logprob(recs))
    lp.mean().backward()
    grads = [p.grad for p in pol.parameters()]
    assert all(g is not None for g in grads) and sum(float(g.abs().sum()) for g in grads) > 0
    if family == "wan2.2-i2v-a14b":  # both experts train
        assert {k.split(".")[0] for k in pol.trainable_state()} == {"transformer", "transformer_2"}


def test_gradient_checkpointing_and_accelerate_give_the_same_update(tmp_path):
    from spiral.rl.flow_grpo import make_accelerator

    results = []
    for ckpt, acc in ((False, None), (True, make_accelerator(cpu=True))):
        pol = FlowMatchingPolicy(dummy_generator("wan2.1-i2v", steps=3),
                                 FlowGRPOConfig(gradient_checkpointing=ckpt), accelerator=acc)
        assert pol.modules["transformer"].gradient_checkpointing is ckpt
        torch.manual_seed(0)
        tr = GRPOTrainer(pol, brightness, [request(seed=0)], GRPOConfig(group_size=4, steps=1, lr=1e-2,
                                                                        tensorboard=False), accelerator=acc)
        tr.step()
        results.append({k: v.detach().clone() for k, v in pol.trainable_state().items()})
    for k in results[0]:
        torch.testing.assert_close(results[0][k], results[1][k], rtol=1e-5, atol=1e-6)


def test_train_lora_writes_metrics_checkpoint_and_a_loadable_lora(tmp_path):
    from spiral.rl.flow_grpo import train_lora

    gen = dummy_generator("wan2.1-i2v", steps=2)
    path = train_lora(gen, [request(seed=0)], brightness, tmp_path, GRPOConfig(group_size=2, steps=1, lr=1e-2,
                                                                               tensorboard=False))
    assert path.exists() and (tmp_path / "metrics.csv").exists() and (tmp_path / "latest.json").exists()
    lines = (tmp_path / "metrics.csv").read_text().splitlines()
    assert len(lines) == 2 and lines[0].startswith("step,reward_mean")


def test_lora_trains_in_fp32_on_a_bf16_model_and_the_ratio_stays_one():
    gen = dummy_generator("wan2.1-i2v", steps=2, dtype="bf16")
    gen.pipeline.transformer.to(torch.bfloat16)
    pol = FlowMatchingPolicy(gen)
    assert all(p.dtype == torch.float32 for p in pol.parameters())
    recs = pol.sample([request(seed=0)] * 2, [1, 2])[1]
    assert torch.equal(pol.logprob(recs), pol.sampled_logprob(recs))


def test_sequential_offload_is_refused():
    with pytest.raises(ConfigError, match="offload"):
        FlowMatchingPolicy(dummy_generator("wan2.1-i2v", offload="sequential"))
