"""``wan2.1-i2v``: Wan 2.1 image-to-video 14B (480p / 720p) through diffusers.

Pipeline: ``diffusers.WanImageToVideoPipeline`` (UMT5 text encoder, CLIP image encoder,
one 14B transformer). Hub ids: ``Wan-AI/Wan2.1-I2V-14B-480P-Diffusers`` (default) and
``Wan-AI/Wan2.1-I2V-14B-720P-Diffusers``. Clips have 4k+1 frames (81 at 16 fps in the
model's own examples); height and width are multiples of 16 (480x832 / 720x1280 are the
trained sizes). Following the diffusers example, the VAE and the image encoder load in
fp32 (``vae_dtype``), the transformer in ``dtype``.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from spiral.core.types import GenerationRequest
from spiral.generators.diffusers.base import DiffusersConfig, DiffusersGenerator, DType, FrameRule

#: the negative prompt of the diffusers Wan examples
WAN_NEGATIVE_PROMPT = (
    "Bright tones, overexposed, static, blurred details, subtitles, style, works, paintings, images, static, "
    "overall gray, worst quality, low quality, JPEG compression residue, ugly, incomplete, extra fingers, poorly "
    "drawn hands, poorly drawn faces, deformed, disfigured, misshapen limbs, fused fingers, still picture, messy "
    "background, three legs, many people in the background, walking backwards")


class WanI2VBase(DiffusersGenerator):
    """What the Wan image-to-video adapters share (one diffusers pipeline class)."""

    pipeline_class = "WanImageToVideoPipeline"
    vae_class = "AutoencoderKLWan"
    frame_rule = FrameRule(4, 1, 5)
    size_multiple = 16

    def encode_prompt(self, pipe: Any, prompt: str, negative: str | None, guidance: float,
                      image: Any) -> dict[str, Any]:
        pe, ne = pipe.encode_prompt(prompt=prompt, negative_prompt=negative or "",
                                    do_classifier_free_guidance=self.uses_cfg(guidance), num_videos_per_prompt=1,
                                    max_sequence_length=self.cfg.max_sequence_length,
                                    device=self.execution_device(pipe))
        return {"prompt_embeds": pe, "negative_prompt_embeds": ne}

    def call_kwargs(self, pipe: Any, req: GenerationRequest, n: int, image: Any, generators: list[Any],
                    embeds: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
        h, w = self.generation_size(req.height, req.width)
        # one image: the pipeline repeats its latents (and CLIP embedding) for the batch
        return {"image": image, "height": h, "width": w, "num_frames": self.pipeline_frames(pipe, req.num_frames),
                "num_inference_steps": settings["steps"], "guidance_scale": settings["guidance"],
                "generator": generators, "output_type": "np",
                "max_sequence_length": self.cfg.max_sequence_length, **embeds, **self.extra_call_kwargs()}

    def extra_call_kwargs(self) -> dict[str, Any]:
        return {}


class Wan21I2VGenerator(WanI2VBase):
    """Wan 2.1 I2V 14B behind the ``Generator`` protocol."""

    name = "wan2.1-i2v"
    family = "Wan 2.1 I2V 14B"

    class Config(DiffusersConfig):
        model: str = Field(default="Wan-AI/Wan2.1-I2V-14B-480P-Diffusers",
                           description="Hub id or local directory (480P or 720P diffusers checkpoint)")
        vae_dtype: DType | None = Field(default="fp32",
                                        description="VAE and image-encoder dtype (the Wan examples use fp32)")
        steps: int = Field(default=40, ge=1, description="sampling steps when the loop does not set loop.steps")
        guidance: float = Field(default=5.0, ge=0.0, description="guidance scale when loop.guidance is unset")
        negative_prompt: str | None = Field(default=WAN_NEGATIVE_PROMPT,
                                            description="negative prompt when loop.negative_prompt is unset")
        max_sequence_length: int = Field(default=512, ge=1, description="UMT5 tokens")

    def extra_load_kwargs(self, src: str, kw: dict[str, Any]) -> dict[str, Any]:
        if self.cfg.vae_dtype == "fp32" and self.cfg.dtype != "fp32":
            import torch
            from transformers import CLIPVisionModel

            from spiral.generators.diffusers.base import transformers_dtype_key

            enc_kw = {k: v for k, v in kw.items() if k in ("revision", "local_files_only")}
            enc_kw[transformers_dtype_key()] = torch.float32
            return {"image_encoder": CLIPVisionModel.from_pretrained(src, subfolder="image_encoder", **enc_kw)}
        return {}
