"""What every diffusers backbone adapter shares: config, loading, checks, caches, batching.

A family adapter (one file each, e.g. :mod:`.wan21_i2v`) subclasses :class:`DiffusersGenerator`
and states its constraints (frame-count rule, size multiple, whether it takes text), its
pipeline class, how to encode a prompt, and how a batch maps to a pipeline call. This
module does the rest:

* **Checks before weights.** A request the model cannot take (12 frames for a 4k+1 model, a
  size that is not a multiple of 16) is refused with a :class:`~spiral.errors.BackendError`
  before anything loads; built from a run config (``from_config(cfg, config=run_config)``),
  the run's ``loop.frames_per_segment`` and ``scene.size`` are checked when the backend is
  built, so ``spiral run`` fails with the ``--set`` that fixes it before it writes anything.
* **Loading once.** Pipelines loaded from a Hub id or a local directory are cached per
  process, keyed by everything that changes the weights or their placement (model,
  revision, variant, dtypes, device, offload, LoRA): every segment and retry of a run, and
  every generator built on the same model, share one pipeline.
* **Prompt embeddings cached.** The text embedding of a (prompt, negative prompt) pair is
  computed once and reused across retries of the same sub-action (reseed and more-steps
  refinements keep the prompt; best-of-N and GRPO groups share it).
* **Batched sampling.** ``generate(requests)`` puts requests that differ only by seed
  (same prompt, conditioning frame, size, frames, steps, guidance) in one pipeline call
  with one ``torch.Generator`` per request (``max_batch`` at a time), so clip *i* is the
  same whether it was sampled alone or in a group.

Nothing here imports torch or diffusers at module import time: building the adapter,
``spiral config --generator NAME`` and the constraint checks work without them.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from spiral.core.types import Clip, GenerationRequest
from spiral.errors import BackendError, ConfigError

log = logging.getLogger(__name__)

DType = Literal["bf16", "fp16", "fp32"]
_TORCH_DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}
_DEVICE_RE = re.compile(r"^(auto|cpu|mps|(cuda|xpu|npu)(:\d+)?)$")

# process-wide pipeline cache (see DiffusersGenerator.pipeline)
_PIPELINES: dict[tuple, Any] = {}
_PIPELINES_LOCK = threading.Lock()


def clear_pipeline_cache() -> None:
    """Forget every pipeline loaded by an adapter in this process (frees their memory once
    no generator holds them)."""
    with _PIPELINES_LOCK:
        _PIPELINES.clear()


def cached_pipelines() -> int:
    """How many pipelines the process-wide cache holds."""
    return len(_PIPELINES)


def diffusers_dtype_key() -> str:
    """``dtype`` for diffusers versions that renamed ``torch_dtype`` (0.36+), else ``torch_dtype``."""
    try:
        from diffusers.utils.deprecation_utils import _resolve_dtype  # noqa: F401
    except ImportError:
        return "torch_dtype"
    return "dtype"


def transformers_dtype_key() -> str:
    """``dtype`` for transformers >= 4.56 (which deprecated ``torch_dtype``), else ``torch_dtype``."""
    import transformers

    major, minor = (int(x) for x in re.findall(r"\d+", transformers.__version__)[:2])
    return "dtype" if (major, minor) >= (4, 56) else "torch_dtype"


class DiffusersConfig(BaseModel):
    """Options common to every diffusers backbone (``--set generator.KEY=VALUE``)."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(default="", description="Hub id or local directory of the diffusers-format model")
    revision: str | None = Field(default=None, description="Hub revision (branch, tag or commit)")
    variant: str | None = Field(default=None,
                                description="weights variant, e.g. fp16 (files named *.fp16.safetensors)")
    local_files_only: bool = Field(default=False,
                                   description="never contact the Hub (also implied by HF_HUB_OFFLINE=1)")
    dtype: DType = Field(default="bf16", description="weights dtype: bf16, fp16 or fp32")
    vae_dtype: DType | None = Field(default=None, description="VAE dtype if different from dtype (null: dtype)")
    device: str = Field(default="auto", description="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N, mps")
    offload: Literal["none", "model", "sequential"] = Field(
        default="none", description="none: all on the device; model: model CPU offload (one sub-model on the GPU at "
                                    "a time); sequential: sequential CPU offload (least memory, slowest)")
    vae_tiling: bool = Field(default=False, description="decode the VAE in tiles (less memory at large sizes)")
    vae_slicing: bool = Field(default=False, description="decode a batch one clip at a time (less memory)")
    lora: str | None = Field(default=None, description="LoRA weights: local file/directory or Hub id")
    lora_weight_name: str | None = Field(default=None, description="file name of the LoRA inside `lora`")
    lora_scale: float = Field(default=1.0, description="LoRA strength")
    steps: int = Field(default=30, ge=1, description="sampling steps when the loop does not set loop.steps")
    guidance: float = Field(default=5.0, ge=0.0, description="guidance scale when the loop does not set loop.guidance")
    negative_prompt: str | None = Field(default=None,
                                        description="negative prompt when the loop does not set loop.negative_prompt")
    max_sequence_length: int = Field(default=512, ge=1, description="text tokens given to the text encoder")
    model_size: tuple[int, int] | None = Field(
        default=None, description="generate at this [height, width] and resize the clip to the request's size "
                                  "(null: generate at the request's size)")
    max_batch: int = Field(default=4, ge=1, description="most requests sampled in one pipeline call")
    prompt_cache: int = Field(default=32, ge=0, description="prompt embeddings kept for reuse (0: no cache)")
    pin_first_frame: bool = Field(default=False,
                                  description="replace frame 0 of each clip by the conditioning frame exactly")
    progress: bool = Field(default=False, description="show diffusers' progress bars")

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        if not _DEVICE_RE.match(v):
            raise ValueError(f"device must be auto, cpu, mps, cuda or cuda:N, got {v!r}")
        return v

    @field_validator("model_size")
    @classmethod
    def _model_size(cls, v: tuple[int, int] | None) -> tuple[int, int] | None:
        if v is not None and (v[0] < 8 or v[1] < 8):
            raise ValueError(f"model_size must be [height, width] in pixels, got {list(v)}")
        return v


@dataclass(frozen=True)
class FrameRule:
    """Frame counts a model can make: ``modulus * k + remainder`` (k >= 0), at least ``minimum``."""

    modulus: int = 4
    remainder: int = 1
    minimum: int = 5

    def ok(self, n: int) -> bool:
        return n >= self.minimum and (n - self.remainder) % self.modulus == 0

    def nearest(self, n: int) -> list[int]:
        below = n - ((n - self.remainder) % self.modulus)
        above = below + self.modulus
        return [x for x in (above, below) if x >= self.minimum] or [self.minimum]

    def describe(self) -> str:
        k = "k" if self.modulus != 1 else ""
        return f"{self.modulus}{k}+{self.remainder}" if self.remainder else f"a multiple of {self.modulus}"


def _nearest_multiple(n: int, m: int, lo: int = 32) -> int:
    up = -(-n // m) * m
    down = (n // m) * m
    cands = [c for c in (down, up) if c >= lo] or [max(lo, up)]
    return min(cands, key=lambda c: (abs(c - n), -c))


class DiffusersGenerator:
    """Base of the diffusers adapters (the ``Generator`` protocol over a diffusers pipeline).

    Build it from a run config (``from_config``: the pipeline loads on first use), from a
    ready pipeline (``DiffusersGenerator(pipeline=pipe)``) or from ready components
    (``DiffusersGenerator(components={...})``), which is how tests inject tiny random models.
    """

    # -- what a family states -----------------------------------------------------------------
    name: ClassVar[str] = "diffusers"
    family: ClassVar[str] = ""  # human name for messages, e.g. "Wan 2.1 I2V"
    pipeline_class: ClassVar[str] = ""  # diffusers class name
    vae_class: ClassVar[str] = ""  # for loading the VAE in its own dtype
    frame_rule: ClassVar[FrameRule | None] = FrameRule(4, 1, 5)
    size_multiple: ClassVar[int] = 16
    takes_text: ClassVar[bool] = True
    supports_lora: ClassVar[bool] = True
    supports_vae_tiling: ClassVar[bool] = True
    supports_vae_slicing: ClassVar[bool] = True
    #: whether requests that differ only by seed may share one pipeline call with the same
    #: per-seed result as alone (False for pipelines that draw shared noise from the first
    #: generator of a batch)
    batch_seeds: ClassVar[bool] = True
    Config: ClassVar[type[DiffusersConfig]] = DiffusersConfig

    def __init__(self, pipeline: Any = None, *, components: dict[str, Any] | None = None,
                 config: DiffusersConfig | None = None, **options: Any):
        if config is not None and options:
            raise TypeError("pass either config=... or keyword options, not both")
        self.cfg = config if config is not None else self.Config(**options)
        self._check_config(self.cfg)
        if pipeline is None and components is not None:
            pipeline = self.pipeline_from_components(components)
        self._pipe = pipeline
        self._injected = pipeline is not None
        self._prepared = False
        self._embeds: OrderedDict[tuple, dict[str, Any]] = OrderedDict()
        self.stats = {"pipeline_calls": 0, "clips": 0, "prompt_cache_hits": 0, "prompt_cache_misses": 0,
                      "loads": 0}
        self._warned: set[str] = set()
        self._device_of: tuple[int, Any] | None = None

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_config(cls, cfg: DiffusersConfig, config: Any = None, **_: Any) -> DiffusersGenerator:
        """Build from validated options; with the run config, check its frames and size now
        (before any weights load and before the run directory is written)."""
        gen = cls(config=cfg)
        if config is not None:
            gen.check_run_config(config)
        gen.check_placement()
        return gen

    @classmethod
    def pipeline_from_components(cls, components: dict[str, Any]) -> Any:
        """The family's diffusers pipeline made from ready components (e.g. the tiny ones of
        :mod:`spiral.generators.diffusers.testing`)."""
        import diffusers

        pipe = getattr(diffusers, cls.pipeline_class)(**components)
        pipe.set_progress_bar_config(disable=True)
        return pipe

    @property
    def default_steps(self) -> int:
        return self.cfg.steps

    # -- constraints (no weights needed) --------------------------------------------------------
    def _check_config(self, cfg: DiffusersConfig) -> None:
        if cfg.lora and not self.supports_lora:
            raise ConfigError(f"{self.name}: diffusers' {self.pipeline_class} cannot load LoRA weights",
                              "drop generator.lora, or use a backbone that supports LoRA")
        for flag, ok in (("vae_tiling", self.supports_vae_tiling), ("vae_slicing", self.supports_vae_slicing)):
            if getattr(cfg, flag) and not ok:
                raise ConfigError(f"{self.name}: the {self.vae_class} VAE has no {flag.split('_')[1]}",
                                  f"drop generator.{flag}" + (" (generator.decode_chunk_size saves decoding memory)"
                                                              if hasattr(cfg, "decode_chunk_size") else ""))
        if cfg.model_size is not None:
            h, w = cfg.model_size
            m = self.size_multiple
            if h % m or w % m:
                raise ConfigError(
                    f"{self.name}: generator.model_size {h}x{w} is not a multiple of {m}",
                    f"set --set 'generator.model_size=[{_nearest_multiple(h, m, m)}, {_nearest_multiple(w, m, m)}]'")

    def generation_size(self, height: int, width: int) -> tuple[int, int]:
        """The size the pipeline is asked for (``model_size`` if set, else the request's)."""
        return tuple(self.cfg.model_size) if self.cfg.model_size else (height, width)  # type: ignore[return-value]

    def fixed_size(self) -> tuple[int, int] | None:
        """A size the model is limited to (only for models that take one size), else None."""
        return None

    def constraint_errors(self, num_frames: int, height: int, width: int) -> list[tuple[str, str]]:
        """(message, hint) for every constraint of the model that these inputs break."""
        errs: list[tuple[str, str]] = []
        rule = self.frame_rule
        if rule is not None and not rule.ok(num_frames):
            near = rule.nearest(num_frames)
            series = ", ".join(str(rule.minimum + k * rule.modulus) for k in range(4))
            errs.append(((f"{self.name} ({self.family}) makes clips of {rule.describe()} frames; "
                         f"{num_frames} frames were asked for"),
                         f"set --set loop.frames_per_segment={near[0]}"
                         + (f" (or {near[1]})" if len(near) > 1 else "") + f"; valid counts: {series}, ..."))
        gh, gw = self.generation_size(height, width)
        fixed = self.fixed_size()
        if fixed is not None and (gh, gw) != fixed:
            errs.append(((f"{self.name} ({self.family}, model {self.cfg.model or 'injected'}) only generates "
                         f"{fixed[0]}x{fixed[1]} frames; {gh}x{gw} was asked for"),
                         (f"set --set 'generator.model_size=[{fixed[0]}, {fixed[1]}]' (the clip is resized to "
                         f"scene.size), or use a model without a fixed size")))
        elif gh % self.size_multiple or gw % self.size_multiple:
            m = self.size_multiple
            if self.cfg.model_size:
                hint = (f"set --set 'generator.model_size=[{_nearest_multiple(gh, m, m)}, "
                        f"{_nearest_multiple(gw, m, m)}]'")
            else:
                hint = (f"set --set scene.size={_nearest_multiple(max(gh, gw), m)} (or --set "
                        f"'generator.model_size=[H, W]' with multiples of {m}: the clip is resized to scene.size)")
            errs.append((f"{self.name} ({self.family}) needs a height and width that are multiples of {m}; "
                         f"got {gh}x{gw}" + (" (generator.model_size)" if self.cfg.model_size else ""), hint))
        return errs

    def check_run_config(self, run_config: Any) -> None:
        """Refuse a run config whose clips this model cannot make (a ConfigError naming the
        ``--set`` that fixes it)."""
        loop, scene = run_config.loop, run_config.scene
        errs = self.constraint_errors(loop.frames_per_segment, scene.size, scene.size)
        if errs:
            raise ConfigError("; ".join(m for m, _ in errs), "; ".join(h for _, h in errs))
        self._check_text_use(run_config)

    def _check_text_use(self, run_config: Any) -> None:
        """Families without text say how they treat prompts (see ``svd``)."""

    def check_request(self, req: GenerationRequest) -> None:
        """Refuse a request the model cannot take (before any weights load)."""
        errs = self.constraint_errors(req.num_frames, req.height, req.width)
        if errs:
            raise BackendError("; ".join(m for m, _ in errs), "; ".join(h for _, h in errs))
        frame = np.asarray(req.cond_frame)
        if frame.ndim != 3 or frame.shape[-1] != 3:
            raise BackendError(f"{self.name}: the conditioning frame must be HxWx3, got shape {frame.shape}",
                               "pass an RGB frame")

    def check_placement(self) -> None:
        """Refuse a device or offload setting this machine cannot honour (before any weights
        load: with a 14B model, loading first would waste minutes). Imports torch only when
        the settings need it (building a generator stays light)."""
        dev, off = self.cfg.device, self.cfg.offload
        if off == "none" and dev in ("auto", "cpu"):
            return
        import torch

        kind, _, index = dev.partition(":")
        if kind == "cuda":
            n = torch.cuda.device_count() if torch.cuda.is_available() else 0
            if n == 0:
                raise ConfigError(f"{self.name}: generator.device={dev}, but this torch sees no CUDA device",
                                  "set generator.device=auto (or cpu), or install a CUDA build of torch")
            if index and (not index.isdigit() or int(index) >= n):
                raise ConfigError(f"{self.name}: generator.device={dev}, but there are {n} CUDA device(s)",
                                  f"use cuda:0 … cuda:{n - 1}")
        elif kind == "mps":
            mps = getattr(torch.backends, "mps", None)
            if mps is None or not mps.is_available():
                raise ConfigError(f"{self.name}: generator.device=mps, but MPS is not available here",
                                  "set generator.device=auto (or cpu)")
        if off != "none" and self.resolve_device() == "cpu":
            raise ConfigError(f"{self.name}: offload={off} moves sub-models to an accelerator, but the device "
                              "is the CPU", "drop generator.offload, or set generator.device=cuda")

    # -- loading ------------------------------------------------------------------------------
    def resolve_device(self) -> str:
        dev = self.cfg.device
        if dev != "auto":
            return dev
        import torch

        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
        return "cpu"

    def cache_key(self) -> tuple:
        c = self.cfg
        return (self.pipeline_class, str(Path(c.model).expanduser()) if c.model else "", c.revision, c.variant,
                c.dtype, c.vae_dtype, self.resolve_device(), c.offload, c.lora, c.lora_weight_name, c.lora_scale,
                *self.extra_cache_key())

    def extra_cache_key(self) -> tuple:
        return ()

    def _source(self) -> str:
        m = self.cfg.model
        if not m:
            raise ConfigError(f"{self.name}: no model given", "set --set generator.model=HUB_ID_OR_DIR")
        p = Path(m).expanduser()
        return str(p) if p.exists() else m

    def load_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``from_pretrained`` common to every sub-model."""
        import torch

        kw: dict[str, Any] = {diffusers_dtype_key(): getattr(torch, _TORCH_DTYPES[self.cfg.dtype])}
        if self.cfg.revision:
            kw["revision"] = self.cfg.revision
        if self.cfg.variant:
            kw["variant"] = self.cfg.variant
        if self.cfg.local_files_only or os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0", "false", "False"):
            kw["local_files_only"] = True
        return kw

    def load_pipeline(self) -> Any:
        """Load the pipeline from ``model`` (Hub id or local directory). Families override
        :meth:`extra_load_kwargs` for sub-models with their own dtype or config."""
        import diffusers
        import torch

        src = self._source()
        kw = self.load_kwargs()
        if self.cfg.vae_dtype and self.cfg.vae_dtype != self.cfg.dtype and self.vae_class:
            vae_kw = {**kw, diffusers_dtype_key(): getattr(torch, _TORCH_DTYPES[self.cfg.vae_dtype])}
            kw["vae"] = getattr(diffusers, self.vae_class).from_pretrained(src, subfolder="vae", **vae_kw)
        kw.update(self.extra_load_kwargs(src, kw))
        return getattr(diffusers, self.pipeline_class).from_pretrained(src, **kw)

    def extra_load_kwargs(self, src: str, kw: dict[str, Any]) -> dict[str, Any]:
        return {}

    @property
    def pipeline(self) -> Any:
        """The pipeline, loaded (once per process and cache key) and placed on first use."""
        if self._pipe is None or not self._prepared:
            self.check_placement()  # before any weights load (a generator built without from_config)
        if self._pipe is None:
            key = self.cache_key()
            with _PIPELINES_LOCK:
                pipe = _PIPELINES.get(key)
                if pipe is None:
                    t0 = time.perf_counter()
                    log.info("loading %s from %s", self.pipeline_class, self.cfg.model)
                    try:
                        pipe = self.load_pipeline()
                    except (OSError, ValueError) as exc:
                        raise BackendError(
                            f"{self.name}: could not load {self.pipeline_class} from {self.cfg.model!r}: {exc}",
                            "download the model first (e.g. `hf download MODEL`), or point --set "
                            "generator.model=/path/to/dir at a local diffusers-format copy; with HF_HUB_OFFLINE=1 "
                            "only local files are used") from exc
                    self._place(pipe)
                    self._apply_lora(pipe)
                    self.stats["loads"] += 1
                    log.info("loaded %s in %.1f s", self.pipeline_class, time.perf_counter() - t0)
                    _PIPELINES[key] = pipe
            self._pipe = pipe
            self._prepared = True
        elif not self._prepared:  # an injected pipeline: apply placement, offload, LoRA once
            self._place(self._pipe)
            self._apply_lora(self._pipe)
            self._prepared = True
        return self._pipe

    def _place(self, pipe: Any) -> None:
        device = self.resolve_device()
        off = self.cfg.offload
        if off != "none":
            if off == "model":
                pipe.enable_model_cpu_offload(device=device)
            else:
                pipe.enable_sequential_cpu_offload(device=device)
        elif not self._injected or self.cfg.device != "auto" or device != "cpu":
            pipe.to(device)
        self.configure(pipe)

    def _apply_lora(self, pipe: Any) -> None:
        names, scales = self.load_loras(pipe)
        if names:
            pipe.set_adapters(names, adapter_weights=scales)

    def load_loras(self, pipe: Any) -> tuple[list[str], list[float]]:
        """Load the configured LoRAs into ``pipe``; their adapter names and scales."""
        if not self.cfg.lora:
            return [], []
        self.load_lora(pipe, self.cfg.lora, self.cfg.lora_weight_name, "spiral", "generator.lora")
        return ["spiral"], [self.cfg.lora_scale]

    def load_lora(self, pipe: Any, source: str, weight_name: str | None, adapter: str, option: str,
                  **extra: Any) -> None:
        """One LoRA (``option`` names its config key in errors), offline when the model is."""
        import importlib.util

        if importlib.util.find_spec("peft") is None and not self._injected:
            raise BackendError(f"{self.name}: loading a LoRA needs the peft package", "pip install peft")
        kw: dict[str, Any] = {"weight_name": weight_name} if weight_name else {}
        if self.load_kwargs().get("local_files_only"):
            kw["local_files_only"] = True  # a Hub id must not reach the Hub either
        try:
            pipe.load_lora_weights(source, adapter_name=adapter, **kw, **extra)
        except (OSError, ValueError) as exc:
            raise BackendError(f"{self.name}: could not load LoRA {source!r} ({option}): {exc}",
                               f"check {option} (a .safetensors file, a directory, or a Hub id) and "
                               f"{option}_weight_name") from exc

    def configure(self, pipe: Any) -> None:
        """Per-generator switches that do not change weights (VAE tiling/slicing, progress bars);
        applied whenever this generator takes the pipeline."""
        vae = getattr(pipe, "vae", None)
        for flag, on, off in (("vae_tiling", "enable_tiling", "disable_tiling"),
                              ("vae_slicing", "enable_slicing", "disable_slicing")):
            want = getattr(self.cfg, flag)
            if vae is None:
                continue
            fn = getattr(vae, on if want else off, None)
            if fn is None or (not want and not getattr(vae, "use_" + flag.split("_")[1], False)):
                if want:
                    raise ConfigError(f"{self.name}: the VAE ({type(vae).__name__}) has no {on}()",
                                      f"drop generator.{flag}")
                continue
            try:
                fn()
            except NotImplementedError as exc:
                if want:
                    raise ConfigError(f"{self.name}: {type(vae).__name__} does not support {flag}: {exc}",
                                      f"drop generator.{flag}") from exc
        pipe.set_progress_bar_config(disable=not self.cfg.progress)

    def execution_device(self, pipe: Any) -> Any:
        """``pipe._execution_device``, computed once per pipeline (it walks every sub-module)."""
        if self._device_of is None or self._device_of[0] != id(pipe):
            self._device_of = (id(pipe), pipe._execution_device)
        return self._device_of[1]

    # -- prompt embeddings -----------------------------------------------------------------------
    def uses_cfg(self, guidance: float) -> bool:
        """Whether the call runs classifier-free guidance (two passes per step)."""
        return guidance > 1.0

    def encode_prompt(self, pipe: Any, prompt: str, negative: str | None, guidance: float,
                      image: Any) -> dict[str, Any]:
        """Call kwargs with the prompt's embeddings for a batch of one (e.g. ``prompt_embeds``,
        ``negative_prompt_embeds``); None for families without text."""
        raise NotImplementedError

    def embed_key(self, prompt: str, negative: str | None, guidance: float, image_key: str) -> tuple:
        return (prompt, negative, self.uses_cfg(guidance), self.cfg.max_sequence_length)

    def embeddings(self, pipe: Any, prompt: str, negative: str | None, guidance: float, image: Any,
                   image_key: str) -> tuple[dict[str, Any], bool]:
        key = self.embed_key(prompt, negative, guidance, image_key)
        hit = self._embeds.get(key)
        if hit is not None:
            self._embeds.move_to_end(key)
            self.stats["prompt_cache_hits"] += 1
            return hit, True
        self.stats["prompt_cache_misses"] += 1
        import torch

        with torch.no_grad():
            emb = self.encode_prompt(pipe, prompt, negative, guidance, image)
        if self.cfg.prompt_cache > 0:
            self._embeds[key] = emb
            while len(self._embeds) > self.cfg.prompt_cache:
                self._embeds.popitem(last=False)
        return emb, False

    def clear_prompt_cache(self) -> None:
        self._embeds.clear()

    @staticmethod
    def repeat_batch(emb: dict[str, Any], n: int) -> dict[str, Any]:
        if n == 1:
            return dict(emb)
        out = {}
        for k, v in emb.items():
            out[k] = v.repeat(n, *([1] * (v.ndim - 1))) if hasattr(v, "repeat") and hasattr(v, "ndim") else v
        return out

    # -- the call ---------------------------------------------------------------------------------
    def call_kwargs(self, pipe: Any, req: GenerationRequest, n: int, image: Any, generators: list[Any],
                    embeds: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
        """The pipeline call for ``n`` clips of ``req`` (seeds in ``generators``)."""
        raise NotImplementedError

    def pipeline_frames(self, pipe: Any, num_frames: int) -> int:
        """How many frames to ask the pipeline for to get ``num_frames`` back."""
        return num_frames

    def postprocess(self, pipe: Any, video: np.ndarray, image: Any, num_frames: int) -> np.ndarray:
        """One clip's frames (T×H×W×3 float in [0, 1] from the pipeline; ``image`` is the PIL
        conditioning image at the generation size) as ``num_frames`` frames."""
        return video[:num_frames]

    def check_loaded(self, pipe: Any, req: GenerationRequest) -> None:
        """Constraints only the loaded model knows (rarely needed)."""

    def settings(self, req: GenerationRequest) -> dict[str, Any]:
        c = self.cfg
        return {"steps": int(req.steps or c.steps),
                "guidance": float(req.guidance if req.guidance is not None else c.guidance),
                "negative_prompt": req.negative_prompt if req.negative_prompt is not None else c.negative_prompt}

    def _group_key(self, req: GenerationRequest, s: dict[str, Any], image_key: str) -> tuple:
        return (req.prompt, s["negative_prompt"], s["steps"], s["guidance"], req.num_frames, req.height, req.width,
                req.fps, image_key)

    def generate(self, requests: list[GenerationRequest]) -> list[Clip]:
        """Clips for ``requests`` (same order); requests that differ only by seed share a call."""
        if not requests:
            return []
        for req in requests:  # every constraint before any weights load
            self.check_request(req)
            self._check_prompt(req)
        groups: OrderedDict[tuple, list[int]] = OrderedDict()
        prepared = []
        for i, req in enumerate(requests):
            s = self.settings(req)
            cond = np.ascontiguousarray(np.asarray(req.cond_frame, dtype=np.uint8))
            image_key = hashlib.sha1(cond.tobytes() + str(cond.shape).encode()).hexdigest()
            prepared.append((s, cond, image_key))
            groups.setdefault(self._group_key(req, s, image_key), []).append(i)
        pipe = self.pipeline
        self.configure(pipe)
        out: list[Clip | None] = [None] * len(requests)
        for idx in groups.values():
            size = self.cfg.max_batch if self.batch_seeds else 1
            for start in range(0, len(idx), size):
                chunk = idx[start:start + size]
                clips = self._generate_group(pipe, [requests[i] for i in chunk], *prepared[chunk[0]])
                for i, clip in zip(chunk, clips):
                    out[i] = clip
        return out  # type: ignore[return-value]

    def model_label(self, pipe: Any) -> str:
        """What the clip metadata names as the model."""
        return f"injected {type(pipe).__name__}" if self._injected else self.cfg.model

    def _check_prompt(self, req: GenerationRequest) -> None:
        """Families without text decide what a prompt means (see ``svd``)."""

    def _generate_group(self, pipe: Any, reqs: list[GenerationRequest], s: dict[str, Any], cond: np.ndarray,
                        image_key: str) -> list[Clip]:
        import torch
        from PIL import Image

        t0 = time.perf_counter()
        req = reqs[0]
        self.check_loaded(pipe, req)
        gh, gw = self.generation_size(req.height, req.width)
        img = Image.fromarray(cond)
        if img.size != (gw, gh):
            img = img.resize((gw, gh), Image.BICUBIC)
        n = len(reqs)
        hit = None
        if self.takes_text:
            emb, hit = self.embeddings(pipe, req.prompt, s["negative_prompt"], s["guidance"], img, image_key)
            embeds = self.repeat_batch(emb, n)
        else:
            embeds = {}
        gens = [torch.Generator(device="cpu").manual_seed(int(r.seed)) for r in reqs]
        kwargs = self.call_kwargs(pipe, req, n, img, gens, embeds, s)
        t1 = time.perf_counter()
        try:
            result = pipe(**kwargs)
        except torch.cuda.OutOfMemoryError as exc:  # type: ignore[attr-defined]
            raise BackendError(f"{self.name}: out of GPU memory generating {n}x{req.num_frames} frames at "
                               f"{gh}x{gw}: {exc}",
                               "set generator.offload=model (or sequential), generator.vae_tiling=true, "
                               "a smaller generator.max_batch, or fewer loop.frames_per_segment") from exc
        t2 = time.perf_counter()
        self.stats["pipeline_calls"] += 1
        self.stats["clips"] += n
        videos = np.asarray(result.frames)
        if videos.ndim == 4:  # a single clip without the batch axis
            videos = videos[None]
        passes = 2 if self.uses_cfg(s["guidance"]) else 1
        clips = []
        for k, r in enumerate(reqs):
            frames = self.postprocess(pipe, videos[k], img, r.num_frames)
            frames = _to_uint8(frames)
            if frames.shape[1:3] != (r.height, r.width):
                frames = _resize_frames(frames, r.height, r.width)
            if self.cfg.pin_first_frame:
                frames[0] = cond if cond.shape[:2] == (r.height, r.width) else \
                    _resize_frames(cond[None], r.height, r.width)[0]
            meta = {"generator": self.name, "model": self.model_label(pipe), "seed": int(r.seed),
                    "steps": s["steps"], "guidance": s["guidance"], "nfe": s["steps"] * passes, "batch": n,
                    "generation_size": [gh, gw]}
            if hit is not None:
                meta["prompt_cache"] = "hit" if hit else "miss"
            if not self.takes_text:
                meta["prompt_ignored"] = True
            meta["gen_s"] = (t2 - t0) / n
            meta["prepare_s"] = (t1 - t0) / n
            clips.append(Clip(frames=np.ascontiguousarray(frames), fps=r.fps, meta=meta))
        return clips


def _to_uint8(frames: Any) -> np.ndarray:
    a = np.asarray(frames)
    if a.dtype == np.uint8:
        return a.copy()
    a = np.clip(a.astype(np.float32, copy=False), 0.0, 1.0) * 255.0
    return np.rint(a).astype(np.uint8)


def _resize_frames(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    from PIL import Image

    return np.stack([np.asarray(Image.fromarray(f).resize((width, height), Image.BICUBIC)) for f in frames])
