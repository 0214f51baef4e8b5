"""The four roles of the loop. The loop knows only these protocols.

Backends implement them structurally (no base class needed); ``isinstance`` checks work
thanks to ``runtime_checkable``.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from spiral.core.types import Clip, GenerationRequest, Plan, SubAction, Verdict


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
