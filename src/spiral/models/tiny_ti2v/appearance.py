"""What the tiny TI2V model's sampler and trainer know of a world's look, passed in as data.

The model is trained on one world's renders and its layer clean-up reads that world's
colours (which pixel is which object, which is flat background). Those colours are not
imported from the world: the caller hands them over as a :class:`RenderPalette`
(:func:`spiral.generators.tiny_ti2v.tabletop_palette` for the built-in tabletop), so
``spiral.models`` depends on nothing but itself and core types."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class RenderPalette:
    """A world's appearance: its object colours (in a fixed order: a label is an index into
    ``colors``), which of them reads as white (unsaturated), the flat background colours (the
    table, a bowl's inside), the shadow, and how much darker an object's front face is."""

    colors: tuple[tuple[str, RGB], ...]
    table: RGB
    bowl_inside: RGB
    shadow: RGB
    front_shade: float
    white: str = "white"
    # the world's own repair of a revealed background, applied after the sampler's fill:
    # (frame, fill, hole, union) -> fill (e.g. the tabletop completes the bowls it passes)
    restore: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.colors]

    def rgb(self, index: int) -> RGB:
        return self.colors[index][1]

    @cached_property
    def hue_lut(self) -> np.ndarray:
        """OpenCV's 8-bit hue (0-255 over 360°) → the index of the nearest colour's hue within
        25° (white excluded), else -1."""
        import cv2

        names = self.names
        ref = cv2.cvtColor(np.array([[rgb for _, rgb in self.colors]], np.uint8), cv2.COLOR_RGB2HSV_FULL)[0]
        d = np.abs(np.arange(256, dtype=np.float32)[:, None] - ref[:, 0].astype(np.float32)) * (360.0 / 256.0)
        d = np.minimum(d, 360 - d)
        if self.white in names:
            d[:, names.index(self.white)] = 360.0
        return np.where(d.min(1) <= 25.0, d.argmin(1), -1).astype(np.int8)
