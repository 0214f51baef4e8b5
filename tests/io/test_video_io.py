"""io/video.py: memory budgets refused before allocating; mp4 frames upscaled one at a time."""

from __future__ import annotations

import struct
import time
import zlib

import numpy as np
import pytest

from spiral.errors import ConfigError, InputFileError
from spiral.io import video


def _png_header_only(path, w, h):
    """A PNG whose header claims ``w``×``h`` (its pixel data is missing: decoding it would fail)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


def test_a_huge_image_is_refused_from_its_header(tmp_path):
    p = tmp_path / "big.png"
    _png_header_only(p, 13000, 13000)
    t0 = time.perf_counter()
    with pytest.raises(InputFileError, match="too large to decode") as ei:
        video.load_image(p, 64)
    assert time.perf_counter() - t0 < 1.0
    assert "13000x13000" in str(ei.value) and "downscale" in str(ei.value)


def test_video_budget_refuses_the_16x_of_1024_case_with_the_fix():
    with pytest.raises(ConfigError, match="GiB of memory") as ei:
        video.check_video_budget(12, 1024, 16)
    assert "--set output.video_scale=" in str(ei.value)
    with pytest.raises(ConfigError, match="larger than ffmpeg can encode"):
        video.check_video_budget(2, 1024, 16)  # few frames: within the memory budget, not ffmpeg's size limit
    video.check_video_budget(12, 64, 4)  # the defaults are far below it
    assert video.video_bytes(1, 64, 1) < video.video_bytes(1, 64, 2)


def test_write_mp4_refuses_before_allocating_and_streams_frames(tmp_path, monkeypatch):
    frames = np.zeros((3, 1024, 1024, 3), np.uint8)
    calls = []
    real = video.upscale
    monkeypatch.setattr(video, "upscale", lambda f, s: calls.append(f.shape) or real(f, s))
    with pytest.raises(ConfigError):
        video.write_mp4(tmp_path / "v.mp4", frames, scale=16)
    assert calls == [] and not list(tmp_path.iterdir())
    small = np.random.default_rng(0).integers(0, 255, (3, 9, 9, 3), dtype=np.uint8)
    video.write_mp4(tmp_path / "s.mp4", small, scale=3)
    assert calls == [(9, 9, 3)] * 3  # one frame at a time, never the whole video upscaled
    back = video.read_mp4(tmp_path / "s.mp4")
    assert back.shape == (3, 28, 28, 3)  # 27 padded to even
