"""``svd``: Stable Video Diffusion (image-to-video, no text) through diffusers.

Pipeline: ``diffusers.StableVideoDiffusionPipeline`` (CLIP image encoder, spatio-temporal
UNet, temporal VAE decoder). Hub ids: ``stabilityai/stable-video-diffusion-img2vid-xt``
(default; 25 frames), ``stabilityai/stable-video-diffusion-img2vid`` (14 frames); both at
576x1024 (``--set generator.variant=fp16 --set generator.dtype=fp16`` loads the half-size
fp16 files). Height and width must be multiples of 8; any frame count >= 2 runs, but the
models were trained on 14 / 25.

SVD takes **no text**: the sub-action prompt and the negative prompt are ignored (a
warning once per generator, and ``prompt_ignored: true`` in each clip's metadata). So the
loop's ``rewrite_prompt`` refinement cannot change an SVD clip; ``reseed`` and
``more_steps`` can. ``on_prompt=error`` refuses prompts instead, at build time in the
closed loop. The request's guidance is SVD's ``max_guidance_scale`` (the guidance rises
from ``min_guidance`` on the first frame to it on the last), its fps the fps
micro-conditioning.

SVD samples one seed per pipeline call: it draws the conditioning-image noise from the
first generator of a batch, so a batched clip would depend on its batch-mates.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import Field

from spiral.core.types import GenerationRequest
from spiral.errors import BackendError, ConfigError
from spiral.generators.diffusers.base import DiffusersConfig, DiffusersGenerator

log = logging.getLogger(__name__)


class SVDGenerator(DiffusersGenerator):
    """Stable Video Diffusion behind the ``Generator`` protocol (image only)."""

    name = "svd"
    family = "Stable Video Diffusion"
    pipeline_class = "StableVideoDiffusionPipeline"
    vae_class = "AutoencoderKLTemporalDecoder"
    frame_rule = None
    size_multiple = 8
    takes_text = False
    supports_lora = False
    supports_vae_tiling = False  # AutoencoderKLTemporalDecoder has neither: use decode_chunk_size
    supports_vae_slicing = False
    batch_seeds = False

    class Config(DiffusersConfig):
        model: str = Field(default="stabilityai/stable-video-diffusion-img2vid-xt",
                           description="Hub id or local directory")
        dtype: Literal["bf16", "fp16", "fp32"] = Field(default="fp16", description="weights dtype")
        steps: int = Field(default=25, ge=1, description="sampling steps when the loop does not set loop.steps")
        guidance: float = Field(default=3.0, ge=0.0, description="max_guidance_scale when loop.guidance is unset")
        min_guidance: float = Field(default=1.0, ge=0.0, description="guidance on the first frame")
        motion_bucket_id: int = Field(default=127, ge=0, le=255, description="more motion when higher")
        noise_aug_strength: float = Field(default=0.02, ge=0.0, description="noise added to the conditioning image")
        decode_chunk_size: int | None = Field(default=None, ge=1,
                                              description="frames decoded at once (lower: less memory; null: all)")
        on_prompt: Literal["warn", "ignore", "error"] = Field(
            default="warn", description="SVD takes no text: warn once and ignore prompts, ignore silently, or refuse")

    def uses_cfg(self, guidance: float) -> bool:
        return guidance > 1.0

    def constraint_errors(self, num_frames: int, height: int, width: int) -> list[tuple[str, str]]:
        errs = super().constraint_errors(num_frames, height, width)
        if num_frames < 2:
            errs.append((f"{self.name} needs at least 2 frames, got {num_frames}",
                         "set --set loop.frames_per_segment=14 (SVD) or 25 (SVD-XT)"))
        return errs

    def _check_text_use(self, run_config: Any) -> None:
        if self.cfg.on_prompt == "error":
            raise ConfigError(f"{self.name} takes no text, and every segment of a run has a prompt "
                              "(generator.on_prompt=error)",
                              "set --set generator.on_prompt=warn to ignore the prompts, or use a text+image "
                              "backbone (wan2.2-ti2v-5b, cogvideox-i2v, ltx-video-i2v, ...)")

    def _check_prompt(self, req: GenerationRequest) -> None:
        if not (req.prompt or "").strip() and not req.negative_prompt:
            return
        if self.cfg.on_prompt == "error":
            raise BackendError(f"{self.name} takes no text; got the prompt {req.prompt!r}",
                               "set --set generator.on_prompt=warn to ignore prompts")
        if self.cfg.on_prompt == "warn" and "prompt" not in self._warned:
            self._warned.add("prompt")
            log.warning("%s (Stable Video Diffusion) takes no text: the prompt %r is ignored; only the "
                        "conditioning frame, the seed and the steps shape the clip", self.name, req.prompt)

    def _group_key(self, req: GenerationRequest, s: dict[str, Any], image_key: str) -> tuple:
        return (s["steps"], s["guidance"], req.num_frames, req.height, req.width, req.fps, image_key)

    def call_kwargs(self, pipe: Any, req: GenerationRequest, n: int, image: Any, generators: list[Any],
                    embeds: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
        h, w = self.generation_size(req.height, req.width)
        c = self.cfg
        return {"image": image, "height": h, "width": w, "num_frames": req.num_frames,
                "num_inference_steps": settings["steps"], "min_guidance_scale": c.min_guidance,
                "max_guidance_scale": settings["guidance"], "fps": req.fps, "motion_bucket_id": c.motion_bucket_id,
                "noise_aug_strength": c.noise_aug_strength, "decode_chunk_size": c.decode_chunk_size,
                "num_videos_per_prompt": n, "generator": generators, "output_type": "np"}
