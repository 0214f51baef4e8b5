"""``tiny-ti2v``: the built-in learned world model as a generator (CPU, weights in the package).

Requests are batched into one forward pass (N requests, or N seeds of one request for
best-of-N / GRPO groups). Each clip's ``meta`` carries the sampler's exact ``logprob``,
the number of candidate draws (``steps``) and the network evaluations (``nfe``).
With ``keyframe_memory`` (off by default) and memory keyframes in the request, the moving
object's pixels in the last frame are taken from the episode's first frame when the model
finds the same object there (against appearance decay over long chains). Measured on 8-step
chains it does not help this model, whose layers keep their pixels anyway, and it can
restore a bowl without the contents it gained since, so it stays an option.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from spiral.core.types import Clip, GenerationRequest
from spiral.errors import BackendError

log = logging.getLogger(__name__)
_CACHE: dict[str, Any] = {}
_LOCK = threading.Lock()


def shipped_weights() -> Path:
    return Path(str(resources.files("spiral.models.tiny_ti2v").joinpath("weights")))


def tabletop_palette() -> Any:
    """The tabletop's look as the model's :class:`~spiral.models.tiny_ti2v.appearance.RenderPalette`."""
    from spiral.models.tiny_ti2v.appearance import RenderPalette
    from spiral.worlds.tabletop.cleanliness import restore_bowls
    from spiral.worlds.tabletop.render import FRONT_SHADE, SHADOW_RGB
    from spiral.worlds.tabletop.scene import BOWL_INSIDE_RGB, PALETTE, TABLE_RGB

    return RenderPalette(colors=tuple(PALETTE.items()), table=TABLE_RGB, bowl_inside=BOWL_INSIDE_RGB,
                         shadow=SHADOW_RGB, front_shade=FRONT_SHADE, restore=restore_bowls)


# named weights shipped in the package (``generator.weights: NAME``): name -> directory in models/tiny_ti2v/
VARIANTS = {"tiny-ti2v-grpo": "weights-grpo"}


def weights_path(weights: str | None) -> Path:
    """The directory of ``weights``: None (the shipped default), a variant name (``VARIANTS``) or a path."""
    if not weights:
        return shipped_weights()
    if weights in VARIANTS:
        return Path(str(resources.files("spiral.models.tiny_ti2v").joinpath(VARIANTS[weights])))
    return Path(weights).expanduser()


class TinyTI2VGenerator:
    name = "tiny-ti2v"
    # the refinement hints the sampler acts on (spiral.core.refine; models.tiny_ti2v.sampling.HINT_KEYS)
    hint_keys = frozenset({"explore", "target", "subject", "avoid", "partner", "partner_target", "still"})

    class Config(BaseModel):
        model_config = ConfigDict(extra="forbid")
        weights: str | None = Field(default=None, description="directory with config.json + model.safetensors, "
                                                              "or a variant shipped in the package: tiny-ti2v-grpo "
                                                              "(default: the weights shipped in the package)")
        temperature: float | None = Field(default=None, gt=0, description="heatmap temperature (model default)")
        keyframe_memory: bool = Field(default=False, description="take the moving object's pixels from the "
                                                                 "first frame when found there (measured: no gain "
                                                                 "on 8-step chains; see the model card)")
        layer_cleanup: bool | None = Field(default=None, description=(
            "the sampler's hand-written layer clean-up (mask pruning, copy-ghost removal, the "
            "uncovered cube completed): None keeps the weights' config (on for the shipped "
            "weights), false turns it off (e.g. for a model of another world), true on"))
        threads: int | None = Field(default=None, ge=1, le=64, description=(
            "torch CPU threads (default: one for batches of up to small_batch requests, where "
            "waking a second thread costs more than it gives, else two)"))
        small_batch: int = Field(default=2, ge=0, description="largest batch that runs on one thread "
                                                             "when threads is not set")

    def __init__(self, model: Any = None, tokenizer: Any = None, config: TinyTI2VGenerator.Config | None = None):
        self.cfg = config or self.Config()
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        if model is None:
            model = self._load(self.cfg.weights)
        if getattr(model, "palette", None) is None:  # the sampler's clean-up reads the tabletop's colours, handed over as data
            model.palette = tabletop_palette()
        self.model = model
        if tokenizer is None:
            from spiral.models.tiny_ti2v.tokenization_tiny_ti2v import Tokenizer

            tokenizer = Tokenizer(model.config.vocab, model.config.max_text_len)
        self.tok = tokenizer

    @staticmethod
    def _load(weights: str | None):
        from spiral.models.tiny_ti2v.modeling_tiny_ti2v import load_pretrained

        path = str(weights_path(weights))
        with _LOCK:
            if path not in _CACHE:  # loaded once per process, reused across segments and retries
                _CACHE[path] = load_pretrained(path)
            return _CACHE[path]

    @classmethod
    def from_config(cls, cfg: TinyTI2VGenerator.Config, **_: Any) -> TinyTI2VGenerator:
        return cls(config=cfg)

    @property
    def default_steps(self) -> int:
        return int(self.model.config.steps)

    def _prep(self, frame: np.ndarray) -> np.ndarray:
        S = self.model.config.image_size
        f = np.asarray(frame, np.uint8)
        if f.shape[:2] != (S, S):
            from PIL import Image

            f = np.asarray(Image.fromarray(f).resize((S, S), Image.BILINEAR))
        return f

    def generate(self, requests: list[GenerationRequest]) -> list[Clip]:
        if not requests:
            return []
        for r in requests:
            if r.num_frames < 2:
                raise BackendError("a clip needs at least 2 frames", "raise loop.frames_per_segment")
        import torch

        t0 = time.perf_counter()
        before = torch.get_num_threads()
        torch.set_num_threads(self._threads(len(requests)))
        try:
            return self._generate(requests, t0)
        finally:
            torch.set_num_threads(before)  # a process-wide setting: leave it as it was

    def _threads(self, batch: int) -> int:
        if self.cfg.threads is not None:
            return self.cfg.threads
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        return 1 if batch <= self.cfg.small_batch else max(1, min(2, cpus))

    def _generate(self, requests: list[GenerationRequest], t0: float) -> list[Clip]:
        from spiral.models.tiny_ti2v.sampling import generate_clips

        out: list[Clip | None] = [None] * len(requests)
        groups: dict[tuple, list[int]] = {}
        for i, r in enumerate(requests):
            groups.setdefault((r.num_frames, r.steps, r.guidance), []).append(i)
        for (T, steps, guidance), idx in groups.items():
            frames = np.stack([self._prep(requests[i].cond_frame) for i in idx])
            res = generate_clips(self.model, self.tok, frames, [requests[i].prompt for i in idx],
                                 [requests[i].seed for i in idx], num_frames=T, steps=steps,
                                 temperature=self.cfg.temperature, guidance=guidance,
                                 cleanup=self.cfg.layer_cleanup, hints=[requests[i].hints for i in idx])
            if self.cfg.keyframe_memory:
                self._restore_appearance(requests, idx, res)
            nfe = 1 if (guidance or self.model.config.guidance) == 1.0 else 2
            for j, i in enumerate(idx):
                r = requests[i]
                clip = res[j]["frames"]
                if clip.shape[1] != r.height or clip.shape[2] != r.width:
                    clip = _resize(clip, r.height, r.width)
                out[i] = Clip(frames=clip, fps=r.fps, meta={
                    "seed": r.seed, "steps": res[j]["steps"], "nfe": nfe, "logprob": round(res[j]["logprob"], 6),
                    "ends": [[round(v, 3) for v in e] for e in res[j]["ends"]], "generator": self.name,
                    "gen_s": (time.perf_counter() - t0) / len(requests)})
        return out  # type: ignore[return-value]

    def _restore_appearance(self, requests: list[GenerationRequest], idx: list[int], res: list[dict]) -> None:
        """Re-draw the moved object with its first-frame pixels (keyframe memory)."""
        import torch

        from spiral.models.tiny_ti2v.sampling import predict

        have = [j for j, i in enumerate(idx) if requests[idx[j]].keyframes and res[j]["n_layers"] == 1
                and res[j]["scale"] == 1.0]
        if not have:
            return
        kf = np.stack([self._prep(requests[idx[j]].keyframes[0]) for j in have])
        cond = np.stack([self._prep(requests[idx[j]].cond_frame) for j in have])
        prompts = [requests[idx[j]].prompt for j in have]
        p_kf = predict(self.model, self.tok, kf, prompts)
        p_cd = predict(self.model, self.tok, cond, prompts)
        thr = self.model.config.mask_threshold
        for n, j in enumerate(have):
            m_kf = (torch.sigmoid(p_kf["mask_a"][n]) > thr).numpy()
            m_cd = (torch.sigmoid(p_cd["mask_a"][n]) > thr).numpy()
            if not m_kf.any() or not m_cd.any() or abs(int(m_kf.sum()) - int(m_cd.sum())) > 0.1 * m_cd.sum():
                continue
            frames = res[j]["frames"]
            last = frames[-1]
            # where the layer ended: the cond-frame mask moved by its displacement
            ys, xs = np.nonzero(m_cd)
            ex, ey = res[j]["ends"][0]
            dx, dy = int(round(ex - (xs.mean() + 0.5))), int(round(ey - (ys.mean() + 0.5)))
            ky, kx = np.nonzero(m_kf)
            ox, oy = xs.mean() - kx.mean(), ys.mean() - ky.mean()
            H, W = last.shape[:2]
            ty = np.clip(np.round(ky + oy + dy).astype(int), 0, H - 1)
            tx = np.clip(np.round(kx + ox + dx).astype(int), 0, W - 1)
            kimg = kf[n]
            last = last.copy()
            last[ty, tx] = kimg[ky, kx]
            frames[-1] = last


def _resize(clip: np.ndarray, h: int, w: int) -> np.ndarray:
    from PIL import Image

    return np.stack([np.asarray(Image.fromarray(f).resize((w, h), Image.NEAREST)) for f in clip])
