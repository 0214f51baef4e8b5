"""Generic GRPO: group rollouts, group-relative advantages, a clipped-ratio loss, KL to a
frozen reference, optional EMA, CSV logs and checkpoints that resume after a kill.

Nothing here knows what the policy is. A :class:`Policy` samples clips for requests (one
seed each) and returns per-sample *records* it can later score: ``logprob(records, steps)``
gives the log-probabilities of what was sampled under the **current** weights (a tensor
``[N, S]`` with one column per stochastic decision or denoising step, differentiable),
``sampled_logprob`` the ones recorded while sampling, ``reference_logprob`` the frozen
reference's. The built-in model's policy and the diffusers flow-matching policy
(:mod:`spiral.rl.flow_grpo`) implement it.

One training step (:meth:`GRPOTrainer.step`):

1. pick ``requests_per_step`` requests (seeded by ``(seed, step)``) and give each
   ``group_size`` seeds;
2. sample, reward (``None`` rewards are left out of their group and of the loss);
3. advantages: ``(r - mean(group)) / max(std(group), std_floor)``; a group whose rewards
   are all equal gives 0 and is counted (``flat_groups``): it carries no signal;
4. for each trained column (all, or a seeded ``train_step_fraction`` of them): the clipped
   policy loss ``max(-A·ρ, -A·clip(ρ, 1-ε, 1+ε))`` with ``ρ = exp(logp - logp_sampled)``,
   plus ``kl_beta`` × the k3 estimate of KL(π‖π_ref) (``exp(q) - q - 1``, ``q = logp_ref -
   logp``); backward per column (memory stays one column's), then one optimizer step.

Before the first update the ratio is exactly 1 (the policy scores its own samples with the
weights that drew them); ``ratio_max_dev`` in the log makes that visible.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from spiral.core.types import Clip, GenerationRequest
from spiral.errors import ConfigError

log = logging.getLogger(__name__)

VAL_COLUMNS = ("step", "stage", "train_reward", "val_strict", "val_lenient", "gap", "best_strict", "best_step",
               "val_s", "by_category")
LOG_COLUMNS = ("step", "reward_mean", "reward_std", "rewards_valid", "mixed_share", "flat_groups", "groups",
               "loss", "kl", "clip_frac", "ratio_mean", "ratio_max_dev", "adv_abs_mean", "grad_norm", "lr",
               "sample_s", "reward_s", "update_s")


# -- config ------------------------------------------------------------------------------------
class GRPOConfig(BaseModel):
    """GRPO settings (written to the output directory's config.json)."""

    model_config = ConfigDict(extra="forbid")

    group_size: int = Field(default=4, ge=2, description="rollouts per request (G)")
    requests_per_step: int = Field(default=1, ge=1, description="requests (groups) per update")
    steps: int = Field(default=100, ge=1, description="updates in all")
    lr: float = Field(default=1e-4, gt=0.0, description="AdamW learning rate")
    weight_decay: float = Field(default=0.0, ge=0.0, description="AdamW weight decay")
    clip_range: float = Field(default=0.2, gt=0.0, lt=1.0, description="ε of the clipped ratio")
    kl_beta: float = Field(default=0.0, ge=0.0, description="weight of the k3 KL to the frozen reference")
    std_floor: float = Field(default=1e-4, gt=0.0, description="smallest group std the advantages divide by")
    scale_advantages: bool = Field(default=True, description="divide by the group std (false: mean-centred only)")
    adv_clip: float | None = Field(default=5.0, gt=0.0, description="clip advantages to ±this (null: no clip)")
    inner_epochs: int = Field(default=1, ge=1, description="updates on the same rollouts")
    train_step_fraction: float = Field(default=1.0, gt=0.0, le=1.0,
                                       description="share of log-prob columns (denoising steps) trained per update")
    grad_clip: float | None = Field(default=1.0, gt=0.0, description="clip the gradient norm (null: no clip)")
    ema_decay: float | None = Field(default=None, gt=0.0, lt=1.0,
                                    description="keep an EMA of the trained weights (null: none)")
    seed: int = Field(default=0, description="seed of request choice, rollout seeds and column subsets")
    checkpoint_every: int = Field(default=10, ge=1, description="save a checkpoint every N updates")
    keep_checkpoints: int = Field(default=2, ge=1, description="checkpoints kept on disk")
    tensorboard: bool = Field(default=True, description="also write TensorBoard event files when importable")
    validate_every: int = Field(default=0, ge=0, description="validate every N updates (0: never; needs a validator)")
    divergence_patience: int = Field(default=3, ge=1, description=(
        "stop when the training reward rose while validation strict success fell this many evaluations in a row"))


# -- the policy ----------------------------------------------------------------------------------
@runtime_checkable
class Policy(Protocol):
    """What GRPO trains. ``records`` are whatever the policy needs to score its own samples."""

    def sample(self, requests: Sequence[GenerationRequest], seeds: Sequence[int]) -> tuple[list[Clip], list[Any]]:
        """One clip and one record per request (request ``i`` sampled with ``seeds[i]``)."""
        ...

    def logprob(self, records: Sequence[Any], steps: Sequence[int] | None = None) -> Any:
        """Log-probabilities ``[N, S]`` (columns ``steps``, default all) of the sampled
        decisions under the current weights, differentiable."""
        ...

    def sampled_logprob(self, records: Sequence[Any], steps: Sequence[int] | None = None) -> Any:
        """The log-probabilities recorded while sampling (detached), same shape."""
        ...

    def reference_logprob(self, records: Sequence[Any], steps: Sequence[int] | None = None) -> Any:
        """The frozen reference policy's log-probabilities (no gradient), same shape."""
        ...

    def parameters(self) -> Iterable[Any]:
        """The trained parameters (only these get gradients and an optimizer)."""
        ...

    def trainable_state(self) -> dict[str, Any]:
        """Name -> tensor of the trained weights (what a checkpoint saves)."""
        ...

    def load_trainable_state(self, state: dict[str, Any]) -> None:
        ...


# -- the algorithm's pieces ------------------------------------------------------------------
@dataclass
class GroupStats:
    groups: int = 0
    flat: int = 0  # groups whose valid rewards are all equal (advantage 0)
    mixed: int = 0  # groups with at least two different rewards
    valid: int = 0  # rewards that are not None
    mean: float = float("nan")
    std: float = float("nan")

    @property
    def mixed_share(self) -> float:
        return self.mixed / self.groups if self.groups else float("nan")


def group_advantages(rewards: Sequence[float | None], group_size: int, *, std_floor: float = 1e-4,
                     scale: bool = True, clip: float | None = None) -> tuple[np.ndarray, np.ndarray, GroupStats]:
    """Group-relative advantages of consecutive groups of ``group_size`` rewards.

    Returns (advantages ``[N]`` float64, mask ``[N]`` bool of rewards that count, stats).
    ``None`` rewards get advantage 0 and mask False; a group with fewer than two valid rewards,
    or whose valid rewards are all equal, gives 0 (and counts as flat).
    """
    n = len(rewards)
    if n % group_size:
        raise ValueError(f"{n} rewards are not whole groups of {group_size}")
    adv = np.zeros(n, dtype=np.float64)
    mask = np.array([r is not None and math.isfinite(float(r)) for r in rewards], dtype=bool)
    vals = np.array([float(r) if m else 0.0 for r, m in zip(rewards, mask)], dtype=np.float64)
    st = GroupStats(groups=n // group_size, valid=int(mask.sum()))
    for g in range(n // group_size):
        sl = slice(g * group_size, (g + 1) * group_size)
        v, m = vals[sl], mask[sl]
        if m.sum() < 2 or np.ptp(v[m]) == 0.0:
            st.flat += 1
            continue
        st.mixed += 1
        mu, sd = v[m].mean(), v[m].std()
        a = (v - mu) / (max(sd, std_floor) if scale else 1.0)
        if clip is not None:
            a = np.clip(a, -clip, clip)
        adv[sl] = np.where(m, a, 0.0)
    if mask.any():
        st.mean, st.std = float(vals[mask].mean()), float(vals[mask].std())
    return adv, mask, st


def clipped_policy_loss(logp: Any, old_logp: Any, adv: Any, clip_range: float, mask: Any = None
                        ) -> tuple[Any, dict[str, float]]:
    """PPO's clipped surrogate (to minimise) over ``[N]`` or ``[N, S]`` log-probs; ``adv`` is ``[N]``.

    Returns the mean loss over the masked elements and {clip_frac, ratio_mean, ratio_max_dev}.
    """
    import torch

    ratio = torch.exp(logp - old_logp)
    a = adv.to(ratio.dtype).reshape(-1, *([1] * (ratio.ndim - 1))).expand_as(ratio)
    unclipped = -a * ratio
    clipped = -a * torch.clamp(ratio, 1.0 - clip_range, 1.0 + clip_range)
    per = torch.maximum(unclipped, clipped)
    m = torch.ones_like(per, dtype=torch.bool) if mask is None else \
        mask.to(torch.bool).reshape(-1, *([1] * (ratio.ndim - 1))).expand_as(ratio)
    k = m.sum().clamp(min=1)
    loss = (per * m).sum() / k
    with torch.no_grad():
        r = ratio[m]
        stats = {"clip_frac": float(((r - 1.0).abs() > clip_range).float().mean()) if r.numel() else 0.0,
                 "ratio_mean": float(r.mean()) if r.numel() else 1.0,
                 "ratio_max_dev": float((r - 1.0).abs().max()) if r.numel() else 0.0}
    return loss, stats


def kl_k3(logp: Any, ref_logp: Any, mask: Any = None) -> Any:
    """Schulman's k3 estimator of KL(π‖π_ref) from samples of π: ``exp(q) - q - 1``, ``q = ref - logp``
    (non-negative, unbiased); the mean over masked elements."""
    import torch

    q = ref_logp - logp
    k3 = torch.exp(q) - q - 1.0
    if mask is None:
        return k3.mean()
    m = mask.to(torch.bool).reshape(-1, *([1] * (k3.ndim - 1))).expand_as(k3)
    return (k3 * m).sum() / m.sum().clamp(min=1)


class EMA:
    """An exponential moving average of tensors: ``shadow = d·shadow + (1-d)·current``."""

    def __init__(self, state: dict[str, Any], decay: float):
        self.decay = decay
        self.shadow = {k: v.detach().clone().float() for k, v in state.items()}

    def update(self, state: dict[str, Any]) -> None:
        import torch

        with torch.no_grad():
            for k, v in state.items():
                self.shadow[k].mul_(self.decay).add_(v.detach().float(), alpha=1.0 - self.decay)


# -- seeds -------------------------------------------------------------------------------------
def derived_seed(*parts: int) -> int:
    """A 31-bit seed from integers (stable across runs and platforms)."""
    return int(np.random.SeedSequence([int(p) & 0xFFFFFFFF for p in parts]).generate_state(1)[0] & 0x7FFFFFFF)


# -- logs --------------------------------------------------------------------------------------
class MetricsLog:
    """Rows to ``metrics.csv`` (one per update) and ``validation.csv`` (one per validation),
    and TensorBoard event files under ``tb/`` when the tensorboard package is importable."""

    def __init__(self, out_dir: Path, tensorboard: bool = True):
        self.path = out_dir / "metrics.csv"
        self.val_path = out_dir / "validation.csv"
        self.tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(out_dir / "tb"))
            except ImportError:
                log.info("tensorboard is not installed: logging to %s only (pip install tensorboard for event "
                         "files)", self.path)

    def truncate_after(self, step: int) -> None:
        """Drop rows after ``step`` (rows written after the checkpoint a resume starts from)."""
        for path, cols in ((self.path, LOG_COLUMNS), (self.val_path, VAL_COLUMNS)):
            if not path.exists():
                continue
            with path.open(newline="") as f:
                # a row cut short by the kill has missing fields: dropped with the rows after the checkpoint
                rows = [r for r in csv.DictReader(f) if None not in r.values() and int(r["step"]) <= step]
            _rewrite_csv(path, cols, rows)

    def write(self, row: dict[str, Any]) -> None:
        _append_csv(self.path, LOG_COLUMNS, row)
        self._scalars("grpo", row)

    def write_validation(self, row: dict[str, Any], by_category: dict[str, float] | None = None) -> None:
        _append_csv(self.val_path, VAL_COLUMNS, row)
        self._scalars("val", {k: v for k, v in row.items() if k not in ("by_category", "stage")})
        if by_category:
            self._scalars("val_category", {"step": row["step"], **by_category})

    def _scalars(self, prefix: str, row: dict[str, Any]) -> None:
        if self.tb is None:
            return
        for k, v in row.items():
            if k != "step" and isinstance(v, (int, float)) and math.isfinite(v):
                self.tb.add_scalar(f"{prefix}/{k}", v, row["step"])
        self.tb.flush()

    def rows(self) -> list[dict[str, str]]:
        return _read_csv(self.path)

    def validation_rows(self) -> list[dict[str, str]]:
        return _read_csv(self.val_path)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _rewrite_csv(path: Path, columns: Sequence[str], rows: list[dict[str, Any]]) -> None:
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)


def _append_csv(path: Path, columns: Sequence[str], row: dict[str, Any]) -> None:
    new = not path.exists()
    with path.open("a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        if new:
            w.writeheader()
        w.writerow({k: row.get(k, "") for k in columns})


# -- checkpoints -----------------------------------------------------------------------------
def _atomic_write_text(path: Path, text: str) -> None:
    from spiral.core.rundir import atomic_write_bytes

    atomic_write_bytes(path, text.encode())


def save_checkpoint(out_dir: Path, step: int, policy: Policy, optimizer: Any, ema: EMA | None,
                    meta: dict[str, Any], keep: int = 2) -> Path:
    """``ckpt-<step>/`` (weights as safetensors, optimizer and RNG states with ``torch.save``),
    written in a temporary directory, renamed in one move, then named by ``latest.json``."""
    import torch
    from safetensors.torch import save_file

    root = out_dir / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"ckpt-{step:06d}"
    tmp = root / f".ckpt-{step:06d}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save_file({k: v.detach().contiguous().cpu() for k, v in policy.trainable_state().items()},
              str(tmp / "trainable.safetensors"))
    if ema is not None:
        save_file({k: v.contiguous().cpu() for k, v in ema.shadow.items()}, str(tmp / "ema.safetensors"))
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    rng = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    torch.save(rng, tmp / "rng.pt")
    (tmp / "state.json").write_text(json.dumps({"step": step, **meta}, indent=1))
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    _atomic_write_text(out_dir / "latest.json", json.dumps({"checkpoint": final.name, "step": step}))
    old = sorted(p for p in root.glob("ckpt-*") if p.is_dir())[:-keep]
    for p in old:
        shutil.rmtree(p, ignore_errors=True)
    return final


def load_checkpoint(out_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    """The latest checkpoint directory and its state (None if there is none)."""
    latest = out_dir / "latest.json"
    if not latest.exists():
        return None
    name = json.loads(latest.read_text())["checkpoint"]
    path = out_dir / "checkpoints" / name
    return path, json.loads((path / "state.json").read_text())


# -- the trainer -----------------------------------------------------------------------------
@runtime_checkable
class Curriculum(Protocol):
    """A request source in stages (:mod:`spiral.rl.curriculum`): called like a request
    callable, told each validation result (it may promote to the next stage), and saved with
    the checkpoints."""

    stage: str

    def __call__(self, step: int, rng: np.random.Generator) -> Sequence[GenerationRequest]:
        ...

    def on_validation(self, step: int, result: dict[str, Any]) -> str | None:
        """A message when this result promoted the curriculum to another stage, else None."""
        ...

    def state_dict(self) -> dict[str, Any]:
        ...

    def load_state_dict(self, state: dict[str, Any]) -> None:
        ...


RequestSource = Sequence[GenerationRequest] | Callable[[int, np.random.Generator], Sequence[GenerationRequest]]


@dataclass
class StepResult:
    row: dict[str, Any]
    rewards: list[float | None] = field(default_factory=list)
    advantages: list[float] = field(default_factory=list)


class GRPOTrainer:
    """GRPO over a :class:`Policy` with reward callables.

    ``requests``: a list (each step draws ``requests_per_step`` of them, seeded) or a callable
    ``(step, rng) -> requests``. ``reward_funcs``: one callable or several (summed with
    ``reward_weights``; a clip's reward is None where all are None). ``out_dir`` receives
    ``config.json``, ``metrics.csv``, ``tb/`` and ``checkpoints/``; a trainer built on a
    directory with a checkpoint resumes from it (same config required).
    ``accelerator``: an ``accelerate.Accelerator`` (the policy prepares its own model with it);
    the trainer prepares the optimizer and backpropagates through it.

    Against reward hacking: ``validate`` (a callable returning at least ``{"strict": ...,
    "lenient": ...}`` for the policy's current weights: the bench's strict success on held-out
    tasks, :class:`spiral.rl.validation.Validator`) runs before the first update and every
    ``validate_every`` updates; each result goes to ``validation.csv`` (and TensorBoard) beside
    the mean training reward since the last one and their gap. The best result's weights are
    kept in ``best/`` (``export_best(dir)`` writes them; default ``trainable.safetensors``) with
    ``best.json``. When the training reward went up while validation strict success went down
    ``divergence_patience`` evaluations in a row, training stops (``stopped`` says why; a
    resume stays stopped). A :class:`Curriculum` as ``requests`` hears each result (promotion),
    and a promotion restarts the divergence count (the training reward of another stage is not
    comparable).
    """

    def __init__(self, policy: Policy, reward_funcs: Callable[..., list[float | None]] | Sequence[Callable],
                 requests: RequestSource, config: GRPOConfig | None = None, out_dir: str | Path | None = None,
                 reward_weights: Sequence[float] | None = None, accelerator: Any = None,
                 reward_info: dict[str, Any] | None = None, validate: Callable[[], dict[str, Any]] | None = None,
                 export_best: Callable[[Path], None] | None = None):
        import torch

        from spiral.rl.rewards import combine_rewards
        from spiral.rl.validation import Divergence

        if not isinstance(policy, Policy):
            raise TypeError(f"{type(policy).__name__} is not a spiral.rl.grpo.Policy (needs sample, logprob, "
                            "sampled_logprob, reference_logprob, parameters, trainable_state, load_trainable_state)")
        self.policy = policy
        self.cfg = config or GRPOConfig()
        funcs = [reward_funcs] if callable(reward_funcs) else list(reward_funcs)
        self.reward = funcs[0] if len(funcs) == 1 and reward_weights is None else \
            combine_rewards(funcs, reward_weights)
        self.reward_info = dict(reward_info or {})
        if not callable(requests) and not len(requests):
            raise ConfigError("GRPO needs at least one request to sample", "pass a non-empty list of requests")
        self.requests = requests
        self.curriculum = requests if isinstance(requests, Curriculum) else None
        if self.cfg.validate_every and validate is None:
            raise ConfigError("validate_every is set but no validator was given",
                              "pass validate=... (spiral.rl.validation.Validator) or set validate_every=0")
        self.validate = validate
        self.export_best = export_best
        self.divergence = Divergence(self.cfg.divergence_patience)
        self.best: dict[str, Any] | None = None  # {"step", "strict", "lenient"} of the best validation
        self.stopped: str | None = None
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.accelerator = accelerator
        params = [p for p in policy.parameters() if p.requires_grad]
        if not params:
            raise ConfigError("the policy has no trainable parameters", "attach adapters (LoRA) or unfreeze weights")
        self.params = params
        self.optimizer = torch.optim.AdamW(params, lr=self.cfg.lr, weight_decay=self.cfg.weight_decay)
        if accelerator is not None:
            self.optimizer = accelerator.prepare_optimizer(self.optimizer)
        self.ema = EMA(policy.trainable_state(), self.cfg.ema_decay) if self.cfg.ema_decay else None
        self.step_done = 0
        self.log = None
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            self._check_config_file()
            self.log = MetricsLog(self.out_dir, self.cfg.tensorboard)
            self._resume()

    # -- persistence --------------------------------------------------------------------------
    def _config_json(self) -> str:
        return json.dumps({"grpo": self.cfg.model_dump(exclude={"steps", "checkpoint_every", "keep_checkpoints",
                                                                "tensorboard"})}, indent=1, sort_keys=True)

    def _check_config_file(self) -> None:
        path = self.out_dir / "config.json"
        text = self._config_json()
        if path.exists() and (self.out_dir / "latest.json").exists() and path.read_text() != text:
            raise ConfigError(f"{self.out_dir} holds a GRPO run with another config (see its config.json)",
                              "resume with the same settings (only steps may change), or use a new directory")
        _atomic_write_text(path, text)

    def _resume(self) -> None:
        import torch
        from safetensors.torch import load_file

        found = load_checkpoint(self.out_dir)
        if found is None:  # killed before its first checkpoint: start again (a step-0 validation stays)
            self.log.truncate_after(0)
            self._restore_validation()
            return
        path, state = found
        self.policy.load_trainable_state(load_file(str(path / "trainable.safetensors")))
        self.optimizer.load_state_dict(torch.load(path / "optimizer.pt", weights_only=True))
        if self.ema is not None and (path / "ema.safetensors").exists():
            own = self.policy.trainable_state()
            self.ema.shadow = {k: v.to(own[k].device) for k, v in load_file(str(path / "ema.safetensors")).items()}
        rng = torch.load(path / "rng.pt", weights_only=True)
        torch.set_rng_state(rng["torch"])
        if "cuda" in rng and torch.cuda.is_available() and len(rng["cuda"]) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(rng["cuda"])
        self.step_done = int(state["step"])
        self.stopped = state.get("stopped")
        if self.curriculum is not None and "curriculum" in state:
            self.curriculum.load_state_dict(state["curriculum"])
        self.log.truncate_after(self.step_done)
        self._restore_validation()
        log.info("resumed GRPO from %s (step %d)", path, self.step_done)

    def _restore_validation(self) -> None:
        """Best result and divergence count from ``validation.csv`` (rows up to the checkpoint)."""
        rows = self.log.validation_rows()
        for r in rows:
            strict, lenient = float(r["val_strict"]), float(r["val_lenient"])
            if self._better(strict, lenient):
                self.best = {"step": int(r["step"]), "strict": strict, "lenient": lenient}
        stage = self.curriculum.stage if self.curriculum is not None else ""
        self.divergence.reset()
        for r in rows:
            if r["stage"] == stage and r["train_reward"] not in ("", "nan"):
                self.divergence.update(float(r["train_reward"]), float(r["val_strict"]))

    def save(self) -> Path | None:
        if self.out_dir is None:
            return None
        if self.accelerator is not None and not self.accelerator.is_main_process:
            return None
        meta: dict[str, Any] = {"config": json.loads(self._config_json())}
        if self.stopped:
            meta["stopped"] = self.stopped
        if self.curriculum is not None:
            meta["curriculum"] = self.curriculum.state_dict()
        return save_checkpoint(self.out_dir, self.step_done, self.policy, self.optimizer, self.ema, meta,
                               keep=self.cfg.keep_checkpoints)

    # -- validation ----------------------------------------------------------------------------
    def _better(self, strict: float, lenient: float) -> bool:
        return self.best is None or (strict, lenient) > (self.best["strict"], self.best["lenient"])

    def _train_reward_since(self, step: int) -> float:
        """Mean training reward of the updates after ``step`` (NaN if none)."""
        vals = [float(r["reward_mean"]) for r in self.log.rows() if int(r["step"]) > step] if self.log else []
        vals = [v for v in vals if math.isfinite(v)]
        return float(np.mean(vals)) if vals else float("nan")

    def run_validation(self) -> dict[str, Any]:
        """Validate the current weights: log the result, keep the best weights, hear the
        curriculum, check for divergence (sets ``stopped``)."""
        step = self.step_done
        stage = self.curriculum.stage if self.curriculum is not None else ""
        t0 = time.perf_counter()
        res = self.validate()
        val_s = time.perf_counter() - t0
        prev = [int(r["step"]) for r in self.log.validation_rows()] if self.log else []
        train_reward = self._train_reward_since(max([p for p in prev if p < step], default=0)) if step else float("nan")
        strict, lenient = float(res["strict"]), float(res["lenient"])
        if self._better(strict, lenient):
            self.best = {"step": step, "strict": strict, "lenient": lenient}
            self._write_best(stage)
        row = {"step": step, "stage": stage, "train_reward": train_reward, "val_strict": strict,
               "val_lenient": lenient, "gap": train_reward - strict, "best_strict": self.best["strict"],
               "best_step": self.best["step"], "val_s": round(val_s, 2),
               "by_category": json.dumps(res.get("by_category", {}), sort_keys=True)}
        if self.log is not None:
            self.log.write_validation(row, res.get("by_category"))
        log.info("validation at step %d: strict %.3f, lenient %.3f, training reward %.3f (gap %.3f); best %.3f "
                 "at step %d", step, strict, lenient, train_reward, train_reward - strict, self.best["strict"],
                 self.best["step"])
        if math.isfinite(train_reward) and self.divergence.update(train_reward, strict):
            self.stopped = (f"stopped at step {step}: {self.divergence.describe()}; the best weights (step "
                            f"{self.best['step']}, validation strict {self.best['strict']:.3f}) are in "
                            f"{self.out_dir / 'best' if self.out_dir else 'trainer.best'}")
            log.warning("GRPO %s", self.stopped)
        if self.curriculum is not None and not self.stopped:
            msg = self.curriculum.on_validation(step, res)
            if msg:
                log.info("curriculum: %s", msg)
                self.divergence.reset()
        if self.out_dir is not None:
            try:
                from spiral.rl.curves import plot_curves

                plot_curves(self.out_dir)
            except ImportError:  # matplotlib is a dependency; a broken install only loses the picture
                log.info("matplotlib is not importable: no curves.png")
        return row

    def validate_start(self) -> dict[str, Any] | None:
        """Validate the starting weights (the first best, the base of the curves), unless
        validation is off, training has begun, or a resumed run already did."""
        if self.validate is None or not self.cfg.validate_every or self.step_done or self.stopped:
            return None
        if self.best is not None and self.best["step"] == 0 or \
                any(int(r["step"]) == 0 for r in (self.log.validation_rows() if self.log else [])):
            return None
        return self.run_validation()

    def _write_best(self, stage: str) -> None:
        if self.out_dir is None or (self.accelerator is not None and not self.accelerator.is_main_process):
            return
        tmp = self.out_dir / ".best.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        if self.export_best is not None:
            self.export_best(tmp)
        else:
            from safetensors.torch import save_file

            save_file({k: v.detach().contiguous().cpu() for k, v in self.policy.trainable_state().items()},
                      str(tmp / "trainable.safetensors"))
        (tmp / "best.json").write_text(json.dumps({**self.best, "stage": stage}, indent=1))
        old = self.out_dir / ".best.old"
        shutil.rmtree(old, ignore_errors=True)
        if (self.out_dir / "best").exists():
            os.replace(self.out_dir / "best", old)
        os.replace(tmp, self.out_dir / "best")
        shutil.rmtree(old, ignore_errors=True)

    # -- one update ----------------------------------------------------------------------------
    @property
    def _distributed(self) -> bool:
        return self.accelerator is not None and self.accelerator.num_processes > 1

    def _seed(self, purpose: int, *parts: int, per_process: bool = True) -> int:
        """A seed of this run for one purpose (1 requests, 2 rollouts, 3 trained columns) and
        step; rollouts and requests differ between the processes of a distributed run."""
        rank = self.accelerator.process_index if per_process and self._distributed else 0
        return derived_seed(self.cfg.seed, purpose, rank, *parts)

    def _requests(self, step: int) -> list[GenerationRequest]:
        rng = np.random.default_rng(self._seed(1, step))
        if callable(self.requests):
            return list(self.requests(step, rng))
        idx = rng.choice(len(self.requests), size=self.cfg.requests_per_step,
                         replace=self.cfg.requests_per_step > len(self.requests))
        return [self.requests[int(i)] for i in idx]

    def _columns(self, step: int, epoch: int, n_cols: int) -> list[int]:
        k = max(1, round(self.cfg.train_step_fraction * n_cols))
        if k >= n_cols:
            return list(range(n_cols))
        rng = np.random.default_rng(self._seed(3, step, epoch, per_process=False))  # the same on every process
        return sorted(int(i) for i in rng.choice(n_cols, size=k, replace=False))

    def step(self) -> StepResult:
        """One GRPO update (sample a batch of groups, reward, advantages, loss, optimizer step)."""
        import torch

        c = self.cfg
        step = self.step_done + 1
        base = self._requests(step)
        reqs, seeds = [], []
        for i, r in enumerate(base):
            for g in range(c.group_size):
                s = self._seed(2, step, i, g)
                reqs.append(r.model_copy(update={"seed": s}))
                seeds.append(s)
        t0 = time.perf_counter()
        clips, records = self.policy.sample(reqs, seeds)
        t1 = time.perf_counter()
        rewards = self.reward(clips, reqs, **self.reward_info)
        t2 = time.perf_counter()
        adv_np, mask_np, gs = group_advantages(rewards, c.group_size, std_floor=c.std_floor,
                                               scale=c.scale_advantages, clip=c.adv_clip)
        old_all = self.policy.sampled_logprob(records)
        n_cols = int(old_all.shape[1]) if old_all.ndim == 2 else 1
        adv = torch.as_tensor(adv_np, dtype=torch.float32)
        mask = torch.as_tensor(mask_np)
        agg: dict[str, float] = {"loss": 0.0, "kl": 0.0, "clip_frac": 0.0, "ratio_mean": 0.0, "ratio_max_dev": 0.0}
        n_terms = 0
        grad_norm = float("nan")
        # no group with signal: nothing to learn (processes of a distributed run always take part)
        if gs.mixed or self._distributed:
            for epoch in range(c.inner_epochs):
                cols = self._columns(step, epoch, n_cols)
                self.optimizer.zero_grad(set_to_none=True)
                for j in cols:
                    logp = self.policy.logprob(records, [j])
                    old = self.policy.sampled_logprob(records, [j]).to(logp.device)
                    loss, st = clipped_policy_loss(logp, old, adv.to(logp.device), c.clip_range, mask.to(logp.device))
                    kl = torch.zeros((), device=logp.device)
                    if c.kl_beta > 0:
                        ref = self.policy.reference_logprob(records, [j]).to(logp.device)
                        kl = kl_k3(logp, ref, mask.to(logp.device))
                    total = (loss + c.kl_beta * kl) / len(cols)
                    if self.accelerator is not None:
                        self.accelerator.backward(total)
                    else:
                        total.backward()
                    agg["loss"] += float(loss.detach())
                    agg["kl"] += float(kl.detach())
                    agg["clip_frac"] += st["clip_frac"]
                    agg["ratio_mean"] += st["ratio_mean"]
                    agg["ratio_max_dev"] = max(agg["ratio_max_dev"], st["ratio_max_dev"]) if n_terms else \
                        st["ratio_max_dev"]
                    n_terms += 1
                if c.grad_clip is not None:
                    grad_norm = float(torch.nn.utils.clip_grad_norm_(self.params, c.grad_clip))
                else:
                    grad_norm = float(torch.sqrt(sum((p.grad.detach() ** 2).sum() for p in self.params
                                                     if p.grad is not None)))
                self.optimizer.step()
                if self.ema is not None:
                    self.ema.update(self.policy.trainable_state())
        t3 = time.perf_counter()
        if self._distributed:  # the logged reward statistics cover every process's groups
            everyone = [r for part in self.accelerator.gather_object([list(rewards)]) for r in part]
            gs = group_advantages(everyone, c.group_size, std_floor=c.std_floor)[2]
        for k in ("loss", "kl", "clip_frac", "ratio_mean"):
            agg[k] = agg[k] / n_terms if n_terms else float("nan")
        if not n_terms:
            agg["ratio_max_dev"] = float("nan")
        self.step_done = step
        row = {"step": step, "reward_mean": gs.mean, "reward_std": gs.std, "rewards_valid": gs.valid,
               "mixed_share": gs.mixed_share, "flat_groups": gs.flat, "groups": gs.groups, **agg,
               "adv_abs_mean": float(np.abs(adv_np).mean()), "grad_norm": grad_norm, "lr": c.lr,
               "sample_s": round(t1 - t0, 4), "reward_s": round(t2 - t1, 4), "update_s": round(t3 - t2, 4)}
        if self.log is not None and (self.accelerator is None or self.accelerator.is_main_process):
            self.log.write(row)
        log.info("GRPO step %d: reward %.3f±%.3f, mixed groups %d/%d, kl %.4g, clip %.3f", step, gs.mean, gs.std,
                 gs.mixed, gs.groups, agg["kl"], agg["clip_frac"])
        if self.validate is not None and c.validate_every and (step % c.validate_every == 0 or step >= c.steps):
            self.run_validation()
        if self.out_dir is not None and (step % c.checkpoint_every == 0 or step >= c.steps or self.stopped):
            self.save()
        return StepResult(row=row, rewards=list(rewards), advantages=adv_np.tolist())

    def train(self, steps: int | None = None) -> list[dict[str, Any]]:
        """Run updates until ``steps`` (default ``config.steps``) are done in all (a resumed
        trainer continues from its checkpoint); the logged rows of this call."""
        target = int(steps if steps is not None else self.cfg.steps)
        rows = []
        self.validate_start()
        while self.step_done < target and not self.stopped:
            rows.append(self.step().row)
        if self.log is not None:
            self.log.close()
        return rows
