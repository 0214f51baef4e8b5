"""Rewards from a critic's verdicts, as plain callables (TRL's reward-function shape).

A reward function takes the clips and the requests that produced them (plus any extra
keyword information) and returns one float per clip, or ``None`` where the reward does not
apply (a request without a sub-action: there is nothing to judge)::

    reward = make_reward(PerceptionCritic(), RewardWeights(postconditions=1.0, residue=0.5))
    rewards = reward(clips, requests)                 # list[float | None]

Every function only reads :class:`~spiral.core.types.Verdict` objects, so any critic works
(the perception critic, the VLM critic, a scripted fake). The verdicts of a batch can be
computed once and shared by several reward functions: pass ``verdicts=[...]`` (one per clip,
``None`` where not applicable) and the critic is not called again; :func:`critique_all` makes
that list.

What is rewarded (each in [0, 1] from the verdict's scores, weighted by :class:`RewardWeights`):

* ``postconditions``: the share of the sub-action's post-conditions met (score ``action``);
* ``passed``: 1 when the critic accepted the clip;
* cleanliness: ``permanence`` (nothing vanished), ``no_hallucination``, ``stillness`` (what
  should stay still did), ``identity`` (no recolouring), ``continuity`` (no cut or jump);
* ``residue``: a penalty when the critic reports a residue — a ``physical_violation`` failure
  whose detail starts with "residue" (something left behind where an object was).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from spiral.core.types import Clip, GenerationRequest, Verdict

log = logging.getLogger(__name__)

RewardFunc = Callable[..., list[float | None]]

#: cleanliness dimensions of a verdict's scores (see spiral.core.types.SCORE_DIMENSIONS)
CLEANLINESS = ("permanence", "no_hallucination", "stillness", "identity", "continuity")


class RewardWeights(BaseModel):
    """Weights of the reward's terms. The reward is the weighted mean of
    the positive terms (in [0, 1] with ``normalize``) minus ``residue`` when a residue is reported."""

    model_config = ConfigDict(extra="forbid")

    postconditions: float = Field(default=1.0, ge=0.0, description="share of post-conditions met (score 'action')")
    passed: float = Field(default=0.0, ge=0.0, description="1 when the critic accepted the clip")
    permanence: float = Field(default=0.25, ge=0.0, description="nothing vanished or duplicated")
    no_hallucination: float = Field(default=0.25, ge=0.0, description="no object appeared from nowhere")
    stillness: float = Field(default=0.25, ge=0.0, description="objects that should stay still did")
    identity: float = Field(default=0.25, ge=0.0, description="no object changed colour or kind")
    continuity: float = Field(default=0.0, ge=0.0, description="no scene cut or sudden jump")
    residue: float = Field(default=0.25, ge=0.0, description="penalty when a residue is reported")
    normalize: bool = Field(default=True, description="divide the positive terms by the sum of their weights")

    @model_validator(mode="after")
    def _some_weight(self) -> RewardWeights:
        if self.positive_total() == 0.0:
            raise ValueError("every positive reward weight is 0: set at least one of postconditions, passed, "
                             + ", ".join(CLEANLINESS))
        return self

    def positive_terms(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in ("postconditions", "passed", *CLEANLINESS) if getattr(self, k) > 0}

    def positive_total(self) -> float:
        return float(sum(self.positive_terms().values()))


def has_residue(verdict: Verdict) -> bool:
    """Whether the critic reported something left behind (a ``physical_violation`` whose detail
    starts with "residue")."""
    return any(f.type == "physical_violation" and f.detail.lower().startswith("residue") for f in verdict.failures)


def verdict_terms(verdict: Verdict) -> dict[str, float]:
    """The reward's terms read from one verdict, each in [0, 1] (``residue`` is 1 when reported).
    A score the critic did not give counts as 1 for cleanliness (nothing reported) and 0 for the action."""
    s = verdict.scores
    terms = {"postconditions": float(s.get("action", 0.0)), "passed": 1.0 if verdict.passed else 0.0}
    for k in CLEANLINESS:
        terms[k] = float(s.get(k, 1.0))
    terms["residue"] = 1.0 if has_residue(verdict) else 0.0
    return terms


def verdict_reward(verdict: Verdict, weights: RewardWeights | None = None) -> float:
    """The weighted reward of one verdict."""
    w = weights or RewardWeights()
    terms = verdict_terms(verdict)
    pos = w.positive_terms()
    value = sum(wk * terms[k] for k, wk in pos.items())
    if w.normalize:
        value /= w.positive_total()
    return float(value - w.residue * terms["residue"])


def _per_clip(value: Any, n: int, name: str) -> list[Any]:
    if value is None or not isinstance(value, (list, tuple)):
        return [value] * n
    if len(value) != n:
        raise ValueError(f"{name} has {len(value)} entries for {n} clips: pass one per clip, or one for all")
    return list(value)


def critique_all(critic: Any, clips: Sequence[Clip], requests: Sequence[GenerationRequest],
                 memory: Any = None) -> list[Verdict | None]:
    """One verdict per clip (``None`` where the request has no sub-action to judge). ``memory``
    is one memory for all clips, one per clip, or None."""
    if len(clips) != len(requests):
        raise ValueError(f"{len(clips)} clips for {len(requests)} requests: a reward needs one request per clip")
    mems = _per_clip(memory, len(clips), "memory")
    out: list[Verdict | None] = []
    for clip, req, mem in zip(clips, requests, mems):
        out.append(None if req.action is None else critic.critique(clip, req.action, mem))
    return out


def _verdicts(critic: Any, clips: Sequence[Clip], requests: Sequence[GenerationRequest],
              info: dict[str, Any]) -> list[Verdict | None]:
    given = info.get("verdicts")
    if given is not None:
        if len(given) != len(clips):
            raise ValueError(f"verdicts has {len(given)} entries for {len(clips)} clips")
        return list(given)
    if critic is None:
        raise ValueError("this reward has no critic: pass verdicts=[...] (one per clip)")
    return critique_all(critic, clips, requests, info.get("memory"))


def _named(fn: RewardFunc, name: str) -> RewardFunc:
    fn.__name__ = fn.__qualname__ = name  # trainers log rewards by function name (TRL does)
    return fn


def make_reward(critic: Any = None, weights: RewardWeights | dict[str, Any] | None = None,
                name: str = "critic_reward") -> RewardFunc:
    """The combined weighted reward of ``critic``'s verdicts: ``(clips, requests, **info) -> list[float | None]``.

    ``info`` may carry ``memory`` (one, or one per clip; passed to ``critique``) and
    ``verdicts`` (already computed, one per clip; the critic is then not called).
    """
    w = weights if isinstance(weights, RewardWeights) else RewardWeights(**(weights or {}))

    def reward(clips: Sequence[Clip], requests: Sequence[GenerationRequest], **info: Any) -> list[float | None]:
        return [None if v is None else verdict_reward(v, w) for v in _verdicts(critic, clips, requests, info)]

    return _named(reward, name)


def postconditions_reward(critic: Any = None) -> RewardFunc:
    """The share of the sub-action's post-conditions met in the clip's last frame."""
    return make_reward(critic, RewardWeights(postconditions=1.0, permanence=0, no_hallucination=0, stillness=0,
                                             identity=0, residue=0), name="postconditions")


def cleanliness_reward(critic: Any = None, residue: float = 1.0) -> RewardFunc:
    """The mean of permanence, no hallucination, stillness and identity, minus ``residue`` when one is reported."""
    return make_reward(critic, RewardWeights(postconditions=0.0, residue=residue), name="cleanliness")


def passed_reward(critic: Any = None) -> RewardFunc:
    """1 when the critic accepted the clip, else 0."""
    return make_reward(critic, RewardWeights(postconditions=0.0, passed=1.0, permanence=0, no_hallucination=0,
                                             stillness=0, identity=0, residue=0), name="passed")


def combine_rewards(funcs: Sequence[RewardFunc], weights: Sequence[float] | None = None,
                    name: str = "combined_reward") -> RewardFunc:
    """The weighted sum of several reward functions (TRL's ``reward_weights``): a clip's reward
    is ``None`` only where every function returns ``None``; a ``None`` term counts as absent."""
    funcs = list(funcs)
    if not funcs:
        raise ValueError("combine_rewards needs at least one reward function")
    ws = [1.0] * len(funcs) if weights is None else [float(x) for x in weights]
    if len(ws) != len(funcs):
        raise ValueError(f"{len(ws)} weights for {len(funcs)} reward functions")

    def reward(clips: Sequence[Clip], requests: Sequence[GenerationRequest], **info: Any) -> list[float | None]:
        cols = [f(clips, requests, **info) for f in funcs]
        out: list[float | None] = []
        for i in range(len(clips)):
            vals = [(wk, col[i]) for wk, col in zip(ws, cols) if col[i] is not None]
            out.append(None if not vals else float(sum(wk * v for wk, v in vals)))
        return out

    return _named(reward, name)
