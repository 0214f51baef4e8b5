"""The tiny TI2V world model: a text-conditioned (FiLM) U-Net that predicts a *layered
motion* of the conditioning frame.

For a frame and a prompt it predicts, per pixel: the mask of the layer that moves (the
subject and what it carries) and of a second layer (the partner of a swap), a heatmap of
where each layer's centre ends up, and the background the layers reveal when they leave
(``fill``, optionally copied from the frame nearby: ``fill_copy``); and, per clip, the
layer's scale change (an object dropped into a bowl shrinks), whether it is lifted or
slid, and whether a second layer moves. The sampler
(:mod:`.sampling`) draws the end points from the heatmaps and renders the clip by moving
the layers along smooth paths over the filled background, so objects keep their exact
pixels (no smear) unless the masks or fill are wrong, which is how this model fails.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from spiral.models.tiny_ti2v.appearance import RenderPalette
from spiral.models.tiny_ti2v.configuration_tiny_ti2v import TinyTI2VConfig

N_SCALES = 3
N_HEAD = 7  # per-pixel outputs of the head: mask A, mask B, heat A, heat B, fill RGB


class TextEncoder(nn.Module):
    def __init__(self, cfg: TinyTI2VConfig):
        super().__init__()
        d = cfg.text_dim
        self.emb = nn.Embedding(max(len(cfg.vocab), 3), d, padding_idx=0)
        self.pos = nn.Parameter(torch.zeros(1, cfg.max_text_len, d))
        layer = nn.TransformerEncoderLayer(d, cfg.text_heads, dim_feedforward=2 * d, dropout=0.0,
                                           batch_first=True, norm_first=True)
        self.enc = nn.TransformerEncoder(layer, cfg.text_layers, enable_nested_tensor=False)
        self.out = nn.LayerNorm(d)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        pad = ids == 0
        h = self.emb(ids) + self.pos[:, : ids.shape[1]]
        h = self.enc(h, src_key_padding_mask=pad)
        h = self.out(h)
        keep = (~pad).unsqueeze(-1).float()
        mean = (h * keep).sum(1) / keep.sum(1).clamp(min=1.0)
        return torch.cat([h[:, 0], mean], dim=-1)  # [CLS] and mean: 2*d


class FiLMBlock(nn.Module):
    def __init__(self, cin: int, cout: int, tdim: int):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.n1 = nn.GroupNorm(8, cout)
        self.n2 = nn.GroupNorm(8, cout)
        self.film = nn.Linear(tdim, 4 * cout)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        g1, b1, g2, b2 = self.film(t)[:, :, None, None].chunk(4, dim=1)
        h = F.silu(self.n1(self.c1(x)) * (1 + g1) + b1)
        h = F.silu(self.n2(self.c2(h)) * (1 + g2) + b2)
        return self.skip(x) + h


class TinyTI2V(nn.Module):
    """Frame(s) + prompt tokens → layered-motion predictions (see module docstring)."""

    def __init__(self, cfg: TinyTI2VConfig):
        super().__init__()
        self.config = cfg
        # the world's colours the sampler's clean-up reads (data, set by whoever loads the
        # model for a world: spiral.generators.tiny_ti2v); not saved with the weights
        self.palette: RenderPalette | None = None
        c = cfg.channels
        tdim = 2 * cfg.text_dim
        cin = 3 + 2 + (3 if cfg.use_keyframe else 0)
        self.text = TextEncoder(cfg)
        self.stem = nn.Conv2d(cin, c[0], 3, padding=1)
        self.down = nn.ModuleList()
        self.enc = nn.ModuleList()
        prev = c[0]
        for i, ch in enumerate(c):
            self.enc.append(FiLMBlock(prev, ch, tdim))
            self.down.append(nn.Conv2d(ch, ch, 3, stride=2, padding=1) if i < len(c) - 1 else nn.Identity())
            prev = ch
        self.mid = FiLMBlock(c[-1], c[-1], tdim)
        self.dec = nn.ModuleList()
        for i in range(len(c) - 2, -1, -1):
            self.dec.append(FiLMBlock(prev + c[i], c[i], tdim))
            prev = c[i]
        # N_HEAD (+ with fill_copy: the fill's choice among "generate" and the 2n vertical
        # copies, and a brightness gain of what it copies)
        self.head = nn.Conv2d(c[0], N_HEAD + self.n_copy_channels(cfg), 1)
        if cfg.fill_copy:
            with torch.no_grad():
                self.head.bias[N_HEAD] = 2.0  # start out generating, as a model without copies does
        self.glob = nn.Sequential(nn.Linear(c[-1] + tdim, 128), nn.SiLU(), nn.Linear(128, N_SCALES + 2))

    @staticmethod
    def n_copy_channels(cfg: TinyTI2VConfig) -> int:
        return 2 * cfg.fill_copy + 2 if cfg.fill_copy else 0

    def copy_fill(self, frames: torch.Tensor, generated: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """Per pixel, a soft choice between the generated colour and the conditioning frame
        ``d`` pixels below or above (d = 1..n), times a brightness gain: revealed background
        continues what is next to it (the rest of a cube whose top was hidden, a bowl's
        inside, the table), which a small network cannot paint from scratch."""
        n = self.config.fill_copy
        # split/unbind rather than slices: their backward is one concatenation, where each
        # slice's backward zero-fills a gradient of the whole tensor (a quarter of a training
        # step went there); the arithmetic, and so every output, is the same
        choice, gain_logit = torch.split(logits, [2 * n + 1, 1], dim=1)
        w = torch.softmax(choice.float(), dim=1).unbind(1)
        gain = 2 * torch.sigmoid(gain_logit.float())
        f = frames.float()
        pad = F.pad(f, (0, 0, n, n), mode="replicate")
        H = f.shape[-2]
        copied = torch.zeros_like(f)
        for k, d in enumerate([*range(1, n + 1), *range(-n, 0)]):
            copied = copied + w[k + 1].unsqueeze(1) * pad[:, :, n + d : n + d + H]
        return (w[0].unsqueeze(1) * generated.float() + copied * gain).clamp(0, 1)

    @staticmethod
    def coords(b: int, h: int, w: int, device) -> torch.Tensor:
        ys = torch.linspace(-1, 1, h, device=device).view(1, 1, h, 1).expand(b, 1, h, w)
        xs = torch.linspace(-1, 1, w, device=device).view(1, 1, 1, w).expand(b, 1, h, w)
        return torch.cat([xs, ys], dim=1)

    def forward(self, frames: torch.Tensor, ids: torch.Tensor, keyframes: torch.Tensor | None = None) -> dict:
        """``frames``: B×3×H×W in [0, 1]; ``ids``: B×L token ids."""
        b, _, h, w = frames.shape
        t = self.text(ids)
        x = [frames * 2 - 1, self.coords(b, h, w, frames.device)]
        if self.config.use_keyframe:
            x.append((keyframes if keyframes is not None else frames) * 2 - 1)
        x = self.stem(torch.cat(x, dim=1))
        skips = []
        for blk, dn in zip(self.enc, self.down):
            x = blk(x, t)
            skips.append(x)
            x = dn(x)
        x = self.mid(x, t)
        g = self.glob(torch.cat([x.mean(dim=(2, 3)), t], dim=-1))
        for blk, skip in zip(self.dec, reversed(skips[:-1])):
            x = F.interpolate(x, size=skip.shape[-2:], mode="nearest")
            x = blk(torch.cat([x, skip], dim=1), t)
        out = self.head(x)
        copy = out.shape[1] - N_HEAD
        mask_a, mask_b, heat_a, heat_b, fill, *rest = torch.split(out, [1, 1, 1, 1, 3] + ([copy] if copy else []), 1)
        fill = torch.sigmoid(fill)
        if self.config.fill_copy:
            fill = self.copy_fill(frames, fill, rest[0])
        return {
            "mask_a": mask_a.squeeze(1), "mask_b": mask_b.squeeze(1),
            "heat_a": heat_a.flatten(1), "heat_b": heat_b.flatten(1), "fill": fill,
            "scale": g[:, :N_SCALES], "lift": g[:, N_SCALES], "has_b": g[:, N_SCALES + 1],
        }


def load_pretrained(path, device: str = "cpu") -> TinyTI2V:
    """Load ``config.json`` + ``model.safetensors`` from a directory (no pickle)."""
    from pathlib import Path

    from safetensors.torch import load_file

    from spiral.errors import InputFileError

    p = Path(path)
    if not (p / "config.json").exists() or not (p / "model.safetensors").exists():
        raise InputFileError(f"no tiny-ti2v weights in {p} (need config.json and model.safetensors)",
                             "train them with `spiral train world-model` or use the shipped default")
    from safetensors import SafetensorError

    try:
        cfg = TinyTI2VConfig.load(p / "config.json")
    except (ValueError, OSError) as exc:  # not JSON, or not this model's config
        raise InputFileError(f"{p / 'config.json'} is not a tiny-ti2v config ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0]})", "point at a directory written by "
                             "`spiral train world-model` (its final/ folder)") from None
    model = TinyTI2V(cfg)
    try:
        model.load_state_dict(load_file(str(p / "model.safetensors"), device=device))
    except (SafetensorError, RuntimeError, OSError) as exc:  # damaged, or from another architecture
        raise InputFileError(f"the weights in {p} cannot be loaded ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0][:300]})",
                             "train them again; for the shipped weights, reinstall spiral-actwm") from None
    return model.eval()


def save_pretrained(model: TinyTI2V, path) -> None:
    from pathlib import Path

    from safetensors.torch import save_file

    p = Path(path)
    p.mkdir(parents=True, exist_ok=True)
    model.config.save(p / "config.json")
    save_file({k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}, str(p / "model.safetensors"))
