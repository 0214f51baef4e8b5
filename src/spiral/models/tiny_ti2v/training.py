"""Training the tiny TI2V model on ActWM-Dataset-Lite (``spiral train world-model``).

CPU by default (``OMP_WAIT_POLICY=PASSIVE``, bf16 autocast), EMA weights, periodic
validation, atomic checkpoints that resume after a kill, a CSV log and a final validation
report. The shipped weights are the EMA weights written by :func:`train`.

What training takes from the world and the dataset (the episodes, the world's colours, its
words and action kinds, the critic's feedback sentences) comes in as a
:class:`TrainingInputs`, built by the layer above (:func:`spiral.data.tiny_ti2v.tabletop_inputs`):
this package imports nothing but itself and core.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
import os
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from spiral.models.tiny_ti2v.appearance import RenderPalette

log = logging.getLogger(__name__)


@dataclass
class TrainingInputs:
    """What training takes from outside the model, passed in by the caller.

    ``episodes(root, split)`` yields a dataset split's episodes (``meta``, ``clips``,
    ``targets``: ActWM-Dataset-Lite's layout); ``manifest(root)`` is the dataset's verified
    manifest (``spec.size``, ``spec.frames_per_step``, ``shards[].sha256``); ``palette`` the
    world's colours; ``words`` texts whose words join the vocabulary beyond the dataset's own
    (phrasings, colour names); ``feedback`` the sentences the loop's rewrite refinement adds
    to a prompt (the model learns to tolerate them; the order is part of a run's draws);
    ``action_kinds`` the kinds ``oversample_kinds`` may name."""

    episodes: Callable[[str, str], Any]
    manifest: Callable[[str], dict[str, Any]]
    palette: RenderPalette
    words: list[str]
    feedback: list[str]
    action_kinds: tuple[str, ...]


@dataclass
class TrainConfig:
    data: str = "data/actwm-lite"
    out: str = "runs/train-tiny-ti2v"
    seed: int = 0
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 0.01
    warmup: int = 200
    max_steps: int = 6000
    max_minutes: float = 55.0
    # "auto": cosine decay over whichever budget (steps, wall time) ends first; a run that the
    # clock ends depends on the machine's speed (the seed-0 weights shipped before were made so).
    # "steps": cosine over max_steps only, data and augmentation drawn per step from (seed,
    # step): the same config repeats the same run, bit for bit, on the same machine, also
    # across a kill and resume (the time budget only stops it; pick max_steps that fits it)
    schedule: str = "auto"
    ema: float = 0.998
    dice_weight: float = 1.0  # soft-Dice term on the masks (whole-object masks, fewer torn rims)
    fill_object_weight: float = 4.0  # extra fill weight where a revealed pixel is an object (a cube under a cube)
    p_goal_text: float = 0.15
    p_empty_text: float = 0.08
    p_feedback_suffix: float = 0.12
    # DAgger-style inputs: this share of the sub-actions that follow another one in their
    # episode start from the model's *own* rendering of the previous step (its masks and
    # fill, the true end point) instead of the simulator's frame, so it learns to continue
    # from frames with its own artifacts (chains); 0 turns it off
    p_self_input: float = 0.0
    self_input_after: float = 0.5  # ... from this share of the step budget on (an early model renders noise)
    init_from: str | None = None  # start from these weights (config.json + model.safetensors)
    fill_copy: int = 8  # the fill may copy the frame from up to this many pixels above/below (0 = off)
    oversample_revealed: float = 4.0  # draw sub-actions that uncover an object (1 + this) times as often
    # action kind -> extra draw weight: a sub-action of that kind is drawn (1 + w) times as
    # often (added to the revealed weight), e.g. {"move_next_to": 1.0} for the kind that fails most
    oversample_kinds: dict[str, float] = field(default_factory=dict)
    val_every: int = 500
    ckpt_every: int = 250
    threads: int = 2
    # The shipped weights' recipe: bf16 autocast, NCHW. fp32 + channels-last steps are faster
    # (0.47 against 0.58 s per step of 32 on 2 cores); whether its weights are as good is open:
    # one run of each recipe since gave ~56 % chains against the shipped 65 % (model card).
    bf16: bool = True
    channels_last: bool = False  # NHWC convolutions (faster in fp32, slower under bf16 autocast)
    channels: tuple[int, ...] = (16, 32, 64, 128)
    max_train_episodes: int | None = None


# -- data ------------------------------------------------------------------------------------
def load_arrays(root: str, split: str, inputs: TrainingInputs, max_episodes: int | None = None) -> dict[str, Any]:
    """Every sub-action of a split as arrays (start frame, privileged targets) plus texts."""
    frames, masks, fills, ta, tb, scale, lift, hasb, texts, goals, meta = [], [], [], [], [], [], [], [], [], [], []
    kinds: list[str] = []
    for n, ep in enumerate(inputs.episodes(root, split)):
        if max_episodes is not None and n >= max_episodes:
            break
        m = ep["meta"]
        for k, st in enumerate(m["steps"]):
            tg = st["targets"]
            frames.append(ep["clips"][k][0])
            masks.append(np.stack([ep["targets"][k]["mask_a"], ep["targets"][k]["mask_b"]]))
            fills.append(ep["targets"][k]["fill"])
            ta.append(tg["target_a"])
            tb.append(tg["target_b"] or tg["target_a"])
            scale.append(tg["scale_class"])
            lift.append(tg["lift"])
            hasb.append(tg["has_b"])
            texts.append(st["phrasings"])
            kinds.append(st["kind"])
            goals.append(m["goal_phrasings"] if len(m["steps"]) > 1 else [])
            meta.append({"key": m["key"], "step": k, "episode_steps": len(m["steps"])})
    prev = [i - 1 if i > 0 and meta[i]["step"] > 0 and meta[i - 1]["key"] == meta[i]["key"] else -1
            for i in range(len(meta))]
    frames_a, fills_a, masks_a = np.stack(frames), np.stack(fills), np.stack(masks).astype(np.uint8)
    objects = object_pixels(fills_a, inputs.palette)
    return {"frames": frames_a, "masks": masks_a, "fills": fills_a, "fill_objects": objects,
            "revealed": revealed_objects(frames_a, fills_a, masks_a, objects=objects),
            "target_a": np.asarray(ta, np.float32), "target_b": np.asarray(tb, np.float32),
            "scale": np.asarray(scale, np.int64), "lift": np.asarray(lift, np.float32),
            "has_b": np.asarray(hasb, np.float32), "texts": texts, "goals": goals, "meta": meta,
            "kinds": np.asarray(kinds), "prev": np.asarray(prev, np.int64)}


def object_pixels(fills: np.ndarray, palette: RenderPalette) -> np.ndarray:
    """Per pixel of N×H×W×3 uint8 fills: is it an object (neither table nor shadow)?"""
    f = fills.astype(np.int16)
    return (np.abs(f - np.array(palette.table, np.int16)).sum(-1) > 30) & \
        (np.abs(f - np.array(palette.shadow, np.int16)).sum(-1) > 30)


def revealed_objects(frames: np.ndarray, fills: np.ndarray, masks: np.ndarray, min_px: int = 6,
                     objects: np.ndarray | None = None, palette: RenderPalette | None = None) -> np.ndarray:
    """Per sub-action: does the fill reveal part of an *object* (the rest of a cube whose top
    a lifted cube hid), i.e. pixels under the moving layers that are objects
    (:func:`object_pixels`, passed as ``objects`` when already computed) and differ from the
    start frame? Rare in the data, and what the fill gets wrong. Give ``objects`` or the
    world's ``palette``."""
    if objects is None and palette is None:
        raise ValueError("revealed_objects needs objects= or palette=")
    objects = object_pixels(fills, palette) if objects is None else objects
    new = np.abs(fills.astype(np.int16) - frames.astype(np.int16)).sum(-1) > 30
    return ((objects & new & (masks.sum(1) > 0)).reshape(len(fills), -1).sum(1) >= min_px)


def build_vocabulary(arrays: list[dict[str, Any]], words: list[str]) -> list[str]:
    """The vocabulary of the dataset's texts and goals, and of ``words`` (TrainingInputs.words)."""
    from spiral.models.tiny_ti2v.tokenization_tiny_ti2v import build_vocab

    corpus: list[str] = []
    for a in arrays:
        for t in a["texts"]:
            corpus += t
        for g in a["goals"]:
            corpus += g
    return build_vocab(corpus + list(words))


def sample_texts(data: dict[str, Any], idx: np.ndarray, rng: random.Random, cfg: TrainConfig,
                 suffixes: list[str]) -> list[str]:
    out = []
    for i in idx:
        r = rng.random()
        if r < cfg.p_empty_text:
            out.append("")
            continue
        if data["goals"][i] and rng.random() < cfg.p_goal_text:
            t = rng.choice(data["goals"][i])
        else:
            t = rng.choice(data["texts"][i])
        if rng.random() < cfg.p_feedback_suffix:
            t = t + ". " + rng.choice(suffixes)
        out.append(t)
    return out


# -- loss ------------------------------------------------------------------------------------
def soft_target(xy, H: int, W: int, sigma: float = 0.8):
    import torch

    ys = torch.arange(H, dtype=torch.float32).view(1, H, 1) + 0.5
    xs = torch.arange(W, dtype=torch.float32).view(1, 1, W) + 0.5
    d2 = (xs - xy[:, 0].view(-1, 1, 1)) ** 2 + (ys - xy[:, 1].view(-1, 1, 1)) ** 2
    p = torch.exp(-d2 / (2 * sigma ** 2)).flatten(1)
    return p / p.sum(1, keepdim=True)


def soft_dice(logits, target, eps: float = 1.0):
    """Per-sample soft-Dice loss (1 − Dice) of sigmoid(logits) against a binary target."""
    import torch

    p = torch.sigmoid(logits.float())
    inter = (p * target).sum((1, 2))
    return 1 - (2 * inter + eps) / (p.sum((1, 2)) + target.sum((1, 2)) + eps)


def losses(out: dict, batch: dict, dice_weight: float = 0.0, fill_object_weight: float = 0.0) -> dict:
    import torch
    import torch.nn.functional as F

    H = W = batch["frames"].shape[-1]
    m = batch["masks"].float()
    pos = torch.tensor(6.0)
    l_mask = F.binary_cross_entropy_with_logits(out["mask_a"].float(), m[:, 0], pos_weight=pos)
    hb = batch["has_b"]
    l_mask_b = (F.binary_cross_entropy_with_logits(out["mask_b"].float(), m[:, 1], pos_weight=pos,
                                                   reduction="none").mean((1, 2)) * hb).sum() / hb.sum().clamp(min=1)
    ta = soft_target(batch["target_a"], H, W)
    tb = soft_target(batch["target_b"], H, W)
    l_heat = -(ta * F.log_softmax(out["heat_a"].float(), -1)).sum(-1).mean()
    l_heat_b = (-(tb * F.log_softmax(out["heat_b"].float(), -1)).sum(-1) * hb).sum() / hb.sum().clamp(min=1)
    union = (m.sum(1, keepdim=True) > 0).float()
    union = F.max_pool2d(union, 3, 1, 1)
    err = (out["fill"].float() - batch["fills"]).abs()
    w = 0.05 + union
    if fill_object_weight:  # revealed pixels that are an object (the cube under a lifted cube)
        w = w + fill_object_weight * union * batch["fill_objects"].unsqueeze(1).float()
    l_fill = (err * w).mean() * 4
    l_scale = F.cross_entropy(out["scale"].float(), batch["scale"])
    l_lift = F.binary_cross_entropy_with_logits(out["lift"].float(), batch["lift"])
    l_hasb = F.binary_cross_entropy_with_logits(out["has_b"].float(), hb)
    if dice_weight:
        l_mask = l_mask + dice_weight * soft_dice(out["mask_a"], m[:, 0]).mean()
        l_mask_b = l_mask_b + dice_weight * (soft_dice(out["mask_b"], m[:, 1]) * hb).sum() / hb.sum().clamp(min=1)
    parts = {"mask": l_mask, "mask_b": l_mask_b, "heat": l_heat, "heat_b": l_heat_b, "fill": l_fill,
             "scale": l_scale, "lift": l_lift, "has_b": l_hasb}
    parts["total"] = (2 * l_mask + l_mask_b + l_heat + 0.5 * l_heat_b + l_fill + 0.3 * l_scale + 0.3 * l_lift
                      + 0.3 * l_hasb)
    return parts


def to_batch(data: dict[str, Any], idx: np.ndarray, texts: list[str], tok) -> dict:
    import torch

    return {
        "frames": torch.from_numpy(data["frames"][idx]).permute(0, 3, 1, 2).float() / 255.0,
        "fills": torch.from_numpy(data["fills"][idx]).permute(0, 3, 1, 2).float() / 255.0,
        "fill_objects": torch.from_numpy(data["fill_objects"][idx]),
        "masks": torch.from_numpy(data["masks"][idx]),
        "target_a": torch.from_numpy(data["target_a"][idx]), "target_b": torch.from_numpy(data["target_b"][idx]),
        "scale": torch.from_numpy(data["scale"][idx]), "lift": torch.from_numpy(data["lift"][idx]),
        "has_b": torch.from_numpy(data["has_b"][idx]), "ids": tok.batch(texts),
    }


def self_rendered_frames(model, data: dict[str, Any], prev: np.ndarray, tok, rng: np.random.Generator,
                         mask_jitter: float = 0.05) -> np.ndarray:
    """The end frames of the previous sub-actions ``prev`` as the model would render them:
    its own masks and fill (the threshold jittered as the sampler does), moved to the
    true end points with the true scale and lift. What differs from the simulator's frame
    is the model's own artifacts (a rim left behind, a wrong fill)."""
    import torch

    from spiral.models.tiny_ti2v.sampling import SCALES, render_layers

    frames = data["frames"][prev]
    texts = [data["texts"][i][0] for i in prev]
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255.0
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = model(x, tok.batch(texts))
    model.train(was_training)
    cfg = model.config
    H, _W = frames.shape[1:3]
    res = np.empty_like(frames)
    for j, i in enumerate(prev):
        thr = 0.5 + mask_jitter * (2 * rng.random() - 1)
        mask_a = (torch.sigmoid(out["mask_a"][j]) > thr).numpy()
        fill = (out["fill"][j].permute(1, 2, 0).numpy() * 255).round().clip(0, 255).astype(np.uint8)
        lift = bool(data["lift"][i] > 0.5)
        layers = []
        if mask_a.any():
            layers.append({"mask": mask_a, "end": tuple(data["target_a"][i]), "scale": SCALES[data["scale"][i]],
                           "lift": lift})
        if data["has_b"][i] > 0.5:
            mask_b = (torch.sigmoid(out["mask_b"][j]) > thr).numpy() & ~mask_a
            if mask_b.any():
                layers.append({"mask": mask_b, "end": tuple(data["target_b"][i]), "scale": 1.0, "lift": lift})
        if layers:
            res[j] = render_layers(frames[j], fill, layers, 2, cfg.lift_px * H / 64, cfg.bend)[-1]
        else:
            res[j] = frames[j]
    return res


@dataclass
class ValMetrics:
    loss: float
    mask_iou: float
    target_err_px: float
    fill_l1: float
    lift_acc: float
    scale_acc: float

    def to_dict(self) -> dict[str, float]:
        return {k: round(float(v), 5) for k, v in asdict(self).items()}


def validate(model, data: dict[str, Any], tok, n: int = 256, seed: int = 0) -> ValMetrics:
    import torch

    rng = random.Random(seed)
    idx = np.arange(min(n, len(data["frames"])))
    texts = [data["texts"][i][rng.randrange(len(data["texts"][i]))] for i in idx]
    b = to_batch(data, idx, texts, tok)
    model.eval()
    with torch.no_grad():
        out = model(b["frames"], b["ids"])
        lo = losses(out, b)
    pm = torch.sigmoid(out["mask_a"]) > 0.5
    gm = b["masks"][:, 0] > 0
    iou = ((pm & gm).sum((1, 2)).float() / (pm | gm).sum((1, 2)).clamp(min=1).float()).mean()
    W = b["frames"].shape[-1]
    am = out["heat_a"].argmax(-1)
    xy = torch.stack([am % W + 0.5, am // W + 0.5], -1).float()
    err = (xy - b["target_a"]).norm(dim=-1).mean()
    fill = (out["fill"] - b["fills"]).abs().mean()
    lift_acc = ((out["lift"] > 0).float() == b["lift"]).float().mean()
    scale_acc = (out["scale"].argmax(-1) == b["scale"]).float().mean()
    model.train()
    return ValMetrics(float(lo["total"]), float(iou), float(err), float(fill), float(lift_acc), float(scale_acc))


def load_widening_head(model, state: dict) -> None:
    """Load ``state`` into ``model``; a head with fewer output channels (weights without the
    fill's copy channels) fills the first ones, the new ones keep their initialisation."""
    from spiral.models.tiny_ti2v.modeling_tiny_ti2v import N_HEAD

    own = model.state_dict()
    for key in ("head.weight", "head.bias"):
        if key in state and state[key].shape[0] < own[key].shape[0]:
            w = own[key].clone()
            if key == "head.weight":
                w[N_HEAD:] = 0.0  # the new outputs start from their bias alone
            w[: state[key].shape[0]] = state[key]
            state = {**state, key: w}
    model.load_state_dict(state)


# -- loop ------------------------------------------------------------------------------------
def check_oversampling(cfg: TrainConfig, action_kinds: tuple[str, ...]) -> None:
    from spiral.errors import ConfigError

    unknown = sorted(set(cfg.oversample_kinds) - set(action_kinds))
    if unknown:
        raise ConfigError(f"cannot oversample unknown action kind(s) {', '.join(unknown)}",
                          f"use one of {', '.join(action_kinds)}")
    if cfg.oversample_revealed < 0 or any(not w >= 0 for w in cfg.oversample_kinds.values()):
        raise ConfigError("oversampling weights must be numbers >= 0", "pass W >= 0 (0 = as often as the rest)")


def draw_weights(data: dict[str, Any], cfg: TrainConfig) -> np.ndarray | None:
    """Probability of drawing each sub-action (``None``: uniform): ``1 + oversample_revealed``
    for those that uncover an object, plus ``oversample_kinds[kind]`` by action kind."""
    if cfg.oversample_revealed <= 0 and not any(cfg.oversample_kinds.values()):
        return None
    wts = 1.0 + cfg.oversample_revealed * data["revealed"].astype(np.float64)
    if cfg.oversample_revealed > 0:
        log.info("%d of %d sub-actions reveal an object; drawn %.0fx as often", int(data["revealed"].sum()),
                 len(wts), 1 + cfg.oversample_revealed)
    for kind, w in cfg.oversample_kinds.items():
        sel = data["kinds"] == kind
        wts[sel] += w
        log.info("%d sub-actions are %s: weight +%g", int(sel.sum()), kind, w)
    return wts / wts.sum()


def train(cfg: TrainConfig, inputs: TrainingInputs,
          progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Train (or resume) into ``cfg.out`` on what ``inputs`` give (the tabletop's:
    :func:`spiral.data.tiny_ti2v.tabletop_inputs`); returns the final report."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    if cfg.schedule not in ("auto", "steps"):
        from spiral.errors import ConfigError

        raise ConfigError(f"unknown schedule {cfg.schedule!r}", "use --schedule auto or --schedule steps")
    check_oversampling(cfg, inputs.action_kinds)
    manifest = inputs.manifest(cfg.data)  # every shard whole before an hour of training
    dataset_id = hashlib.sha256("".join(s["sha256"] for s in manifest["shards"]).encode()).hexdigest()[:16]
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out)
    from spiral.core.lock import DirLock

    out.mkdir(parents=True, exist_ok=True)
    with DirLock(out, "--out"):  # one trainer per output directory, for the whole run
        return _train_locked(cfg, inputs, out, manifest, dataset_id, progress)


def _train_locked(cfg: TrainConfig, inputs: TrainingInputs, out: Path, manifest: dict[str, Any], dataset_id: str,
                  progress: Callable[[dict[str, Any]], None] | None) -> dict[str, Any]:
    import torch
    from safetensors.torch import load_file, save_file

    from spiral.core.rundir import atomic_write_bytes, atomic_write_json
    from spiral.errors import ConfigError, InputFileError
    from spiral.models.tiny_ti2v.configuration_tiny_ti2v import TinyTI2VConfig
    from spiral.models.tiny_ti2v.modeling_tiny_ti2v import TinyTI2V, save_pretrained
    from spiral.models.tiny_ti2v.tokenization_tiny_ti2v import Tokenizer

    _recover_checkpoint(out)
    t_load = time.perf_counter()
    train_data = load_arrays(cfg.data, "train", inputs, cfg.max_train_episodes)
    val_data = load_arrays(cfg.data, "validation", inputs)
    for split, d in (("train", train_data), ("validation", val_data)):
        if not len(d["frames"]):
            raise InputFileError(f"the dataset in {cfg.data} has no {split} sub-actions",
                                 f"build it with --{split} 1 or more")
    log.info("loaded %d train / %d validation sub-actions in %.1fs", len(train_data["frames"]),
             len(val_data["frames"]), time.perf_counter() - t_load)
    ckpt = out / "checkpoint"
    state_file = ckpt / "state.json"
    damaged = f"delete {ckpt} to train from scratch (or move it away)"
    if state_file.exists():
        try:
            st = json.loads(state_file.read_text())
            mcfg = TinyTI2VConfig.load(ckpt / "config.json")
        except (ValueError, OSError) as exc:
            raise InputFileError(f"the checkpoint in {ckpt} is damaged ({type(exc).__name__})", damaged) from None
        differ = resume_differences(st, cfg, dataset_id)
        if differ:
            raise ConfigError(f"{out} holds a training run with other settings: {'; '.join(differ)}",
                              "run the same command as before (paths, threads and, with --schedule steps, "
                              "--max-minutes may change), or use another --out")
    else:
        st = None
        mcfg = TinyTI2VConfig(vocab=build_vocabulary([train_data, val_data], inputs.words), channels=list(cfg.channels),
                              fill_copy=cfg.fill_copy, image_size=int(manifest["spec"]["size"]),
                              num_frames=int(manifest["spec"]["frames_per_step"]))
    if st is None and cfg.init_from:
        from spiral.models.tiny_ti2v.modeling_tiny_ti2v import load_pretrained

        init = load_pretrained(cfg.init_from)
        have = init.config.fill_copy
        if have and cfg.fill_copy != have:  # the head can be widened from 0 (a generated fill), not reshaped
            raise ConfigError(f"the --init-from weights have fill_copy {have}; fine-tuning keeps it",
                              f"pass --fill-copy {have} (or leave it at the default if that is {have})")
        mcfg = init.config.model_copy(update={"fill_copy": cfg.fill_copy})
    tok = Tokenizer(mcfg.vocab, mcfg.max_text_len)
    model = TinyTI2V(mcfg)
    if st is None and cfg.init_from:
        load_widening_head(model, init.state_dict())
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    ema = TinyTI2V(mcfg)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    step, elapsed = 0, 0.0
    if st is not None:
        from safetensors import SafetensorError

        try:
            model.load_state_dict(load_file(str(ckpt / "model.safetensors")))
            ema.load_state_dict(load_file(str(ckpt / "ema.safetensors")))
            opt.load_state_dict(torch.load(ckpt / "optimizer.pt", weights_only=True))
        except (SafetensorError, RuntimeError, OSError, ValueError, KeyError) as exc:
            raise InputFileError(f"the checkpoint in {ckpt} is damaged ({type(exc).__name__})", damaged) from None
        step, elapsed = st["step"], st["elapsed_s"]
        log.info("resumed at step %d", step)
    else:
        ema.load_state_dict(model.state_dict())
    ema.eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    rng = random.Random(f"{cfg.seed}:{step}")
    np_rng = np.random.default_rng(cfg.seed + step)
    suffixes = list(inputs.feedback)
    csv_path = out / "log.csv"
    if st is not None and csv_path.exists():  # rows written after the checkpoint are written again
        rows = csv_path.read_text().splitlines(keepends=True)
        kept = rows[:1] + [r for r in rows[1:] if r.split(",", 1)[0].isdigit() and int(r.split(",", 1)[0]) <= step]
        atomic_write_bytes(csv_path, "".join(kept).encode())
    new_csv = not csv_path.exists()
    logf = open(csv_path, "a", newline="")  # noqa: SIM115
    writer = csv.writer(logf)
    if new_csv:
        writer.writerow(["step", "elapsed_s", "split", "loss", "mask", "heat", "fill", "mask_iou", "target_err_px",
                         "lift_acc", "scale_acc", "lr"])
    N = len(train_data["frames"])
    draw_p = draw_weights(train_data, cfg)
    t0 = time.perf_counter() - elapsed
    model.train()

    def save_checkpoint() -> None:
        tmp = out / "checkpoint.tmp"
        shutil.rmtree(tmp, ignore_errors=True)  # a half-written one from a kill
        tmp.mkdir()
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp / "model.safetensors"))
        save_file({k: v.contiguous() for k, v in ema.state_dict().items()}, str(tmp / "ema.safetensors"))
        torch.save(opt.state_dict(), tmp / "optimizer.pt")
        mcfg.save(tmp / "config.json")
        atomic_write_json(tmp / "state.json", {"step": step, "elapsed_s": time.perf_counter() - t0,
                                               "train_config": _jsonable(asdict(cfg)), "dataset_id": dataset_id})
        if ckpt.exists():  # two renames: a kill between them is repaired by _recover_checkpoint
            old = out / "checkpoint.old"
            shutil.rmtree(old, ignore_errors=True)
            os.replace(ckpt, old)
            os.replace(tmp, ckpt)
            shutil.rmtree(old)
        else:
            os.replace(tmp, ckpt)

    last_val: dict[str, float] = {}
    while step < cfg.max_steps and (time.perf_counter() - t0) < cfg.max_minutes * 60:
        if cfg.schedule == "steps":  # a function of (seed, step) alone: a resumed run repeats the straight one
            frac = step / cfg.max_steps
            rng = random.Random(f"{cfg.seed}:{step}")
            np_rng = np.random.default_rng([cfg.seed, step])
            torch.manual_seed(cfg.seed * 1_000_003 + step)
        else:  # cosine decay over whichever budget (steps or wall time) runs out first
            frac = min(1.0, max(step / cfg.max_steps, (time.perf_counter() - t0) / (cfg.max_minutes * 60)))
        lr = cfg.lr * min(1.0, (step + 1) / cfg.warmup) * 0.5 * (1 + math.cos(math.pi * frac))
        for g in opt.param_groups:
            g["lr"] = lr
        if draw_p is None:
            idx = np_rng.integers(0, N, cfg.batch_size)
        else:
            idx = np_rng.choice(N, cfg.batch_size, p=draw_p)
        batch = to_batch(train_data, idx, sample_texts(train_data, idx, rng, cfg, suffixes), tok)
        if cfg.p_self_input > 0 and step >= cfg.self_input_after * cfg.max_steps:
            prev = train_data["prev"][idx]
            pick = np.flatnonzero((prev >= 0) & (np_rng.random(len(idx)) < cfg.p_self_input))
            if pick.size:
                own = self_rendered_frames(ema, train_data, prev[pick], tok, np_rng, mcfg.mask_jitter)
                batch["frames"][pick] = torch.from_numpy(own).permute(0, 3, 1, 2).float() / 255.0
        frames = batch["frames"].contiguous(memory_format=torch.channels_last) if cfg.channels_last \
            else batch["frames"]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
            out_ = model(frames, batch["ids"])
        parts = losses(out_, batch, cfg.dice_weight, cfg.fill_object_weight)
        opt.zero_grad(set_to_none=True)
        parts["total"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            d = min(cfg.ema, (1 + step) / (10 + step))
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(d).add_(pm.detach(), alpha=1 - d)
            for be, bm in zip(ema.buffers(), model.buffers()):
                be.copy_(bm)
        step += 1
        el = time.perf_counter() - t0
        if step % 50 == 0:
            writer.writerow([step, round(el, 1), "train", round(parts["total"].item(), 4), round(parts["mask"].item(), 4),
                             round(parts["heat"].item(), 4), round(parts["fill"].item(), 4), "", "", "", "", f"{lr:.2e}"])
            logf.flush()
        if step % cfg.val_every == 0 or step == cfg.max_steps:
            vm = validate(ema, val_data, tok)
            last_val = vm.to_dict()
            writer.writerow([step, round(el, 1), "validation", vm.loss, "", "", vm.fill_l1, vm.mask_iou,
                             vm.target_err_px, vm.lift_acc, vm.scale_acc, ""])
            logf.flush()
            log.info("step %d val %s", step, last_val)
        if step % cfg.ckpt_every == 0:
            save_checkpoint()
        if progress:
            progress({"step": step, "max_steps": cfg.max_steps, "loss": parts["total"].item(), "elapsed_s": el,
                      "val": last_val})
    save_checkpoint()
    logf.close()
    final = out / "final"
    save_pretrained(ema, final)
    vm = validate(ema, val_data, tok, n=len(val_data["frames"]))
    report = {"steps": step, "wall_s": round(time.perf_counter() - t0, 1), "train_sub_actions": N,
              "validation": vm.to_dict(), "train_config": _jsonable(asdict(cfg)),
              "params": sum(p.numel() for p in ema.parameters())}
    atomic_write_json(out / "report.json", report)
    return report


#: settings that change how a run is carried out, not the weights it makes
RUNTIME_FIELDS = ("data", "out", "threads", "val_every")


def resume_differences(st: dict[str, Any], cfg: TrainConfig, dataset_id: str) -> list[str]:
    """What differs between a checkpoint's run and ``cfg`` that would change the weights
    (``[]``: it may be resumed). The dataset is compared by content, not by path; with
    ``schedule=steps`` the time budget only stops a run, so it may change too."""
    # fields added since the checkpoint was written compare at the value its run had
    old = {"schedule": "auto", "oversample_kinds": {}, **st["train_config"]}
    new = _jsonable(asdict(cfg))
    skip = set(RUNTIME_FIELDS) | ({"max_minutes"} if new["schedule"] == "steps" else set())
    out = [f"{k}: {old.get(k)!r} then, {new[k]!r} now" for k in new if k not in skip and old.get(k) != new[k]]
    if st.get("dataset_id") not in (None, dataset_id):
        out.append("the dataset's content")
    return out


def _recover_checkpoint(out: Path) -> None:
    """After a kill between the two renames of a checkpoint swap: take the newest whole one
    (a checkpoint is whole once its state.json is written), drop the leftovers."""
    ckpt, tmp, old = out / "checkpoint", out / "checkpoint.tmp", out / "checkpoint.old"
    if not ckpt.exists():
        for cand in (tmp, old):
            if (cand / "state.json").exists():
                os.replace(cand, ckpt)
                log.warning("recovered the checkpoint from %s", cand.name)
                break
    for d in (tmp, old):
        shutil.rmtree(d, ignore_errors=True)


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(d, default=list))
