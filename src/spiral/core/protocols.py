"""The four roles of the loop. The loop knows only these protocols.

Backends implement them structurally (no base class needed); ``isinstance`` checks work
thanks to ``runtime_checkable``.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from spiral.core.types import Clip, Condition, GenerationRequest, Plan, SubAction, Verdict


@runtime_checkable
class Planner(Protocol):
    """Decomposes a goal into object-centric sub-actions."""

    name: str

    def plan(self, goal: str, observation: np.ndarray, memory: Any) -> Plan:
        """The plan for ``goal`` starting from the frame ``observation``."""
        ...

    def replan(self, plan: Plan, from_step: int, observation: np.ndarray, memory: Any,
               feedback: str = "") -> Plan:
        """A new plan for what remains of ``plan`` (from ``from_step``), from the perceived
        state of ``observation``; ``feedback`` says why the old plan failed."""
        ...


@runtime_checkable
class Generator(Protocol):
    """A text+image-to-video backbone. Batched: one call may serve best-of-N or a GRPO group."""

    name: str

    def generate(self, requests: list[GenerationRequest]) -> list[Clip]:
        ...


@runtime_checkable
class Critic(Protocol):
    """Judges one clip against its sub-action and the episode memory."""

    name: str

    def critique(self, clip: Clip, sub_action: SubAction, memory: Any) -> Verdict:
        ...


@runtime_checkable
class Memory(Protocol):
    """Episode state: object registry, keyframes, accepted segments, failure log."""

    def register_objects(self, objects: list[dict[str, Any]], first_frame: np.ndarray) -> None: ...

    def add_segment(self, index: int, sub_action: SubAction, path: str, sha256: str,
                    last_frame: np.ndarray) -> None: ...

    def log_failure(self, step: int, attempt: int, verdict: Verdict, strategy: str | None,
                    plan_version: int = 0) -> int: ...

    def mark_fixed(self, failure_id: int, fixed_by: str) -> None: ...

    def known_kinds(self) -> dict[str, str]: ...

    def objects(self) -> list[dict[str, Any]]: ...

    def keyframes(self) -> list[np.ndarray]: ...


@runtime_checkable
class Locating(Protocol):
    """A planner that can say where a sub-action's subject is and must end in a frame
    (image coordinates 0..1, x right, y down): what the ``instruct`` refinement tells the
    generator."""

    def locate(self, sub_action: SubAction, observation: np.ndarray, memory: Any = None) -> dict[str, Any] | None:
        """``{"subject": [u, v], "target": [u, v]}`` (for a swap also ``partner`` and
        ``partner_target``), or ``None`` when it cannot tell."""
        ...


@runtime_checkable
class Hinting(Protocol):
    """A generator that takes structured refinement hints (``GenerationRequest.hints``)."""

    hint_keys: frozenset[str]


# -- optional capabilities: checked once when the loop is built, never probed inside it ------
@runtime_checkable
class Grounding(Protocol):
    """A planner that pins a step again from the perceived frame before it runs (a relative
    step whose plan-time pins rest on where an earlier step was assumed to land an object)."""

    def ground(self, plan: Plan, step: int, observation: np.ndarray, memory: Any = None) -> Plan | None: ...


@runtime_checkable
class Observing(Protocol):
    """A critic that reads the object registry off the first frame (ids, kinds, appearance)."""

    def observe(self, frame: np.ndarray) -> list[dict[str, Any]]: ...


@runtime_checkable
class Prechecking(Protocol):
    """A critic that checks a sub-action's pre-conditions on a frame before it is generated."""

    def precheck(self, frame: np.ndarray, sub_action: SubAction, memory: Any = None) -> list[Condition]: ...


@runtime_checkable
class Evaluating(Protocol):
    """A critic that judges the goal's conditions on the final frame (the episode's result)."""

    def evaluate(self, frame: np.ndarray, conditions: list[Condition], memory: Any = None) -> dict[str, Any]: ...


@runtime_checkable
class CostReporting(Protocol):
    """A component that reports what its last calls cost (tokens, requests, dollars)."""

    def pop_cost(self) -> dict[str, Any] | None: ...


@runtime_checkable
class Stepped(Protocol):
    """A generator with a default number of sampling steps (what ``more_steps`` doubles)."""

    default_steps: int
