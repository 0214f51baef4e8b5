"""Configuration of the built-in tiny TI2V world model."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class TinyTI2VConfig(BaseModel):
    """Architecture and sampling defaults. Saved as ``config.json`` next to the weights."""

    model_config = ConfigDict(extra="forbid")

    model_type: str = "tiny-ti2v"
    image_size: int = Field(default=64, description="frame size the model was trained at")
    vocab: list[str] = Field(default_factory=list, description="word-level vocabulary (index = token id)")
    max_text_len: int = 64
    text_dim: int = 128
    text_layers: int = 2
    text_heads: int = 4
    channels: list[int] = Field(default_factory=lambda: [32, 64, 96, 128])
    use_keyframe: bool = Field(default=False, description="the first frame of the episode is a second input")
    fill_copy: int = Field(default=0, ge=0, le=16, description="the fill may copy the conditioning frame from up "
                                                               "to this many pixels above or below (0: generated)")
    # sampling defaults
    num_frames: int = 12
    temperature: float = 0.5
    steps: int = 2
    guidance: float = 1.0
    jitter_px: float = 0.25
    subpixel: bool = Field(default=True, description="refine the drawn cell to the heatmap's local mean")
    mask_threshold: float = 0.5
    mask_jitter: float = Field(default=0.05, ge=0, lt=0.5, description="per-seed spread of the mask threshold")
    # layer clean-up from the conditioning frame's colour components (off: the previous sampler)
    layer_cover: float = Field(default=0.65, gt=0, le=1, description=(
        "a moving layer carries the colour components of the conditioning frame of which its mask "
        "covers at least this share; of the others it carries nothing"))
    prune_masks: bool = Field(default=True, description=(
        "drop from a layer's mask the components it carries nothing of (the ring pixels next to a cube "
        "in a bowl), but for its subject"))
    clean_background: bool = Field(default=True, description=(
        "paint copy ghosts out of the revealed background (colours of what left, pieces that continue "
        "nothing that stays), complete the cube a lifted cube stood on, and spare other objects' "
        "pixels when repainting the margin around the layers"))
    lift_px: float = 5.12
    bend: float = 0.13

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.model_dump_json(indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> TinyTI2VConfig:
        return cls.model_validate(json.loads(Path(path).read_text()))
