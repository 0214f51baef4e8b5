"""``wan2.2-i2v-a14b``: Wan 2.2 image-to-video A14B (two experts) through diffusers.

Pipeline: ``diffusers.WanImageToVideoPipeline`` with two transformers: ``transformer``
denoises the high-noise steps and ``transformer_2`` the low-noise ones; the switch is at
``boundary_ratio`` x 1000 timesteps (0.9 in the released model's config). Hub id:
``Wan-AI/Wan2.2-I2V-A14B-Diffusers``. 4k+1 frames (81 at 16 fps), sizes multiples of 16
(480p and 720p). ``guidance_2`` sets the low-noise expert's guidance separately.
LoRA: ``lora`` goes into the high-noise expert, ``lora_2`` into the low-noise one.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from spiral.errors import BackendError
from spiral.generators.diffusers.base import DiffusersConfig, DType
from spiral.generators.diffusers.wan21_i2v import WAN_NEGATIVE_PROMPT, WanI2VBase


class Wan22I2VA14BGenerator(WanI2VBase):
    """Wan 2.2 I2V A14B (mixture of two experts) behind the ``Generator`` protocol."""

    name = "wan2.2-i2v-a14b"
    family = "Wan 2.2 I2V A14B"

    class Config(DiffusersConfig):
        model: str = Field(default="Wan-AI/Wan2.2-I2V-A14B-Diffusers", description="Hub id or local directory")
        vae_dtype: DType | None = Field(default="fp32", description="VAE dtype (the Wan examples use fp32)")
        steps: int = Field(default=40, ge=1, description="sampling steps when the loop does not set loop.steps")
        guidance: float = Field(default=3.5, ge=0.0,
                                description="guidance of the high-noise expert when loop.guidance is unset")
        guidance_2: float | None = Field(default=None, ge=0.0,
                                         description="guidance of the low-noise expert (null: same as guidance)")
        boundary_ratio: float | None = Field(default=None, gt=0.0, le=1.0,
                                             description="switch experts at this fraction of the 1000 timesteps "
                                                         "(null: the model's own, 0.9 for the release)")
        lora_2: str | None = Field(default=None, description="LoRA for the low-noise expert (transformer_2)")
        lora_2_weight_name: str | None = Field(default=None, description="file name of the LoRA inside lora_2")
        negative_prompt: str | None = Field(default=WAN_NEGATIVE_PROMPT,
                                            description="negative prompt when loop.negative_prompt is unset")
        max_sequence_length: int = Field(default=512, ge=1, description="UMT5 tokens")

    def extra_cache_key(self) -> tuple:
        return (self.cfg.boundary_ratio, self.cfg.lora_2, self.cfg.lora_2_weight_name)

    def extra_load_kwargs(self, src: str, kw: dict[str, Any]) -> dict[str, Any]:
        return {"boundary_ratio": self.cfg.boundary_ratio} if self.cfg.boundary_ratio is not None else {}

    def configure(self, pipe: Any) -> None:
        super().configure(pipe)
        if self.cfg.boundary_ratio is not None and pipe.config.boundary_ratio != self.cfg.boundary_ratio:
            pipe.register_to_config(boundary_ratio=self.cfg.boundary_ratio)

    def check_loaded(self, pipe: Any, req: Any) -> None:
        if getattr(pipe, "transformer_2", None) is None or pipe.config.boundary_ratio is None:
            raise BackendError(f"{self.name}: the pipeline from {self.cfg.model!r} has no second expert "
                               "(transformer_2 + boundary_ratio)",
                               "point generator.model at a Wan 2.2 A14B checkpoint, or use --generator wan2.1-i2v")

    def load_loras(self, pipe: Any) -> tuple[list[str], list[float]]:
        names, scales = super().load_loras(pipe)
        if self.cfg.lora_2:  # with or without a LoRA for the high-noise expert
            self.load_lora(pipe, self.cfg.lora_2, self.cfg.lora_2_weight_name, "spiral_2", "generator.lora_2",
                           load_into_transformer_2=True)
            names.append("spiral_2")
            scales.append(self.cfg.lora_scale)
        return names, scales

    def extra_call_kwargs(self) -> dict[str, Any]:
        return {"guidance_scale_2": self.cfg.guidance_2} if self.cfg.guidance_2 is not None else {}
