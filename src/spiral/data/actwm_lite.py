"""ActWM-Dataset-Lite: tabletop episodes from the exact simulator, as WebDataset shards.

Layout of a dataset directory::

    dataset.json              manifest: spec, splits, shards with sample counts and sha256
    train-00000.tar …         WebDataset shards (plain tar; members ``<key>.<field>``)
    validation-00000.tar …
    test-00000.tar …

One sample = one episode (key e.g. ``train-000042``):

``<key>.json``
    ``scene`` (start scene), ``goal`` and ``goal_phrasings``, ``steps`` (per sub-action:
    ``kind``, ``subject``, ``objects``, ``params``, ``prompt``, ``phrasings``,
    ``preconditions``, ``postconditions``, ``frames`` = [first, last] index in the
    stitched video, privileged ``targets``), ``states`` (object states of every frame of
    the stitched video), ``size``, ``frames_per_step``.
``<key>.first.png``   the first frame.
``<key>.video.png``   the stitched clip as a horizontal strip of frames.
``<key>.clip<k>.png`` the clip of sub-action k (strip).
``<key>.targets<k>.png`` privileged targets of sub-action k: [mask A | mask B | fill] strip.

Splits are by scene seed (train, validation and test never share a scene), everything is
deterministic for the dataset seed (tar members carry fixed metadata, so shards are
byte-identical), shards are built in parallel processes and written atomically, and an
interrupted build resumes by skipping the shards already on disk.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import random
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spiral.core.lock import DirLock
from spiral.core.png import decode_png, encode_png
from spiral.core.rundir import atomic_write_bytes, atomic_write_json, remove_temp_files
from spiral.errors import InputFileError
from spiral.exec import Executor, LocalExecutor

log = logging.getLogger(__name__)

FORMAT_VERSION = 1  # of dataset.json and the shards; a reader refuses newer ones

SPLITS = ("train", "validation", "test")
SPLIT_SEED_BASE = {"train": 0, "validation": 10_000_000, "test": 20_000_000}
CONNECTORS = (", then ", ", and then ", "; then ", ". Then ", " then ", ", after that ")


@dataclass
class DatasetSpec:
    train: int = 2400
    validation: int = 200
    test: int = 200
    min_steps: int = 1
    max_steps: int = 6
    size: int = 64
    frames_per_step: int = 12
    shard_size: int = 100
    seed: int = 0
    min_objects: int = 3
    max_objects: int = 6


# -- phrasing -----------------------------------------------------------------------------
def paraphrase(action, rng: random.Random) -> str:
    """A random phrasing of a sub-action (templates and kind synonyms from phrases.yaml)."""
    from spiral.worlds.tabletop.actions import phrases

    p = phrases()
    kind_words = p["kinds"]

    def name(oid: str) -> str:
        color, kind = oid.split("_", 1)
        return f"{color} {rng.choice(kind_words[kind])}"

    templates = p["actions"][action.kind]
    t = rng.choice(templates)
    dirs = p["directions"].get(action.params.get("direction", ""), [""])
    regs = p["regions"].get(action.params.get("region", ""), [""])
    if action.kind == "pick_place" and not action.params.get("region"):
        return action.prompt
    return t.format(a=name(action.subject), b=name(action.objects[0]) if action.objects else "",
                    dir=rng.choice(dirs), region=rng.choice(regs))


def goal_phrasing(step_texts: list[str], rng: random.Random) -> str:
    out = step_texts[0]
    for t in step_texts[1:]:
        out += rng.choice(CONNECTORS) + t
    return out


# -- building -------------------------------------------------------------------------------
def _png(arr: np.ndarray) -> bytes:
    return encode_png(arr)  # Pillow's default level: the shards' bytes are part of the dataset


def _strip(frames: np.ndarray) -> np.ndarray:
    return np.concatenate(list(frames), axis=1)


def make_episode(split: str, index: int, spec: DatasetSpec) -> dict[str, bytes] | None:
    """All members of one episode (``None`` if no goal fits this scene)."""
    from spiral.core.types import Condition
    from spiral.worlds.tabletop.goal_gen import random_goal
    from spiral.worlds.tabletop.goals import parse_goal, plan_clauses
    from spiral.worlds.tabletop.scene import SceneSpec, random_scene
    from spiral.worlds.tabletop.simulate import simulate
    from spiral.worlds.tabletop.targets import step_targets

    scene_seed = SPLIT_SEED_BASE[split] + spec.seed * 1_000_000 + index
    rng = random.Random(f"actwm-lite:{spec.seed}:{split}:{index}")
    scene = random_scene(scene_seed, SceneSpec(min_objects=spec.min_objects, max_objects=spec.max_objects))
    n_steps = rng.randint(spec.min_steps, spec.max_steps)
    goal = None
    for n in range(n_steps, 0, -1):
        goal = random_goal(scene, rng, n)
        if goal:
            break
    if goal is None:
        return None
    steps, conds, _ = plan_clauses(scene, parse_goal(goal, scene))
    key = f"{split}-{index:06d}"
    T, size = spec.frames_per_step, spec.size
    state = scene
    videos, states, step_meta, members = [], [], [], {}
    for k, act in enumerate(steps):
        frames, st = simulate(state, act, T, size)
        tg = step_targets(state, act, size)
        members[f"{key}.clip{k}.png"] = _png(_strip(frames))
        members[f"{key}.targets{k}.png"] = _png(np.concatenate(
            [np.repeat(tg.mask_a[..., None] * 255, 3, -1), np.repeat(tg.mask_b[..., None] * 255, 3, -1), tg.fill],
            axis=1).astype(np.uint8))
        first_idx = sum(len(v) for v in videos) - (1 if videos else 0)
        videos.append(frames if k == 0 else frames[1:])
        states += [s.model_dump(by_alias=True, exclude_none=True)["objects"] for s in (st if k == 0 else st[1:])]
        phr = [act.prompt] + [paraphrase(act, rng) for _ in range(3)]
        step_meta.append({
            "kind": act.kind, "subject": act.subject, "objects": act.objects, "params": act.params,
            "prompt": act.prompt, "phrasings": list(dict.fromkeys(phr)),
            "preconditions": [c.model_dump(exclude_none=True) for c in act.preconditions],
            "postconditions": [c.model_dump(exclude_none=True) for c in act.postconditions],
            "frames": [first_idx, first_idx + T - 1], "targets": tg.to_json()})
        state = st[-1]
    video = np.concatenate(videos, axis=0)
    goal_phr = [goal] + [goal_phrasing([rng.choice(s["phrasings"]) for s in step_meta], rng) for _ in range(3)]
    meta = {"key": key, "split": split, "scene_seed": scene_seed,
            "scene": scene.model_dump(by_alias=True, exclude_none=True), "goal": goal,
            "goal_phrasings": list(dict.fromkeys(goal_phr)),
            "goal_conditions": [Condition.model_validate(c).model_dump(exclude_none=True) for c in
                                [c.model_dump() for c in conds]],
            "steps": step_meta, "states": states, "size": size, "frames_per_step": T,
            "num_frames": int(video.shape[0])}
    members[f"{key}.json"] = json.dumps(meta, separators=(",", ":")).encode()
    members[f"{key}.first.png"] = _png(video[0])
    members[f"{key}.video.png"] = _png(_strip(video))
    return members


def _tar_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(members, key=lambda n: (n.split(".", 1)[0], n)):
            data = members[name]
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def build_shard(out_dir: str, split: str, shard: int, start: int, stop: int, spec_d: dict) -> dict[str, Any]:
    spec = DatasetSpec(**spec_d)
    path = Path(out_dir) / f"{split}-{shard:05d}.tar"
    members: dict[str, bytes] = {}
    n = 0
    for i in range(start, stop):
        ep = make_episode(split, i, spec)
        if ep is not None:
            members.update(ep)
            n += 1
    data = _tar_bytes(members)
    atomic_write_bytes(path, data)
    return {"split": split, "shard": path.name, "samples": n, "sha256": hashlib.sha256(data).hexdigest()}


def build(out_dir: str | Path, spec: DatasetSpec | None = None, workers: int = 2,
          progress: Callable[[int, int], None] | None = None, executor: Executor | None = None) -> dict[str, Any]:
    """Build (or finish building) the dataset in ``out_dir``; returns the manifest.
    ``executor`` builds the shards (default: ``workers`` local processes; :mod:`spiral.exec`)."""
    spec = spec or DatasetSpec()
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputFileError(f"{out} exists and is not a directory", "choose another output directory")
    with DirLock(out, "output directory"):  # one builder per dataset directory
        ex = executor or LocalExecutor(workers)
        with ex:  # started (a bad cluster address refused) before anything is written
            return _build_locked(out, spec, workers, progress, ex)


def _build_locked(out: Path, spec: DatasetSpec, workers: int,
                  progress: Callable[[int, int], None] | None, executor: Executor | None) -> dict[str, Any]:
    manifest_path = out / "dataset.json"
    old: dict[str, Any] = {}
    if manifest_path.exists():
        old = _read_manifest(manifest_path)
        if old.get("spec") != asdict(spec):
            raise InputFileError(f"{out} holds a dataset built with another spec",
                                 "choose another output directory or delete it")
    else:  # record the spec first so that a resumed build can check it
        atomic_write_json(manifest_path, {"name": "ActWM-Dataset-Lite", "format_version": FORMAT_VERSION,
                                          "spec": asdict(spec), "complete": False})
    known = {sh["shard"]: sh.get("sha256") for sh in old.get("shards", [])}
    remove_temp_files(out)  # shards a kill left half-written (``.NAME.XXXX.tmp``); we hold the lock
    jobs = []
    for split in SPLITS:
        total = getattr(spec, split)
        for shard, start in enumerate(range(0, total, spec.shard_size)):
            jobs.append((split, shard, start, min(total, start + spec.shard_size)))
    done: list[dict[str, Any]] = []
    todo = []
    for split, shard, start, stop in jobs:
        p = out / f"{split}-{shard:05d}.tar"
        if p.exists():  # resume: a shard on disk is complete (written atomically) unless damaged since
            sha = hashlib.sha256(p.read_bytes()).hexdigest()
            n = _count(p)
            if n == stop - start and known.get(p.name) in (None, sha):
                done.append({"split": split, "shard": p.name, "samples": n, "sha256": sha})
                continue
            log.warning("shard %s is damaged (%s); building it again", p,
                        f"{n} of {stop - start} episodes" if n != stop - start else "sha256 differs from dataset.json")
        todo.append((split, shard, start, stop))
    if progress:
        progress(len(done), len(jobs))
    if todo:
        with executor or LocalExecutor(workers) as ex:  # shards land in ``out`` before their result comes
            for shard in ex.map_unordered(build_shard, [(*j, asdict(spec)) for j in todo], out):
                done.append(shard)
                if progress:
                    progress(len(done), len(jobs))
    done.sort(key=lambda d: (SPLITS.index(d["split"]), d["shard"]))
    manifest = {"name": "ActWM-Dataset-Lite", "format": "webdataset", "format_version": FORMAT_VERSION,
                "spec": asdict(spec), "complete": True,
                "splits": {s: sum(d["samples"] for d in done if d["split"] == s) for s in SPLITS},
                "shards": done}
    atomic_write_json(manifest_path, manifest)
    return manifest


def _count(path: Path) -> int:
    """Episodes in a shard (-1 if it is not a readable tar: damaged)."""
    try:
        with tarfile.open(path) as tar:
            return sum(1 for m in tar.getmembers() if m.name.endswith(".json"))
    except (tarfile.TarError, OSError, EOFError):
        return -1


# -- reading ----------------------------------------------------------------------------------
_REBUILD = "re-run the same `spiral dataset build` command: it builds damaged or missing shards again"


def _read_manifest(p: Path) -> dict[str, Any]:
    try:
        m = json.loads(p.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise InputFileError(f"{p} is damaged ({exc})", "build the dataset again in a new directory") from None
    if not isinstance(m, dict) or not isinstance(m.get("spec"), dict):
        raise InputFileError(f"{p} is not an ActWM dataset manifest", "build one with `spiral dataset build`")
    if int(m.get("format_version", 1)) > FORMAT_VERSION:
        raise InputFileError(f"{p} was written by a newer SPIRAL (dataset format {m['format_version']}, this one "
                             f"reads {FORMAT_VERSION})", "upgrade spiral-actwm, or build the dataset again")
    return m


def load_manifest(root: str | Path, verify: bool = False) -> dict[str, Any]:
    """The manifest of a complete dataset; ``verify`` also checks every shard against the
    sha256 it records (about a second for the default dataset)."""
    p = Path(root) / "dataset.json"
    if not p.exists():
        raise InputFileError(f"{root} is not an ActWM dataset (no dataset.json)", "build one with `spiral dataset build`")
    m = _read_manifest(p)
    if not m.get("complete"):
        raise InputFileError(f"the dataset in {root} is incomplete", "re-run `spiral dataset build` to finish it")
    if verify:
        for sh in m["shards"]:
            f = Path(root) / sh["shard"]
            if not f.exists():
                raise InputFileError(f"shard {f} is missing", _REBUILD)
            if hashlib.sha256(f.read_bytes()).hexdigest() != sh["sha256"]:
                raise InputFileError(f"shard {f} is damaged (its sha256 differs from dataset.json)", _REBUILD)
    return m


_unpng = decode_png


def _unstrip(strip: np.ndarray, size: int) -> np.ndarray:
    n = strip.shape[1] // size
    return strip.reshape(size, n, size, 3).transpose(1, 0, 2, 3)


def iter_episodes(root: str | Path, split: str = "train", decode: bool = True) -> Iterator[dict[str, Any]]:
    """Episodes of a split: ``meta`` (the JSON) plus decoded arrays (``video``, ``clips``, ``targets``)."""
    m = load_manifest(root)
    for sh in m["shards"]:
        if sh["split"] != split:
            continue
        f = Path(root) / sh["shard"]
        try:
            with tarfile.open(f) as tar:
                cur: dict[str, bytes] = {}
                key = None
                for member in tar.getmembers():
                    k, field = member.name.split(".", 1)
                    if key is not None and k != key:
                        yield _decode(cur, decode)
                        cur = {}
                    key = k
                    cur[field] = tar.extractfile(member).read()
                if cur:
                    yield _decode(cur, decode)
        except (tarfile.TarError, OSError, EOFError, KeyError, ValueError) as exc:
            raise InputFileError(f"shard {f} cannot be read ({type(exc).__name__}: {exc})", _REBUILD) from None


def _decode(raw: dict[str, bytes], decode: bool) -> dict[str, Any]:
    meta = json.loads(raw["json"])
    ep: dict[str, Any] = {"meta": meta}
    if decode:
        size = meta["size"]
        ep["video"] = _unstrip(_unpng(raw["video.png"]), size)
        ep["clips"] = [_unstrip(_unpng(raw[f"clip{k}.png"]), size) for k in range(len(meta["steps"]))]
        ts = []
        for k in range(len(meta["steps"])):
            t = _unpng(raw[f"targets{k}.png"])
            ts.append({"mask_a": (t[:, :size, 0] > 127).astype(np.uint8),
                       "mask_b": (t[:, size:2 * size, 0] > 127).astype(np.uint8), "fill": t[:, 2 * size:]})
        ep["targets"] = ts
    return ep


def info(root: str | Path) -> dict[str, Any]:
    """Counts and statistics of a dataset (for ``spiral dataset info``), every shard checked."""
    m = load_manifest(root, verify=True)
    kinds: dict[str, int] = {}
    steps_hist: dict[int, int] = {}
    n_steps = 0
    for ep in iter_episodes(root, "train", decode=False):
        st = ep["meta"]["steps"]
        steps_hist[len(st)] = steps_hist.get(len(st), 0) + 1
        for s in st:
            kinds[s["kind"]] = kinds.get(s["kind"], 0) + 1
            n_steps += 1
    size = sum((Path(root) / s["shard"]).stat().st_size for s in m["shards"])
    return {"splits": m["splits"], "shards": len(m["shards"]), "bytes": size, "train_sub_actions": n_steps,
            "train_action_kinds": dict(sorted(kinds.items())), "train_steps_per_episode": dict(sorted(steps_hist.items())),
            "spec": m["spec"]}


def show(root: str | Path, out: str | Path, split: str = "train", n: int = 6, scale: int = 2) -> Path:
    """A grid image (PNG) or video (mp4) of the first ``n`` episodes: each row is one
    episode's first frame and the last frame of each sub-action."""
    rows = []
    eps = []
    for ep in iter_episodes(root, split):
        eps.append(ep)
        if len(eps) >= n:
            break
    if not eps:
        raise InputFileError(f"split {split!r} of {root} is empty", "choose another split")
    size = eps[0]["meta"]["size"]
    out = Path(out)
    if out.suffix.lower() == ".mp4":
        from spiral.io.video import write_mp4

        T = max(len(e["video"]) for e in eps)
        grid = []
        for t in range(T):
            grid.append(np.concatenate([e["video"][min(t, len(e["video"]) - 1)] for e in eps], axis=1))
        write_mp4(out, np.stack(grid), fps=8, scale=scale)
        return out
    width = 1 + max(len(e["meta"]["steps"]) for e in eps)
    for e in eps:
        tiles = [e["video"][0]] + [c[-1] for c in e["clips"]]
        tiles += [np.zeros((size, size, 3), np.uint8)] * (width - len(tiles))
        rows.append(np.concatenate(tiles, axis=1))
    grid = np.concatenate(rows, axis=0)
    grid = grid.repeat(scale, 0).repeat(scale, 1)
    atomic_write_bytes(out, _png(grid))
    return out
