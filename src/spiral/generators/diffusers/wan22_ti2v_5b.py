"""``wan2.2-ti2v-5b``: Wan 2.2 TI2V-5B (text+image to video, 5B) through diffusers.

Pipeline: ``diffusers.WanImageToVideoPipeline`` with ``expand_timesteps=True`` (the first
latent frame is the clean image latent; per-token timesteps) and the Wan 2.2 VAE (48
latent channels, 16x spatial compression). Hub id: ``Wan-AI/Wan2.2-TI2V-5B-Diffusers``.
4k+1 frames; height and width multiples of 32 (720P, 1280x704 or 704x1280 at 24 fps, is
the model's size). Its README runs it on one 24 GB GPU with the reference code's own
offloading (see docs/backbones.md).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from spiral.errors import BackendError
from spiral.generators.diffusers.base import DiffusersConfig, DType
from spiral.generators.diffusers.wan21_i2v import WAN_NEGATIVE_PROMPT, WanI2VBase


class Wan22TI2V5BGenerator(WanI2VBase):
    """Wan 2.2 TI2V-5B behind the ``Generator`` protocol."""

    name = "wan2.2-ti2v-5b"
    family = "Wan 2.2 TI2V-5B"
    size_multiple = 32

    class Config(DiffusersConfig):
        model: str = Field(default="Wan-AI/Wan2.2-TI2V-5B-Diffusers", description="Hub id or local directory")
        vae_dtype: DType | None = Field(default="fp32", description="VAE dtype (the Wan examples use fp32)")
        steps: int = Field(default=50, ge=1, description="sampling steps when the loop does not set loop.steps")
        guidance: float = Field(default=5.0, ge=0.0, description="guidance scale when loop.guidance is unset")
        negative_prompt: str | None = Field(default=WAN_NEGATIVE_PROMPT,
                                            description="negative prompt when loop.negative_prompt is unset")
        max_sequence_length: int = Field(default=512, ge=1, description="UMT5 tokens")

    def extra_load_kwargs(self, src: str, kw: dict[str, Any]) -> dict[str, Any]:
        return {"expand_timesteps": True}

    def check_loaded(self, pipe: Any, req: Any) -> None:
        if not pipe.config.expand_timesteps:
            raise BackendError(f"{self.name}: the pipeline was built without expand_timesteps=True",
                               "build WanImageToVideoPipeline(..., expand_timesteps=True) for Wan 2.2 TI2V-5B")
