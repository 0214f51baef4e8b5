"""Image sets that measure the out-of-domain check (:mod:`spiral.worlds.tabletop.domain`).

All generated on the spot from a seed, nothing downloaded:

* :func:`real_renders`: what the built-in world draws (random scenes over sizes 64–256,
  crowded 7–8 object scenes, two or three bowls with contents, towers, mid-action frames
  of the simulator with and without the gripper): none may be flagged;
* :func:`benign_variants`: renders as a user may pass them back with ``--image``
  (rendered at 256 and resized, saved as a good JPEG, faint noise): should not be flagged;
* :func:`photo_like`: gradients, noise and natural-looking textures, synthetic "photos" of
  blurred shapes, off-palette objects, palette objects on other backgrounds, renders
  under heavy noise / blur / JPEG, rescaled or rotated renders, and the sample photos
  that installed packages ship (matplotlib's sample data): all should be flagged.

Each item is ``(category, H×W×3 uint8 image)`` at the working size (as ``load_image``
gives it to the run).
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from spiral.worlds.tabletop.render import render_scene
from spiral.worlds.tabletop.scene import PALETTE, TABLE_RGB, SceneSpec, random_scene

SIZES = (64, 96, 128, 160, 192, 256)


def _resize(img: np.ndarray, size: int) -> np.ndarray:
    """As :func:`spiral.io.video.load_image` does: centre square crop, PIL bilinear."""
    from PIL import Image

    h, w = img.shape[:2]
    s = min(h, w)
    img = img[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
    if s == size:
        return np.ascontiguousarray(img)
    return np.asarray(Image.fromarray(img).resize((size, size), Image.BILINEAR), np.uint8)


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"), np.uint8)


# -- real renders ------------------------------------------------------------------------

_SPECS = {
    "default": SceneSpec(),
    "crowded": SceneSpec(min_objects=7, max_objects=8),
    "bowls": SceneSpec(min_objects=5, max_objects=7, max_bowls=3, p_in_bowl=0.6),
    "towers": SceneSpec(min_objects=4, max_objects=6, kinds=("cube", "cube", "ball", "bowl"), p_stacked=0.7),
}


def _scene(seed: int, spec: SceneSpec):
    """``random_scene``, skipping the rare seed whose tower it builds too high (it may
    stack on a cube that is itself stacked, and then counts only from there up)."""
    for k in range(50):
        try:
            return random_scene(seed + 100_003 * k, spec)
        except ValueError:
            continue
    raise RuntimeError(f"no valid scene near seed {seed}")  # pragma: no cover


def real_renders(n: int = 500, seed0: int = 0) -> Iterator[tuple[str, np.ndarray]]:
    """``n`` frames the world itself draws, spread over scene kinds, sizes and mid-action frames."""
    from spiral.worlds.tabletop.sampling import sample_action
    from spiral.worlds.tabletop.simulate import simulate

    kinds = [*_SPECS, "mid-action"]
    for i in range(n):
        kind = kinds[i % len(kinds)]
        size = SIZES[(i // len(kinds)) % len(SIZES)]
        seed = seed0 + i
        if kind != "mid-action":
            yield kind, render_scene(_scene(seed, _SPECS[kind]), size)
            continue
        rng = random.Random(f"ood-mid:{seed}")
        scene = _scene(seed, _SPECS[rng.choice(list(_SPECS))])
        act = sample_action(scene, rng)
        if act is None:  # pragma: no cover - every seeded scene has some action
            yield kind, render_scene(scene, size)
            continue
        frames, _ = simulate(scene, act, num_frames=9, size=size, gripper=rng.random() < 0.5)
        yield kind, frames[rng.randrange(1, 8)]


def benign_variants(n: int = 60, seed0: int = 10_000) -> Iterator[tuple[str, np.ndarray]]:
    """Renders the way a user may hand them back: resized from 256, JPEG q90, faint noise."""
    for i in range(n):
        rng = np.random.default_rng(seed0 + i)
        big = render_scene(random_scene(seed0 + i), 256)
        size = (64, 128)[i % 2]
        kind = ("resized", "jpeg-q90", "faint-noise")[i % 3]
        if kind == "resized":
            yield kind, _resize(big, size)
        elif kind == "jpeg-q90":
            yield kind, _resize(_jpeg(big, 90), size)
        else:
            img = _resize(big, size).astype(np.float32) + rng.normal(0, 3, (size, size, 3))
            yield kind, np.clip(np.rint(img), 0, 255).astype(np.uint8)


# -- photo-like and off-palette ----------------------------------------------------------

def _rand_rgb(rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(0, 255, 3).astype(np.float32)


def _gradient(rng: np.random.Generator, s: int) -> np.ndarray:
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32) / s
    if rng.random() < 0.5:
        a = rng.uniform(0, 2 * np.pi)
        t = (np.cos(a) * xx + np.sin(a) * yy)
    else:
        cx, cy = rng.uniform(0, 1, 2)
        t = np.hypot(xx - cx, yy - cy)
    t = (t - t.min()) / max(float(np.ptp(t)), 1e-6)
    c0, c1 = _rand_rgb(rng), _rand_rgb(rng)
    return c0 + (c1 - c0) * t[..., None]


def _fractal_noise(rng: np.random.Generator, s: int, channels: int = 3) -> np.ndarray:
    """1/f-like noise in [0, 1]: octaves of smoothly upsampled random grids."""
    out = np.zeros((s, s, channels), np.float32)
    amp, total = 1.0, 0.0
    for cells in (2, 4, 8, 16, 32):
        g = rng.random((cells + 1, cells + 1, channels)).astype(np.float32)
        out += amp * cv2.resize(g, (s, s), interpolation=cv2.INTER_CUBIC).reshape(s, s, channels)
        total += amp
        amp *= 0.6
    out /= total
    return (out - out.min()) / max(float(np.ptp(out)), 1e-6)


def _noise_texture(rng: np.random.Generator, s: int) -> np.ndarray:
    k = rng.integers(3)
    if k == 0:
        return rng.uniform(0, 255, (s, s, 3))
    if k == 1:
        return _rand_rgb(rng) + rng.normal(0, rng.uniform(20, 60), (s, s, 3))
    return _fractal_noise(rng, s) * 255


def _natural_texture(rng: np.random.Generator, s: int) -> np.ndarray:
    """Wood, marble, grass-like or cell textures (what a real table or floor looks like)."""
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32) / s
    n = _fractal_noise(rng, s, 1)[..., 0]
    c0, c1 = _rand_rgb(rng), _rand_rgb(rng)
    k = rng.integers(4)
    if k == 0:  # wood: rings bent by noise
        t = 0.5 + 0.5 * np.sin(2 * np.pi * (rng.uniform(4, 12) * np.hypot(xx - 0.5, yy + 0.3) + 3 * n))
    elif k == 1:  # marble
        t = 0.5 + 0.5 * np.sin(2 * np.pi * (rng.uniform(2, 6) * xx + 5 * n))
    elif k == 2:  # grass / sand: fine noise over a colour
        t = _fractal_noise(rng, s, 1)[..., 0] * 0.5 + rng.random((s, s)) * 0.5
    else:  # cells (Voronoi), each a colour
        pts = rng.random((24, 2))
        d = (xx[..., None] - pts[:, 0]) ** 2 + (yy[..., None] - pts[:, 1]) ** 2
        cols = rng.uniform(0, 255, (24, 3))
        return cols[d.argmin(-1)] * (0.8 + 0.2 * n[..., None])
    return c0 + (c1 - c0) * t[..., None]


def _shapes(img: np.ndarray, rng: np.random.Generator, colours: list[np.ndarray], n: int,
            scale: tuple[float, float] = (0.05, 0.2)) -> np.ndarray:
    s = img.shape[0]
    img = np.ascontiguousarray(img, np.float32)
    for _ in range(n):
        c = tuple(float(v) for v in colours[rng.integers(len(colours))])
        x, y = (int(v) for v in rng.uniform(0.1, 0.9, 2) * s)
        r = max(2, int(rng.uniform(*scale) * s))
        k = rng.integers(4)
        if k == 0:
            cv2.circle(img, (x, y), r, c, -1, lineType=cv2.LINE_AA)
        elif k == 1:
            cv2.rectangle(img, (x - r, y - r // 2), (x + r, y + r), c, -1, lineType=cv2.LINE_AA)
        elif k == 2:
            cv2.ellipse(img, (x, y), (r, max(1, r // 3)), float(rng.uniform(0, 180)), 0, 360, c, -1,
                        lineType=cv2.LINE_AA)
        else:
            pts = (np.array([x, y]) + rng.uniform(-r, r, (3, 2))).astype(np.int32)
            cv2.fillPoly(img, [pts], c, lineType=cv2.LINE_AA)
    return img


def _blurred_photo(rng: np.random.Generator, s: int) -> np.ndarray:
    img = _gradient(rng, s)
    img = _shapes(img, rng, [_rand_rgb(rng) for _ in range(6)], int(rng.integers(4, 12)), (0.05, 0.3))
    img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.01, 0.04) * s)
    return img + rng.normal(0, rng.uniform(2, 8), img.shape)


_OFF_PALETTE = [(255, 105, 180), (139, 69, 19), (128, 128, 0), (0, 0, 128), (128, 0, 0), (255, 192, 203),
                (70, 130, 180), (210, 180, 140), (0, 100, 0), (255, 0, 255), (160, 160, 160), (20, 20, 20),
                (189, 183, 107), (244, 164, 96), (95, 158, 160)]


def _off_palette_objects(rng: np.random.Generator, s: int) -> np.ndarray:
    """Sharp objects in colours the world does not use, on the table or another background."""
    bg = np.empty((s, s, 3), np.float32)
    bg[:] = TABLE_RGB if rng.random() < 0.5 else _rand_rgb(rng)
    cols = [np.asarray(_OFF_PALETTE[i], np.float32) for i in rng.choice(len(_OFF_PALETTE), 4, replace=False)]
    return _shapes(bg, rng, cols, int(rng.integers(3, 7)), (0.05, 0.12))


def _palette_on_other_background(rng: np.random.Generator, s: int) -> np.ndarray:
    """Palette-coloured objects on a background that is not the table (white, felt, wood…)."""
    k = rng.integers(3)
    if k == 0:
        bg = np.empty((s, s, 3), np.float32)
        bg[:] = [(250, 250, 250), (30, 90, 40), (20, 20, 25), (180, 150, 110), (90, 110, 140)][rng.integers(5)]
    elif k == 1:
        bg = _natural_texture(rng, s)
    else:
        bg = _gradient(rng, s)
    cols = [np.asarray(c, np.float32) for c in PALETTE.values()]
    return _shapes(bg, rng, cols, int(rng.integers(3, 7)), (0.04, 0.1))


def _render(rng: np.random.Generator, s: int) -> np.ndarray:
    return render_scene(random_scene(int(rng.integers(1_000_000))), s).astype(np.float32)


def _heavy_noise(rng: np.random.Generator, s: int) -> np.ndarray:
    return _render(rng, s) + rng.normal(0, rng.uniform(25, 50), (s, s, 3))


def _heavy_blur(rng: np.random.Generator, s: int) -> np.ndarray:
    return cv2.GaussianBlur(_render(rng, s), (0, 0), rng.uniform(0.03, 0.06) * s)


def _heavy_jpeg(rng: np.random.Generator, s: int) -> np.ndarray:
    return _jpeg(_render(rng, s).astype(np.uint8), int(rng.integers(3, 12)))


def _rescaled(rng: np.random.Generator, s: int) -> np.ndarray:
    """A render zoomed in (cropped and enlarged) or out (shrunk onto a border)."""
    img = _render(rng, s)
    if rng.random() < 0.5:
        f = rng.uniform(1.7, 2.5)
        c = int(s / f)
        x0, y0 = (int(v) for v in rng.integers(0, s - c + 1, 2))
        return cv2.resize(img[y0:y0 + c, x0:x0 + c], (s, s), interpolation=cv2.INTER_LINEAR)
    f = rng.uniform(0.35, 0.55)
    c = int(s * f)
    small = cv2.resize(img, (c, c), interpolation=cv2.INTER_AREA)
    out = np.empty_like(img)
    out[:] = TABLE_RGB if rng.random() < 0.5 else _rand_rgb(rng)
    x0, y0 = (int(v) for v in rng.integers(0, s - c + 1, 2))
    out[y0:y0 + c, x0:x0 + c] = small
    return out


def _rotated(rng: np.random.Generator, s: int) -> np.ndarray:
    img = _render(rng, s)
    a = float(rng.uniform(15, 75))
    m = cv2.getRotationMatrix2D((s / 2, s / 2), a, 1.0)
    k = rng.integers(3)
    border = cv2.BORDER_REFLECT if k == 2 else cv2.BORDER_CONSTANT
    value = (0, 0, 0) if k == 0 else (255, 255, 255)
    return cv2.warpAffine(img, m, (s, s), flags=cv2.INTER_LINEAR, borderMode=border, borderValue=value)


_GENERATORS = {
    "gradient": _gradient,
    "noise": _noise_texture,
    "natural-texture": _natural_texture,
    "blurred-shapes-photo": _blurred_photo,
    "off-palette-objects": _off_palette_objects,
    "palette-on-other-background": _palette_on_other_background,
    "render-heavy-noise": _heavy_noise,
    "render-heavy-blur": _heavy_blur,
    "render-heavy-jpeg": _heavy_jpeg,
    "render-rescaled": _rescaled,
    "render-rotated": _rotated,
}


_AT_SIZE = {"render-heavy-noise", "render-heavy-blur", "render-heavy-jpeg"}


def sample_photos() -> list[tuple[str, np.ndarray]]:
    """Photos and pictures that installed packages ship (matplotlib's sample data), full
    size; missing ones are skipped."""
    out: list[tuple[str, np.ndarray]] = []
    try:
        import matplotlib

        root = Path(matplotlib.get_data_path()) / "sample_data"
    except ImportError:  # pragma: no cover - matplotlib is installed with the dev extras
        return out
    from PIL import Image

    for name in ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png", "logo2.png"):
        p = root / name
        if p.is_file():
            with Image.open(p) as im:
                rgba = np.asarray(im.convert("RGBA"), np.float32)
            rgb = rgba[..., :3] * rgba[..., 3:] / 255 + 255 * (1 - rgba[..., 3:] / 255)  # on white
            out.append((f"photo:{name}", rgb.astype(np.uint8)))
    for name in ("jacksboro_fault_dem.npz", "topobathy.npz"):
        p = root / name
        if p.is_file():
            with np.load(p) as z:
                dem = np.asarray(z[z.files[0]], np.float32)
            t = (dem - dem.min()) / max(float(np.ptp(dem)), 1e-6)
            from matplotlib import colormaps

            for cmap in ("terrain", "gist_earth", "viridis"):
                out.append((f"photo:{name}:{cmap}", (colormaps[cmap](t)[..., :3] * 255).astype(np.uint8)))
    return out


def photo_like(n_per_category: int = 30, seed0: int = 0, sizes: tuple[int, ...] = (64, 128, 256)
               ) -> Iterator[tuple[str, np.ndarray]]:
    """The out-of-domain set: ``n_per_category`` images of each procedural kind, then crops
    of the packages' sample photos at each size."""
    for ci, (name, fn) in enumerate(_GENERATORS.items()):
        for i in range(n_per_category):
            rng = np.random.default_rng([seed0, ci, i])
            s = sizes[i % len(sizes)]
            # some made large and resized down, as --image would (not the degradations: those
            # are heavy as the run sees them)
            big = rng.random() < 0.3 and name not in _AT_SIZE
            img = fn(rng, 256 if big else s)
            img = np.clip(np.rint(img), 0, 255).astype(np.uint8)
            yield name, _resize(img, s) if big else img
    rng = np.random.default_rng([seed0, 99])
    for name, photo in sample_photos():
        h, w = photo.shape[:2]
        for k, s in enumerate(sizes):
            yield "sample-photo", _resize(photo, s)  # the whole picture (centre square)
            c = int(min(h, w) * rng.uniform(0.4, 0.8))  # and a crop of it
            y0, x0 = int(rng.integers(0, h - c + 1)), int(rng.integers(0, w - c + 1))
            yield "sample-photo", _resize(photo[y0:y0 + c, x0:x0 + c], s)
