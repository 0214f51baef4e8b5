"""GRPO rollouts on an executor (spiral.rl.rollouts): the same rollouts as the policy's own
for the same seeds, the ratio exactly 1 before the first update, training through it."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from spiral.exec import LocalExecutor
from spiral.rl import rollouts
from spiral.rl.grpo import GRPOConfig, GRPOTrainer, Policy
from spiral.rl.rollouts import ExecutorSampler
from spiral.rl.testing import ToyPolicy, toy_requests, toy_reward
from spiral.rl.tiny_policy import TinyTI2VPolicy, world_requests

TOY = functools.partial(ToyPolicy, choices=5, decisions=3, seed=0)
TINY = functools.partial(TinyTI2VPolicy, explore=1.0, trainable="heads")


def _same_rollouts(a, b) -> None:
    (clips_a, recs_a), (clips_b, recs_b) = a, b
    assert len(clips_a) == len(clips_b)
    for x, y in zip(clips_a, clips_b):
        assert x.frames.tobytes() == y.frames.tobytes() and x.meta == y.meta
    for x, y in zip(recs_a, recs_b):
        for k, v in vars(x).items():
            if k in ("old", "logprob"):  # scored again on the driver (compared by the caller)
                continue
            w = vars(y)[k]
            assert (np.array_equal(v, w) if isinstance(v, np.ndarray) else v == w), k


def _train_two_steps(policy, tmp_path, name):
    cfg = GRPOConfig(group_size=4, requests_per_step=2, steps=2, lr=0.05, seed=3, tensorboard=False)
    reqs = toy_requests(4, targets=(1, 3))
    rows = GRPOTrainer(policy, toy_reward, reqs, cfg, out_dir=tmp_path / name).train()
    return rows, {k: v.detach().clone() for k, v in policy.trainable_state().items()}


def test_local_processes_sample_what_the_policy_samples_and_train_the_same(tmp_path):
    reqs, seeds = toy_requests(6, targets=(1,)), list(range(100, 106))
    with LocalExecutor(2) as ex:
        sampler = ExecutorSampler(TOY(), ex, TOY)
        assert isinstance(sampler, Policy)
        got = sampler.sample(reqs, seeds)
        own = TOY().sample(reqs, seeds)
        _same_rollouts(got, own)
        assert torch.equal(sampler.sampled_logprob(got[1]), sampler.logprob(got[1]).detach())  # ratio 1
        assert torch.equal(sampler.sampled_logprob(got[1], [2]), sampler.logprob(got[1], [2]).detach())
        assert not rollouts._copy  # sampled in the workers, not here
        rows_ex, w_ex = _train_two_steps(ExecutorSampler(TOY(), ex, TOY), tmp_path, "ex")
    rows_own, w_own = _train_two_steps(TOY(), tmp_path, "own")
    strip = ("sample_s", "reward_s", "update_s")
    assert [{k: v for k, v in r.items() if k not in strip} for r in rows_ex] == \
        [{k: v for k, v in r.items() if k not in strip} for r in rows_own]
    assert all(torch.equal(w_ex[k], w_own[k]) for k in w_own)  # the workers saw each step's weights
    assert rows_ex[0]["ratio_max_dev"] == 0.0


def test_workers_sample_under_the_current_weights():
    reqs, seeds = toy_requests(4, targets=(2,)), [7, 8, 9, 10]
    driver = TOY()
    with torch.no_grad():
        driver.logits[:, 4] += 50.0  # the driver's weights changed: every decision is 4
    with LocalExecutor(2) as ex:
        sampler = ExecutorSampler(driver, ex, TOY)
        _, recs = sampler.sample(reqs, seeds)
        assert all(r.choices == [4, 4, 4] for r in recs)
        sampler.sample(reqs, seeds)
        assert sampler._version == 1  # unchanged weights are not sent again
        with torch.no_grad():
            driver.logits[:, 0] += 100.0  # changed between two batches: every decision is now 0
        _, recs = sampler.sample(reqs, seeds)
        assert sampler._version == 2 and all(r.choices == [0, 0, 0] for r in recs)


def test_one_local_worker_is_the_policy_itself():
    reqs, seeds = world_requests(3, seed=4), [1, 2, 3]
    pol = TINY()
    sampler = ExecutorSampler(pol, LocalExecutor(1), TINY)
    clips, recs = sampler.sample(reqs, seeds)
    _same_rollouts((clips, recs), pol.sample(reqs, seeds))
    assert torch.equal(sampler.sampled_logprob(recs), pol.sampled_logprob(recs))


def test_tiny_policy_rollouts_in_processes_equal_its_own():
    reqs = world_requests(4, seed=5)
    reqs, seeds = [r for r in reqs for _ in range(2)], list(range(20, 28))
    pol = TINY()
    with LocalExecutor(2) as ex:
        sampler = ExecutorSampler(pol, ex, TINY)
        got = sampler.sample(reqs, seeds)
    own = pol.sample(reqs, seeds)
    _same_rollouts(got, own)
    assert torch.equal(sampler.sampled_logprob(got[1]), pol.sampled_logprob(own[1]))  # scored as the policy does
    assert torch.equal(sampler.logprob(got[1]).detach(), sampler.sampled_logprob(got[1]))  # ratio exactly 1


# -- on a local Ray instance ------------------------------------------------------------------
@pytest.fixture(scope="module")
def local_ray(tmp_path_factory):
    pytest.importorskip("ray")
    from tests.ray_local import local_ray_instance

    with local_ray_instance(tmp_path_factory.mktemp("ray")) as ray:
        yield ray


@pytest.mark.slow
def test_ray_rollouts_equal_local_ones_and_train(local_ray, tmp_path):
    from spiral.exec.ray_executor import RayExecutor

    reqs = world_requests(3, seed=6)
    reqs, seeds = [r for r in reqs for _ in range(2)], list(range(40, 46))
    pol = TINY()
    with RayExecutor(max_in_flight=2) as ex:
        sampler = ExecutorSampler(pol, ex, TINY)
        got = sampler.sample(reqs, seeds)
        with LocalExecutor(2) as lx:
            local = ExecutorSampler(pol, lx, TINY).sample(reqs, seeds)
        _same_rollouts(got, local)
        _same_rollouts(got, pol.sample(reqs, seeds))
        assert torch.equal(sampler.logprob(got[1]).detach(), sampler.sampled_logprob(got[1]))
        rows_ray, w_ray = _train_two_steps(ExecutorSampler(TOY(), ex, TOY), tmp_path, "ray")
    rows_own, w_own = _train_two_steps(TOY(), tmp_path, "own")
    assert [r["reward_mean"] for r in rows_ray] == [r["reward_mean"] for r in rows_own]
    assert all(torch.equal(w_ray[k], w_own[k]) for k in w_own)


# -- spiral train grpo --executor ----------------------------------------------------------------
def _grpo_cli(out, *extra):
    from typer.testing import CliRunner

    from spiral.cli.main import app

    r = CliRunner().invoke(app, ["train", "grpo", "--out", str(out), "--steps", "2", "--group", "2",
                                 "--requests-per-step", "2", "--pool", "8", "--threads", "1", *extra])
    assert r.exit_code == 0, r.output
    import csv

    with (out / "metrics.csv").open() as f:
        return [{k: v for k, v in row.items() if not k.endswith("_s")} for row in csv.DictReader(f)]


def test_cli_rollouts_in_processes_train_as_in_this_one(tmp_path):
    here = _grpo_cli(tmp_path / "here")
    assert _grpo_cli(tmp_path / "pool", "--executor", "local", "--workers", "2") == here
    assert len(here) == 2


def test_cli_ray_address_needs_the_ray_executor(tmp_path):
    from typer.testing import CliRunner

    from spiral.cli.main import app

    r = CliRunner().invoke(app, ["train", "grpo", "--out", str(tmp_path / "a"), "--ray-address", "auto"])
    assert r.exit_code == 2 and "--ray-address is an option of the ray executor" in r.output


@pytest.mark.slow
def test_cli_rollouts_on_ray_train_as_in_this_process(local_ray, tmp_path):
    assert _grpo_cli(tmp_path / "ray", "--executor", "ray", "--workers", "2") == _grpo_cli(tmp_path / "here")
