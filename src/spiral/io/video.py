"""Video and image IO: H.264 mp4 through the ffmpeg binary that ships in ``imageio-ffmpeg``
(no system ffmpeg needed), images through Pillow."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from spiral.errors import InputFileError


def upscale(frames: np.ndarray, scale: int) -> np.ndarray:
    if scale <= 1:
        return frames
    return frames.repeat(scale, axis=-3).repeat(scale, axis=-2)


def write_mp4(path: str | Path, frames: np.ndarray, fps: int = 8, scale: int = 1) -> None:
    """Write ``T×H×W×3`` uint8 frames as a browser-playable H.264 mp4, atomically and
    deterministically (same frames, same bytes)."""
    import os
    import tempfile

    import imageio_ffmpeg

    frames = upscale(np.asarray(frames, np.uint8), scale)
    if frames.ndim != 4 or frames.shape[0] == 0:
        raise ValueError(f"expected T×H×W×3 frames, got {frames.shape}")
    if frames.shape[0] == 1:
        frames = np.repeat(frames, 2, axis=0)
    h, w = frames.shape[1:3]
    pad_h, pad_w = (-h) % 2, (-w) % 2
    if pad_h or pad_w:
        frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
        h, w = h + pad_h, w + pad_w
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".mp4")
    os.close(fd)
    from spiral.core.rundir import _umask

    os.chmod(tmp, 0o666 & ~_umask())
    try:
        writer = imageio_ffmpeg.write_frames(
            tmp, (w, h), fps=fps, codec="libx264", pix_fmt_in="rgb24", pix_fmt_out="yuv420p",
            macro_block_size=1, quality=None, bitrate=None,
            output_params=["-crf", "18", "-threads", "1", "-preset", "medium", "-movflags", "+faststart",
                           "-fflags", "+bitexact", "-flags:v", "+bitexact", "-map_metadata", "-1"],
            ffmpeg_log_level="error")
        writer.send(None)
        for f in frames:
            writer.send(np.ascontiguousarray(f))
        writer.close()
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_mp4(path: str | Path) -> np.ndarray:
    import imageio_ffmpeg

    gen = imageio_ffmpeg.read_frames(str(path))
    meta = gen.__next__()
    w, h = meta["size"]
    frames = [np.frombuffer(b, np.uint8).reshape(h, w, 3) for b in gen]
    return np.stack(frames)


def load_image(path: str | Path, size: int | None = None) -> np.ndarray:
    """An RGB image as ``H×W×3`` uint8, centre-cropped to a square and resized to ``size``."""
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"image not found: {p}", "pass an existing PNG or JPEG file to --image")
    try:
        with Image.open(p) as im:
            im.load()
            img = im.convert("RGB")
    except Image.DecompressionBombError as exc:  # a tiny file that decodes to gigapixels
        raise InputFileError(f"cannot read image {p}: {exc}", "pass an image of a sensible size") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputFileError(f"cannot read image {p}: {exc}", "pass a valid PNG or JPEG file") from None
    w, h = img.size
    if min(w, h) < 8:
        raise InputFileError(f"image {p} is too small ({w}x{h})", "use an image of at least 8x8 pixels")
    if w != h:
        s = min(w, h)
        img = img.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
    if size is not None and img.size != (size, size):
        img = img.resize((size, size), Image.BILINEAR)
    return np.asarray(img, np.uint8)


def save_png(path: str | Path, frame: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(np.asarray(frame, np.uint8)).save(path)
