"""``hunyuanvideo-i2v``: HunyuanVideo image-to-video through diffusers.

Pipeline: ``diffusers.HunyuanVideoImageToVideoPipeline`` (a Llava text+image encoder, a
CLIP text encoder, one 13B transformer). Hub ids: ``hunyuanvideo-community/HunyuanVideo-I2V``
(default; the image is concatenated to the latents) and
``hunyuanvideo-community/HunyuanVideo-I2V-33ch`` (the image replaces the first latent
token; the diffusers example runs it with ``guidance=1.0``). Clips have 4k+1 frames (129
in the pipeline's defaults), height and width multiples of 16 (720x1280 by default).

The prompt embedding depends on the conditioning image (the Llava encoder sees it), so
the embedding cache is keyed by prompt *and* image: retries of a sub-action (same frame)
still reuse it. With image concatenation the pipeline drops the first four decoded
frames; the adapter asks for four more, so a clip still has the requested frame count and
starts at the conditioning frame.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from spiral.core.types import GenerationRequest
from spiral.generators.diffusers.base import DiffusersConfig, DiffusersGenerator, FrameRule


class HunyuanVideoI2VGenerator(DiffusersGenerator):
    """HunyuanVideo I2V behind the ``Generator`` protocol."""

    name = "hunyuanvideo-i2v"
    family = "HunyuanVideo I2V"
    pipeline_class = "HunyuanVideoImageToVideoPipeline"
    vae_class = "AutoencoderKLHunyuanVideo"
    frame_rule = FrameRule(4, 1, 5)
    size_multiple = 16

    class Config(DiffusersConfig):
        model: str = Field(default="hunyuanvideo-community/HunyuanVideo-I2V", description="Hub id or local directory")
        steps: int = Field(default=50, ge=1, description="sampling steps when the loop does not set loop.steps")
        guidance: float = Field(default=6.0, ge=0.0,
                                description="embedded guidance scale (guidance_scale) when loop.guidance is unset")
        true_cfg_scale: float = Field(default=1.0, ge=0.0,
                                      description="true classifier-free guidance with the negative prompt when > 1 "
                                                  "(two passes per step)")
        max_sequence_length: int = Field(default=256, ge=1, description="Llava text tokens")
        prompt_template: dict[str, Any] | None = Field(
            default=None, description="Llava prompt template (null: the pipeline's default, for the released model)")

    def _image_condition(self, pipe: Any) -> str:
        return pipe.transformer.config.image_condition_type

    def uses_cfg(self, guidance: float) -> bool:
        return self.cfg.true_cfg_scale > 1.0

    def embed_key(self, prompt: str, negative: str | None, guidance: float, image_key: str) -> tuple:
        return (prompt, negative if self.uses_cfg(guidance) else None, self.cfg.max_sequence_length, image_key)

    def _template(self) -> dict[str, Any]:
        if self.cfg.prompt_template is not None:
            return self.cfg.prompt_template
        from diffusers.pipelines.hunyuan_video.pipeline_hunyuan_video_image2video import DEFAULT_PROMPT_TEMPLATE

        return DEFAULT_PROMPT_TEMPLATE

    def encode_prompt(self, pipe: Any, prompt: str, negative: str | None, guidance: float,
                      image: Any) -> dict[str, Any]:
        from PIL import Image

        cond = self._image_condition(pipe)
        interleave = 2 if cond == "latent_concat" else 4 if cond == "token_replace" else 1
        device, tmpl, L = self.execution_device(pipe), self._template(), self.cfg.max_sequence_length
        pe, pooled, mask = pipe.encode_prompt(image=image, prompt=prompt, prompt_template=tmpl,
                                              num_videos_per_prompt=1, device=device, max_sequence_length=L,
                                              image_embed_interleave=interleave)
        out = {"prompt_embeds": pe, "pooled_prompt_embeds": pooled, "prompt_attention_mask": mask}
        if self.uses_cfg(guidance):  # as the pipeline does: the negative prompt against a black image
            black = Image.new("RGB", image.size, 0)
            ne, npooled, nmask = pipe.encode_prompt(image=black, prompt=negative or "", prompt_template=tmpl,
                                                    num_videos_per_prompt=1, device=device, max_sequence_length=L)
            out.update(negative_prompt_embeds=ne, negative_pooled_prompt_embeds=npooled,
                       negative_prompt_attention_mask=nmask)
        return out

    def pipeline_frames(self, pipe: Any, num_frames: int) -> int:
        return num_frames + 4 if self._image_condition(pipe) == "latent_concat" else num_frames

    def postprocess(self, pipe: Any, video: np.ndarray, image: Any, num_frames: int) -> np.ndarray:
        if self._image_condition(pipe) != "latent_concat":
            return video[:num_frames]
        first = np.asarray(image, dtype=np.float32)[None] / 255.0
        return np.concatenate([first, video[:num_frames - 1]], axis=0)

    def call_kwargs(self, pipe: Any, req: GenerationRequest, n: int, image: Any, generators: list[Any],
                    embeds: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
        h, w = self.generation_size(req.height, req.width)
        return {"image": [image] * n, "height": h, "width": w,
                "num_frames": self.pipeline_frames(pipe, req.num_frames),
                "num_inference_steps": settings["steps"], "guidance_scale": settings["guidance"],
                "true_cfg_scale": self.cfg.true_cfg_scale, "generator": generators, "output_type": "np",
                "prompt_template": self._template(), "max_sequence_length": self.cfg.max_sequence_length, **embeds}
