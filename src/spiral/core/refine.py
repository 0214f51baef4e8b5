"""The refinement policy: which strategy answers a failed attempt, and the request it makes.

One policy for the loop and every evaluator (no copies). A retry must differ from the
attempt it follows, so every retry

* takes a new seed (unless the strategy's own change already differs),
* widens the generator's exploration by ``loop.explore`` per retry (``hints["explore"]``:
  a generator that samples, e.g. ``tiny-ti2v``, samples hotter and less conservatively),

and the strategies change it further:

* ``instruct`` turns the verdict into an instruction the generator can act on: where the
  sub-action's subject must end (``hints["target"]``) and where the failed attempt put it
  (``hints["avoid"]``), in image coordinates (0..1, x right, y down), from the planner's
  optional ``locate`` (:class:`~spiral.core.protocols.Locating`); a generator that takes
  hints (:class:`~spiral.core.protocols.Hinting`) gets them as data, any other generator as
  words in its prompt ("… so that it ends at the back left of the frame"). Without a planner
  that locates, the critic's feedback becomes the instruction (the ``rewrite_prompt`` text);
* ``explore`` widens the exploration once more; ``reseed`` only reseeds;
* ``more_steps`` doubles the sampling steps; ``rewrite_prompt`` adds the critic's sentence
  to the sub-action's prompt (templates in ``refine.yaml``).

The default strategy order per failure type is data (``spiral/core/refine.yaml``); the
experience store re-ranks it from past episodes.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np

from spiral.core.types import GenerationRequest, SubAction, Verdict

STRATEGIES = ("instruct", "explore", "reseed", "more_steps", "rewrite_prompt")


@functools.cache
def refine_rules() -> dict[str, Any]:
    """The parsed ``spiral/core/refine.yaml`` (read once per process)."""
    from importlib import resources

    import yaml

    return yaml.safe_load(resources.files("spiral.core").joinpath("refine.yaml").read_text())


def derive_seed(base: int, *parts: Any) -> int:
    """A 31-bit seed from the run seed and a path of labels (same inputs, same seed)."""
    key = ":".join(str(p) for p in (base, *parts))
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "little") & 0x7FFFFFFF


def where_words(uv: tuple[float, float] | list[float]) -> str:
    """Image coordinates (0..1) as words: 'at the back left', 'at the centre', ..."""
    u, v = float(uv[0]), float(uv[1])
    col = "left" if u < 0.38 else "right" if u > 0.62 else ""
    row = "back" if v < 0.38 else "front" if v > 0.62 else ""
    if not col and not row:
        return "at the centre"
    return "at the " + " ".join(w for w in (row, col) if w)


def clip_change(a: np.ndarray, b: np.ndarray, tol: int = 24) -> float:
    """The share of pixels of the last frames of two clips that differ by more than ``tol``
    grey levels in some channel (0 when the clips end alike; sizes that differ count as 1)."""
    x, y = np.asarray(a)[-1], np.asarray(b)[-1]
    if x.shape != y.shape:
        return 1.0
    return float((np.abs(x.astype(np.int16) - y.astype(np.int16)).max(-1) > tol).mean())


# a retry "differs materially" from the attempt it follows when at least this share of
# the last frame's pixels changed (at 64×64: 8 pixels, a small object's move of a pixel or two)
DISTINCT_SHARE = 0.002


class RefinePolicy:
    """Chooses a strategy for a failed attempt and makes the next request.

    ``strategies``: those the loop may use (``loop.strategies``); ``explore``: exploration
    added per retry (``loop.explore``); ``locate``: the planner's ``locate`` (or ``None``);
    ``hinting``: whether the generator takes structured hints; ``default_steps``: the
    generator's default sampling steps; ``rank``: the experience store's ranking (or
    ``None``)."""

    def __init__(self, strategies: list[str], seed: int, max_steps: int = 64, explore: float = 1.0,
                 locate: Callable[..., dict[str, Any] | None] | None = None, hinting: bool = False,
                 default_steps: int = 8, rank: Callable[[str, list[str]], list[str]] | None = None):
        self.strategies = list(strategies)
        self.seed = seed
        self.max_steps = max_steps
        self.explore = explore
        self.locate = locate
        self.hinting = hinting
        self.default_steps = default_steps
        self.rank = rank

    def choose(self, failure_type: str, tried: list[str]) -> str:
        """The first strategy of the failure type's order not tried yet on this step (then
        round robin)."""
        allowed = self.strategies
        order = [s for s in refine_rules()["order"].get(failure_type, allowed) if s in allowed]
        order += [s for s in allowed if s not in order]
        if self.rank is not None:
            order = self.rank(failure_type, order)
        fresh = [s for s in order if s not in tried]
        return fresh[0] if fresh else order[len(tried) % len(order)]

    def refine(self, req: GenerationRequest, strategy: str, verdict: Verdict, sub: SubAction, attempt: int,
               plan_version: int, step: int, failed: np.ndarray | None = None,
               memory: Any = None) -> GenerationRequest:
        """The request for attempt ``attempt`` after ``req`` failed with ``verdict``
        (``failed``: the failed clip's frames, where the instruction reads where things went)."""
        reseed = derive_seed(self.seed, plan_version, step, attempt, "reseed")
        hints = {k: v for k, v in req.hints.items() if k != "explore"}
        explore = round(self.explore * attempt, 4)
        upd: dict[str, Any] = {"context": {**req.context, "attempt": attempt}, "seed": reseed}
        if strategy == "explore":
            explore = round(explore + self.explore, 4)
        elif strategy == "more_steps":
            cur = req.steps or self.default_steps
            upd["steps"] = min(cur * 2, self.max_steps)
        elif strategy == "rewrite_prompt":
            tmpl = refine_rules()["rewrite"].get(verdict.failure_type or "", "{prompt}. {feedback}")
            upd["prompt"] = tmpl.format(prompt=sub.prompt, feedback=verdict.feedback)
        elif strategy == "instruct":
            hints.update(self._instruction(req, sub, failed, memory, verdict))
            if not hints.get("target"):  # no planner that locates: the critic's own words instruct
                tmpl = refine_rules()["rewrite"].get(verdict.failure_type or "", "{prompt}. {feedback}")
                upd["prompt"] = tmpl.format(prompt=sub.prompt, feedback=verdict.feedback)
            elif not self.hinting:
                upd["prompt"] = self._words(sub.prompt, hints)
        elif strategy != "reseed":  # pragma: no cover - config validation restricts strategies
            raise ValueError(strategy)
        if explore > 0:
            hints["explore"] = explore
        upd["hints"] = hints
        return req.model_copy(update=upd)

    def first_hints(self, sub: SubAction, frame: np.ndarray, memory: Any = None) -> dict[str, Any]:
        """The instruct hints without a failed attempt (``loop.instruct_first``)."""
        if self.locate is None or not self.hinting:
            return {}
        now = self.locate(sub, frame, memory) or {}
        return {k: [round(float(x), 4) for x in v] for k, v in now.items()
                if k in ("subject", "target", "partner", "partner_target") and v is not None}  # no "objects"

    def _instruction(self, req: GenerationRequest, sub: SubAction, failed: np.ndarray | None,
                     memory: Any, verdict: Verdict | None = None) -> dict[str, Any]:
        """``target`` (where the subject must end), ``subject`` (where it is now), ``avoid``
        (where failed attempts put it) and ``still`` (where the objects are that the verdict
        says moved and should not), from the planner's ``locate``."""
        if self.locate is None:
            return {}
        now = self.locate(sub, req.cond_frame, memory) or {}
        out: dict[str, Any] = {k: [round(float(x), 4) for x in v] for k, v in now.items()
                               if k in ("subject", "target", "partner", "partner_target") and v is not None}
        # objects the verdict says moved and should not: the instruction keeps them still
        seen = now.get("objects") or {}
        moving = set(sub.moving())
        still = [list(p) for p in req.hints.get("still", [])]
        for f in verdict.failures if verdict is not None else []:
            if (f.type == "physical_violation" and "should stay still" in f.detail) or \
                    (f.type == "missing_action" and " instead of " in f.detail):
                for oid in f.objects:
                    if oid not in moving and oid in seen:
                        uv = [round(float(x), 4) for x in seen[oid]]
                        if uv not in still:
                            still.append(uv)
        if still:
            out["still"] = still[-6:]
        if failed is not None and "subject" in out:
            went = (self.locate(sub, failed[-1], memory) or {}).get("subject")
            if went is not None and "target" in out and \
                    float(np.hypot(went[0] - out["target"][0], went[1] - out["target"][1])) > 0.04:
                avoid = [list(a) for a in req.hints.get("avoid", [])]
                avoid.append([round(float(went[0]), 4), round(float(went[1]), 4)])
                out["avoid"] = avoid[-4:]
        return out

    @staticmethod
    def _words(prompt: str, hints: dict[str, Any]) -> str:
        rules = refine_rules()
        if hints.get("avoid"):
            return rules["instruct"].format(prompt=prompt, where=where_words(hints["target"]),
                                            avoid=where_words(hints["avoid"][-1]))
        return rules["instruct_no_avoid"].format(prompt=prompt, where=where_words(hints["target"]))
