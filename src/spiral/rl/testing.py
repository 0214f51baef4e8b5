"""A toy :class:`~spiral.rl.grpo.Policy` for tests, docs and benchmarks of the GRPO machinery.

:class:`ToyPolicy` makes ``decisions`` independent categorical choices among ``choices``
positions per clip (a softmax over learned logits, sampled with the request's seed); the
clip shows a bright pixel per decision. :func:`toy_reward` rewards the share of decisions
that hit the request's ``context["target"]``. It trains in milliseconds on a CPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from spiral.core.types import Clip, GenerationRequest


@dataclass
class ToyRecord:
    choices: list[int]
    logprob: Any  # [decisions] recorded while sampling


class ToyPolicy:
    def __init__(self, choices: int = 5, decisions: int = 2, seed: int = 0):
        import torch

        g = torch.Generator().manual_seed(seed)
        self.logits = torch.nn.Parameter(0.1 * torch.randn(decisions, choices, generator=g))
        self.reference = self.logits.detach().clone()
        self.choices, self.decisions = choices, decisions

    def sample(self, requests: Sequence[GenerationRequest], seeds: Sequence[int]) -> tuple[list[Clip], list[ToyRecord]]:
        import torch

        clips, records = [], []
        with torch.no_grad():
            logp_all = torch.log_softmax(self.logits, dim=-1)
            for seed in seeds:
                g = torch.Generator().manual_seed(int(seed))
                ch = torch.multinomial(logp_all.exp(), 1, generator=g).squeeze(1)
                frames = np.zeros((2, self.decisions, self.choices, 3), np.uint8)
                frames[1, np.arange(self.decisions), ch.numpy()] = 255
                clips.append(Clip(frames=frames, meta={"seed": int(seed)}))
                records.append(ToyRecord(ch.tolist(), logp_all[torch.arange(self.decisions), ch].clone()))
        return clips, records

    def _gather(self, logits: Any, records: Sequence[ToyRecord], steps: Sequence[int] | None) -> Any:
        import torch

        cols = list(range(self.decisions)) if steps is None else list(steps)
        lp = torch.log_softmax(logits, dim=-1)
        idx = torch.tensor([[r.choices[j] for j in cols] for r in records])
        return lp[cols].unsqueeze(0).expand(len(records), -1, -1).gather(2, idx.unsqueeze(2)).squeeze(2)

    def logprob(self, records: Sequence[ToyRecord], steps: Sequence[int] | None = None) -> Any:
        return self._gather(self.logits, records, steps)

    def sampled_logprob(self, records: Sequence[ToyRecord], steps: Sequence[int] | None = None) -> Any:
        import torch

        cols = list(range(self.decisions)) if steps is None else list(steps)
        return torch.stack([r.logprob[cols] for r in records])

    def reference_logprob(self, records: Sequence[ToyRecord], steps: Sequence[int] | None = None) -> Any:
        return self._gather(self.reference, records, steps)

    def parameters(self) -> list[Any]:
        return [self.logits]

    def trainable_state(self) -> dict[str, Any]:
        return {"logits": self.logits}

    def load_trainable_state(self, state: dict[str, Any]) -> None:
        import torch

        with torch.no_grad():
            self.logits.copy_(state["logits"])


def toy_reward(clips: Sequence[Clip], requests: Sequence[GenerationRequest], **info: Any) -> list[float | None]:
    """Share of decisions at ``request.context["target"]`` (None when the request names no target)."""
    out: list[float | None] = []
    for clip, req in zip(clips, requests):
        target = req.context.get("target")
        if target is None:
            out.append(None)
            continue
        hits = clip.frames[1, :, :, 0].argmax(axis=1) == int(target)
        out.append(float(hits.mean()))
    return out


def toy_requests(n: int = 3, targets: Sequence[int] = (1,)) -> list[GenerationRequest]:
    frame = np.zeros((8, 8, 3), np.uint8)
    return [GenerationRequest(prompt=f"toy {i}", cond_frame=frame, context={"target": int(targets[i % len(targets)])})
            for i in range(n)]
