"""PNG bytes from frames and back: the one encoder the run directory, the episode memory
and the dataset share (Pillow). ``compress_level`` trades size for speed: the run directory
and memory write many small frames (level 1); the dataset keeps Pillow's default, so its
shards stay byte-identical."""

from __future__ import annotations

import io

import numpy as np


def encode_png(frame: np.ndarray, compress_level: int | None = None) -> bytes:
    """``frame`` (H×W×3 uint8) as PNG bytes; deterministic for the same array and level."""
    from PIL import Image

    buf = io.BytesIO()
    opts = {} if compress_level is None else {"compress_level": compress_level}
    Image.fromarray(np.asarray(frame, np.uint8)).save(buf, format="PNG", **opts)
    return buf.getvalue()


def decode_png(data: bytes) -> np.ndarray:
    """PNG bytes as an H×W×3 uint8 array (RGB)."""
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
