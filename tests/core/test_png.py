"""core/png.py: the one PNG encoder (run directory, memory, dataset)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from spiral.core.png import decode_png, encode_png


def test_round_trip_and_determinism():
    frame = np.random.default_rng(0).integers(0, 256, (16, 24, 3), dtype=np.uint8)
    for level in (None, 1, 9):
        data = encode_png(frame, compress_level=level)
        assert data == encode_png(frame.copy(), compress_level=level)
        assert np.array_equal(decode_png(data), frame)


def test_the_default_level_is_pillows_so_dataset_shards_keep_their_bytes():
    frame = np.random.default_rng(1).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, format="PNG", optimize=False)  # how the dataset wrote its frames
    assert encode_png(frame) == buf.getvalue()
