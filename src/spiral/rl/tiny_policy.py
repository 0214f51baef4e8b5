"""GRPO on the built-in world model: ``tiny-ti2v`` as a :class:`~spiral.rl.grpo.Policy`.

The model's sampled decision is where each moving layer ends: a cell drawn from the layer's
heatmap (softmax at a temperature, best of ``k`` draws, with a refinement's hints as priors),
then a Gaussian jitter inside the cell that does not depend on the weights (it cancels in
the policy ratio). :meth:`TinyTI2VPolicy.logprob` scores the recorded cells again under the
current weights with the same function the sampler used (``sampling.cell_logprob``), so the
ratio is exactly 1 before the first update. With ``mask_decisions`` the layer's extent is a
sampled decision too: which colour components of the frame each layer carries, one Bernoulli
per component its mask touches (``sampling.sample_components``), scored again the same way
(``sampling.components_logprob``) in a second column, so GRPO can credit a layer that took
part of a neighbour. Fill, scale and lift are the network's deterministic outputs: they change
with the weights but carry no log-probability.

Rollouts explore (``explore``: the same widening the loop's retries use: temperature × (1 +
explore), one draw), so a group of seeds has mixed outcomes to learn from; the shipped
sampler stays cool. Training sees scenes, goals and frames from the world's generators
(:func:`world_requests`) and the critic's rewards only, never the dataset's targets.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spiral.core.types import Clip, GenerationRequest


@dataclass
class Record:
    """What scores one rollout again: its conditioning frame, prompt, hints, temperature, best
    of ``k``, and per moving layer the head, the sampled cell and the layer's centroid."""

    frame: np.ndarray
    prompt: str
    hint: dict[str, Any]
    temperature: float
    k: int
    cells: list[dict[str, Any]]
    old: float = 0.0  # the log-prob at sampling time (filled by sample)
    masks: list[dict[str, Any]] = field(default_factory=list)  # per layer: its component decisions
    old_masks: float = 0.0  # their log-prob at sampling time


class TinyTI2VPolicy:
    """``tiny-ti2v`` for GRPO. ``trainable``: ``"all"`` the whole network, ``"heads"`` only
    the output convolution and the decoder (the text encoder and encoder stay frozen).
    ``mask_decisions``: rollouts also sample which colour components each layer carries
    (log-probabilities in a second column); off, rollouts are the deterministic sampler's."""

    def __init__(self, generator: Any = None, explore: float = 1.0, trainable: str = "all",
                 mask_decisions: bool = False):
        import torch

        from spiral.generators.tiny_ti2v import TinyTI2VGenerator

        gen = generator or TinyTI2VGenerator()
        self.model = copy.deepcopy(gen.model).train(False)  # the shipped weights stay untouched in the cache
        self.tok = gen.tok
        self.explore = explore
        self.mask_decisions = mask_decisions
        for name, p in self.model.named_parameters():
            p.requires_grad_(trainable == "all" or name.startswith(("head", "dec")))
        # the frozen reference: a copy with the same flags, never given to the optimizer, and
        # scored through the same code path (kernels differ a little when no weight needs a
        # gradient), its output detached
        self.reference = copy.deepcopy(self.model)
        self._torch = torch

    # -- sampling ---------------------------------------------------------------------------
    def sample(self, requests: Sequence[GenerationRequest], seeds: Sequence[int]) -> tuple[list[Clip], list[Record]]:
        from spiral.models.tiny_ti2v.sampling import generate_clips

        S = self.model.config.image_size
        frames = np.stack([_resize(r.cond_frame, S) for r in requests])
        hints = [{**r.hints, "explore": max(float(r.hints.get("explore", 0.0)), self.explore)} for r in requests]
        res = generate_clips(self.model, self.tok, frames, [r.prompt for r in requests], list(seeds),
                             num_frames=requests[0].num_frames, hints=hints, mask_decisions=self.mask_decisions)
        clips = [Clip(frames=r["frames"], fps=q.fps, meta={"seed": int(s), "ends": r["ends"]})
                 for r, q, s in zip(res, requests, seeds)]
        records = [Record(frame=frames[i], prompt=requests[i].prompt, hint=res[i]["hint"],
                          temperature=res[i]["temperature"], k=res[i]["steps"], cells=res[i]["cells"],
                          masks=res[i].get("masks", []))
                   for i in range(len(requests))]
        old = self.logprob(records).detach()  # the same code path as training scores it by
        for rec, row in zip(records, old.tolist()):
            rec.old = row[0]
            if self.mask_decisions:
                rec.old_masks = row[1]
        return clips, records

    # -- scoring ----------------------------------------------------------------------------
    def _score(self, model: Any, records: Sequence[Record]) -> Any:
        torch = self._torch
        from spiral.models.tiny_ti2v.sampling import cell_logprob, components_logprob, hinted_logits

        x = torch.from_numpy(np.stack([r.frame for r in records])).permute(0, 3, 1, 2).float() / 255.0
        ids = self.tok.batch([r.prompt for r in records])
        # one code path whatever autograd does: the text encoder's inference fast path computes
        # a little differently, and the ratio must be exactly 1 before the first update
        fast = torch.backends.mha.get_fastpath_enabled()
        torch.backends.mha.set_fastpath_enabled(False)
        try:
            out = model(x, ids)
        finally:
            torch.backends.mha.set_fastpath_enabled(fast)
        W = x.shape[-1]
        # every row stays in the graph (a record with no decision scores 0 with a zero gradient)
        anchor = sum(v.reshape(-1)[0] for v in out.values()).double() * 0.0
        rows = []
        for i, r in enumerate(records):
            total = anchor
            for c in r.cells:
                key, src = ("target", "subject") if c["head"] == "heat_a" else ("partner_target", "partner")
                logits = hinted_logits(out[c["head"]][i], W, tuple(c["centroid"]), r.hint, key, src)
                total = total + cell_logprob(logits, int(c["index"]), r.temperature, r.k)
            row = [total]
            if self.mask_decisions:  # column 1: which colour components the layers carry
                masks = anchor
                for layer in r.masks:
                    masks = masks + components_logprob(out[layer["head"]][i], layer)
                row.append(masks)
            rows.append(torch.stack(row))
        return torch.stack(rows).float()

    @staticmethod
    def _columns(t: Any, steps: Sequence[int] | None) -> Any:
        return t if steps is None else t[:, list(steps)]

    def logprob(self, records: Sequence[Record], steps: Sequence[int] | None = None) -> Any:
        return self._columns(self._score(self.model, records), steps)

    def sampled_logprob(self, records: Sequence[Record], steps: Sequence[int] | None = None) -> Any:
        rows = [[r.old, r.old_masks] if self.mask_decisions else [r.old] for r in records]
        return self._columns(self._torch.tensor(rows, dtype=self._torch.float32), steps)

    def reference_logprob(self, records: Sequence[Record], steps: Sequence[int] | None = None) -> Any:
        return self._columns(self._score(self.reference, records).detach(), steps)

    def parameters(self) -> Iterable[Any]:
        return [p for p in self.model.parameters() if p.requires_grad]

    def trainable_state(self) -> dict[str, Any]:
        return {k: v for k, v in self.model.state_dict().items()}

    def load_trainable_state(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state)

    def generator(self) -> Any:
        """A ``tiny-ti2v`` generator over the trained weights (for validation runs)."""
        from spiral.generators.tiny_ti2v import TinyTI2VGenerator

        return TinyTI2VGenerator(model=self.model, tokenizer=self.tok)


def _resize(frame: np.ndarray, size: int) -> np.ndarray:
    f = np.asarray(frame, np.uint8)
    if f.shape[:2] == (size, size):
        return f
    from PIL import Image

    return np.asarray(Image.fromarray(f).resize((size, size), Image.BILINEAR))


def world_requests(n: int, seed: int = 0, hard: bool = True, size: int = 64) -> list[GenerationRequest]:
    """``n`` sub-action requests from the tabletop world's own generators (no dataset, no
    targets): random scenes (``hard``: 7–8 objects, up to three bowls, stacked cubes), a
    random possible sub-action, or the clearing step a covered cube needs, rendered exactly.
    Scene seeds from 80 000 000 (no dataset split and no benchmark suite uses them)."""
    from spiral.errors import ImpossibleGoalError
    from spiral.worlds.tabletop.actions import make_action
    from spiral.worlds.tabletop.render import render_scene
    from spiral.worlds.tabletop.sampling import sample_action
    from spiral.worlds.tabletop.scene import SceneSpec, random_scene

    spec = SceneSpec(7, 8, max_bowls=3, p_stacked=0.35, p_in_bowl=0.15) if hard else SceneSpec(3, 6)
    out, k = [], 0
    while len(out) < n:
        s = 80_000_000 + seed * 1_000_000 + k
        k += 1
        try:
            scene = random_scene(s, spec)
        except ValueError:
            continue
        rng = random.Random(s)
        act = None
        tops = [o for o in scene.objects if o.on is not None and scene.above(o.id) is None]
        if tops and rng.random() < 0.3:  # a clearing step: what a covered subject needs first
            try:
                act = make_action(scene, "pick_place", rng.choice(tops).id)
            except ImpossibleGoalError:
                act = None
        act = act or sample_action(scene, rng)
        if act is None:
            continue
        out.append(GenerationRequest(prompt=act.prompt, cond_frame=render_scene(scene, size), action=act,
                                     height=size, width=size, num_frames=12, seed=s))
    return out


def mine_requests(policy: TinyTI2VPolicy, requests: Sequence[GenerationRequest], reward: Any, k: int = 4,
                  seed: int = 0) -> list[GenerationRequest]:
    """The requests worth training on: each is sampled ``k`` times (seeded) and kept when its
    rewards differ (a group with mixed outcomes, what GRPO learns from) or fall short of the
    best. A first curriculum step: the world generates mostly easy requests, whose groups
    all succeed and teach nothing."""
    keep = []
    for i, r in enumerate(requests):
        seeds = [int(seed * 1_000_003 + i * 97 + j) for j in range(k)]
        clips, _ = policy.sample([r] * k, seeds)
        vals = [v for v in reward(clips, [r] * k) if v is not None]
        if vals and (max(vals) - min(vals) > 1e-6 or max(vals) < 1.0 - 1e-6):
            keep.append(r)
    return keep
