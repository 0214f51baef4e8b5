"""GRPO on the built-in model: tiny-ti2v as a policy (spiral.rl.tiny_policy)."""

import numpy as np
import pytest
import torch

from spiral.agents.perception_critic import PerceptionCritic
from spiral.rl.grpo import GRPOConfig, GRPOTrainer, Policy, clipped_policy_loss
from spiral.rl.rewards import make_reward
from spiral.rl.tiny_policy import TinyTI2VPolicy, world_requests


@pytest.fixture(scope="module")
def policy():
    return TinyTI2VPolicy(explore=1.0)


def test_requests_come_from_the_world_generators():
    reqs = world_requests(6, seed=0)
    assert len(reqs) == 6 and all(r.action is not None and r.cond_frame.shape == (64, 64, 3) for r in reqs)
    assert [r.prompt for r in reqs] == [r.prompt for r in world_requests(6, seed=0)]  # deterministic
    assert any(r.action.kind == "pick_place" and not r.action.params.get("region") for r in world_requests(30))


def test_the_ratio_is_exactly_one_before_the_first_update_and_the_loss_is_finite(policy):
    assert isinstance(policy, Policy)
    reqs = world_requests(4, seed=1)
    clips, recs = policy.sample(reqs, [11, 12, 13, 14])
    assert all(c.frames.shape == (12, 64, 64, 3) for c in clips)
    logp = policy.logprob(recs)
    old = policy.sampled_logprob(recs)
    assert logp.requires_grad and torch.equal(logp.detach(), old)
    assert torch.equal(policy.reference_logprob(recs), old)  # the reference starts as the policy
    loss, st = clipped_policy_loss(logp, old, torch.tensor([1.0, -1.0, 0.5, -0.5]), 0.2)
    assert torch.isfinite(loss) and st["ratio_max_dev"] == 0.0
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in policy.parameters())
    # the same seeds give the same rollouts
    again, _ = policy.sample(reqs, [11, 12, 13, 14])
    assert all(np.array_equal(a.frames, b.frames) for a, b in zip(clips, again))


def test_a_grpo_step_from_critic_rewards_changes_the_weights(tmp_path):
    pol = TinyTI2VPolicy(explore=2.0, trainable="heads")
    before = {k: v.clone() for k, v in pol.trainable_state().items()}
    reward = make_reward(PerceptionCritic())
    cfg = GRPOConfig(group_size=4, requests_per_step=3, steps=1, lr=1e-3, seed=0, tensorboard=False)
    tr = GRPOTrainer(pol, reward, world_requests(12, seed=2), cfg, out_dir=tmp_path)
    row = tr.train()[0]
    assert np.isfinite(row["reward_mean"])
    after = pol.trainable_state()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    if row["mixed_share"] > 0:
        assert changed and all(k.startswith(("head", "dec")) for k in changed)  # only the trained part
    else:
        assert not changed  # no group with signal: nothing to learn
    assert (tmp_path / "metrics.csv").exists() and (tmp_path / "latest.json").exists()


def test_spiral_train_grpo_writes_weights_the_generator_loads(tmp_path):
    from typer.testing import CliRunner

    from spiral.cli.main import app
    from spiral.generators.tiny_ti2v import TinyTI2VGenerator

    out = tmp_path / "g"
    r = CliRunner().invoke(app, ["train", "grpo", "--out", str(out), "--steps", "2", "--group", "2",
                                 "--requests-per-step", "2", "--pool", "8", "--threads", "1", "--validate-every", "0"])
    assert r.exit_code == 0, r.output
    assert (out / "metrics.csv").read_text().count("\n") == 3  # header + 2 updates
    gen = TinyTI2VGenerator(config=TinyTI2VGenerator.Config(weights=str(out / "final")))
    assert gen.model.config.image_size == 64
    bad = CliRunner().invoke(app, ["train", "grpo", "--out", str(out), "--trainable", "some"])
    assert bad.exit_code == 2 and "heads or all" in bad.output
    bad = CliRunner().invoke(app, ["train", "grpo", "--out", str(tmp_path / "h"), "--curriculum",
                                   "--validate-every", "0"])
    assert bad.exit_code == 2 and "promoted by validation" in bad.output
    bad = CliRunner().invoke(app, ["train", "grpo", "--out", str(tmp_path / "i"), "--curriculum", "--workers", "2"])
    assert bad.exit_code == 2 and "samples its rollouts in this process" in bad.output


@pytest.mark.slow
def test_spiral_train_grpo_curriculum_validates_keeps_best_and_draws_curves(tmp_path):
    from typer.testing import CliRunner

    from spiral.cli.main import app
    from spiral.generators.tiny_ti2v import TinyTI2VGenerator

    cur = tmp_path / "c.yaml"
    cur.write_text("stages:\n  - {name: a, kind: atomic, pool: 6, promote_at: 0.0, min_steps: 1}\n"
                   "  - {name: b, kind: chain, pool: 1, goal_steps: [2, 2], scenes: lite}\n")
    out = tmp_path / "g"
    args = ["train", "grpo", "--out", str(out), "--steps", "2", "--group", "2", "--requests-per-step", "1",
            "--threads", "1", "--curriculum-file", str(cur), "--validate-every", "1", "--val-hard", "0",
            "--val-lite", "2"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "validation at step 0" in r.output and "best validation" in r.output
    rows = (out / "validation.csv").read_text().splitlines()
    assert [ln.split(",")[:2] for ln in rows[1:]] == [["0", "a"], ["1", "a"], ["2", "b"]]  # promoted at step 1
    assert (out / "curriculum" / "b" / "requests.json").exists() and (out / "curves.png").exists()
    assert any((out / "tb").iterdir())
    TinyTI2VGenerator(config=TinyTI2VGenerator.Config(weights=str(out / "best")))  # loads
    again = CliRunner().invoke(app, args)  # done: resumes, nothing to do
    assert again.exit_code == 0 and "step 3" not in again.output


def test_mining_keeps_the_requests_with_mixed_rewards(policy):
    from spiral.rl.tiny_policy import mine_requests

    reqs = world_requests(6, seed=3)
    flaky = {reqs[1].prompt, reqs[4].prompt}

    def reward(clips, requests, **_):  # mixed outcomes for two of the requests only
        return [float(c.meta["seed"] % 2) if r.prompt in flaky else 1.0 for c, r in zip(clips, requests)]

    kept = mine_requests(policy, reqs, reward, k=4)
    assert {r.prompt for r in kept} == flaky


@pytest.fixture(scope="module")
def masked():
    return TinyTI2VPolicy(explore=1.0, trainable="heads", mask_decisions=True)


def test_with_mask_decisions_the_ratio_is_exactly_one_in_both_columns(masked):
    reqs = world_requests(12, seed=3)[4:12]  # some of these layers touch a second component
    clips, recs = masked.sample(reqs, list(range(8)))
    assert any(layer["comps"] for r in recs for layer in r.masks)
    logp, old = masked.logprob(recs), masked.sampled_logprob(recs)
    assert logp.shape == (8, 2) and torch.equal(logp.detach(), old)
    assert torch.equal(masked.reference_logprob(recs), old)
    assert torch.equal(masked.logprob(recs, [1]).detach(), old[:, 1:])
    assert torch.any(old[:, 1] < 0)  # the decisions have a probability below 1
    _, st = clipped_policy_loss(logp, old, torch.linspace(-1, 1, 8), 0.2)
    assert st["ratio_max_dev"] == 0.0
    # the same seeds give the same decisions and clips
    again, recs2 = masked.sample(reqs, list(range(8)))
    assert all(np.array_equal(a.frames, b.frames) for a, b in zip(clips, again))
    assert torch.equal(masked.sampled_logprob(recs2), old)


def test_the_mask_column_is_differentiable_in_the_mask_logits_head(masked):
    reqs = world_requests(12, seed=3)[4:12]
    _, recs = masked.sample(reqs, list(range(8)))
    masked.model.zero_grad()
    masked.logprob(recs, [1]).sum().backward()
    w = masked.model.head.weight.grad
    assert w is not None and w[0].abs().sum() > 0  # channel 0: mask A's logits
    assert w[2:4].abs().sum() == 0  # the heatmaps' channels play no part in this column
    masked.model.zero_grad()
