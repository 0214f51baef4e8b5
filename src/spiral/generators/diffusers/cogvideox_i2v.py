"""``cogvideox-i2v``: CogVideoX and CogVideoX 1.5 image-to-video (5B) through diffusers.

Pipeline: ``diffusers.CogVideoXImageToVideoPipeline`` (T5 text encoder, one transformer).
Hub ids: ``THUDM/CogVideoX1.5-5B-I2V`` (default; any size that is a multiple of 16, 4k+1
frames, 81 at 16 fps in the model card) and ``THUDM/CogVideoX-5b-I2V`` (CogVideoX 1.0:
learned positional embeddings, so exactly 480x720 and 49 frames at 8 fps; use
``generator.model_size=[480, 720]`` to run it on square tabletop frames).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from spiral.core.types import GenerationRequest
from spiral.errors import BackendError
from spiral.generators.diffusers.base import DiffusersConfig, DiffusersGenerator, FrameRule

#: CogVideoX 1.0 I2V checkpoints take one size (learned positional embeddings)
FIXED_SIZE_MODELS = ("cogvideox-5b-i2v",)


class CogVideoXI2VGenerator(DiffusersGenerator):
    """CogVideoX (1.0 / 1.5) I2V behind the ``Generator`` protocol."""

    name = "cogvideox-i2v"
    family = "CogVideoX I2V"
    pipeline_class = "CogVideoXImageToVideoPipeline"
    vae_class = "AutoencoderKLCogVideoX"
    frame_rule = FrameRule(4, 1, 5)
    size_multiple = 16  # 8x VAE, 2x2 patches

    class Config(DiffusersConfig):
        model: str = Field(default="THUDM/CogVideoX1.5-5B-I2V", description="Hub id or local directory")
        steps: int = Field(default=50, ge=1, description="sampling steps when the loop does not set loop.steps")
        guidance: float = Field(default=6.0, ge=0.0, description="guidance scale when loop.guidance is unset")
        use_dynamic_cfg: bool = Field(default=True, description="CogVideoX's cosine guidance schedule")
        max_sequence_length: int = Field(default=226, ge=1, description="T5 tokens")

    def _fixed_model(self) -> bool:
        m = self.cfg.model.rstrip("/").lower()
        return any(m.endswith(x) for x in FIXED_SIZE_MODELS)

    def fixed_size(self) -> tuple[int, int] | None:
        return (480, 720) if self._fixed_model() else None

    def constraint_errors(self, num_frames: int, height: int, width: int) -> list[tuple[str, str]]:
        errs = super().constraint_errors(num_frames, height, width)
        if self._fixed_model() and num_frames != 49:  # learned positional embeddings: one clip length too
            errs.append(((f"{self.name} (CogVideoX 1.0, model {self.cfg.model}) only generates 49 frames; "
                          f"{num_frames} were asked for"),
                         "set --set loop.frames_per_segment=49, or use CogVideoX 1.5 (THUDM/CogVideoX1.5-5B-I2V)"))
        return errs

    def check_loaded(self, pipe: Any, req: GenerationRequest) -> None:
        tc = pipe.transformer.config
        if not tc.use_learned_positional_embeddings:
            return
        s = pipe.vae_scale_factor_spatial
        size = (tc.sample_height * s, tc.sample_width * s)
        gh, gw = self.generation_size(req.height, req.width)
        if (gh, gw) != size or req.num_frames != tc.sample_frames:
            raise BackendError(
                f"{self.name}: this CogVideoX checkpoint has learned positional embeddings and only generates "
                f"{tc.sample_frames} frames at {size[0]}x{size[1]}; asked for {req.num_frames} at {gh}x{gw}",
                f"set --set loop.frames_per_segment={tc.sample_frames} --set 'generator.model_size=[{size[0]}, "
                f"{size[1]}]', or use CogVideoX 1.5 (THUDM/CogVideoX1.5-5B-I2V)")

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
        # one image per clip: the pipeline encodes image i with generator i
        return {"image": [image] * n, "height": h, "width": w, "num_frames": req.num_frames,
                "num_inference_steps": settings["steps"], "guidance_scale": settings["guidance"],
                "use_dynamic_cfg": self.cfg.use_dynamic_cfg, "generator": generators, "output_type": "np",
                "max_sequence_length": self.cfg.max_sequence_length, **embeds}
