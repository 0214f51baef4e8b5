"""Self-evolution: rewards from the critic's verdicts and GRPO post-training.

* :mod:`.rewards` — TRL-style reward callables ``(clips, requests, **info) -> list[float | None]``
  built from any critic's :class:`~spiral.core.types.Verdict` (no torch needed).
* :mod:`.grpo` — the generic, policy-agnostic GRPO machinery (advantages, clipped-ratio loss,
  k3 KL, EMA, trainer with CSV logs and resumable checkpoints) over a :class:`~.grpo.Policy`.
* :mod:`.flow_grpo` — the diffusers flow-matching policy: Flow-GRPO-style SDE sampling with
  per-step log-probabilities and LoRA adapters through peft.

Nothing in ``spiral.core`` imports this package, and importing it imports no torch: the
modules that need torch import it inside functions.
"""
