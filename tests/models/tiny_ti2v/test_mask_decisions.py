"""Sampled layer extents (``generate_clips(mask_decisions=True)``): which colour components a
layer carries is a Bernoulli per component with an exact log-probability; off, the sampler
is unchanged byte for byte."""

import hashlib
import math

import numpy as np
import pytest
import torch

from spiral.models.tiny_ti2v.sampling import (
    component_logit,
    components_logprob,
    generate_clips,
    prune_mask,
    sample_components,
)


@pytest.fixture(scope="module")
def gen():
    from spiral.generators.tiny_ti2v import TinyTI2VGenerator

    return TinyTI2VGenerator()


@pytest.fixture(scope="module")
def batch():
    from spiral.rl.tiny_policy import world_requests

    reqs = world_requests(6, seed=3)
    return np.stack([r.cond_frame for r in reqs]), [r.prompt for r in reqs]


# sha256 of the clips of world_requests(6, seed=3), seeds 5..10, by the sampler before the mask
# decisions existed (commit 5699730), at explore 0 and 1
BEFORE = {0.0: "e7f70f454a1e06cf395a849d1d3308cedde12e2641bed6de28cad43ac2ad9104",
          1.0: "7ac8a0107c36812768ab4ff8ff58f6d48911e530471f0073b0b6ac953d8e96ff"}


@pytest.mark.parametrize("explore", [0.0, 1.0])
def test_off_the_sampler_is_byte_identical_to_before(gen, batch, explore):
    frames, prompts = batch
    for kw in ({}, {"mask_decisions": False}):
        res = generate_clips(gen.model, gen.tok, frames, prompts, [5, 6, 7, 8, 9, 10],
                             hints=[{"explore": explore}] * 6, **kw)
        assert "masks" not in res[0]
        assert hashlib.sha256(b"".join(r["frames"].tobytes() for r in res)).hexdigest() == BEFORE[explore]


def _parts():
    """Three components on a 16×16 frame: 1 (the subject), 2 and 3 (neighbours)."""
    parts = np.zeros((16, 16), np.int32)
    parts[2:8, 2:8] = 1
    parts[2:6, 10:14] = 2
    parts[10:14, 2:6] = 3
    return parts


def test_a_component_is_carried_with_the_probability_of_its_mean_logit():
    parts = _parts()
    logits = torch.full((16, 16), -8.0)
    logits[parts == 1] = 9.0
    logits[parts == 2] = 0.0  # exactly at the threshold's logit: p = 1/2
    logits[parts == 3] = -3.0
    logits[10:11, 2:6] = 3.0  # a quarter of component 3 in the mask: mean logit −1.5 → p = sigmoid(−1)
    mask = torch.sigmoid(logits).numpy() > 0.5
    mask[2:6, 10:12] = True  # the mask touches component 2
    kept = []
    for seed in range(400):
        out, dec = sample_components(mask, logits, parts, 0.5, 1.5, torch.Generator().manual_seed(seed))
        assert [d["keep"] for d in dec] == [bool((out & (parts == c)).any()) for c in (2, 3)]
        assert (out & (parts == 1)).sum() == 36  # the subject (most of the mask) is no decision: kept
        kept.append([d["keep"] for d in dec])
        lp = components_logprob(logits, {"threshold": 0.5, "tau": 1.5, "comps": dec})
        p3 = 1 / (1 + math.exp(1.0))
        want = math.log(0.5) + math.log(p3 if dec[1]["keep"] else 1 - p3)
        assert torch.isclose(lp, torch.tensor(want, dtype=torch.float64))
    share = np.mean(kept, axis=0)
    assert abs(share[0] - 0.5) < 0.08 and abs(share[1] - 1 / (1 + math.e)) < 0.08
    # same seed, same decisions
    a = sample_components(mask, logits, parts, 0.5, 1.5, torch.Generator().manual_seed(3))
    b = sample_components(mask, logits, parts, 0.5, 1.5, torch.Generator().manual_seed(3))
    assert np.array_equal(a[0], b[0]) and [d["keep"] for d in a[1]] == [d["keep"] for d in b[1]]


def test_the_mode_is_the_clean_up_rule_when_the_network_is_confident():
    parts = _parts()
    logits = torch.full((16, 16), -8.0)
    logits[parts == 1] = 9.0
    logits[parts == 2] = 7.0  # carried (a cube on the subject)
    logits[10:11, 2:6] = 6.0  # a quarter of component 3: not carried
    mask = torch.sigmoid(logits).numpy() > 0.5
    cold = sample_components(mask, logits, parts, 0.5, 1e-3, torch.Generator().manual_seed(0))[0]
    assert np.array_equal(cold, prune_mask(mask, parts, 0.65))
    # the logit moves with every pixel of the component (a gradient for all of them)
    z = logits.clone().requires_grad_(True)
    component_logit(z, torch.from_numpy(np.flatnonzero(parts.ravel() == 3)), 0.5, 1.5).backward()
    assert torch.all(z.grad[parts == 3] > 0) and torch.all(z.grad[parts != 3] == 0)


def test_on_the_decisions_are_recorded_and_deterministic_under_a_seed(gen, batch):
    from spiral.rl.tiny_policy import world_requests

    reqs = world_requests(12, seed=3)[4:12]  # request 4 of this pool touches two components
    frames = np.stack([r.cond_frame for r in reqs])
    prompts = [r.prompt for r in reqs]
    runs = [generate_clips(gen.model, gen.tok, frames, prompts, list(range(8)), hints=[{"explore": 1.0}] * 8,
                           mask_decisions=True) for _ in range(2)]
    assert any(layer["comps"] for r in runs[0] for layer in r["masks"])
    for a, b in zip(*runs):
        assert a["frames"].tobytes() == b["frames"].tobytes()
        assert [[d["keep"] for d in la["comps"]] for la in a["masks"]] == \
               [[d["keep"] for d in lb["comps"]] for lb in b["masks"]]
