"""Video and image IO: H.264 mp4 through the ffmpeg binary that ships in ``imageio-ffmpeg``
(no system ffmpeg needed), images through Pillow."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from spiral.errors import InputFileError

# Memory budgets, checked before anything is allocated (a config within its ranges can still
# ask for gigabytes: scene.size=1024 with output.video_scale=16 is 16384×16384 frames)
MAX_VIDEO_BYTES = 4 << 30  # the video writer's estimated peak memory
MAX_IMAGE_PIXELS = 40_000_000  # an input image's decoded size (40 MP: 120 MB as RGB)
ENCODER_FRAMES = 50  # frames the H.264 encoder holds at once (look-ahead, references), as YUV 4:2:0


def video_bytes(frames: int, size: int, scale: int) -> int:
    """Estimated peak memory of writing a ``frames``-frame video of ``size``² frames
    upscaled ``scale`` times: the stitched frames, one upscaled RGB frame and the
    encoder's frames (1.5 bytes a pixel)."""
    out_px = (size * scale) ** 2
    return frames * size * size * 3 + out_px * 3 + int(out_px * 1.5 * min(frames, ENCODER_FRAMES))


def check_video_budget(frames: int, size: int, scale: int) -> None:
    """Refuse (:class:`ConfigError`) a video whose writing would need more than
    :data:`MAX_VIDEO_BYTES`, or whose frames are larger than ffmpeg encodes."""
    from spiral.errors import ConfigError

    side = size * scale
    what = f"scene.size {size} x output.video_scale {scale}"
    need = video_bytes(frames, size, scale)
    if need > MAX_VIDEO_BYTES:
        fit = max(1, int((MAX_VIDEO_BYTES / (1.5 * min(frames, ENCODER_FRAMES) + 3)) ** 0.5) // size)
        raise ConfigError(
            f"the video would need about {need / 2**30:.1f} GiB of memory ({frames} frames of {side}x{side} "
            f"pixels: {what}); the limit is {MAX_VIDEO_BYTES / 2**30:.0f} GiB",
            f"lower output.video_scale (e.g. --set output.video_scale={max(1, min(fit, scale - 1))}) or scene.size")
    if (side + 128) ** 2 >= (1 << 31) // 8:  # ffmpeg's own limit (av_image_check_size)
        raise ConfigError(f"video frames of {side}x{side} pixels ({what}) are larger than ffmpeg can encode",
                          f"lower output.video_scale (e.g. --set output.video_scale={max(1, 16000 // size - 1)}) "
                          "or scene.size")


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

    frames = np.asarray(frames, np.uint8)
    if frames.ndim != 4 or frames.shape[0] == 0:
        raise ValueError(f"expected T×H×W×3 frames, got {frames.shape}")
    check_video_budget(len(frames), max(frames.shape[1:3]), scale)  # before any upscaled frame exists
    if frames.shape[0] == 1:
        frames = np.repeat(frames, 2, axis=0)
    h, w = frames.shape[1] * max(scale, 1), frames.shape[2] * max(scale, 1)
    pad_h, pad_w = (-h) % 2, (-w) % 2
    h, w = h + pad_h, w + pad_w

    def frame(f: np.ndarray) -> np.ndarray:  # upscaled one at a time: never the whole video at once
        f = upscale(f, scale)
        if pad_h or pad_w:
            f = np.pad(f, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
        return np.ascontiguousarray(f)
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
            writer.send(frame(f))
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
    import warnings

    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"image not found: {p}", "pass an existing PNG or JPEG file to --image")
    try:
        with warnings.catch_warnings():  # PIL's bomb warning: the size is checked right below
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(p)  # reads the header only
        with im:
            w, h = im.size
            if w * h > MAX_IMAGE_PIXELS:  # refused before decoding a single pixel
                raise InputFileError(
                    f"image {p} is too large to decode ({w}x{h} = {w * h / 1e6:.0f} megapixels; the limit is "
                    f"{MAX_IMAGE_PIXELS / 1e6:.0f}, about {MAX_IMAGE_PIXELS * 3 / 2**20:.0f} MB as RGB)",
                    "downscale it first (the run resizes it to scene.size anyway)")
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
    """``frame`` as a PNG file, written whole or not at all."""
    from spiral.core.png import encode_png
    from spiral.core.rundir import atomic_write_bytes

    atomic_write_bytes(Path(path), encode_png(frame), fsync=False)
