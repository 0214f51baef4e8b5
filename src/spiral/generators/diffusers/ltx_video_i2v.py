"""``ltx-video-i2v``: LTX-Video image-to-video through diffusers.

Pipeline: ``diffusers.LTXImageToVideoPipeline`` (T5 text encoder, one transformer, a VAE
with 32x spatial and 8x temporal compression). Hub id: ``Lightricks/LTX-Video``. Clips
have 8k+1 frames (161 in the diffusers example), height and width multiples of 32 (704x480
in the example). The request's fps goes to the model as ``frame_rate`` (the pipeline's
default is 25).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from spiral.core.types import GenerationRequest
from spiral.generators.diffusers.base import DiffusersConfig, DiffusersGenerator, FrameRule


class LTXVideoI2VGenerator(DiffusersGenerator):
    """LTX-Video I2V behind the ``Generator`` protocol."""

    name = "ltx-video-i2v"
    family = "LTX-Video I2V"
    pipeline_class = "LTXImageToVideoPipeline"
    vae_class = "AutoencoderKLLTXVideo"
    frame_rule = FrameRule(8, 1, 9)
    size_multiple = 32

    class Config(DiffusersConfig):
        model: str = Field(default="Lightricks/LTX-Video", description="Hub id or local directory")
        steps: int = Field(default=50, ge=1, description="sampling steps when the loop does not set loop.steps")
        guidance: float = Field(default=3.0, ge=0.0, description="guidance scale when loop.guidance is unset")
        guidance_rescale: float = Field(default=0.0, ge=0.0, le=1.0, description="guidance rescale factor")
        negative_prompt: str | None = Field(default="worst quality, inconsistent motion, blurry, jittery, distorted",
                                            description="negative prompt when loop.negative_prompt is unset")
        decode_timestep: float = Field(default=0.0, ge=0.0, description="VAE decode timestep (timestep-"
                                                                       "conditioned VAEs, LTX-Video >= 0.9.1)")
        decode_noise_scale: float | None = Field(default=None, ge=0.0,
                                                 description="noise added before decoding (null: decode_timestep)")
        max_sequence_length: int = Field(default=128, ge=1, description="T5 tokens")

    def encode_prompt(self, pipe: Any, prompt: str, negative: str | None, guidance: float,
                      image: Any) -> dict[str, Any]:
        pe, pm, ne, nm = pipe.encode_prompt(prompt=prompt, negative_prompt=negative or "",
                                            do_classifier_free_guidance=self.uses_cfg(guidance),
                                            num_videos_per_prompt=1, max_sequence_length=self.cfg.max_sequence_length,
                                            device=self.execution_device(pipe))
        return {"prompt_embeds": pe, "prompt_attention_mask": pm, "negative_prompt_embeds": ne,
                "negative_prompt_attention_mask": nm}

    def call_kwargs(self, pipe: Any, req: GenerationRequest, n: int, image: Any, generators: list[Any],
                    embeds: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
        h, w = self.generation_size(req.height, req.width)
        c = self.cfg
        return {"image": [image] * n, "height": h, "width": w, "num_frames": req.num_frames, "frame_rate": req.fps,
                "num_inference_steps": settings["steps"], "guidance_scale": settings["guidance"],
                "guidance_rescale": c.guidance_rescale, "decode_timestep": c.decode_timestep,
                "decode_noise_scale": c.decode_noise_scale, "generator": generators, "output_type": "np",
                "max_sequence_length": c.max_sequence_length, **embeds}
