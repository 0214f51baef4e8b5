"""GRPO for the diffusers flow-matching backbones: SDE sampling with per-step log-probs and LoRA.

:class:`FlowMatchingPolicy` turns a diffusers adapter of :mod:`spiral.generators.diffusers`
(Wan 2.1 I2V, Wan 2.2 I2V A14B, Wan 2.2 TI2V-5B, LTX-Video I2V, HunyuanVideo I2V) into a
:class:`~spiral.rl.grpo.Policy`:

* **LoRA through peft, base frozen.** Every transformer of the pipeline (``transformer`` and,
  for Wan 2.2 A14B, ``transformer_2``) gets a LoRA adapter (``B = 0`` at the start, so the
  policy starts exactly at the base model); every other weight has ``requires_grad=False``.
* **SDE sampling with log-probs (Flow-GRPO).** The pipeline runs its own loop (prompt and
  image encoding, latents, guidance, decoding: nothing is copied), but its scheduler's
  ``step`` is replaced while sampling by a step of the reverse-time SDE that has the flow's
  marginals: with ``v`` the (guided) velocity, ``t`` the current sigma and ``dt < 0``,
  ``mean = x + [v + σ_t²/(2t)·(x + (1-t)·v)]·dt``, ``σ_t = a·sqrt(t/(1-t))`` (``a`` =
  ``noise_level``), and ``x' = mean + σ_t·sqrt(-dt)·ε``. The log-probability of ``x'`` is the
  Gaussian's, averaged over the latent's elements (one number per sample and step). Steps
  outside ``sde_window`` take the plain Euler (ODE) step and are not trained.
* **Replay for the gradient.** A forward hook records the transformer calls of every SDE
  step (their keyword arguments, tensors shared across steps stored once); ``logprob``
  replays them under the current weights, combines the outputs the way the family's
  pipeline does (classifier-free guidance), and scores the recorded ``x'``. The recorded
  combination is checked against what the pipeline passed to ``step`` while sampling, so a
  family whose guidance is not reproduced exactly fails loudly instead of training on wrong
  log-probs; with unchanged weights the ratio is exactly 1.
* **Gradient checkpointing** (``gradient_checkpointing``) and **multi-GPU** through
  ``accelerate`` (pass an ``Accelerator``: the transformers are prepared with it; on a CPU it
  is one process). Each process samples whole groups, so advantages need no gather.

CogVideoX and SVD are not flow-matching models (v-/ε-prediction on a DDIM/Euler-discrete
schedule): see docs/grpo.md for what they need instead. The finished LoRA is written with
:meth:`FlowMatchingPolicy.save_lora` in the diffusers format that the adapter's
``generator.lora`` option loads.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from spiral.core.types import Clip, GenerationRequest
from spiral.errors import BackendError, ConfigError

log = logging.getLogger(__name__)

#: generator name -> how its pipeline turns transformer outputs into the velocity given to step()
FLOW_FAMILIES = {
    "wan2.1-i2v": "wan",
    "wan2.2-i2v-a14b": "wan",
    "wan2.2-ti2v-5b": "wan",
    "ltx-video-i2v": "ltx",
    "hunyuanvideo-i2v": "hunyuan",
}
NOT_FLOW = {"cogvideox-i2v": "CogVideoX (v-prediction on a DDIM schedule)",
            "svd": "Stable Video Diffusion (EDM / Euler-discrete, ε-prediction)"}
TRANSFORMERS = ("transformer", "transformer_2")
LORA_FILE = "pytorch_lora_weights.safetensors"


class FlowGRPOConfig(BaseModel):
    """Options of the diffusers GRPO policy."""

    model_config = ConfigDict(extra="forbid")

    noise_level: float = Field(default=0.7, gt=0.0, description="a in σ_t = a·sqrt(t/(1-t)) of the SDE")
    sde_window: tuple[int, int] | None = Field(
        default=None, description="[start, end) denoising steps sampled with the SDE and trained (null: all)")
    lora_rank: int = Field(default=8, ge=1, description="LoRA rank")
    lora_alpha: float = Field(default=16.0, gt=0.0, description="LoRA alpha (scale alpha/rank)")
    lora_dropout: float = Field(default=0.0, ge=0.0, lt=1.0, description="LoRA dropout (0 keeps replay exact)")
    lora_targets: list[str] = Field(default=["to_q", "to_k", "to_v", "to_out.0"],
                                    description="module names of the transformer that get LoRA layers")
    gradient_checkpointing: bool = Field(default=False, description="recompute activations in the backward pass")
    adapter_name: str = Field(default="grpo", description="peft adapter name")

    @field_validator("sde_window")
    @classmethod
    def _window(cls, v: tuple[int, int] | None) -> tuple[int, int] | None:
        if v is not None and not (0 <= v[0] < v[1]):
            raise ValueError(f"sde_window must be [start, end) with 0 <= start < end, got {list(v)}")
        return v


# -- the SDE step (pure tensor maths) ---------------------------------------------------------
def sde_std(sigma: float, sigma_next: float, sigma_1: float, noise_level: float) -> tuple[float, float]:
    """(σ_t, std of the step's noise σ_t·sqrt(-dt)); at t = 1 the ratio uses the next sigma
    of the schedule (``sigma_1``) so it stays finite."""
    denom = 1.0 - (sigma_1 if sigma >= 1.0 else sigma)
    s_t = noise_level * math.sqrt(sigma / max(denom, 1e-6))
    return s_t, s_t * math.sqrt(max(sigma - sigma_next, 0.0))


def sde_mean(x: Any, v: Any, sigma: float, sigma_next: float, s_t: float) -> Any:
    """Mean of the reverse SDE step from ``x`` at ``sigma`` to ``sigma_next`` with velocity ``v``."""
    dt = sigma_next - sigma
    return x * (1.0 + s_t ** 2 / (2.0 * sigma) * dt) + v * (1.0 + s_t ** 2 * (1.0 - sigma) / (2.0 * sigma)) * dt


def gaussian_logprob(x: Any, mean: Any, std: float) -> Any:
    """Per-sample Gaussian log-density of ``x``, averaged over every non-batch element."""
    lp = -((x - mean) ** 2) / (2.0 * std ** 2) - math.log(std) - 0.5 * math.log(2.0 * math.pi)
    return lp.reshape(lp.shape[0], -1).mean(dim=1)


# -- records ---------------------------------------------------------------------------------
@dataclass
class StepRecord:
    index: int  # denoising step
    sigma: float
    sigma_next: float
    s_t: float
    std: float
    module: str  # "transformer" or "transformer_2"
    guidance: float
    calls: list[dict[str, Any]]  # the transformer's keyword arguments, one dict per call
    x: Any  # the latents given to step() [n, ...]
    x_next: Any  # what the SDE drew [n, ...]
    logprob: Any  # [n], recorded while sampling


@dataclass
class CallRecord:
    """One pipeline call (a group of requests that differ only by seed)."""

    seeds: list[int]
    steps: list[StepRecord] = field(default_factory=list)


@dataclass
class SampleRecord:
    call: CallRecord
    row: int


# -- the policy ------------------------------------------------------------------------------
class FlowMatchingPolicy:
    """A diffusers flow-matching adapter as a GRPO :class:`~spiral.rl.grpo.Policy` (LoRA-trained)."""

    def __init__(self, generator: Any, config: FlowGRPOConfig | None = None, accelerator: Any = None):
        self.gen = generator
        self.cfg = config or FlowGRPOConfig()
        name = getattr(generator, "name", type(generator).__name__)
        if name in NOT_FLOW:
            raise ConfigError(f"{name} is not a flow-matching model ({NOT_FLOW[name]}): Flow-GRPO's SDE does "
                              "not apply", "use wan2.1-i2v, wan2.2-i2v-a14b, wan2.2-ti2v-5b, ltx-video-i2v or hunyuanvideo-i2v "
                                           "(docs/grpo.md says what the others need)")
        if name not in FLOW_FAMILIES:
            raise ConfigError(f"{name}: no GRPO policy for this generator",
                              f"use one of {', '.join(FLOW_FAMILIES)}")
        self.kind = FLOW_FAMILIES[name]
        offload = getattr(generator.cfg, "offload", "none")
        if offload == "sequential" or (offload == "model" and accelerator is not None):
            raise ConfigError(f"{name}: generator.offload={offload} cannot be trained through"
                              + (" accelerate" if offload == "model" else " (weights live on the meta device)"),
                              "set generator.offload=none (LoRA training keeps the transformer on the device)"
                              if offload == "sequential" else "set generator.offload=none with several GPUs")
        self.pipe = generator.pipeline
        self.accelerator = accelerator
        self.modules: dict[str, Any] = {}
        self.train_modules: dict[str, Any] = {}
        self._attach_lora()
        self._recording: dict[str, Any] | None = None

    # -- LoRA --------------------------------------------------------------------------------------
    def _attach_lora(self) -> None:
        try:
            from peft import LoraConfig
        except ImportError as exc:
            raise BackendError("GRPO on a diffusers backbone trains LoRA adapters through peft, which is not "
                               "installed", "pip install peft") from exc

        for comp in ("vae", "text_encoder", "image_encoder"):
            mod = getattr(self.pipe, comp, None)
            if mod is not None and hasattr(mod, "requires_grad_"):
                mod.requires_grad_(False)
        for name in TRANSFORMERS:
            mod = getattr(self.pipe, name, None)
            if mod is None:
                continue
            mod.requires_grad_(False)
            lcfg = LoraConfig(r=self.cfg.lora_rank, lora_alpha=self.cfg.lora_alpha, lora_dropout=self.cfg.lora_dropout,
                              init_lora_weights=True, target_modules=list(self.cfg.lora_targets))
            try:
                mod.add_adapter(lcfg, adapter_name=self.cfg.adapter_name)
            except ValueError as exc:
                raise ConfigError(f"{self.gen.name}: cannot add LoRA to {name}: {exc}",
                                  "check FlowGRPOConfig.lora_targets against the transformer's module names") from exc
            mod.set_adapter(self.cfg.adapter_name)
            for pname, p in mod.named_parameters():
                if "lora_" in pname:  # trained in fp32 whatever the base's dtype (as diffusers' LoRA scripts)
                    p.data = p.data.float()
                p.requires_grad_("lora_" in pname)
            if self.cfg.gradient_checkpointing:
                mod.enable_gradient_checkpointing()
            self.modules[name] = mod
            self.train_modules[name] = self.accelerator.prepare_model(mod) if self.accelerator is not None else mod
        if not self.modules:
            raise BackendError(f"{self.gen.name}: the pipeline has no transformer to train", "use a flow-matching "
                                                                                            "transformer pipeline")

    def parameters(self) -> list[Any]:
        return [p for m in self.modules.values() for p in m.parameters() if p.requires_grad]

    def trainable_state(self) -> dict[str, Any]:
        return {f"{name}.{pname}": p for name, m in self.modules.items() for pname, p in m.named_parameters()
                if p.requires_grad}

    def load_trainable_state(self, state: dict[str, Any]) -> None:
        import torch

        own = self.trainable_state()
        missing = sorted(set(own) - set(state))
        if missing:
            raise BackendError(f"the checkpoint lacks {len(missing)} LoRA tensors (e.g. {missing[0]})",
                               "resume with the same rl.flow LoRA settings and generator")
        with torch.no_grad():
            for k, p in own.items():
                p.copy_(state[k].to(p.device, p.dtype))

    def save_lora(self, path: str | Path) -> Path:
        """Write the LoRA in diffusers' format: ``path/pytorch_lora_weights.safetensors`` for
        ``transformer`` (the adapter's ``generator.lora``) and ``path/transformer_2/`` for
        Wan 2.2 A14B's second expert (``generator.lora_2``)."""
        from peft.utils import get_peft_model_state_dict

        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        for name, mod in self.modules.items():
            layers = get_peft_model_state_dict(mod, adapter_name=self.cfg.adapter_name)
            target = out if name == "transformer" else out / name
            meta = mod.peft_config[self.cfg.adapter_name].to_dict()  # rank and alpha travel with the weights
            type(self.pipe).save_lora_weights(str(target), transformer_lora_layers=layers, weight_name=LORA_FILE,
                                              transformer_lora_adapter_metadata=meta)
        return out / LORA_FILE

    # -- sampling --------------------------------------------------------------------------------
    def _in_window(self, i: int) -> bool:
        w = self.cfg.sde_window
        return w is None or w[0] <= i < w[1]

    @contextmanager
    def _patched(self, call: CallRecord):
        """While sampling one pipeline call: record transformer calls, replace scheduler.step by
        the SDE step (restored on exit, so the generator samples as before outside training)."""
        import torch

        sched = self.pipe.scheduler
        state: dict[str, Any] = {"i": 0, "calls": [], "store": {}}
        orig_set = sched.set_timesteps
        hooks = []

        def keep(t: Any) -> Any:  # tensors shared across steps (prompt embeddings) are stored once
            if not torch.is_tensor(t):
                return t
            hit = state["store"].get(id(t))
            if hit is None or hit[0] is not t:
                hit = (t, t.detach().clone())
                state["store"][id(t)] = hit
            return hit[1]

        for name, mod in self.modules.items():
            def hook(module: Any, args: tuple, kwargs: dict, output: Any, _name: str = name) -> None:
                if args:
                    raise BackendError(f"{self.gen.name}: the pipeline called {_name} with positional arguments",
                                       "this diffusers version is not supported by spiral.rl.flow_grpo")
                if self._in_window(state["i"]):
                    out = output[0] if isinstance(output, (tuple, list)) else output.sample
                    state["calls"].append((_name, {k: keep(v) for k, v in kwargs.items()}, out.detach()))
            hooks.append(mod.register_forward_hook(hook, with_kwargs=True))

        @functools.wraps(orig_set)  # pipelines inspect its signature (LTX asks whether it takes sigmas)
        def set_timesteps(*a: Any, **kw: Any) -> Any:
            state["i"] = 0
            return orig_set(*a, **kw)

        def step(model_output: Any, timestep: Any, sample: Any, *a: Any, return_dict: bool = True, **kw: Any) -> Any:
            prev = self._step(state, call, model_output, sample).to(sample.dtype)
            state["calls"] = []
            state["i"] += 1
            return (prev,) if not return_dict else _StepOutput(prev)

        sched.step, sched.set_timesteps = step, set_timesteps
        try:
            yield
        finally:
            for h in hooks:
                h.remove()
            for attr in ("step", "set_timesteps"):
                sched.__dict__.pop(attr, None)

    def _step(self, state: dict[str, Any], call: CallRecord, model_output: Any, sample: Any) -> Any:
        """Step ``state["i"]``: Euler outside the SDE window; inside, the SDE step, recorded with
        the transformer calls that made ``model_output`` (checked to reproduce it exactly)."""
        import torch

        i, sig = state["i"], self.pipe.scheduler.sigmas
        sigma, sigma_next, sigma_1 = float(sig[i]), float(sig[i + 1]), float(sig[min(1, len(sig) - 1)])
        x, v = sample.float(), model_output.float()
        if not self._in_window(i):
            return x + (sigma_next - sigma) * v
        s_t, std = sde_std(sigma, sigma_next, sigma_1, self.cfg.noise_level)
        mean = sde_mean(x, v, sigma, sigma_next, s_t)
        noise = torch.stack([torch.randn(x.shape[1:], generator=torch.Generator().manual_seed(_noise_seed(s, i)))
                             for s in call.seeds]).to(x.device)
        prev = mean + std * noise
        names = {n for n, _, _ in state["calls"]}
        if len(names) != 1:
            raise BackendError(f"{self.gen.name}: step {i} called {sorted(names) or 'no transformer'}",
                               "this pipeline's loop is not supported by spiral.rl.flow_grpo")
        module = names.pop()
        guidance = self._guidance(module)
        kwargs = [kw for _, kw, _ in state["calls"]]
        combined = self._combine([o for _, _, o in state["calls"]], kwargs, guidance).float()
        if combined.shape != v.shape or not torch.allclose(combined, v, rtol=0.0, atol=0.0, equal_nan=True):
            raise BackendError(f"{self.gen.name}: the recorded transformer outputs do not reproduce the velocity "
                               f"the pipeline passed to step() (step {i})",
                               "this diffusers version's guidance differs from spiral.rl.flow_grpo's; report it "
                               "with the diffusers version")
        lp = gaussian_logprob(prev, mean, std)
        if not bool(torch.isfinite(lp).all()):
            raise BackendError(f"{self.gen.name}: the model's velocity is not finite at step {i} (NaN/inf)",
                               "check the weights and dtype (fp16 overflows: try generator.dtype=bf16)")
        call.steps.append(StepRecord(i, sigma, sigma_next, s_t, std, module, guidance, kwargs, x.detach().clone(),
                                     prev.detach().clone(), lp.detach()))
        return prev

    def _guidance(self, module: str) -> float:
        g = self._call_settings["guidance"]
        if module == "transformer_2":
            g2 = getattr(self.gen.cfg, "guidance_2", None)
            return float(g if g2 is None else g2)
        return float(g)

    def _combine(self, outs: list[Any], calls: list[dict[str, Any]], guidance: float) -> Any:
        """The velocity the pipeline passes to step(), from its transformer outputs."""
        if self.kind == "wan":  # cond first, then uncond (when guidance > 1)
            if len(outs) == 1:
                return outs[0]
            cond, uncond = outs
            return uncond + guidance * (cond - uncond)
        if self.kind == "ltx":  # one call on [uncond; cond], unpacked, first latent frame left out
            v = outs[0].float()
            if self.gen.uses_cfg(guidance):
                uncond, text = v.chunk(2)
                v = uncond + guidance * (text - uncond)
            kw = calls[0]
            p = self.pipe
            v = p._unpack_latents(v, kw["num_frames"], kw["height"], kw["width"], p.transformer_spatial_patch_size,
                                  p.transformer_temporal_patch_size)
            return v[:, :, 1:]
        if self.kind == "hunyuan":  # cond first, then negative (true CFG); token_replace steps frames 1:
            v = outs[0]
            if len(outs) == 2:
                v = outs[1] + self.gen.cfg.true_cfg_scale * (outs[0] - outs[1])
            return v[:, :, 1:] if self.pipe.transformer.config.image_condition_type == "token_replace" else v
        raise AssertionError(self.kind)

    def sample(self, requests: Sequence[GenerationRequest], seeds: Sequence[int]) -> tuple[list[Clip],
                                                                                          list[SampleRecord]]:
        """Clips for ``requests`` (request ``i`` with ``seeds[i]``), sampled with the SDE; one
        pipeline call per run of consecutive requests that differ only by seed."""
        import torch

        reqs = [r.model_copy(update={"seed": int(s)}) for r, s in zip(requests, seeds)]
        clips: list[Clip] = []
        records: list[SampleRecord] = []
        for chunk in self._chunks(reqs):
            call = CallRecord(seeds=[r.seed for r in chunk])
            self._call_settings = self.gen.settings(chunk[0])
            before = self.gen.stats["pipeline_calls"]
            with torch.no_grad(), self._patched(call):
                out = self.gen.generate(chunk)
            if self.gen.stats["pipeline_calls"] - before != 1:
                raise BackendError(f"{self.gen.name}: a GRPO group was split over several pipeline calls",
                                   "keep generator.max_batch >= the chunk size")
            if not call.steps:
                raise ConfigError(f"FlowGRPOConfig.sde_window {self.cfg.sde_window} holds none of the "
                                  f"{self._call_settings['steps']} denoising steps", "widen FlowGRPOConfig.sde_window")
            clips.extend(out)
            records.extend(SampleRecord(call, k) for k in range(len(chunk)))
        return clips, records

    def _chunks(self, reqs: list[GenerationRequest]) -> list[list[GenerationRequest]]:
        size = self.gen.cfg.max_batch if self.gen.batch_seeds else 1
        chunks: list[list[GenerationRequest]] = []
        for r in reqs:
            last = chunks[-1] if chunks else None
            if last and len(last) < size and _same_but_seed(last[0], r):
                last.append(r)
            else:
                chunks.append([r])
        return chunks

    # -- scoring ---------------------------------------------------------------------------------
    def _columns(self, records: Sequence[SampleRecord], steps: Sequence[int] | None) -> list[int]:
        n = min(len(r.call.steps) for r in records)
        return list(range(n)) if steps is None else list(steps)

    def _score(self, records: Sequence[SampleRecord], steps: Sequence[int] | None, reference: bool) -> Any:
        import torch

        cols = self._columns(records, steps)
        calls: dict[int, CallRecord] = {}
        for r in records:
            calls.setdefault(id(r.call), r.call)
        per_call: dict[int, Any] = {}
        for cid, call in calls.items():
            col_lp = []
            for j in cols:
                st = call.steps[j]
                mod = self.train_modules[st.module]
                if reference:
                    self.modules[st.module].disable_adapters()
                try:
                    outs = [_first(mod(**kw)) for kw in st.calls]
                finally:
                    if reference:
                        self.modules[st.module].enable_adapters()
                v = self._combine(outs, st.calls, st.guidance).float()
                mean = sde_mean(st.x, v, st.sigma, st.sigma_next, st.s_t)
                col_lp.append(gaussian_logprob(st.x_next, mean, st.std))
            per_call[cid] = torch.stack(col_lp, dim=1)
        return torch.stack([per_call[id(r.call)][r.row] for r in records])

    def logprob(self, records: Sequence[SampleRecord], steps: Sequence[int] | None = None) -> Any:
        """``[N, S]`` log-probs of the recorded SDE steps under the current LoRA weights (differentiable)."""
        return self._score(records, steps, reference=False)

    def reference_logprob(self, records: Sequence[SampleRecord], steps: Sequence[int] | None = None) -> Any:
        """The same under the base model (LoRA disabled), without gradient."""
        import torch

        with torch.no_grad():
            return self._score(records, steps, reference=True)

    def sampled_logprob(self, records: Sequence[SampleRecord], steps: Sequence[int] | None = None) -> Any:
        import torch

        cols = self._columns(records, steps)
        return torch.stack([torch.stack([r.call.steps[j].logprob[r.row] for j in cols]) for r in records])


@dataclass
class _StepOutput:
    prev_sample: Any


def _first(out: Any) -> Any:
    return out[0] if isinstance(out, (tuple, list)) else out.sample


def _noise_seed(seed: int, step: int) -> int:
    from spiral.rl.grpo import derived_seed

    return derived_seed(seed, step, 3)


def _same_but_seed(a: GenerationRequest, b: GenerationRequest) -> bool:
    import numpy as np

    if a.model_dump(exclude={"seed", "cond_frame", "keyframes", "context", "action"}) != \
            b.model_dump(exclude={"seed", "cond_frame", "keyframes", "context", "action"}):
        return False
    return a.cond_frame is b.cond_frame or np.array_equal(np.asarray(a.cond_frame), np.asarray(b.cond_frame))


def make_accelerator(cpu: bool | None = None, **kwargs: Any) -> Any:
    """An ``accelerate.Accelerator`` (``cpu=True`` forces one CPU process; default: whatever
    ``accelerate launch`` set up, else the available device)."""
    from accelerate import Accelerator, DistributedDataParallelKwargs

    if cpu is None:
        import torch

        cpu = not torch.cuda.is_available()
    # Wan 2.2 A14B: a denoising step uses one of the two experts, so the other's LoRA gets no gradient
    kwargs.setdefault("kwargs_handlers", [DistributedDataParallelKwargs(find_unused_parameters=True)])
    return Accelerator(cpu=cpu, **kwargs)


def train_lora(generator: Any, requests: Any, reward_funcs: Any, out_dir: str | Path,
               grpo: Any = None, flow: FlowGRPOConfig | None = None, accelerator: Any = None,
               steps: int | None = None) -> Path:
    """Post-train ``generator`` (a flow-matching diffusers adapter) with GRPO through LoRA.

    ``requests``/``reward_funcs``/``grpo`` as for :class:`~spiral.rl.grpo.GRPOTrainer`;
    ``out_dir`` gets ``metrics.csv``, resumable ``checkpoints/`` (a killed run continues where
    its last checkpoint left off) and the final LoRA in ``lora/`` (diffusers format: point the
    adapter's ``generator.lora`` at it; the EMA weights when ``grpo.ema_decay`` is set). Returns
    the LoRA file.
    """
    from spiral.rl.grpo import GRPOTrainer

    policy = FlowMatchingPolicy(generator, flow, accelerator=accelerator)
    trainer = GRPOTrainer(policy, reward_funcs, requests, grpo, out_dir=out_dir, accelerator=accelerator)
    trainer.train(steps)
    if trainer.ema is not None:  # the averaged weights are the result
        policy.load_trainable_state(trainer.ema.shadow)
    if accelerator is not None:
        accelerator.wait_for_everyone()
        if not accelerator.is_main_process:
            return Path(out_dir) / "lora" / LORA_FILE
    return policy.save_lora(Path(out_dir) / "lora")
