"""The built-in perception critic: pixels → object states → checks.

For one clip and its sub-action it checks, from pixels only:

* **action** – the sub-action's post-conditions hold in the last frame (else
  ``missing_action`` if the subject never moved, ``incomplete_action`` if it moved but
  fell short);
* **permanence** – every registered object is visible in every frame (a brief
  occlusion by a carried object is allowed), and a cube the step uncovers ends whole; a
  vanished or cut-off object is a ``physical_violation``;
* **no_hallucination** – no second copy of an object and no new object appears
  (``hallucinated_object``);
* **continuity** – no object jumps between consecutive frames and the scene does not cut
  (``sudden_switch``);
* **identity** – each object's colour matches its appearance in the *first frame of the
  episode* (the memory's registry), not only the previous segment (``identity_drift``);
* **stillness** – objects the step should not move stay where they were
  (``physical_violation``);
* **cleanliness** – where the moving objects stood, the last frame shows clean table (or
  a bowl's inside), not a ghost (``physical_violation`` whose detail starts with
  ``residue``; :mod:`~spiral.worlds.tabletop.cleanliness`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from spiral.core.types import Clip, Condition, Failure, SubAction, Verdict
from spiral.worlds.tabletop.cleanliness import discoloured
from spiral.worlds.tabletop.perception import (
    _COLOR_NAMES,
    Blob,
    Percept,
    _hsv,
    dup_area,
    expected_area,
    foreground_near,
    min_area,
    perceive,
    perceive_clip,
)
from spiral.worlds.tabletop.predicates import describe, holds

PRIORITY = ("hallucinated_object", "identity_drift", "vanished", "sudden_switch", "missing_action",
            "incomplete_action", "physical_violation")


def feedback_templates() -> dict[str, str]:
    from spiral.agents import prompt_data

    return prompt_data("critic_feedback")


def _name(oid: str) -> str:
    return oid.replace("_", " ")


class PerceptionCritic:
    """Judges tabletop clips from pixels. Thresholds are in table units unless noted."""

    name = "perception"

    class Config(BaseModel):
        model_config = ConfigDict(extra="forbid")
        jump_threshold: float = Field(default=0.08, gt=0, description="per-frame jump of an object")
        jump_ratio: float = Field(default=2.5, gt=1, description="jump must exceed this x the next largest step")
        cut_threshold: float = Field(default=28.0, gt=0, description="mean abs frame difference (0-255) of a cut")
        still_tolerance: float = Field(default=0.045, gt=0, description="how far a non-target may drift")
        moved_threshold: float = Field(default=0.02, gt=0, description="displacement that counts as moving")
        hue_drift_deg: float = Field(default=12.0, gt=0, description="hue change (degrees) that counts as drift")
        whole_cube: float = Field(default=0.75, gt=0, le=1, description="share of a cube's area an uncovered "
                                                                        "cube must show at the end")
        check_residue: bool = Field(default=True, description="judge cleanliness: residue where a moving object "
                                                              "stood is a physical_violation")
        check_shapes: bool = Field(default=True, description="judge cleanliness: an object the step moved that "
                                                             "ends torn or out of shape is a physical_violation")
        residue_tol: float = Field(default=16.0, gt=0, description="levels (0-255) a pixel where an object stood "
                                                                   "may differ from clean table or bowl inside")
        residue_px: float = Field(default=6.0, gt=0, description="unclean pixels (64-px frame) where an object "
                                                                 "stood that make residue")

    def __init__(self, config: PerceptionCritic.Config | None = None):
        self.cfg = config or self.Config()
        # the last clips' end frames, already read: a precheck or goal check of the same frame
        # (the next step starts where the accepted clip ended) does not perceive it again
        self._scenes: dict[tuple[bytes, tuple], Any] = {}

    @staticmethod
    def _key(frame: np.ndarray, known: dict[str, str] | None) -> tuple[bytes, tuple]:
        f = np.ascontiguousarray(frame)
        digest = hashlib.blake2b(f.tobytes(), digest_size=16)
        digest.update(str(f.shape).encode())
        return digest.digest(), tuple(sorted((known or {}).items()))

    def _remember(self, frame: np.ndarray, known: dict[str, str] | None, scene: Any) -> None:
        if len(self._scenes) >= 8:
            self._scenes.pop(next(iter(self._scenes)))
        self._scenes[self._key(frame, known)] = scene

    @classmethod
    def from_config(cls, cfg: PerceptionCritic.Config, **_: Any) -> PerceptionCritic:
        return cls(cfg)

    # -- perception helpers ---------------------------------------------------------------
    def observe(self, frame: np.ndarray) -> list[dict[str, Any]]:
        """The object registry entries for a first frame (appearance included)."""
        p = perceive(frame)
        if p.scene is None:
            return []
        out = []
        for o in p.scene.objects:
            b = p.blobs[o.color]
            out.append({"id": o.id, "kind": o.kind, "color": o.color, "x": round(o.x, 4), "y": round(o.y, 4),
                        "mean_rgb": [round(c, 2) for c in b.mean_rgb], "area": b.area,
                        "hue": round(blob_hue(frame, p, o.color), 2),
                        "on": o.on, "in": o.in_})
        return out

    def perceive_scene(self, frame: np.ndarray, memory: Any = None):
        known = (memory.known_kinds() if memory is not None else None) or None
        key = self._key(frame, known)
        if key in self._scenes:
            return self._scenes[key]
        scene = perceive(frame, known=known).scene
        self._remember(frame, known, scene)
        return scene

    def precheck(self, frame: np.ndarray, sub_action: SubAction, memory: Any = None) -> list[Condition]:
        """Pre-conditions of ``sub_action`` that do not hold in the perceived ``frame``."""
        scene = self.perceive_scene(frame, memory)
        if scene is None:
            return list(sub_action.preconditions)
        return [c for c in sub_action.preconditions if not holds(c, scene)]

    def evaluate(self, frame: np.ndarray, conditions: list[Condition], memory: Any = None) -> dict[str, Any]:
        """Does the goal hold in ``frame``? (used for the episode's final result)."""
        scene = self.perceive_scene(frame, memory)
        registry = memory.objects() if memory is not None else []
        present = {o.color for o in scene.objects} if scene else set()
        missing = [o["id"] for o in registry if o["color"] not in present]
        unmet = [str(c) for c in conditions if scene is None or not holds(c, scene)]
        met = len(conditions) - len(unmet)
        return {"satisfied": not unmet and not missing, "unmet": unmet, "missing_objects": missing,
                "conditions_met": met, "conditions_total": len(conditions)}

    # -- the verdict --------------------------------------------------------------------
    def critique(self, clip: Clip, sub_action: SubAction, memory: Any = None) -> Verdict:
        cfg = self.cfg
        frames = clip.frames
        T, size = frames.shape[0], frames.shape[1]
        registry = memory.objects() if memory is not None else self.observe(frames[0])
        # perception tracks objects by colour: one without (an LLM planner's free-form object) is not judged here
        registry = [o for o in registry if o.get("color")]
        known = {o["color"]: o["kind"] for o in registry}
        by_color = {o["color"]: o for o in registry}
        ref_hue = {c: o.get("hue") for c, o in by_color.items()}
        percepts: list[Percept] = perceive_clip(frames, known=known)
        self._remember(frames[-1], known or None, percepts[-1].scene)
        tmpl = feedback_templates()
        found: list[tuple[str, Failure, str]] = []  # (priority key, failure, feedback)

        def add(key: str, ftype: str, detail: str, text: str, objects=(), fr=()) -> None:
            found.append((key, Failure(type=ftype, detail=detail, objects=list(objects), frames=list(fr)), text))

        # 1. Tracks: per object, the component of its colour nearest to where it was.
        track: dict[str, list[Blob | None]] = {c: [None] * T for c in known}
        used: list[set[int]] = [set() for _ in range(T)]
        for c in known:
            prev = None
            for t in range(T):
                cands = percepts[t].all_blobs.get(c, [])
                if not cands:
                    continue
                if prev is None:
                    b = cands[0]
                else:
                    b = min(cands, key=lambda x: math.hypot(x.cx - prev.cx, x.cy - prev.cy) - 0.02 * x.area)
                track[c][t] = b
                used[t].add(id(b))
                prev = b

        def pos(b: Blob) -> tuple[float, float]:
            return b.cx / size, b.cy / size

        start_scene = percepts[0].scene
        movers = set(sub_action.moving())
        carried = set()
        if start_scene is not None:
            for o in start_scene.objects:
                if o.in_ in movers or o.on in movers:
                    carried.add(o.id)
        moving_colors = {by_color_id(registry, m) for m in movers | carried} - {None}
        # cubes the step uncovers (lower -> the moving cube that stood on them)
        under = {o.on: o.id for o in start_scene.objects if o.id in movers and o.on} if start_scene else {}

        # 2. Identity and permanence: a missing object either changed colour (something
        #    else is where it was) or vanished (nothing is, and nothing moving hides it).
        drifted: dict[str, int] = {}
        missing: dict[str, list[int]] = {}
        explained: list[set[int]] = [set() for _ in range(T)]  # blobs that are a drifted object
        checks = [(t, c, b) for c in known if c != "white" and ref_hue[c] is not None and track[c][0] is not None
                  for t, b in enumerate(track[c]) if b is not None and b.area >= 0.6 * track[c][0].area]
        hues = dict(zip(((t, c) for t, c, _ in checks), blob_hues(percepts, checks)))
        for c in known:
            last, t_last = None, 0
            a0 = track[c][0].area if track[c][0] is not None else None
            for t in range(T):
                b = track[c][t]
                weak = b is None or (a0 is not None and b.area < 0.45 * a0)
                if b is not None and not weak:
                    last, t_last = b, t
                    if (t, c) in hues:  # large enough to read its hue (see ``checks``)
                        d = abs(hues[t, c] - ref_hue[c])
                        if min(d, 360 - d) > cfg.hue_drift_deg:
                            drifted.setdefault(c, t)
                    continue
                if last is None:
                    continue
                lx, ly = pos(last)
                if t < T - 1 and self._occluded(percepts[t], (lx, ly), moving_colors - {c}, size):
                    continue  # hidden for a moment by a carried object (at rest, nothing may hide it)
                reach = 0.08 + 0.12 * (t - t_last)
                pool = [x for bl in percepts[t].all_blobs.values() for x in bl if id(x) not in used[t]]
                pool += percepts[t].unnamed
                other = [x for x in pool if x.area >= 0.3 * last.area and x.color != c  # (a piece of itself
                         and math.hypot(x.cx / size - lx, x.cy / size - ly) < reach]      # is no colour change)
                if other:  # something else stands where the object was: it changed colour
                    drifted.setdefault(c, t)
                    explained[t] |= {id(x) for x in other}
                    continue
                if b is not None:
                    continue  # partly hidden, nothing else there
                n, _ = foreground_near(frames[t], lx, ly, 0.06, percepts[t].labels, c)
                if n >= 0.4 * last.area:
                    drifted.setdefault(c, t)
                    continue
                missing.setdefault(c, []).append(t)
        # A cube the step uncovers (it was under a moving cube) must end whole when nothing
        # stands on it: a fill that paints table over its top leaves a sliver that
        # reads as the same object (seen on 8-step chains of tiny-ti2v), or paints it a muddy
        # colour (discoloured, see ``cleanliness.discoloured``). Counted as missing in the last frame.
        cut_off: dict[str, str] = {}
        end_scene = percepts[-1].scene
        if under and end_scene is not None:
            covered = {o.on for o in end_scene.objects if o.on}
            inside = {o.id for o in end_scene.objects if o.in_}
            for oid, upper in under.items():
                c = by_color_id(registry, oid)
                if c is None or c in drifted or c in missing or oid in covered or oid in inside:
                    continue
                b = track[c][T - 1]
                if b is not None and (b.area < cfg.whole_cube * expected_area("cube", size)
                                      or discoloured(frames[-1], b, c) >= cfg.residue_px * (size / 64) ** 2):
                    cut_off[c] = upper
                    missing.setdefault(c, []).append(T - 1)
        for c, t in sorted(drifted.items()):
            oid = by_color[c]["id"]
            add("identity_drift", "identity_drift", f"{oid} changes colour from frame {t}",
                tmpl["drift"].format(obj=_name(oid)), [oid], [t])
        for c, ts in sorted(missing.items()):
            oid = by_color[c]["id"]
            if c in cut_off:
                add("vanished", "physical_violation", f"{oid} stays cut off at the end",
                    tmpl["cut_off"].format(obj=_name(oid), other=_name(cut_off[c])), [oid], ts)
                continue
            add("vanished", "physical_violation", f"{oid} not visible in frames {ts[0]}..{ts[-1]}",
                tmpl["vanished"].format(obj=_name(oid), frame=ts[0]), [oid], ts)

        # 3. Hallucination: large components that are no tracked object and no drifted one.
        halluc = False
        for t in range(1, T):
            for color, bl in percepts[t].all_blobs.items():
                for b in bl:
                    if id(b) in used[t] or id(b) in explained[t]:
                        continue
                    if self._near_drifted(b, t, drifted, track, size):
                        continue  # the drifting object itself, part-way to its new colour
                    if b.area < dup_area(size):
                        continue
                    if color in known and color not in moving_colors and _within(b, track[color][0], 2):
                        continue  # a still object cut in two by something passing over it
                    if color in known:
                        oid = by_color[color]["id"]
                        add("hallucinated_object", "hallucinated_object", f"second {oid} in frame {t}",
                            tmpl["duplicated"].format(obj=_name(oid), frame=t), [oid], [t])
                    else:
                        add("hallucinated_object", "hallucinated_object", f"new {color} object in frame {t}",
                            tmpl["new_object"].format(color=color, frame=t), [], [t])
                    halluc = True
                    break
                if halluc:
                    break
            if halluc:
                break

        # 4. Continuity: one step far larger than the rest, or a scene cut.
        for c, tr in track.items():
            if c in drifted:
                continue
            steps = [(math.hypot(tr[t].cx - tr[t - 1].cx, tr[t].cy - tr[t - 1].cy) / size, t)
                     for t in range(1, T) if tr[t] is not None and tr[t - 1] is not None]
            if not steps:
                continue
            ordered = sorted(steps, reverse=True)
            top, t = ordered[0]
            second = ordered[1][0] if len(ordered) > 1 else 0.0
            if top > cfg.jump_threshold and top > cfg.jump_ratio * max(second, 0.01):
                oid = by_color[c]["id"]
                add("sudden_switch", "sudden_switch", f"{oid} jumps {top:.2f} between frames {t - 1} and {t}",
                    tmpl["jump"].format(obj=_name(oid), a=t - 1, b=t), [oid], [t - 1, t])
                break
        diffs = np.abs(np.diff(frames.astype(np.int16), axis=0)).mean(axis=(1, 2, 3))
        if len(diffs) and diffs.max() > cfg.cut_threshold:
            cut = int(np.argmax(diffs))
            add("sudden_switch", "sudden_switch", f"scene cut between frames {cut} and {cut + 1}",
                tmpl["scene_cut"].format(a=cut, b=cut + 1), [], [cut, cut + 1])

        # 5. Action: post-conditions in the last frame.
        post = sub_action.postconditions
        met = [bool(end_scene is not None and holds(c, end_scene)) for c in post]
        action_score = float(np.mean(met)) if post else 1.0

        def displacement(c: str) -> float:
            tr = [b for b in track[c] if b is not None]
            if track[c][0] is None or len(tr) < 2:
                return 0.0
            b0 = track[c][0]
            return max(math.hypot(b.cx - b0.cx, b.cy - b0.cy) for b in tr) / size

        subject_c = by_color_id(registry, sub_action.subject)
        goal_text = " and ".join(describe(c) for c in post) or "the step is done"
        if not all(met):
            subject_moved = any(displacement(by_color_id(registry, m) or "") >= cfg.moved_threshold
                                for m in movers if by_color_id(registry, m))
            others = [c for c in known if c not in moving_colors and displacement(c) > cfg.still_tolerance]
            if not subject_moved and others:
                oid = by_color[others[0]]["id"]
                add("missing_action", "missing_action", f"{oid} moved instead of {sub_action.subject}",
                    tmpl["wrong_object"].format(other=_name(oid), subject=_name(sub_action.subject), goal=goal_text),
                    [sub_action.subject, oid])
            elif not subject_moved:
                add("missing_action", "missing_action", f"{sub_action.subject} did not move",
                    tmpl["missing_action"].format(subject=_name(sub_action.subject), goal=goal_text),
                    [sub_action.subject])
            else:
                unmet = [str(c) for c, ok in zip(post, met) if not ok]
                add("incomplete_action", "incomplete_action", f"unmet: {', '.join(unmet)}",
                    tmpl["incomplete_action"].format(subject=_name(sub_action.subject), goal=goal_text),
                    [sub_action.subject])
        del subject_c

        # 6. Stillness of the objects this step should not move.
        worst, worst_c = 0.0, None
        for c in known:
            if c in moving_colors or c in drifted or track[c][0] is None:
                continue
            b0 = track[c][0]
            for t in range(1, T):
                b = track[c][t]
                if b is None or b.area < 0.7 * b0.area:
                    continue  # unseen or partly hidden: its centre is unreliable
                if by_color[c]["id"] in under:  # it grows upwards as it is uncovered: its base stays
                    d = math.hypot(b.cx - b0.cx, b.y1 - b0.y1) / size
                else:
                    d = math.hypot(b.cx - b0.cx, b.cy - b0.cy) / size
                if d > cfg.still_tolerance and d > worst:
                    worst, worst_c = d, c
        if worst_c is not None:
            oid = by_color[worst_c]["id"]
            add("physical_violation", "physical_violation", f"{oid} moved {worst:.2f} but should stay still",
                tmpl["nontarget"].format(obj=_name(oid)), [oid])
        stillness = float(max(0.0, 1.0 - worst / 0.2)) if worst_c else 1.0

        # 7. Cleanliness: no residue (a ghost) where the moving objects stood, and what moved
        #    ends whole and in its shape.
        self._residue(frames, percepts, moving_colors, by_color, add, tmpl)
        self._shapes(frames[-1], registry, movers | carried, set(drifted) | set(missing), by_color, add, tmpl)

        n_obj_frames = max(1, len(known) * T)
        permanence = 1.0 - sum(len(v) for v in missing.values()) / n_obj_frames
        scores = {"action": round(action_score, 4), "permanence": round(permanence, 4),
                  "stillness": round(stillness, 4),
                  "continuity": 0.0 if any(f[0] == "sudden_switch" for f in found) else 1.0,
                  "identity": 0.0 if drifted else 1.0, "no_hallucination": 0.0 if halluc else 1.0}
        found.sort(key=lambda f: PRIORITY.index(f[0]))
        failures = [f[1] for f in found]
        perceived = {"final": [o.id for o in end_scene.objects] if end_scene else [],
                     "postconditions_met": [str(c) for c, ok in zip(post, met) if ok]}
        return Verdict(passed=not failures, scores=scores,
                       failure_type=failures[0].type if failures else None, failures=failures,
                       feedback=found[0][2] if found else "The step looks correct.",
                       perceived=perceived, critic=self.name)

    def _shapes(self, last: np.ndarray, registry: list[dict[str, Any]], moved: set[str], judged: set[str],
                by_color: dict[str, dict[str, Any]], add: Any, tmpl: dict[str, str]) -> None:
        """A ``physical_violation`` whose detail starts with ``torn`` or ``shape`` when an object
        this step moved ends in pieces, a sliver, or another shape
        (:func:`~spiral.worlds.tabletop.cleanliness.shape_problems`, the strict-success rule)."""
        from spiral.worlds.tabletop.cleanliness import shape_problems

        skip = {by_color[c]["id"] for c in judged if c in by_color}  # already named (vanished, recoloured)
        only = moved - skip
        if not self.cfg.check_shapes or not only:
            return
        torn, shape = shape_problems(last, registry, only)
        for kind, items in (("torn", torn), ("shape", shape)):
            for d in items:
                oid = d.split(" ", 1)[0]
                add("physical_violation", "physical_violation", f"{kind}: {d}",
                    tmpl[kind].format(obj=_name(oid)), [oid], [])

    def _residue(self, frames: np.ndarray, percepts: list[Percept], moving_colors: set[str],
                 by_color: dict[str, dict[str, Any]], add: Any, tmpl: dict[str, str]) -> None:
        """A ``physical_violation`` whose detail starts with ``residue`` when the last frame is not
        clean background where the moving objects stood (see :mod:`~spiral.worlds.tabletop.cleanliness`)."""
        from spiral.worlds.tabletop.cleanliness import residue

        if not self.cfg.check_residue or not moving_colors or percepts[0].labels is None \
                or percepts[-1].labels is None:
            return
        idx = [_COLOR_NAMES.index(c) for c in sorted(moving_colors)]
        stood = np.isin(percepts[0].labels, idx)
        last, lab = percepts[-1], percepts[-1].labels
        now = np.zeros(lab.shape, bool)  # the objects of the last frame (a faded piece is no object)
        for c, blobs in last.all_blobs.items():
            for b in blobs:
                if b.area < min_area(frames.shape[1]):
                    continue
                box = (slice(b.y0, b.y1 + 1), slice(b.x0, b.x1 + 1))
                if by_color.get(c, {}).get("kind") == "bowl":  # its ring only: residue may lie inside
                    now[box] |= lab[box] == _COLOR_NAMES.index(c)
                else:  # its box and the pixel around it (its soft edge)
                    now[max(0, b.y0 - 1):b.y1 + 2, max(0, b.x0 - 1):b.x1 + 2] = True
        found = residue(frames[-1], stood, now, self.cfg.residue_tol, self.cfg.residue_px, labels=lab)
        if not found:
            return
        # name the mover whose start pixels lie nearest the residue
        cx, cy = found.center
        size = frames.shape[1]

        def dist(c: str) -> float:
            ys, xs = np.nonzero(percepts[0].labels == _COLOR_NAMES.index(c))
            return math.hypot(xs.mean() / size - cx, ys.mean() / size - cy) if len(xs) else 9.0

        c = min(sorted(moving_colors), key=dist)
        oid = by_color[c]["id"] if c in by_color else f"{c} object"
        add("physical_violation", "physical_violation",
            f"residue where {oid} stood ({found.pixels} px at {cx:.2f}, {cy:.2f})",
            tmpl["residue"].format(obj=_name(oid)), [oid], [frames.shape[0] - 1])

    @staticmethod
    def _near_drifted(b: Blob, t: int, drifted: dict[str, int], track: dict[str, list], size: int) -> bool:
        """Is component ``b`` of frame ``t`` where an object that drifts in colour is (or last was)?"""
        for c in drifted:
            seen = [(k, x) for k, x in enumerate(track[c][: t + 1]) if x is not None]
            if not seen:
                continue
            k, x = seen[-1]
            reach = 0.1 + 0.12 * (t - k) + max(x.w, x.h) / size / 2
            if math.hypot(b.cx - x.cx, b.cy - x.cy) / size < reach:
                return True
        return False

    @staticmethod
    def _occluded(p: Percept, pos: tuple[float, float], moving: set[str], size: int) -> bool:
        """Is the last known place of an object covered by a moving object's component?"""
        x, y = pos[0] * size, pos[1] * size
        for c in moving:
            for b in p.all_blobs.get(c, []):
                if b.x0 - 3 <= x <= b.x1 + 3 and b.y0 - 3 <= y <= b.y1 + 3:
                    return True
        return False


def _within(b: Blob, box: Blob | None, margin: int) -> bool:
    """Does component ``b`` lie inside ``box``'s bounding box grown by ``margin`` pixels?"""
    return box is not None and box.x0 - margin <= b.x0 and b.x1 <= box.x1 + margin \
        and box.y0 - margin <= b.y0 and b.y1 <= box.y1 + margin


def blob_hue(frame: np.ndarray, p: Percept, color: str, blob: Blob | None = None) -> float:
    """Median hue (degrees) of the pixels of ``color``'s component, robust to mixed edges."""
    if p.hue is None:  # a percept built by hand: read the hue off the frame
        p = dataclasses.replace(p, hue=_hsv(frame)[0])
    return blob_hues([p], [(0, color, blob or p.blobs[color])])[0]


def blob_hues(percepts: list[Percept], items: list[tuple[int, str, Blob]]) -> list[float]:
    """:func:`blob_hue` of many ``(frame index, colour, component)`` at once: the median hue
    of the colour's pixels in the component's box, each unwrapped around its first pixel so
    red (0/360) is not split (percepts with ``hue``, as perception gives them)."""
    if not items:
        return []
    parts = []
    for t, c, b in items:
        p = percepts[t]
        sl = (slice(b.y0, b.y1 + 1), slice(b.x0, b.x1 + 1))
        parts.append(p.hue[sl][p.labels[sl] == _COLOR_NAMES.index(c)])
    sizes = np.array([x.size for x in parts])
    out = np.zeros(len(parts))
    keep = sizes > 0
    if not keep.any():
        return out.tolist()
    vals = np.concatenate([x for x in parts if x.size])
    seg = np.repeat(np.arange(int(keep.sum())), sizes[keep])
    starts = np.concatenate([[0], np.cumsum(sizes[keep])[:-1]])
    ref = vals[starts][seg]
    vals = (vals - ref + 180.0) % 360.0 - 180.0 + ref
    vals = vals[np.lexsort((vals, seg))]
    n = sizes[keep]
    lo = vals[starts + (n - 1) // 2]
    hi = vals[starts + n // 2]
    med = np.where(n % 2 == 1, lo, (lo + hi) / vals.dtype.type(2))  # as np.median, float32 included
    out[keep] = med % 360.0
    return [float(v) for v in out]


def by_color_id(registry: list[dict[str, Any]], oid: str) -> str | None:
    return next((o["color"] for o in registry if o["id"] == oid), None)
