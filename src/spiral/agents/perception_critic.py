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
from spiral.worlds.tabletop.cleanliness import faithful, fit_bowl, grow, residue, shape_problems
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
from spiral.worlds.tabletop.scene import PALETTE, TABLE_RGB

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
        whole_cube: float = Field(default=0.7, gt=0, le=1, description="share of a cube's area an uncovered "
                                                                        "cube must show at the end")
        grown_cube: float = Field(default=1.3, gt=1, description="height over width beyond which a "
                                  "still cube grew into where a mover stood (an exact cube is at most 8:7)")
        faithful_cube: float = Field(default=0.28, gt=0, le=1, description="share of a cube's area an uncovered "
                                     "cube must show in its own colours at the end (else it is painted over)")
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
        frames = clip.frames
        registry = memory.objects() if memory is not None else self.observe(frames[0])
        # perception tracks objects by colour: one without (an LLM planner's free-form object) is not judged here
        registry = [o for o in registry if o.get("color")]
        known = {o["color"]: o["kind"] for o in registry}
        percepts: list[Percept] = perceive_clip(frames, known=known)
        self._remember(frames[-1], known or None, percepts[-1].scene)
        r = _Reading(frames, percepts, sub_action, registry, feedback_templates())
        r.track_objects()
        self._identity_and_permanence(r)
        self._uncovered(r)
        r.report_identity_and_permanence()
        halluc = self._hallucination(r)
        self._continuity(r)
        action_score, met = self._action(r)
        stillness = self._stillness(r)
        self._residue(r)
        self._grown(r)
        self._shapes(r)

        T = r.T
        n_obj_frames = max(1, len(known) * T)
        permanence = 1.0 - sum(len(v) for v in r.missing.values()) / n_obj_frames
        scores = {"action": round(action_score, 4), "permanence": round(permanence, 4),
                  "stillness": round(stillness, 4),
                  "continuity": 0.0 if any(f[0] == "sudden_switch" for f in r.found) else 1.0,
                  "identity": 0.0 if r.drifted else 1.0, "no_hallucination": 0.0 if halluc else 1.0}
        found = sorted(r.found, key=lambda f: PRIORITY.index(f[0]))
        failures = [f[1] for f in found]
        post = sub_action.postconditions
        perceived = {"final": [o.id for o in r.end_scene.objects] if r.end_scene else [],
                     "postconditions_met": [str(c) for c, ok in zip(post, met) if ok]}
        return Verdict(passed=not failures, scores=scores,
                       failure_type=failures[0].type if failures else None, failures=failures,
                       feedback=found[0][2] if found else "The step looks correct.",
                       perceived=perceived, critic=self.name)

    # -- the checks, one each (they read and extend the clip's reading ``r``) -------------
    def _identity_and_permanence(self, r: _Reading) -> None:
        """Identity and permanence: a missing object either changed colour (something else is
        where it was) or vanished (nothing is, and nothing moving hides it)."""
        cfg, T, size, track, percepts, frames = self.cfg, r.T, r.size, r.track, r.percepts, r.frames
        ref_hue = {c: o.get("hue") for c, o in r.by_color.items()}
        checks = [(t, c, b) for c in r.known if c != "white" and ref_hue[c] is not None and track[c][0] is not None
                  for t, b in enumerate(track[c]) if b is not None and b.area >= 0.6 * track[c][0].area]
        hues = dict(zip(((t, c) for t, c, _ in checks), blob_hues(percepts, checks)))
        for c in r.known:
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
                            r.drifted.setdefault(c, t)
                    continue
                if last is None:
                    continue
                lx, ly = last.cx / size, last.cy / size
                if t < T - 1 and self._occluded(percepts[t], (lx, ly), r.moving_colors - {c}, size):
                    continue  # hidden for a moment by a carried object (at rest, nothing may hide it)
                reach = 0.08 + 0.12 * (t - t_last)
                pool = [x for bl in percepts[t].all_blobs.values() for x in bl if id(x) not in r.used[t]]
                pool += percepts[t].unnamed
                other = [x for x in pool if x.area >= 0.3 * last.area and x.color != c  # (a piece of itself
                         and math.hypot(x.cx / size - lx, x.cy / size - ly) < reach]      # is no colour change)
                if other:  # something else stands where the object was: it changed colour
                    r.drifted.setdefault(c, t)
                    r.explained[t] |= {id(x) for x in other}
                    continue
                if b is not None:
                    continue  # partly hidden, nothing else there
                n, _ = foreground_near(frames[t], lx, ly, 0.06, percepts[t].labels, c)
                if n >= 0.4 * last.area:
                    r.drifted.setdefault(c, t)
                    continue
                r.missing.setdefault(c, []).append(t)

    def _uncovered(self, r: _Reading) -> None:
        """A cube the step uncovers (it was under a moving cube) must end whole when nothing
        stands on it: a fill that paints table over its top leaves a sliver that reads as the
        same object (seen on 8-step chains of tiny-ti2v), or paints it a muddy colour or draws
        a ghost across it: few of its pixels keep its own colours (see ``cleanliness.faithful``),
        or another colour altogether. Counted as missing in the last frame (``cut_off``)."""
        cfg, T, size = self.cfg, r.T, r.size
        if not r.under or r.end_scene is None:
            return
        covered = {o.on for o in r.end_scene.objects if o.on}
        inside = {o.id for o in r.end_scene.objects if o.in_}
        for oid, upper in r.under.items():
            c = by_color_id(r.registry, oid)
            if c in r.drifted and oid not in covered and oid not in inside:
                # an uncovered cube that shows another colour was painted over where it was uncovered
                del r.drifted[c]
                r.cut_off[c] = upper
                r.missing.setdefault(c, []).append(T - 1)
                continue
            if c is None or c in r.missing or oid in covered or oid in inside:
                continue
            b = r.track[c][T - 1]
            if b is not None and (_whole_area(r.percepts[-1], b, c) < cfg.whole_cube * expected_area("cube", size)
                                  or faithful(r.frames[-1], b, c) < cfg.faithful_cube * expected_area("cube", size)):
                r.cut_off[c] = upper
                r.missing.setdefault(c, []).append(T - 1)

    def _hallucination(self, r: _Reading) -> bool:
        """Hallucination: a large component that is no tracked object and no drifted one."""
        for t in range(1, r.T):
            for color, bl in r.percepts[t].all_blobs.items():
                for b in bl:
                    if id(b) in r.used[t] or id(b) in r.explained[t]:
                        continue
                    if self._near_drifted(b, t, r.drifted, r.track, r.size):
                        continue  # the drifting object itself, part-way to its new colour
                    if any(_within(b, r.track[c][0], 3) or _within(b, _joined(r.track[c][0], r.track.get(
                            by_color_id(r.registry, up) or "", [None])[0]), 3) for c, up in r.cut_off.items()):
                        continue  # the paint over an uncovered cube (named above), not a new object
                    if b.area < dup_area(r.size):
                        continue
                    if color in r.known and color not in r.moving_colors and _within(b, r.track[color][0], 2):
                        continue  # a still object cut in two by something passing over it
                    if color in r.known:
                        oid = r.by_color[color]["id"]
                        r.add("hallucinated_object", "hallucinated_object", f"second {oid} in frame {t}",
                              r.tmpl["duplicated"].format(obj=_name(oid), frame=t), [oid], [t])
                    else:
                        r.add("hallucinated_object", "hallucinated_object", f"new {color} object in frame {t}",
                              r.tmpl["new_object"].format(color=color, frame=t), [], [t])
                    return True
        return False

    def _continuity(self, r: _Reading) -> None:
        """Continuity: one step far larger than the rest, or a scene cut."""
        cfg, size = self.cfg, r.size
        for c, tr in r.track.items():
            if c in r.drifted:
                continue
            steps = [(math.hypot(tr[t].cx - tr[t - 1].cx, tr[t].cy - tr[t - 1].cy) / size, t)
                     for t in range(1, r.T) if tr[t] is not None and tr[t - 1] is not None]
            if not steps:
                continue
            ordered = sorted(steps, reverse=True)
            top, t = ordered[0]
            second = ordered[1][0] if len(ordered) > 1 else 0.0
            if top > cfg.jump_threshold and top > cfg.jump_ratio * max(second, 0.01):
                oid = r.by_color[c]["id"]
                r.add("sudden_switch", "sudden_switch", f"{oid} jumps {top:.2f} between frames {t - 1} and {t}",
                      r.tmpl["jump"].format(obj=_name(oid), a=t - 1, b=t), [oid], [t - 1, t])
                break
        diffs = np.abs(np.diff(r.frames.astype(np.int16), axis=0)).mean(axis=(1, 2, 3))
        if len(diffs) and diffs.max() > cfg.cut_threshold:
            cut = int(np.argmax(diffs))
            r.add("sudden_switch", "sudden_switch", f"scene cut between frames {cut} and {cut + 1}",
                  r.tmpl["scene_cut"].format(a=cut, b=cut + 1), [], [cut, cut + 1])

    def _action(self, r: _Reading) -> tuple[float, list[bool]]:
        """Action: the post-conditions in the last frame; the action score and which are met."""
        cfg, sub_action = self.cfg, r.sub_action
        post = sub_action.postconditions
        # the registry's names for the step's objects (a kind the first frame misread: by colour)
        ids = {o["id"] for o in r.registry}
        colour = {a: by_color_id(r.registry, a) for c in post for a in c.args if a not in ids}
        named = {a: r.by_color[k]["id"] for a, k in colour.items() if k in r.by_color}
        judged = [c.model_copy(update={"args": [named.get(a, a) for a in c.args]}) if named else c for c in post]
        met = [bool(r.end_scene is not None and holds(c, r.end_scene)) for c in judged]
        action_score = float(np.mean(met)) if post else 1.0
        said = list(dict.fromkeys(describe(c) for c in post  # "on the table" is part of "apart": say it once
                                  if not (c.pred == "on_table" and any(a.pred == "apart" and a.args == c.args
                                                                       for a in post))))
        goal_text = " and ".join(said) or "the step is done"
        if all(met):
            return action_score, met
        subject_moved = any(r.displacement(by_color_id(r.registry, m) or "") >= cfg.moved_threshold
                            for m in r.movers if by_color_id(r.registry, m))
        others = [c for c in r.known if c not in r.moving_colors and r.displacement(c) > cfg.still_tolerance]
        if not subject_moved and others:
            oid = r.by_color[others[0]]["id"]
            r.add("missing_action", "missing_action", f"{oid} moved instead of {sub_action.subject}",
                  r.tmpl["wrong_object"].format(other=_name(oid), subject=_name(sub_action.subject), goal=goal_text),
                  [sub_action.subject, oid])
        elif not subject_moved:
            r.add("missing_action", "missing_action", f"{sub_action.subject} did not move",
                  r.tmpl["missing_action"].format(subject=_name(sub_action.subject), goal=goal_text),
                  [sub_action.subject])
        else:
            unmet = [str(c) for c, ok in zip(post, met) if not ok]
            r.add("incomplete_action", "incomplete_action", f"unmet: {', '.join(unmet)}",
                  r.tmpl["incomplete_action"].format(subject=_name(sub_action.subject), goal=goal_text),
                  [sub_action.subject])
        return action_score, met

    def _stillness(self, r: _Reading) -> float:
        """Stillness of the objects this step should not move; returns the stillness score."""
        cfg, size = self.cfg, r.size
        worst, worst_c = 0.0, None
        movers = [[b for m in sorted(r.moving_colors) for b in r.percepts[t].all_blobs.get(m, [])] for t in range(r.T)]
        for c in r.known:
            if c in r.moving_colors or c in r.drifted or r.track[c][0] is None:
                continue
            b0 = r.track[c][0]
            for t in range(1, r.T):
                b = r.track[c][t]
                if b is None or b.area < 0.7 * b0.area:
                    continue  # unseen or partly hidden: its centre is unreliable
                if t < r.T - 1 and any(_touches(b, m) for m in movers[t]):
                    continue  # a mover passes over or beside it: what shows of it is cut (judged at the end)
                if r.by_color[c]["id"] in r.under:  # it grows upwards as it is uncovered: its base stays
                    base = max(x.y1 for x in _pieces(r.percepts[t], b, c))
                    d = math.hypot(b.cx - b0.cx, base - b0.y1) / size
                else:
                    d = math.hypot(b.cx - b0.cx, b.cy - b0.cy) / size
                if d > cfg.still_tolerance and d > worst:
                    worst, worst_c = d, c
        if worst_c is None:
            return 1.0
        oid = r.by_color[worst_c]["id"]
        r.add("physical_violation", "physical_violation", f"{oid} moved {worst:.2f} but should stay still",
              r.tmpl["nontarget"].format(obj=_name(oid)), [oid])
        return float(max(0.0, 1.0 - worst / 0.2))

    def _shapes(self, r: _Reading) -> None:
        """A ``physical_violation`` whose detail starts with ``torn`` or ``shape`` when an object
        this step moved ends in pieces, a sliver, or another shape
        (:func:`~spiral.worlds.tabletop.cleanliness.shape_problems`, the strict-success rule)."""
        by_color, add, tmpl = r.by_color, r.add, r.tmpl
        judged = set(r.drifted) | set(r.missing)
        skip = {by_color[c]["id"] for c in judged if c in by_color}  # already named (vanished, recoloured)
        only = (r.movers | r.carried) - skip
        if not self.cfg.check_shapes or not only:
            return
        torn, shape = shape_problems(r.frames[-1], r.registry, only)
        for kind, items in (("torn", torn), ("shape", shape)):
            for d in items:
                oid = d.split(" ", 1)[0]
                add("physical_violation", "physical_violation", f"{kind}: {d}",
                    tmpl[kind].format(obj=_name(oid)), [oid], [])

    def _grown(self, r: _Reading) -> None:
        """A ``physical_violation`` whose detail starts with ``residue`` when a cube that stays
        ends taller than a cube (rows solid with its colour over ``grown_cube`` × its width)
        next to where a mover stood: the fill continued it into the revealed place, in its own
        colour, which the residue check reads as the cube itself. Not when it was already so in the first frame, nor for a
        cube the step uncovers (its top shows only now)."""
        if not self.cfg.check_residue or not r.moving_colors:
            return
        T, size = r.T, r.size
        starts = {m: r.track.get(m, [None])[0] for m in sorted(r.moving_colors)}
        for c, o in sorted(r.by_color.items()):
            if o.get("kind") != "cube" or c in r.moving_colors or o["id"] in r.under:
                continue  # a cube the step uncovers is judged whole or cut off by _uncovered
            b0, b1 = r.track[c][0], r.track[c][T - 1]
            if b0 is None or b1 is None:
                continue
            h0, h1 = (_solid_rows(r.percepts[t].labels, b, c) for t, b in ((0, b0), (T - 1, b1)))
            if h1 <= self.cfg.grown_cube * b1.w or h0 > self.cfg.grown_cube * b0.w:
                continue
            near = [m for m, s in starts.items() if s is not None and math.hypot(s.cx - b1.cx, s.cy - b1.cy) < 0.2 * size]
            if not near:
                continue
            mid = r.by_color[near[0]]["id"] if near[0] in r.by_color else f"{near[0]} object"
            r.add("physical_violation", "physical_violation",
                  f"residue where {mid} stood ({o['id']} grew into it: {b1.w}x{h1} px)",
                  r.tmpl["residue"].format(obj=_name(mid)), [mid], [T - 1])
            return

    def _residue(self, r: _Reading) -> None:
        """A ``physical_violation`` whose detail starts with ``residue`` when the last frame is not
        clean background where the moving objects stood (see :mod:`~spiral.worlds.tabletop.cleanliness`)."""
        frames, percepts, moving_colors, by_color, add, tmpl = (r.frames, r.percepts, r.moving_colors, r.by_color,
                                                               r.add, r.tmpl)
        if not self.cfg.check_residue or not moving_colors or percepts[0].labels is None \
                or percepts[-1].labels is None:
            return
        idx = [_COLOR_NAMES.index(c) for c in sorted(moving_colors)]
        stood = np.isin(percepts[0].labels, idx)
        bowls_moving = [c for c in sorted(moving_colors) if by_color.get(c, {}).get("kind") == "bowl"]
        for c in bowls_moving:  # a moving bowl stood on its whole disk, its inside included
            for b in percepts[0].all_blobs.get(c, [])[:1]:
                stood[b.y0:b.y1 + 1, b.x0:b.x1 + 1] = True
        last, lab = percepts[-1], percepts[-1].labels
        size = frames.shape[1]
        now = np.zeros(lab.shape, bool)  # the objects of the last frame (a faded piece is no object)
        uncovered = {by_color_id(r.registry, oid) for oid in r.under} - {None}
        rings: dict[str, Blob] = {}  # still bowls next to where the movers stood: judged against their render
        near = grow(stood, 3)
        # the soft edges that excuse a pixel are those of objects: a faded piece too small to be one
        # (a ghost of the mover, in its colour) excuses nothing next to it
        obj_lab = np.full(lab.shape, -1, lab.dtype)
        for c, blobs in last.all_blobs.items():
            k = _COLOR_NAMES.index(c)
            for b in blobs:
                if b.area < min_area(size):
                    continue
                box = (slice(b.y0, b.y1 + 1), slice(b.x0, b.x1 + 1))
                obj_lab[box][lab[box] == k] = k
                if by_color.get(c, {}).get("kind") == "bowl":  # its ring only: residue may lie inside
                    if c not in moving_colors and c not in rings and near[box].any():
                        rings[c] = b
                    elif c in moving_colors:  # where a moving bowl ends, its inside is clean too
                        now[box] = True
                    else:
                        now[box] |= lab[box] == k
                elif c in uncovered:  # its box only: the row above its top is where the mover stood
                    now[box] = True
                else:  # its box and the pixel around it (its soft edge)
                    now[max(0, b.y0 - 1):b.y1 + 2, max(0, b.x0 - 1):b.x1 + 2] = True
        expected = known = None
        if rings:
            expected = np.zeros(frames[-1].shape, np.float64)
            known = np.zeros(lab.shape, bool)
            ignore = grow(stood, 2) | now
            for c, b in rings.items():
                _, patch, (y0, y1, x0, x1) = fit_bowl(frames[-1], (b.x0, b.y0, b.x1, b.y1), PALETTE[c], ignore)
                drawn = np.abs(patch - np.asarray(TABLE_RGB, np.float64)).max(-1) > 0
                expected[y0:y1, x0:x1][drawn] = patch[drawn]
                # around its disc the render is table: a bulge of rim colour there (a smear of it
                # where a mover stood) is no soft edge of it
                fresh = ~drawn & ~known[y0:y1, x0:x1]
                expected[y0:y1, x0:x1][fresh] = patch[fresh]
                drawn |= fresh
                known[y0:y1, x0:x1] |= drawn
        found = residue(frames[-1], stood, now, self.cfg.residue_tol, self.cfg.residue_px, labels=obj_lab,
                        expected=expected, known=known, table_only=bool(bowls_moving))
        if not found:
            return
        # name the mover whose start pixels lie nearest the residue
        cx, cy = found.center

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


class _Reading:
    """One clip as the checks read it: its percepts, the tracks of the registered objects, what
    the sub-action moves, and what the checks found so far (they run in order and share it)."""

    def __init__(self, frames: np.ndarray, percepts: list[Percept], sub_action: SubAction,
                 registry: list[dict[str, Any]], tmpl: dict[str, str]):
        self.frames, self.percepts, self.sub_action, self.registry, self.tmpl = (frames, percepts, sub_action,
                                                                                 registry, tmpl)
        self.T, self.size = frames.shape[0], frames.shape[1]
        self.known = {o["color"]: o["kind"] for o in registry}
        self.by_color = {o["color"]: o for o in registry}
        self.found: list[tuple[str, Failure, str]] = []  # (priority key, failure, feedback)
        self.track: dict[str, list[Blob | None]] = {c: [None] * self.T for c in self.known}
        self.used: list[set[int]] = [set() for _ in range(self.T)]  # components that are a tracked object
        self.explained: list[set[int]] = [set() for _ in range(self.T)]  # components that are a drifted object
        self.drifted: dict[str, int] = {}  # colour -> first frame it shows another colour
        self.missing: dict[str, list[int]] = {}  # colour -> frames it is not seen
        self.cut_off: dict[str, str] = {}  # colour of an uncovered cube painted over -> the cube that was on it
        start_scene = percepts[0].scene
        self.end_scene = percepts[-1].scene
        self.movers = set(sub_action.moving())
        self.carried = set()
        if start_scene is not None:
            for o in start_scene.objects:
                if o.in_ in self.movers or o.on in self.movers:
                    self.carried.add(o.id)
        self.moving_colors = {by_color_id(registry, m) for m in self.movers | self.carried} - {None}
        # cubes the step uncovers (lower -> the moving cube that stood on them)
        self.under = {o.on: o.id for o in start_scene.objects if o.id in self.movers and o.on} if start_scene else {}

    def add(self, key: str, ftype: str, detail: str, text: str, objects=(), fr=()) -> None:
        self.found.append((key, Failure(type=ftype, detail=detail, objects=list(objects), frames=list(fr)), text))

    def track_objects(self) -> None:
        """Per object, the component of its colour nearest to where it was, frame by frame."""
        for c in self.known:
            prev = None
            for t in range(self.T):
                cands = self.percepts[t].all_blobs.get(c, [])
                if not cands:
                    continue
                if prev is None:
                    b = cands[0]
                else:
                    b = min(cands, key=lambda x: math.hypot(x.cx - prev.cx, x.cy - prev.cy) - 0.02 * x.area)
                self.track[c][t] = b
                self.used[t].add(id(b))
                prev = b

    def displacement(self, c: str) -> float:
        """How far (table units) colour ``c``'s object got from where it started."""
        tr = [b for b in self.track[c] if b is not None]
        if self.track[c][0] is None or len(tr) < 2:
            return 0.0
        b0 = self.track[c][0]
        return max(math.hypot(b.cx - b0.cx, b.cy - b0.cy) for b in tr) / self.size

    def report_identity_and_permanence(self) -> None:
        """The identity and permanence failures, once the uncovered cubes are judged."""
        for c, t in sorted(self.drifted.items()):
            oid = self.by_color[c]["id"]
            self.add("identity_drift", "identity_drift", f"{oid} changes colour from frame {t}",
                     self.tmpl["drift"].format(obj=_name(oid)), [oid], [t])
        for c, ts in sorted(self.missing.items()):
            oid = self.by_color[c]["id"]
            if c in self.cut_off:
                self.add("physical_violation", "physical_violation", f"{oid} stays cut off at the end",
                         self.tmpl["cut_off"].format(obj=_name(oid), other=_name(self.cut_off[c])), [oid], ts)
                continue
            self.add("vanished", "physical_violation", f"{oid} not visible in frames {ts[0]}..{ts[-1]}",
                     self.tmpl["vanished"].format(obj=_name(oid), frame=ts[0]), [oid], ts)


def _touches(a: Blob, b: Blob, margin: int = 1) -> bool:
    """Do the boxes of components ``a`` and ``b`` overlap or lie within ``margin`` pixels?"""
    return a.x0 <= b.x1 + margin and b.x0 <= a.x1 + margin and a.y0 <= b.y1 + margin and b.y0 <= a.y1 + margin


def _pieces(p: Percept, b: Blob, color: str) -> list[Blob]:
    """Component ``b`` and the other pieces of its colour whose boxes lie within a pixel of
    its box: a cube whose lit top and shaded front a blended row splits is one cube."""
    return [b] + [x for x in p.all_blobs.get(color, []) if x is not b and _touches(x, b, 2)]


def _whole_area(p: Percept, b: Blob, color: str) -> int:
    """The area of component ``b`` with its pieces (:func:`_pieces`)."""
    return sum(x.area for x in _pieces(p, b, color))


def _solid_rows(labels: np.ndarray | None, b: Blob, color: str) -> int:
    """How many rows of component ``b``'s box hold its colour over at least half its width (a
    speck or a one-pixel trail next to it does not make an object taller)."""
    if labels is None:
        return b.h
    box = labels[b.y0:b.y1 + 1, b.x0:b.x1 + 1] == _COLOR_NAMES.index(color)
    return int((box.sum(axis=1) >= 0.5 * b.w).sum())


def _joined(a: Blob | None, b: Blob | None) -> Blob | None:
    """The bounding box around two components (either may be missing)."""
    if a is None or b is None:
        return a or b
    return dataclasses.replace(a, x0=min(a.x0, b.x0), y0=min(a.y0, b.y0), x1=max(a.x1, b.x1), y1=max(a.y1, b.y1))


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
    """The colour of object ``oid`` in the registry; when no entry has that id, the colour its
    id names (``<colour>_<kind>``) if one entry has it: a colour names one object in this world,
    and the registry's kind comes from reading the first frame, where a cube partly hidden can
    read as a ball (its moving then read as another object moving instead of it)."""
    exact = next((o["color"] for o in registry if o["id"] == oid), None)
    if exact is not None:
        return exact
    same = [o["color"] for o in registry if o.get("color") == oid.split("_", 1)[0]]
    return same[0] if len(same) == 1 else None
