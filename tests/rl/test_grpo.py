"""grpo.py: advantages, clipped loss, k3 KL, and the trainer (determinism, resume, logs) on a toy policy."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from spiral.errors import ConfigError
from spiral.rl.grpo import EMA, GRPOConfig, GRPOTrainer, clipped_policy_loss, group_advantages, kl_k3
from spiral.rl.testing import ToyPolicy, toy_requests, toy_reward

TIME_COLS = ("sample_s", "reward_s", "update_s")


def test_group_advantages_mean_std_flat_groups_and_none():
    adv, mask, st = group_advantages([1.0, 0.0, 1.0, 0.0, 0.5, 0.5, 0.5, 0.5], 4)
    assert adv[:4] == pytest.approx([1, -1, 1, -1]) and list(adv[4:]) == [0, 0, 0, 0]
    assert (st.groups, st.mixed, st.flat, st.mixed_share) == (2, 1, 1, 0.5)
    adv, mask, st = group_advantages([1.0, None, 0.0, 0.0], 4)
    assert list(mask) == [True, False, True, True] and adv[1] == 0.0
    assert adv[0] == pytest.approx((1 - 1 / 3) / np.std([1, 0, 0]))
    adv, _, st = group_advantages([1.0, None, None, None], 4)  # one valid reward: no signal
    assert st.flat == 1 and not adv.any()
    adv, _, _ = group_advantages([0.0, 1e-9, 0.0, 0.0], 4, std_floor=1e-3)  # floor keeps it small
    assert abs(adv).max() < 1e-5
    adv, _, _ = group_advantages([10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], 8, clip=2.0)
    assert adv.max() == 2.0
    with pytest.raises(ValueError, match="whole groups"):
        group_advantages([1.0, 0.0, 1.0], 2)


def test_clipped_loss_and_kl():
    lp = torch.tensor([[0.0, -1.0], [-2.0, -0.5]], requires_grad=True)
    loss, st = clipped_policy_loss(lp, lp.detach(), torch.tensor([1.0, -1.0]), 0.2)
    assert st["ratio_max_dev"] == 0.0 and st["clip_frac"] == 0.0
    assert float(loss.detach()) == pytest.approx(0.0)  # -mean(adv * 1)
    # a ratio beyond 1+ε with a positive advantage is clipped: no gradient
    new = torch.tensor([[math.log(1.5)]], requires_grad=True)
    loss, st = clipped_policy_loss(new, torch.zeros(1, 1), torch.tensor([1.0]), 0.2)
    loss.backward()
    assert st["clip_frac"] == 1.0 and float(new.grad) == 0.0 and float(loss.detach()) == pytest.approx(-1.2)
    assert float(kl_k3(lp.detach(), lp.detach())) == 0.0
    q = torch.tensor([0.3, -0.7])
    assert float(kl_k3(torch.zeros(2), q)) == pytest.approx(float((q.exp() - q - 1).mean()))
    assert float(kl_k3(torch.zeros(2), q, torch.tensor([True, False]))) == pytest.approx(float(q[0].exp() - q[0] - 1))


def test_ema_moves_toward_current():
    w = {"a": torch.zeros(2)}
    ema = EMA(w, 0.9)
    ema.update({"a": torch.ones(2)})
    assert ema.shadow["a"].tolist() == pytest.approx([0.1, 0.1])


def _trainer(tmp=None, **kw):
    cfg = GRPOConfig(**{"group_size": 8, "requests_per_step": 2, "steps": 6, "lr": 0.1, "kl_beta": 0.01,
                        "checkpoint_every": 2, "tensorboard": False, **kw})
    return GRPOTrainer(ToyPolicy(), toy_reward, toy_requests(3), cfg, out_dir=tmp)


def test_trainer_ratio_is_one_before_update_and_reward_rises():
    tr = _trainer(steps=40, train_step_fraction=0.5)
    rows = tr.train()
    assert rows[0]["ratio_max_dev"] == 0.0 and rows[0]["kl"] == 0.0
    first = np.mean([r["reward_mean"] for r in rows[:5]])
    last = np.mean([r["reward_mean"] for r in rows[-5:]])
    assert last > first + 0.2, (first, last)
    assert all(0.0 <= r["mixed_share"] <= 1.0 for r in rows)


def test_trainer_is_deterministic_and_resumes_after_a_kill(tmp_path):
    straight = _trainer(tmp_path / "a", ema_decay=0.5)
    straight.train()
    killed = _trainer(tmp_path / "b", ema_decay=0.5)
    killed.train(steps=3)  # checkpoints at step 2; step 3 is lost with the "kill"
    assert json.loads((tmp_path / "b" / "latest.json").read_text())["step"] == 2
    resumed = _trainer(tmp_path / "b", ema_decay=0.5)
    assert resumed.step_done == 2
    resumed.train()
    assert torch.equal(straight.policy.logits, resumed.policy.logits)
    assert torch.equal(straight.ema.shadow["logits"], resumed.ema.shadow["logits"])

    def rows(d):
        return [{k: v for k, v in r.items() if k not in TIME_COLS} for r in straight.log.__class__(d, False).rows()]

    assert rows(tmp_path / "a") == rows(tmp_path / "b") and len(rows(tmp_path / "a")) == 6
    # a kill in the middle of a log row: the cut row goes with the rows after the checkpoint
    with (tmp_path / "b" / "metrics.csv").open("a") as f:
        f.write("1")  # the start of a row whose step has two digits, cut: it reads as step 1
    again = _trainer(tmp_path / "b", ema_decay=0.5)
    assert again.step_done == 6 and len(again.log.rows()) == 6
    ckpts = sorted(p.name for p in (tmp_path / "a" / "checkpoints").iterdir())
    assert ckpts == ["ckpt-000004", "ckpt-000006"]  # keep_checkpoints=2, no temporary left
    with pytest.raises(ConfigError, match="another config"):
        _trainer(tmp_path / "a", lr=0.5)


def test_no_signal_no_update_and_none_rewards():
    tr = _trainer(steps=1)
    tr.requests = [r.model_copy(update={"context": {}}) for r in toy_requests(3)]  # every reward None
    before = tr.policy.logits.detach().clone()
    row = tr.step().row
    assert row["rewards_valid"] == 0 and row["flat_groups"] == 2 and torch.equal(before, tr.policy.logits)


def test_policy_protocol_is_checked():
    with pytest.raises(TypeError, match="not a spiral.rl.grpo.Policy"):
        GRPOTrainer(object(), toy_reward, toy_requests(1))


def test_rl_modules_import_no_torch():
    import subprocess
    import sys

    code = ("import spiral.rl.rewards, spiral.rl.grpo, spiral.rl.flow_grpo, spiral.rl.testing, sys\n"
            "import spiral.rl.validation, spiral.rl.curriculum, spiral.rl.curves\n"
            "print(','.join(m for m in ('torch', 'diffusers', 'peft', 'accelerate') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


class FakeAccelerator:
    """Process 1 of 2, as accelerate would present it (collectives faked in-process)."""

    num_processes, process_index, is_main_process = 2, 1, False

    def __init__(self):
        self.backwards = 0

    def prepare_optimizer(self, opt):
        return opt

    def backward(self, loss):
        self.backwards += 1
        loss.backward()

    def gather_object(self, obj):
        return obj + obj


def _recording(sample, seen):
    def wrapped(reqs, s):
        seen.extend(s)
        return sample(reqs, s)
    return wrapped


def test_distributed_processes_draw_their_own_rollouts_and_always_join_the_update(tmp_path):
    single = _trainer(steps=1)
    acc = FakeAccelerator()
    other = GRPOTrainer(ToyPolicy(), toy_reward, toy_requests(3), single.cfg, accelerator=acc, out_dir=tmp_path)
    seeds = {}
    for name, tr in (("single", single), ("rank1", other)):
        tr.policy.sample = _recording(tr.policy.sample, seeds.setdefault(name, []))
    single.step()
    other.requests = [r.model_copy(update={"context": {}}) for r in toy_requests(3)]  # no signal on this process
    row = other.step().row
    assert set(seeds["single"]).isdisjoint(seeds["rank1"])
    assert acc.backwards > 0  # it still takes part in the (collective) backward
    assert row["groups"] == 4  # logged statistics cover both processes' groups
    assert not (tmp_path / "metrics.csv").exists() and not (tmp_path / "latest.json").exists()  # main process writes


# -- validation, the divergence stop, the best weights ------------------------------------------
def _rising_reward(box):
    """Mixed groups whose mean rises every update (a stand-in for a reward being hacked)."""

    def reward(clips, requests, **info):
        step = box["tr"].step_done + 1  # the update being made
        return [0.01 * step + 0.1 * (i % 2) for i in range(len(clips))]

    return reward


def _val_trainer(tmp, table, seen=None, **kw):
    cfg = GRPOConfig(**{"group_size": 4, "requests_per_step": 1, "steps": 10, "lr": 0.1, "checkpoint_every": 2,
                        "tensorboard": False, "validate_every": 1, "divergence_patience": 3, **kw})
    box = {}

    def validate():  # a function of the weights' step, as a real validation is of the weights
        step = box["tr"].step_done
        if seen is not None:
            seen[step] = box["tr"].policy.logits.detach().clone()
        return {"strict": table[step], "lenient": table[step], "by_category": {"x": table[step]}}

    box["tr"] = GRPOTrainer(ToyPolicy(), _rising_reward(box), toy_requests(3), cfg, out_dir=tmp, validate=validate)
    return box["tr"]


TABLE = [0.5, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.1, 0.1, 0.1]


def test_divergence_stops_training_and_keeps_the_best_weights(tmp_path):
    from safetensors.torch import load_file

    seen = {}
    tr = _val_trainer(tmp_path, TABLE, seen)
    tr.train()
    # reward up, strict down at steps 2, 3, 4: three in a row
    assert tr.step_done == 4 and tr.stopped and "reward hacking" in tr.stopped and "step 1" in tr.stopped
    assert tr.best == {"step": 1, "strict": 0.7, "lenient": 0.7}
    best = load_file(str(tmp_path / "best" / "trainable.safetensors"))["logits"]
    assert torch.equal(best, seen[1]) and not torch.equal(best, tr.policy.logits.detach())
    assert json.loads((tmp_path / "best" / "best.json").read_text())["step"] == 1
    rows = tr.log.validation_rows()
    assert [int(r["step"]) for r in rows] == [0, 1, 2, 3, 4]
    assert rows[0]["train_reward"] == "nan" and float(rows[2]["gap"]) == pytest.approx(
        float(rows[2]["train_reward"]) - 0.6)
    # a resume stays stopped
    again = _val_trainer(tmp_path, TABLE)
    assert again.stopped == tr.stopped and again.train() == [] and again.step_done == 4


def test_no_divergence_when_validation_holds(tmp_path):
    tr = _val_trainer(tmp_path, [0.5, 0.6, 0.6, 0.7, 0.6, 0.6, 0.8, 0.7, 0.7, 0.9, 0.9])
    tr.train()
    assert tr.stopped is None and tr.step_done == 10 and tr.best["step"] == 9


def test_validation_resumes_to_the_same_stop(tmp_path):
    straight = _val_trainer(tmp_path / "a", TABLE)
    straight.train()
    killed = _val_trainer(tmp_path / "b", TABLE)
    killed.train(steps=3)  # checkpoint at 2; the validation row of step 3 goes with the kill
    resumed = _val_trainer(tmp_path / "b", TABLE)
    assert resumed.step_done == 2 and [int(r["step"]) for r in resumed.log.validation_rows()] == [0, 1, 2]
    assert resumed.divergence.streak == 1 and resumed.best["step"] == 1
    resumed.train()
    assert resumed.stopped == straight.stopped.replace(str(tmp_path / "a"), str(tmp_path / "b"))
    assert resumed.step_done == 4

    def val(d):
        return [{k: v for k, v in r.items() if k != "val_s"} for r in straight.log.__class__(d, False).validation_rows()]

    assert val(tmp_path / "a") == val(tmp_path / "b")


def test_validate_every_needs_a_validator():
    with pytest.raises(ConfigError, match="no validator"):
        GRPOTrainer(ToyPolicy(), toy_reward, toy_requests(3), GRPOConfig(validate_every=5))


def test_tensorboard_events_and_curves_png(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tr = _val_trainer(tmp_path, [0.5] * 11, steps=3, tensorboard=True, validate_every=2)
    tr.train()
    ea = EventAccumulator(str(tmp_path / "tb"))
    ea.Reload()
    tags = set(ea.Tags()["scalars"])
    assert {"grpo/reward_mean", "grpo/kl", "val/val_strict", "val/gap", "val_category/x"} <= tags
    assert [e.step for e in ea.Scalars("val/val_strict")] == [0, 2, 3]
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


class StagedRequests:
    """A two-stage curriculum (the spiral.rl.grpo.Curriculum protocol) promoted at the validation of step 2."""

    def __init__(self):
        self.index = 0
        self.heard = []

    @property
    def stage(self):
        return ("easy", "hard")[self.index]

    def __call__(self, step, rng):
        return toy_requests(3)[:1]

    def on_validation(self, step, result):
        self.heard.append(step)
        if self.index == 0 and step == 2:
            self.index = 1
            return "promoted"
        return None

    def state_dict(self):
        return {"index": self.index}

    def load_state_dict(self, state):
        self.index = state["index"]


def test_curriculum_hears_validation_promotion_resets_divergence_and_is_checkpointed(tmp_path):
    def build():
        box = {}
        cfg = GRPOConfig(group_size=4, steps=6, lr=0.1, checkpoint_every=1, tensorboard=False, validate_every=1,
                         divergence_patience=2)
        table = [0.5, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1]  # falls from step 2 on

        def validate():
            return {"strict": table[box["tr"].step_done], "lenient": 0.0}

        box["tr"] = GRPOTrainer(ToyPolicy(), _rising_reward(box), StagedRequests(), cfg, out_dir=tmp_path,
                                validate=validate)
        return box["tr"]

    tr = build()
    assert tr.curriculum is tr.requests
    tr.train()
    # without the restart at the promotion (step 2) the fall would have stopped it at step 3
    assert tr.requests.heard == [0, 1, 2, 3, 4] and tr.stopped and "step 5" in tr.stopped
    assert [r["stage"] for r in tr.log.validation_rows()] == ["easy", "easy", "easy", "hard", "hard", "hard"]
    state = json.loads((tmp_path / "checkpoints" / "ckpt-000005" / "state.json").read_text())
    assert state["curriculum"] == {"index": 1}
    assert build().curriculum.index == 1
