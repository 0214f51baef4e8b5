"""Sampling from the tiny TI2V model: stochastic end points with exact log-probabilities,
then a layered rendering of the clip.

The stochastic part is where each moving layer ends: a cell drawn from the layer's
heatmap (softmax of its logits over H×W, at a temperature, optionally with classifier-free
guidance), refined by a Gaussian jitter inside the cell. With ``steps = k`` the sampler
draws k cells and keeps the most likely one (more compute → more conservative samples);
the log-probability of that choice is exact: P(best = i) = F(≤ i)^k − F(< i)^k, with F the
cumulative probability of the cells ranked by probability. The per-request seed fixes
every random draw, so the same request gives the same clip and a new seed a new attempt.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from spiral.models.tiny_ti2v.appearance import RenderPalette
from spiral.models.tiny_ti2v.modeling_tiny_ti2v import TinyTI2V
from spiral.models.tiny_ti2v.tokenization_tiny_ti2v import Tokenizer

SCALES = (0.8, 1.0, 1.25)
MASK_SEED_OFFSET = 0x6D61736B  # the mask decisions' generator: seed + this ("mask")


@dataclass
class LayerSample:
    index: int  # flat cell index
    xy: tuple[float, float]  # end point of the layer centre, pixels
    logprob: float


def best_of_k_logprob(probs: torch.Tensor, index: int, k: int) -> float:
    """log P(the most probable of k i.i.d. draws from ``probs`` is cell ``index``)."""
    p = probs.double()
    pi = p[index]
    below = p[p < pi].sum()
    ties = p[p == pi].sum()
    # cells tied with ``index`` share the event equally
    n_ties = int((p == pi).sum())
    val = ((below + ties) ** k - below ** k) / n_ties
    return float(torch.log(val.clamp_min(1e-300)))


def cell_logprob(logits: torch.Tensor, index: int, temperature: float, k: int) -> torch.Tensor:
    """:func:`best_of_k_logprob` as a differentiable function of the logits (float64): the
    log-probability that the most probable of ``k`` draws at ``temperature`` is cell
    ``index`` (for ``k = 1`` the plain log-softmax). What GRPO scores a sampled end point by."""
    logp = torch.log_softmax(logits.double() / max(temperature, 1e-6), dim=-1)
    if k == 1:
        return logp[index]
    p = logp.exp()
    pi = p[index]
    below = (p * (p < pi)).sum()
    tied = (p * (p == pi)).sum()
    n_ties = (p == pi).sum()
    return torch.log((((below + tied) ** k - below ** k) / n_ties).clamp_min(1e-300))


def sample_cell(logits: torch.Tensor, gen: torch.Generator, temperature: float, k: int) -> tuple[int, float]:
    probs = torch.softmax(logits.double() / max(temperature, 1e-6), dim=-1)
    draws = torch.multinomial(probs.float(), k, replacement=True, generator=gen)
    best = int(draws[torch.argmax(probs[draws])])
    return best, best_of_k_logprob(probs, best, k)


def gaussian_logprob(x: float, sigma: float) -> float:
    return -0.5 * (x / sigma) ** 2 - math.log(sigma) - 0.5 * math.log(2 * math.pi)


def subpixel_offset(logits: torch.Tensor, index: int, width: int) -> tuple[float, float]:
    """Where, inside cell ``index``, the heatmap puts its mass: the probability-weighted mean
    offset of the 3×3 cells around it (at temperature 1), clipped to the cell. A deterministic
    function of the drawn cell, so the log-probability of the sample is unchanged."""
    h = logits.numel() // width
    cy, cx = divmod(index, width)
    y0, y1, x0, x1 = max(cy - 1, 0), min(cy + 2, h), max(cx - 1, 0), min(cx + 2, width)
    win = logits.view(h, width)[y0:y1, x0:x1].double()
    p = torch.softmax(win.flatten(), 0).view_as(win)
    ys = torch.arange(y0, y1, dtype=torch.float64).view(-1, 1) - cy
    xs = torch.arange(x0, x1, dtype=torch.float64).view(1, -1) - cx
    ox = float((p * xs).sum())
    oy = float((p * ys).sum())
    return min(max(ox, -0.5), 0.5), min(max(oy, -0.5), 0.5)


def sample_layer(logits: torch.Tensor, width: int, gen: torch.Generator, temperature: float, k: int,
                 jitter: float, subpixel: bool = False) -> LayerSample:
    idx, lp = sample_cell(logits, gen, temperature, k)
    cy, cx = divmod(idx, width)
    ox, oy = subpixel_offset(logits, idx, width) if subpixel else (0.0, 0.0)
    if jitter > 0:
        j = torch.randn(2, generator=gen, dtype=torch.float64)
        jx, jy = float(j[0]) * jitter, float(j[1]) * jitter
        lp += gaussian_logprob(jx, jitter) + gaussian_logprob(jy, jitter)
    else:
        jx = jy = 0.0
    return LayerSample(idx, (cx + 0.5 + ox + jx, cy + 0.5 + oy + jy), lp)


def predict(model: TinyTI2V, tok: Tokenizer, frames: np.ndarray, prompts: list[str],
            keyframes: np.ndarray | None = None, guidance: float = 1.0) -> dict[str, torch.Tensor]:
    """One batched forward pass (two with guidance ≠ 1)."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0
    kf = None
    if keyframes is not None:
        kf = torch.from_numpy(np.ascontiguousarray(keyframes)).permute(0, 3, 1, 2).float() / 255.0
    ids = tok.batch(prompts)
    with torch.no_grad():
        if guidance == 1.0:
            return model(x, ids, kf)
        empty = tok.batch([""] * len(prompts))
        both = model(torch.cat([x, x]), torch.cat([ids, empty]), None if kf is None else torch.cat([kf, kf]))
        n = len(prompts)
        out = {k: v[:n] for k, v in both.items()}
        for key in ("heat_a", "heat_b"):
            out[key] = v_u = both[key][n:]
            out[key] = v_u + guidance * (both[key][:n] - v_u)
        return out


def _dilate(mask: np.ndarray) -> np.ndarray:
    m = mask.copy()
    m[1:] |= mask[:-1]
    m[:-1] |= mask[1:]
    m[:, 1:] |= mask[:, :-1]
    m[:, :-1] |= mask[:, 1:]
    return m


def palette_labels(frame: np.ndarray, palette: RenderPalette) -> np.ndarray:
    """Per pixel, the index of its colour in ``palette.colors`` (``-1``: table, shadow, a
    bowl's inside, a faded trace): the nearest palette hue (within 25°) of a saturated pixel,
    or white. Close to the tabletop perception's ``classify_pixels`` on purpose but not it:
    the generator is not tuned to the judge's own thresholds."""
    import cv2

    white = palette.names.index(palette.white)
    hsv = cv2.cvtColor(np.ascontiguousarray(frame, np.uint8), cv2.COLOR_RGB2HSV_FULL)
    h, s, v = hsv[..., 0], hsv[..., 1].astype(np.float32) / 255.0, hsv[..., 2].astype(np.float32) / 255.0
    label = np.where((s >= 0.4) & (v >= 0.3), palette.hue_lut[h], -1).astype(np.int8)
    label[(s <= 0.15) & (v >= 0.55)] = white
    return label


def colour_parts(frame: np.ndarray, palette: RenderPalette) -> tuple[np.ndarray, np.ndarray]:
    """The frame's colour components: per pixel the id of its connected component of one
    palette colour (0: none), and per id that colour's index. Every object of the world has
    one colour, so a component is an object or a visible piece of one."""
    import cv2

    label = palette_labels(frame, palette)
    parts = np.zeros(label.shape, np.int32)
    colours = [-1]
    for c in np.unique(label[label >= 0]):
        n, lab = cv2.connectedComponents((label == c).astype(np.uint8), connectivity=8)
        parts[lab > 0] = lab[lab > 0] + len(colours) - 1
        colours += [int(c)] * (n - 1)
    return parts, np.asarray(colours)


def _cover(mask: np.ndarray, parts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per colour component: how many of its pixels ``mask`` holds, and which share."""
    n = int(parts.max()) + 1
    inside = np.bincount(parts[mask], minlength=n)
    return inside, inside / np.maximum(np.bincount(parts.ravel(), minlength=n), 1)


def _carried(mask: np.ndarray, parts: np.ndarray, min_cover: float) -> np.ndarray:
    """Per colour component: does a layer with ``mask`` carry it (cover ≥ ``min_cover``)?"""
    carried = _cover(mask, parts)[1] >= min_cover
    carried[0] = False
    return carried


def prune_mask(mask: np.ndarray, parts: np.ndarray, min_cover: float) -> np.ndarray:
    """A layer moves whole objects (its subject and what it carries: a cube on top, a
    bowl's contents), so a colour component it covers less than ``min_cover`` of is not
    carried: its pixels leave the mask (but the component it covers most, the subject,
    stays). Typically the ring pixels next to a cube in a bowl, which would travel with
    the cube and read as a second bowl."""
    inside, cover = _cover(mask, parts)
    drop = (inside > 0) & (cover < min_cover)
    drop[0] = False
    drop[int(np.argmax(inside))] = False
    return mask & ~drop[parts]


MASK_TEMPERATURE = 1.5  # logit units: the spread of a component decision (× (1 + explore))


def component_logit(logits: torch.Tensor, index: torch.Tensor, threshold: float, tau: float) -> torch.Tensor:
    """The logit of P(the layer carries a colour component), differentiable in the mask
    logits: the mean of the component's pixel logits (``index``, flat) against the
    threshold's logit, at temperature ``tau``. Its mode (mean logit above the threshold's)
    is the clean-up's own rule (:func:`prune_mask`: the mask covers at least ``layer_cover``
    of it) wherever the network is confident, which is nearly everywhere: on 400 of the
    world's requests, both agreed on all 102 components a mask touched."""
    z = logits.reshape(-1)[index].double()
    return (z.mean() - math.log(threshold / (1.0 - threshold))) / tau


def decision_logprob(logit: torch.Tensor, keep: bool) -> torch.Tensor:
    """log P(keep) of a Bernoulli with this logit (float64)."""
    return torch.nn.functional.logsigmoid(logit if keep else -logit)


def sample_components(mask: np.ndarray, logits: torch.Tensor, parts: np.ndarray, threshold: float, tau: float,
                      gen: torch.Generator) -> tuple[np.ndarray, list[dict]]:
    """:func:`prune_mask` with its decisions sampled: every colour component ``mask`` touches,
    but the one it covers most (the subject, kept as the clean-up keeps it), is carried with
    probability sigmoid(:func:`component_logit`), drawn from ``gen``; a component not
    carried leaves the mask. Returns the mask and the decisions (``index``: the component's
    pixels, flat; ``keep``), which score the sample again (:func:`components_logprob`)."""
    inside, _ = _cover(mask, parts)
    spare = int(np.argmax(inside))
    out, decisions = mask.copy(), []
    for c in np.flatnonzero(inside):
        if c == 0 or c == spare:
            continue
        index = np.flatnonzero(parts.ravel() == c).astype(np.int64)
        with torch.no_grad():
            p = float(torch.sigmoid(component_logit(logits, torch.from_numpy(index), threshold, tau)))
        keep = float(torch.rand(1, generator=gen, dtype=torch.float64)) < p
        if not keep:
            out &= parts != c
        decisions.append({"index": index, "keep": bool(keep)})
    return out, decisions


def components_logprob(logits: torch.Tensor, layer: dict) -> torch.Tensor:
    """The log-probability of one layer's recorded component decisions (``generate_clips``'
    ``masks`` entry) under ``logits``, differentiable (float64)."""
    total = torch.zeros((), dtype=torch.float64)
    for d in layer["comps"]:
        logit = component_logit(logits, torch.from_numpy(d["index"]), layer["threshold"], layer["tau"])
        total = total + decision_logprob(logit, d["keep"])
    return total


def clean_fill(frame: np.ndarray, fill: np.ndarray, union: np.ndarray, parts: np.ndarray, colours: np.ndarray,
               min_cover: float, palette: RenderPalette) -> np.ndarray:
    """Copy ghosts out of the revealed background (the layers' masks grown by a pixel):

    * a pixel of the colour of an object that leaves with the layers (they cover at least
      ``min_cover`` of it): the copy fill continued the object itself, or a faded trace;
    * a piece of a colour that touches no pixel of that colour outside the revealed
      region: it continues no object that stays (as the rest of a cube under a lifted cube
      does), e.g. a bowl's ring copied from a few rows below into the place of a ball.

    Both are painted from the revealed pixels around them. Then the cube the layer stood
    on, if any, is completed (:func:`uncover`)."""
    import cv2

    hole = _dilate(union)
    gone = colours[_carried(union, parts, min_cover)]
    bg = frame.copy()
    bg[hole] = fill[hole]
    lab = palette_labels(bg, palette)
    ghost = hole & np.isin(lab, gone)
    for c in np.unique(lab[hole & (lab >= 0)]):
        n, cc = cv2.connectedComponents((lab == c).astype(np.uint8), connectivity=8)
        island = np.ones(n, bool)
        island[np.unique(cc[~hole])] = False  # touches a pixel outside (or is the rest: id 0)
        ghost |= island[cc]
    out = fill.copy()
    if ghost.any():
        painted = cv2.inpaint(np.ascontiguousarray(bg), ghost.astype(np.uint8), 3, cv2.INPAINT_TELEA)
        out[ghost] = painted[ghost]
    out = background_fill(frame, out, hole, union, palette)
    if palette.restore is not None:  # the world completes what it knows the shape of (a bowl's ring)
        out = palette.restore(frame, out, hole, union)
    return uncover(frame, out, union, parts, colours, min_cover, palette)


def background_fill(frame: np.ndarray, fill: np.ndarray, hole: np.ndarray, union: np.ndarray,
                    palette: RenderPalette) -> np.ndarray:
    """What a revealed pixel shows is either background (table, a bowl's inside), painted in
    from the nearest pixels around the hole that are no object, or the continuation of an
    object that stays (the rest of the cube below, a bowl's ring). A pixel of the network's
    ``fill`` is kept where it reads as a blend of such a staying colour (one seen just outside
    the hole) with the background, more than as a blend of a colour of what left (the
    ``union`` of the moving layers); everywhere else the background is painted. The fill's
    own background is a blend that reads as a grey smudge where the object stood (measured
    by ``benchmarks/bench_residue.py``)."""
    import cv2

    if not hole.any():
        return fill
    lab = palette_labels(frame, palette)
    gone_cols = _colours(frame[union & (lab >= 0)])
    # background is flat: the table, a bowl's inside. Pixels of those colours are the sources;
    # the hole's margin (its pixels outside the layers) that shows one already keeps it
    clean_rgb = np.array([palette.table, palette.bowl_inside], np.int16)
    clean = (np.abs(frame.astype(np.int16)[..., None, :] - clean_rgb).max(-1) <= 12).any(-1)
    hole = hole & ~(~union & clean)
    sources = clean & ~hole
    if not hole.any() or not sources.any():
        return fill
    # each revealed pixel takes the colour of the nearest background pixel: a bowl's inside
    # inside a bowl, the table outside (a blend across a bowl's ring would bring the table's
    # colour into the bowl, a smudge of its own)
    _, near_lab = cv2.distanceTransformWithLabels((~sources).astype(np.uint8), cv2.DIST_L2, 3,
                                                  labelType=cv2.DIST_LABEL_PIXEL)
    known = frame.reshape(-1, 3)[np.flatnonzero(sources.ravel())]  # label k: the k-th source pixel, row-major
    painted = known[near_lab - 1].reshape(frame.shape)
    f = fill[hole].astype(np.float32)
    b = painted[hole].astype(np.float32)
    near = _dilate(_dilate(hole)) & ~hole & ~union & (lab >= 0)
    # what stays nearby, in its pure colours: the palette colour of each object seen just
    # outside the hole, lit (a top face) and shaded (a cube's front face); a pixel of the fill
    # is kept where it is mostly one of those over the background
    pure = np.array([palette.rgb(c) for c in np.unique(lab[near])], np.float32).reshape(-1, 3)
    stay = _blend_fit(f, b, np.concatenate([pure, pure * palette.front_shade]))
    gone = _blend_fit(f, b, gone_cols)
    keep = (stay[0] < 16.0) & (stay[1] >= 0.5) & (stay[0] <= gone[0])
    keep |= _continues(frame, fill, hole, union, lab, palette)[hole]
    out = fill.copy()
    out[hole] = np.where(keep[:, None], f, b).round().astype(np.uint8)
    return out


def _continues(frame: np.ndarray, fill: np.ndarray, hole: np.ndarray, union: np.ndarray,
               frame_labels: np.ndarray, palette: RenderPalette) -> np.ndarray:
    """Hole pixels of a palette colour that stays (not one of what left) and whose component,
    with the fill in the hole, reaches outside the hole: the rest of an object that stays.
    ``frame_labels``: ``palette_labels(frame)``, already computed by the caller."""
    import cv2

    gone = np.unique(frame_labels[union])
    bg = frame.copy()
    bg[hole] = fill[hole]
    lab = palette_labels(bg, palette)
    keep = np.zeros_like(hole)
    for c in np.unique(lab[hole & (lab >= 0)]):
        if c in gone:
            continue
        n, cc = cv2.connectedComponents((lab == c).astype(np.uint8), connectivity=8)
        reach = np.zeros(n, bool)
        reach[np.unique(cc[~hole & (cc > 0)])] = True
        keep |= hole & reach[cc]
    return keep


def _colours(pixels: np.ndarray, step: int = 8, most: int = 48) -> np.ndarray:
    """The distinct colours of ``pixels`` (N×3), rounded to ``step`` grey levels, at most ``most``."""
    if len(pixels) == 0:
        return np.zeros((0, 3), np.float32)
    q, n = np.unique((pixels // step) * step + step // 2, axis=0, return_counts=True)
    return q[np.argsort(-n)][:most].astype(np.float32)


def _blend_fit(f: np.ndarray, b: np.ndarray, colours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel, how well ``f`` is a blend ``b + a (c - b)`` of its background ``b`` and one of
    ``colours``: the smallest distance over the colours, and that blend's ``a`` (0..1)."""
    if len(colours) == 0:
        return np.full(len(f), np.inf, np.float32), np.zeros(len(f), np.float32)
    d = colours[None] - b[:, None]  # N×K×3
    den = np.maximum((d * d).sum(-1), 1e-3)
    a = np.clip(((f - b)[:, None] * d).sum(-1) / den, 0.0, 1.0)
    r = np.linalg.norm(f[:, None] - (b[:, None] + a[..., None] * d), axis=-1)
    k = r.argmin(1)
    idx = np.arange(len(f))
    return r[idx, k], a[idx, k]


def uncover(frame: np.ndarray, fill: np.ndarray, mask: np.ndarray, parts: np.ndarray, colours: np.ndarray,
            min_cover: float, palette: RenderPalette) -> np.ndarray:
    """Complete the cube the layer stood on. A component that stays (covered less than
    ``min_cover``), shows right under the layer's bottom edge, is centred under it and as
    wide as it, is the visible front of the cube under a lifted cube (only cubes carry
    cubes). Cubes are as tall as they are wide, so its revealed pixels up to that height
    take its colour (the copy fill's colour for it there, else its visible pixels'): the
    copy fill often stops a row short or a column narrow, and the cube then reads as cut
    off."""
    carried = _carried(mask, parts, min_cover)
    below = np.zeros_like(mask)
    below[1:] = mask[:-1] & ~mask[1:]
    ids = parts[below]
    ids = ids[(ids > 0) & ~carried[ids]]
    if ids.size == 0 or np.bincount(ids).max() < 3:
        return fill
    c = int(np.bincount(ids).argmax())
    ys, xs = np.nonzero(parts == c)
    _, mxs = np.nonzero(mask)
    x0, x1, ytop, ybot = xs.min(), xs.max(), ys.min(), ys.max()
    top = ybot - (x1 - x0)
    if abs(xs.mean() - mxs.mean()) > 1.5 or abs((x1 - x0) - (mxs.max() - mxs.min())) > 2 or top >= ytop:
        return fill  # not a cube right under the layer, or not hidden
    box = np.zeros_like(mask)
    box[max(top, 0):ytop, x0:x1 + 1] = True
    box[max(top, 0), [x0, x1]] = False  # a cube's top corners are soft
    box &= _dilate(mask)  # revealed pixels only
    shown = box & (palette_labels(fill, palette) == colours[c])
    rgb = np.median(fill[shown] if shown.sum() >= 3 else frame[parts == c], axis=0)  # medians: no blended edges
    out = fill.copy()
    out[box & ~shown] = np.round(rgb).astype(np.uint8)
    return out


def soft_edges(frame: np.ndarray, fill: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A layer's colours without the background they were blended with, and their opacity.

    The rim of a rendered object is a blend of the object and what lay under it (the
    table); carried as it is onto another background (a bowl's dark inside) it reads as a
    brown halo that squares a small ball off. Each rim pixel of ``mask`` (a mask pixel next to
    a pixel outside it) takes the colour of the layer's inside next to it as its pure colour
    and its opacity from where it lies between that colour and the background under it
    (``fill``); inside pixels are opaque, as they are. Rendering composites with the opacity,
    so a layer keeps its exact pixels on the background it left and sheds the old rim
    elsewhere."""
    import cv2

    f = frame.astype(np.float32)
    alpha = mask.astype(np.float32)
    pure = f.copy()
    inner = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    rim = mask & ~inner
    if not rim.any() or not inner.any():
        return pure, alpha
    # the nearest inside pixel's colour, for every pixel (distance transform with labels)
    _, lab = cv2.distanceTransformWithLabels((~inner).astype(np.uint8), cv2.DIST_L2, 3,
                                             labelType=cv2.DIST_LABEL_PIXEL)
    src = f.reshape(-1, 3)[np.flatnonzero(inner.ravel())]  # label k: the k-th inside pixel, row-major
    ry, rx = np.nonzero(rim)
    obj = src[lab[ry, rx] - 1]
    bg = fill[ry, rx].astype(np.float32)
    d = obj - bg
    den = (d * d).sum(-1)
    a = np.where(den > 1e-3, ((f[ry, rx] - bg) * d).sum(-1) / np.maximum(den, 1e-3), 1.0)
    alpha[ry, rx] = np.clip(a, 0.0, 1.0)
    pure[ry, rx] = obj
    return pure, alpha


def _centroid(mask: np.ndarray) -> tuple[float, float]:
    ys, xs = np.nonzero(mask)
    return float(xs.mean() + 0.5), float(ys.mean() + 0.5)


def render_layers(frame: np.ndarray, fill: np.ndarray, layers: list[dict], num_frames: int, lift_px: float,
                  bend: float, keep: np.ndarray | None = None) -> np.ndarray:
    """Move each layer (``mask``, ``end`` (x, y) pixels, ``scale``, ``lift``) from where it is
    to its end point along a smooth path over the filled background. The filled hole is the
    layers' masks grown by a pixel (their soft edges), but for the pixels in ``keep``."""
    H, W = frame.shape[:2]
    union = np.zeros((H, W), bool)
    for L in layers:
        union |= L["mask"]
    hole = _dilate(union) if union.any() else union
    if keep is not None:
        hole &= union | ~keep
    bg = frame.copy()
    bg[hole] = fill[hole]
    ys, xs = np.mgrid[0:H, 0:W]
    px, py = xs + 0.5, ys + 0.5
    starts = [_centroid(L["mask"]) for L in layers]
    pure, alphas = zip(*(soft_edges(frame, fill, L["mask"]) for L in layers)) if layers else ((), ())
    bend_sign = 1.0
    if len(layers) == 2:  # bend a swap's two paths apart, keeping them in the frame
        (ax, ay), (bx, by) = starts
        dx, dy = bx - ax, by - ay
        n = math.hypot(dx, dy) or 1.0
        mx, my = (ax + bx) / 2, (ay + by) / 2
        off = bend * W
        ok = 0 <= mx - dy / n * off <= W and 0 <= my + dx / n * off <= H
        bend_sign = 1.0 if ok else -1.0
    out = np.empty((num_frames, H, W, 3), np.uint8)
    out[0] = frame
    for t in range(1, num_frames):
        u = t / (num_frames - 1)
        s = u * u * (3 - 2 * u)
        img = bg.copy()
        for i, (L, (sx, sy)) in enumerate(zip(layers, starts)):
            ex, ey = L["end"]
            cx = sx + (ex - sx) * s
            cy = sy + (ey - sy) * s - (lift_px * math.sin(math.pi * u) if L["lift"] else 0.0)
            if len(layers) == 2:
                (ax, ay), (bx, by) = starts
                dx, dy = bx - ax, by - ay
                n = math.hypot(dx, dy) or 1.0
                side = (1.0 if i == 0 else -1.0) * bend_sign
                b = bend * W * math.sin(math.pi * u) * side
                cx += -dy / n * b
                cy += dx / n * b
            scale = 1.0 + (L["scale"] - 1.0) * s
            # inverse map: destination pixel → source pixel (nearest), within the layer
            srcx = np.floor(sx + (px - round(cx * 2) / 2) / scale).astype(int)
            srcy = np.floor(sy + (py - round(cy * 2) / 2) / scale).astype(int)
            valid = (srcx >= 0) & (srcx < W) & (srcy >= 0) & (srcy < H)
            sel = np.zeros((H, W), bool)
            sel[valid] = L["mask"][srcy[valid], srcx[valid]]
            sy_, sx_ = srcy[sel], srcx[sel]
            a = alphas[i][sy_, sx_, None]
            img[sel] = np.round(a * pure[i][sy_, sx_] + (1 - a) * img[sel]).astype(np.uint8)
        out[t] = img
    return out


HINT_KEYS = frozenset({"explore", "target", "subject", "avoid", "partner", "partner_target", "still"})
TARGET_SIGMA_PX = 2.5  # spread of the end-point prior a target hint puts on the heatmap (64 px frames)
AVOID_SIGMA_PX = 3.0
AVOID_NATS = 6.0


def hinted_logits(logits: torch.Tensor, width: int, start: tuple[float, float], hints: dict,
                  key: str = "target", from_key: str = "subject") -> torch.Tensor:
    """The heatmap logits with a refinement's hints as priors (spiral.core.refine):
    ``hints[key]`` (image coordinates 0..1, where the object must be drawn at the end) adds a
    Gaussian log-prior around the end point of the layer that moves it there (the layer's
    centroid ``start``, in pixels, moved by ``target − hints[from_key]``), and each of
    ``hints["avoid"]`` (where failed attempts put it; for the subject's layer only) lowers the
    logits around its end point. The sampler draws from this distribution, so log-probs stay
    exact for the request (its hints are part of it)."""
    tgt = hints.get(key)
    avoid = hints.get("avoid") if key == "target" else None
    if not tgt and not avoid:
        return logits
    h = logits.numel() // width
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64) + 0.5, torch.arange(width, dtype=torch.float64) + 0.5,
                            indexing="ij")
    src = hints.get(from_key)
    out = logits.double().view(h, width).clone()

    def end_px(uv):  # where the layer's centroid ends when the object is drawn at uv
        if src is None:
            return uv[0] * width, uv[1] * h
        return start[0] + (uv[0] - src[0]) * width, start[1] + (uv[1] - src[1]) * h

    scale = width / 64.0
    if tgt:
        tx, ty = end_px(tgt)
        out = out - 0.5 * ((xs - tx) ** 2 + (ys - ty) ** 2) / (TARGET_SIGMA_PX * scale) ** 2
    for a in avoid or []:
        ax, ay = end_px(a)
        out = out - AVOID_NATS * torch.exp(-0.5 * ((xs - ax) ** 2 + (ys - ay) ** 2) / (AVOID_SIGMA_PX * scale) ** 2)
    return out.flatten().to(logits.dtype)


def hinted_mask(mask: np.ndarray, parts: np.ndarray, uv: list[float], min_cover: float) -> np.ndarray:
    """The layer's mask holding the whole colour component drawn at ``uv`` (image coordinates
    0..1: where an instruction says the subject is), when the network's mask holds less than
    ``min_cover`` of it (a small ball in a bowl, caught in part: half of it would move, half
    stay). Nearest component within 3 pixels; the mask is unchanged when there is none."""
    H, W = parts.shape
    x, y = uv[0] * W - 0.5, uv[1] * H - 0.5
    ys, xs = np.nonzero(parts)
    if len(xs) == 0:
        return mask
    d = np.hypot(xs - x, ys - y)
    k = int(np.argmin(d))
    if d[k] > 3.0 * W / 64:
        return mask
    comp = parts == parts[ys[k], xs[k]]
    if (mask & comp).sum() >= min_cover * comp.sum():
        return mask
    return mask | comp


def _component_at(parts: np.ndarray, uv: list[float], reach_px: float = 3.0) -> int:
    """The id of the colour component drawn nearest ``uv`` (within ``reach_px`` at 64 px), or 0."""
    H, W = parts.shape
    ys, xs = np.nonzero(parts)
    if len(xs) == 0:
        return 0
    d = np.hypot(xs - (uv[0] * W - 0.5), ys - (uv[1] * H - 0.5))
    k = int(np.argmin(d))
    return int(parts[ys[k], xs[k]]) if d[k] <= reach_px * W / 64 else 0


def still_mask(mask: np.ndarray, parts: np.ndarray, uv: list[float], keep_uv: list[float] | None) -> np.ndarray:
    """The layer's mask without the colour component drawn at ``uv`` (an object the
    instruction says must stay still), unless that is the subject's own (``keep_uv``)."""
    c = _component_at(parts, uv)
    if c == 0 or (keep_uv is not None and _component_at(parts, keep_uv) == c):
        return mask
    return mask & (parts != c)


def generate_clips(model: TinyTI2V, tok: Tokenizer, frames: np.ndarray, prompts: list[str], seeds: list[int],
                   num_frames: int | None = None, steps: int | None = None, temperature: float | None = None,
                   guidance: float | None = None, keyframes: np.ndarray | None = None,
                   cleanup: bool | None = None, hints: list[dict] | None = None,
                   palette: RenderPalette | None = None, mask_decisions: bool = False) -> list[dict]:
    """Batched sampling: N frames + N prompts + N seeds → N clips with their log-probs.
    ``cleanup=False`` turns the layer clean-up off (``prune_masks`` and ``clean_background``
    of the model's config), ``True`` on; ``None`` keeps the config's. ``hints`` (one dict per
    clip, from a refinement): ``explore`` e > 0 samples the end points at temperature ×(1 + e)
    from one draw (no best-of-k) and spreads the mask threshold ×(1 + e); ``target`` /
    ``avoid`` (and ``partner_target`` for a swap's second layer) are priors on the heatmaps
    (:func:`hinted_logits`). ``palette``: the world's colours the clean-up and a hinted subject
    read (default ``model.palette``, which the caller that loads the model sets).
    ``mask_decisions`` (GRPO rollouts only): the clean-up's choice of which colour components
    a layer carries is sampled (:func:`sample_components`, temperature ×(1 + e)) instead of
    thresholded, and recorded in each result's ``masks`` with what scores it again; off, the
    sampler is the deterministic one, byte for byte."""
    cfg = model.config
    T = num_frames or cfg.num_frames
    k = max(1, int(steps or cfg.steps))
    tau = cfg.temperature if temperature is None else temperature
    w = cfg.guidance if guidance is None else guidance
    pred = predict(model, tok, frames, prompts, keyframes, w)
    H, W = frames.shape[1:3]
    results = []
    parts_of: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}  # N seeds of one frame: split it once
    clean = cfg.clean_background if cleanup is None else cleanup
    prune = cfg.prune_masks if cleanup is None else cleanup
    palette = palette or getattr(model, "palette", None)  # a stand-in network may have none
    if palette is None and (prune or clean or mask_decisions or any(h and (h.get("subject") or h.get("still")) for h in hints or [])):
        raise ValueError("the layer clean-up and hinted masks read the world's colours: pass palette= or set "
                         "model.palette (spiral.generators.tiny_ti2v.tabletop_palette() for the tabletop)")
    for i, seed in enumerate(seeds):
        gen = torch.Generator().manual_seed(int(seed))
        hint = (hints[i] if hints else None) or {}
        explore = max(0.0, float(hint.get("explore", 0.0)))
        tau_i, k_i = (tau * (1.0 + explore), 1) if explore > 0 else (tau, k)
        # the mask threshold varies with the seed, so a new seed also redraws the layer's extent
        jitter = min(cfg.mask_jitter * (1.0 + explore), 0.3)
        thr = cfg.mask_threshold + jitter * (2 * float(torch.rand(1, generator=gen)) - 1)
        mask_a = (torch.sigmoid(pred["mask_a"][i]) > thr).numpy()
        has_b = bool(torch.sigmoid(pred["has_b"][i]) > 0.5)
        mask_b = (torch.sigmoid(pred["mask_b"][i]) > thr).numpy() & ~mask_a if has_b else None
        if prune or clean or mask_decisions or hint.get("subject"):
            key = frames[i].tobytes()
            if key not in parts_of:
                parts_of[key] = colour_parts(frames[i], palette)
            parts, colours = parts_of[key]
        if hint.get("subject"):  # the instruction names the object: the layer holds all of it
            mask_a = hinted_mask(mask_a, parts, hint["subject"], cfg.layer_cover)
            if mask_b is not None and hint.get("partner"):
                mask_b = hinted_mask(mask_b, parts, hint["partner"], cfg.layer_cover) & ~mask_a
        for uv in hint.get("still") or []:  # objects that must stay: no layer takes them
            mask_a = still_mask(mask_a, parts, uv, hint.get("subject"))
            mask_b = None if mask_b is None else still_mask(mask_b, parts, uv, hint.get("partner"))
        masks: list[dict] = []
        if mask_decisions:  # the same choice as prune_mask's, drawn (its own generator: the cells' draws stay)
            mgen = torch.Generator().manual_seed(int(seed) + MASK_SEED_OFFSET)
            tau_m = MASK_TEMPERATURE * (1.0 + explore)
            for head in ("mask_a", "mask_b"):
                m = mask_a if head == "mask_a" else mask_b
                if m is None:
                    continue
                m, comps = sample_components(m, pred[head][i], parts, thr, tau_m, mgen)
                masks.append({"head": head, "threshold": thr, "tau": tau_m, "comps": comps})
                if head == "mask_a":
                    mask_a = m
                else:
                    mask_b = m
        elif prune:
            mask_a = prune_mask(mask_a, parts, cfg.layer_cover)
            mask_b = None if mask_b is None else prune_mask(mask_b, parts, cfg.layer_cover)
        lift = bool(torch.sigmoid(pred["lift"][i]) > 0.5)
        scale = SCALES[int(torch.argmax(pred["scale"][i]))]
        fill = (pred["fill"][i].permute(1, 2, 0).numpy() * 255).round().clip(0, 255).astype(np.uint8)
        keep = None
        if clean and mask_a.any():
            union = mask_a | mask_b if mask_b is not None else mask_a
            fill = clean_fill(frames[i], fill, union, parts, colours, cfg.layer_cover, palette)
            keep = (parts > 0) & ~_carried(union, parts, cfg.layer_cover)[parts]  # objects that stay
        layers, logprob, ends, cells = [], 0.0, [], []
        if mask_a.any():
            heat = hinted_logits(pred["heat_a"][i], W, _centroid(mask_a), hint)
            la = sample_layer(heat, W, gen, tau_i, k_i, cfg.jitter_px, cfg.subpixel)
            layers.append({"mask": mask_a, "end": la.xy, "scale": scale, "lift": lift})
            logprob += la.logprob
            ends.append(la.xy)
            cells.append({"head": "heat_a", "index": la.index, "centroid": _centroid(mask_a)})
        if mask_b is not None and mask_b.any():
            heat = hinted_logits(pred["heat_b"][i], W, _centroid(mask_b), hint, "partner_target", "partner")
            lb = sample_layer(heat, W, gen, tau_i, k_i, cfg.jitter_px, cfg.subpixel)
            layers.append({"mask": mask_b, "end": lb.xy, "scale": 1.0, "lift": lift})
            logprob += lb.logprob
            ends.append(lb.xy)
            cells.append({"head": "heat_b", "index": lb.index, "centroid": _centroid(mask_b)})
        if layers:
            clip = render_layers(frames[i], fill, layers, T, cfg.lift_px * H / 64, cfg.bend, keep)
        else:  # nothing recognised as moving: a still clip
            clip = np.repeat(frames[i][None], T, axis=0)
        # cells: the sampled decisions with what scores them again (GRPO: spiral.rl.tiny_policy)
        result = {"frames": clip, "logprob": logprob, "ends": ends, "steps": k_i,
                  "n_layers": len(layers), "scale": scale, "lift": lift,
                  "cells": cells, "temperature": tau_i, "guidance": w, "hint": hint,
                  "layer_masks": (mask_a, mask_b)}  # after the clean-up (None: no second layer)
        if mask_decisions:
            result["masks"] = masks
        results.append(result)
    return results
