"""Goal language of the tabletop world: parse a goal into clauses, expand clauses into
sub-actions in a given state.

A goal is one or more clauses ("stack the green cube on the blue one, then put the red
ball in the bowl"). Each clause is data (so that a plan can be replanned later) and
knows (1) the sub-actions that achieve it from any state, inserting the steps that make
each pre-condition hold (clearing a cube before it is moved, say), and (2) its success
conditions. Relative clauses (push, swap) are pinned to absolute targets when first
planned, so that a replan from a half-done state still aims at the same result.

A pin taken on the *simulated* state after earlier steps that moved the pinned object is
provisional (``clause["provisional"]`` lists those pins): it rests on where the plan
assumed that object would land, while a step like "move X next to Y" may land it on any
free side. The planner pins such a clause again from the perceived frame when its first
step is about to run (:func:`unpin_provisional`, then a new expansion), and a benchmark's
fixed success conditions leave provisional pins out (:func:`provisional_conditions`).
"""

from __future__ import annotations

import copy
import math
import re
from typing import Any

from spiral.core.types import C, Condition, SubAction
from spiral.errors import AmbiguousGoalError, GoalParseError, ImpossibleGoalError, SpiralError, UnknownObjectError
from spiral.worlds.tabletop.actions import DIRECTIONS, _moving_with, apply, make_action, phrases
from spiral.worlds.tabletop.predicates import holds, in_region
from spiral.worlds.tabletop.scene import BOWL_CAPACITY, COLORS, MAX_STACK, Scene

VERBS = ("put", "place", "stack", "swap", "switch", "exchange", "move", "push", "slide", "shove",
         "nudge", "clear", "empty", "drop", "set", "pick", "make", "build", "pile", "get", "bring")
_VERB_RE = "|".join(VERBS)
NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "2": 2, "3": 3, "4": 4, "5": 5, "6": 6}
OPPOSITE = {"left": "right", "right": "left", "back": "front", "front": "back"}


def _kind_words() -> dict[str, str]:
    out = {}
    for kind, words in phrases()["kinds"].items():
        for w in words:
            out[w] = kind
            out[w + "s"] = kind
            out[w + "es"] = kind
    return out


def normalize_region(text: str) -> str:
    t = text.strip().lower().replace("centre", "center").replace("middle", "center")
    t = re.sub(r"\b(far|top|rear)\b", "back", t)
    t = re.sub(r"\b(near|bottom|close)\b", "front", t)
    t = re.sub(r"\s*(side|half|part|corner|area)$", "", t).strip()
    words = t.split()
    if len(words) == 2 and words[0] in ("back", "front") and words[1] in ("left", "right"):
        return f"{words[0]}-{words[1]}"
    if len(words) == 2 and words[1] in ("back", "front") and words[0] in ("left", "right"):
        return f"{words[1]}-{words[0]}"
    if t in ("left", "right", "back", "front", "center"):
        return t
    raise GoalParseError(f"unknown part of the table: {text!r}",
                         "use left, right, back, front, center or a corner such as 'back left'")


def which(kind: str | None, objs: list[Any]) -> str:
    """The question back for an ambiguous reference: "which ball: the red one or the yellow one?"."""
    names = [f"the {o.color} one" if kind else f"the {o.name}" for o in objs]
    listed = ", ".join(names[:-1]) + " or " + names[-1]
    return f"which {kind or 'object'}: {listed}?"


_NUMBER_WORDS = {"both": 2, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "2": 2, "3": 3, "4": 4,
                 "5": 5, "6": 6}
_EVERYTHING = ("everything", "everything else", "all objects", "all the objects", "all of the objects",
               "every object", "each object", "all things", "all the things", "every thing", "all of it")
_THEM = ("them", "them all", "all of them", "both of them", "them both", "both", "all", "these", "those",
         "all three", "all three of them", "the two of them", "the three of them", "all two")
_SIDE_AXIS = {"left": (0, 1), "right": (0, -1), "back": (1, 1), "front": (1, -1)}  # (axis, sign of the sort)
_SIDE_WORDS = {"leftmost": "left", "rightmost": "right", "frontmost": "front", "backmost": "back",
               "rearmost": "back", "left": "left", "right": "right", "front": "front", "back": "back",
               "far": "back", "near": "front", "far left": "left", "far right": "right"}
_TOWER_WORDS = ("tower", "stack", "pile")


class Resolver:
    """Turns noun phrases ("the blue one", "the bowl", "it", "both balls", "the cube closest
    to the bowl", "the tower") into object ids.

    ``state`` gives the (simulated) state the phrase is read in: the scene after the clauses
    parsed so far, so that "the tower" or "the ball in the bowl" mean what they will be then.
    """

    def __init__(self, scene: Scene, state: Any = None):
        self.scene = scene
        self.kinds = _kind_words()
        self.it: str | None = None  # what "it" means: the object the previous clause acted on
        self.them: list[str] | None = None  # what "them" means: the previous clause's objects
        self.state = state or (lambda: scene)

    def parts(self, text: str) -> tuple[str | None, str | None]:
        words = [w for w in re.split(r"[\s,]+", text.strip().lower()) if w]
        color = kind = None
        for w in words:
            if w in ("the", "a", "an", "this", "that", "object", "thing"):
                continue
            if w in COLORS:
                color = w
            elif w in self.kinds:
                kind = self.kinds[w]
            elif w in ("one", "ones", "it"):
                kind = kind or w
            else:
                raise GoalParseError(f"I don't understand {w!r} in {text.strip()!r}",
                                     f"name objects by colour and kind, e.g. 'the red cube' "
                                     f"(colours: {', '.join(COLORS)}; kinds: cube, ball, bowl)")
        return color, kind

    # -- groups ("both balls", "the red and the blue cube", "everything") ----------------
    def resolve_group(self, text: str, default_kind: str | None = None) -> list[str] | None:
        """The objects a plural phrase names, in scene order (named order for a list), or
        ``None`` when ``text`` names one object."""
        t = re.sub(r"^(?:the|all of the)\s+(?=(?:two|three|four|five|six|both|[2-6])\b)", "", text.strip().lower())
        st = self.state()
        if t in _THEM:
            if self.them is None:
                raise GoalParseError(f"{t!r} has nothing to refer to", "name the objects instead")
            if t.startswith("both") and len(self.them) != 2:
                raise GoalParseError(f"'both' refers to {len(self.them)} objects", "name the objects instead")
            return list(self.them)
        if t in _EVERYTHING:
            return [o.id for o in st.objects if o.kind != "bowl"]
        m = re.match(r"^(?:(both|all|every|each|two|three|four|five|six|[2-6]|all\s+(?:two|three|four))\s+)?"
                     r"(?:of\s+)?(?:the\s+)?(\w+)$", t)
        if m and m.group(2) in self.kinds:
            qual, word = m.group(1), m.group(2)
            kind = self.kinds[word]
            plural = word != _singular(word)
            if qual is None and not plural:
                return None
            if qual in ("every", "each") and plural:
                return None
            if qual not in ("every", "each") and not plural:
                raise GoalParseError(f"'{qual} {word}' mixes one and many", f"say '{qual} {word}s'" if qual else "")
            cands = [o for o in st.objects if o.kind == kind]
            want = _NUMBER_WORDS.get((qual or "").split()[-1]) if qual else None
            if want is not None and len(cands) != want:
                if len(cands) < want:
                    raise UnknownObjectError(f"the goal names {want} {kind}s but the scene has {len(cands)}",
                                             "name the objects that are in the scene")
                raise AmbiguousGoalError(f"which {want} {kind}s: " + ", ".join(f"the {o.color} one" for o in cands)
                                         + "?", f"name them by colour, e.g. 'the {cands[0].name} and the "
                                         f"{cands[1].name}'")
            if not cands:
                raise UnknownObjectError(f"the scene has no {kind}s", "name objects that are in the scene")
            return [o.id for o in cands]
        items = [x for x in re.split(r"\s*,\s*(?:and\s+)?|\s+and\s+", t) if x]
        if len(items) < 2:
            return None
        last_kind = self.parts(items[-1])[1] if not _RELATIONAL.search(items[-1]) else None
        out = []
        for it in items:
            _col, kind = self.parts(it) if not _RELATIONAL.search(it) else (None, "x")
            if kind is None and last_kind not in (None, "it", "one", "ones"):
                it = f"{it} {last_kind}"
            oid = self.resolve(it, default_kind)
            if oid in out:
                raise GoalParseError(f"{text.strip()!r} names the {name_of(oid)} twice", "name each object once")
            out.append(oid)
        return out

    def resolve_many(self, text: str, default_kind: str | None = None) -> list[str]:
        group = self.resolve_group(text, default_kind)
        return group if group is not None else [self.resolve(text, default_kind)]

    # -- one object ------------------------------------------------------------------
    def candidates(self, head: str, default_kind: str | None = None) -> tuple[str | None, list[Any]]:
        color, kind = self.parts(head)
        if kind in ("one", "ones", None):
            kind = default_kind if kind in ("one", "ones") else kind
        st = self.state()
        objs = [o for o in st.objects if (color is None or o.color == color) and (kind is None or o.kind == kind)]
        if not objs:
            have = ", ".join(o.name for o in self.scene.objects)
            what = " ".join(x for x in (color, kind) if x) or "object"
            raise UnknownObjectError(f"the scene has no {what} (it has: {have})", "name an object that is in the scene")
        return kind, objs

    def _relational(self, t: str, default_kind: str | None) -> str | None:
        """"the cube closest to the bowl", "the ball on the left", "the leftmost cube", "the
        cube on top of the red one", "the ball in the bowl", "the other ball", "the tower"."""
        st = self.state()
        if re.fullmatch(r"(?:the\s+)?(?:whole\s+|entire\s+|new\s+)?(?:tower|stack|pile)", t):
            return self.tower()
        m = re.fullmatch(r"(?:the\s+)?other\s+(\w+)", t)
        if m:
            kind, objs = self.candidates(m.group(1), default_kind)
            rest = [o for o in objs if o.id != self.it and o.id not in (self.them or [])]
            if self.it is None or len(rest) != 1:
                if len(rest) > 1:
                    raise AmbiguousGoalError(which(kind, rest), "name its colour")
                raise GoalParseError(f"{t!r}: there is no other {kind or 'object'} to refer to", "name the object")
            return rest[0].id
        m = re.fullmatch(r"(?:the\s+)?(leftmost|rightmost|frontmost|backmost|rearmost|far left|far right|"
                         r"left|right|front|back|far|near)\s+(\w+)", t)
        if m and m.group(2) in self.kinds or m and m.group(2) in ("one",):
            return self._extreme(*self.candidates(m.group(2), default_kind), _SIDE_WORDS[m.group(1)], t)
        m = re.fullmatch(r"(.+?)\s+(?:that is\s+|which is\s+)?(?:(?:on|to|at|in)\s+the\s+(?:far\s+)?"
                         r"(left|right|front|back)(?:\s+side)?(?:\s+of\s+the\s+table)?|(?:furthest|farthest)\s+"
                         r"(left|right|back|front))", t)
        if m:
            return self._extreme(*self.candidates(m.group(1), default_kind), m.group(2) or m.group(3), t)
        m = re.fullmatch(r"(.+?)\s+(?:that is\s+|which is\s+)?(closest|nearest|next|furthest|farthest)\s+"
                         r"(?:to|from)?\s*(.+)", t)
        if m:
            ref = self.resolve(m.group(3))
            kind, objs = self.candidates(m.group(1), default_kind)
            objs = [o for o in objs if o.id != ref and st.get(ref).in_ != o.id]
            if not objs:
                raise UnknownObjectError(f"{t!r}: no other {kind or 'object'} to choose from", "name the object")
            r = st.get(ref)
            far = m.group(2) in ("furthest", "farthest")
            ranked = sorted(objs, key=lambda o: (-1 if far else 1) * math.hypot(o.x - r.x, o.y - r.y))
            if len(ranked) > 1 and abs(math.hypot(ranked[0].x - r.x, ranked[0].y - r.y)
                                       - math.hypot(ranked[1].x - r.x, ranked[1].y - r.y)) < 0.03:
                raise AmbiguousGoalError(which(kind, ranked[:2]), "they are about as far: name its colour")
            return ranked[0].id
        m = re.fullmatch(r"(.+?)\s+(?:that is\s+|which is\s+|sitting\s+|lying\s+|standing\s+)?"
                         r"(on top of|on|atop|in|inside|under|below|beneath|underneath)\s+(.+)", t)
        if m:
            ref = self.resolve(m.group(3))
            kind, objs = self.candidates(m.group(1), default_kind)
            rel = m.group(2)
            if rel in ("under", "below", "beneath", "underneath"):
                hits = [o for o in objs if st.get(ref).on == o.id]
            elif rel in ("in", "inside"):
                hits = [o for o in objs if o.in_ == ref]
            else:
                hits = [o for o in objs if o.on == ref]
            if not hits:
                raise UnknownObjectError(f"there is no {kind or 'object'} {rel} the {name_of(ref)}",
                                         "name the object by colour")
            if len(hits) > 1:
                raise AmbiguousGoalError(which(kind, hits), "name its colour")
            return hits[0].id
        return None

    def _extreme(self, kind: str | None, objs: list[Any], side: str, text: str) -> str:
        axis, sign = _SIDE_AXIS[side]
        ranked = sorted(objs, key=lambda o: sign * (o.x, o.y)[axis])
        if len(ranked) == 1:
            return ranked[0].id
        a, b = ranked[0], ranked[1]
        if abs((a.x, a.y)[axis] - (b.x, b.y)[axis]) < 0.05:
            raise AmbiguousGoalError(which(kind, ranked[:2]), f"both are about as far {side}: name its colour")
        return a.id

    def tower(self, top: bool = False) -> str:
        """The base (or top) of the tower a phrase like "the tower" means: the one the
        previous clause built on, else the only one."""
        st = self.state()
        towers = [o for o in st.objects if o.kind == "cube" and o.on is None and st.above(o.id) is not None]
        if self.it is not None and st.get(self.it).kind == "cube":
            base = st.get(self.it)
            while base.on is not None:
                base = st.get(base.on)
            if base in towers:
                towers = [base]
        if not towers:
            raise UnknownObjectError("there is no tower on the table", "name the cube instead")
        if len(towers) > 1:
            raise AmbiguousGoalError("which tower: " + " or ".join(f"the one on the {o.name}" for o in towers) + "?",
                                     "name a cube of it instead")
        cur = towers[0]
        while top and st.above(cur.id) is not None:
            cur = st.above(cur.id)
        return cur.id

    def resolve(self, text: str, default_kind: str | None = None, want: tuple[str, ...] | None = None) -> str:
        t = re.sub(r"\s+", " ", text.strip().lower())
        if t.startswith(("a ", "an ")) and not _RELATIONAL.search(t):
            t = "the " + t.split(" ", 1)[1]
        if t in ("it", "that", "that one", "this one", "this"):
            t = "it"
        elif _RELATIONAL.search(t) or re.search(r"\b(?:tower|stack|pile|other|leftmost|rightmost|frontmost|"
                                                r"backmost|rearmost)\b", t) or re.match(
                                                    r"(?:the\s+)?(?:left|right|front|back|far|near)\s+\w+$", t):
            oid = self._relational(t, default_kind)
            if oid is not None:
                return oid
        color, kind = self.parts(t)
        if kind == "it":
            if self.it is None:
                raise GoalParseError(f"'it' in {text.strip()!r} has nothing to refer to",
                                     "name the object instead")
            return self.it
        if kind == "one" or kind == "ones":
            kind = default_kind
        have = ", ".join(o.name for o in self.scene.objects)
        if color is not None:
            o = self.scene.by_color(color)
            if o is None:
                raise UnknownObjectError(f"the scene has no {color} object (it has: {have})",
                                         "name an object that is in the scene")
            if kind is not None and o.kind != kind:
                raise UnknownObjectError(f"the scene has no {color} {kind}; the {color} object is a {o.kind}",
                                         f"say 'the {o.name}'")
            return o.id
        if kind is None:
            raise GoalParseError(f"{text.strip()!r} does not name an object", "say e.g. 'the red cube'")
        cands = [o for o in self.scene.objects if o.kind == kind]
        if not cands:
            raise UnknownObjectError(f"the scene has no {kind} (it has: {have})",
                                     "name an object that is in the scene")
        if len(cands) > 1:
            raise AmbiguousGoalError(f"{which(kind, cands)} ('{text.strip()}' is ambiguous: it could be the "
                                     + " or the ".join(o.name for o in cands) + ")",
                                     f"name its colour, e.g. 'the {cands[0].name}'")
        return cands[0].id


_RELATIONAL = re.compile(r"\b(?:closest|nearest|furthest|farthest|next to|on top of|on|atop|in|inside|under|below|"
                         r"beneath|underneath|to the|at the)\b")


def _singular(word: str) -> str:
    for suf in ("es", "s"):
        if word.endswith(suf) and word[: -len(suf)] in _kind_words():
            return word[: -len(suf)]
    return word


def name_of(oid: str) -> str:
    return oid.replace("_", " ")


# -- clauses --------------------------------------------------------------------------
def _clause(kind: str, **kw: Any) -> dict[str, Any]:
    return {"kind": kind, **kw}


def split_clauses(goal: str) -> list[str]:
    text = goal.strip().lower().rstrip(".!? ")
    text = re.sub(r"\s+", " ", text)
    parts = re.split(r"\s*(?:,\s*and\s+then\b|,\s*then\b|\band\s+then\b|;|\.\s+|\bthen\b|"
                     r"\bafter that\b|,\s*finally\b|\bfinally\b)\s*,?\s*", text)
    out = []
    for p in parts:
        for q in re.split(rf",?\s+and\s+(?=(?:{_VERB_RE})\b)|,\s*(?=(?:{_VERB_RE})\b)", p):
            q = q.strip(" ,")
            if q and out and re.match(r"pick\s+up\s", out[-1]) and re.match(r"(?:place|put|set|drop)\s+it\s", q):
                out[-1] += " and " + q  # "pick up X and place it on Y" is one clause
            elif q:
                out.append(q)
    return out


_DIR_WORDS = {
    "to the left": "left", "left": "left", "leftward": "left", "leftwards": "left",
    "to the right": "right", "right": "right", "rightward": "right", "rightwards": "right",
    "forward": "front", "forwards": "front", "toward the front": "front", "towards the front": "front",
    "to the front": "front", "toward the camera": "front", "towards the camera": "front", "down": "front",
    "backward": "back", "backwards": "back", "back": "back", "away": "back", "toward the back": "back",
    "towards the back": "back", "to the back": "back", "up": "back",
}
_REGION = (r"(?:the\s+)?((?:back|front|far|near|top|bottom)\s+(?:left|right)|(?:left|right)\s+(?:back|front)|"
           r"left|right|front|back|center|centre|middle|far|near)"
           r"(?:\s+(?:side|half|part|corner|area))?(?:\s+of\s+the\s+table)?")


_PREP = r"(?:in|into|inside|in to|on top of|onto|on to|on|atop|next to|beside|near|close to|by|to|over to|at)"
_DIRS_RE = "|".join(sorted(map(re.escape, _DIR_WORDS), key=len, reverse=True))
_MOVE_VERBS = r"(?:put|place|set|move|drop|slide|bring|get|take|stack|push|shove|nudge)"
_SYNONYM_VERBS = {"grab": "put", "lift": "put", "carry": "put", "transfer": "put", "pick up": "put", "pick": "put",
                  "lay": "put", "pop": "put", "stick": "put", "take": "move", "relocate": "move", "shift": "move", "reposition": "move"}


def parse_clause(text: str, res: Resolver, scene: Scene) -> list[dict[str, Any]]:
    """The clauses one clause of text means (several for "put both balls in the bowl")."""
    t = text.strip()
    out = _parse_special(t, res, scene)
    if out is not None:
        return out
    try:
        return [_parse_plain(t, res, scene)]
    except GoalParseError as first:
        m = re.match(r"^(grab|lift|carry|transfer|pick up|pick|lay|pop|stick|take|relocate|shift|reposition)\s+(.+)$", t)
        if m is None or isinstance(first, AmbiguousGoalError):
            raise
        alt = f"{_SYNONYM_VERBS[m.group(1)]} {m.group(2)}"
        try:
            out = _parse_special(alt, res, scene)
            return out if out is not None else [_parse_plain(alt, res, scene)]
        except GoalParseError as again:
            if "can't parse" in again.message:
                raise first from None
            raise


def _parse_special(t: str, res: Resolver, scene: Scene) -> list[dict[str, Any]] | None:
    """Clauses the plain grammar has no shape for: groups of subjects, taking objects out,
    emptying a bowl, stacking "both" cubes, moving "the tower"."""
    m = re.match(r"^(?:stack|pile)(?:\s+up)?\s+(?:the\s+)?(both|two|three|four)(?:\s+of\s+the)?\s+(?:cubes|blocks)"
                 r"(?:\s+(?:into|in|to make)\s+(?:a|one)\s+(?:tower|stack|pile))?$", t)
    if m:
        return [_clause("stack_all", count=NUMBERS.get(m.group(1), 2))]
    # take X out (of Y) / take X off (Y) / remove X from Y / take out X / put X on the table
    m = re.match(r"^(?:put|place|set|move|take|bring|lay)\s+(.+?)\s+(?:back\s+|down\s+)?(?:on|onto)\s+the\s+table$", t)
    if m:
        out = []
        for oid in res.resolve_many(m.group(1)):
            if holds(C("on_table", oid), res.state()):
                raise ImpossibleGoalError(f"the {name_of(oid)} is already on the table",
                                          "say where on the table, e.g. 'move it to the left side'")
            out.append(_clause("take_out", subject=oid))
        return out
    m = (re.match(r"^(?:take|get|remove|lift|pull|move|put|bring)\s+(?!out\b|off\b)(.+?)\s+(?:back\s+)?(out|off)"
                  r"(?:\s+(?:(?:of|from)\s+)?(?:the\s+inside\s+of\s+)?(.+?))?(?:\s+(?:and\s+)?(?:onto|on|to)\s+"
                  r"the\s+table)?$", t)
         or re.match(r"^(?:take|get|remove|lift|pull)\s+(out|off)\s+(.+?)(?:\s+(?:of|from)\s+(.+?))?$", t)
         or re.match(r"^(?:remove|take)\s+(.+?)\s+(from)\s+(.+?)$", t))
    if m:
        if m.group(1) in ("out", "off"):
            subj, ref = m.group(2), m.group(3)
        else:
            subj, ref = m.group(1), m.group(3)
        st = res.state()
        ref_id = res.resolve(ref) if ref else None
        try:
            ids = res.resolve_many(subj)
        except AmbiguousGoalError:  # "take the ball out of the bowl": the one in it
            if ref_id is None:
                raise
            hits = [o.id for o in res.candidates(subj)[1] if ref_id in (o.in_, o.on)]
            if len(hits) != 1:
                raise
            ids = hits
        if len(ids) > 1 and ref_id is not None:  # "take everything out of the bowl"
            ids = [oid for oid in ids if ref_id in (st.get(oid).in_, st.get(oid).on)]
        out = []
        for oid in ids:
            o = st.get(oid)
            if ref_id is not None and ref_id not in (o.in_, o.on):
                raise ImpossibleGoalError(f"the {o.name} is not {'in' if st.get(ref_id).kind == 'bowl' else 'on'} "
                                          f"the {name_of(ref_id)}", "name where it is")
            if ref_id is None and o.in_ is None and o.on is None and len(ids) == 1:
                raise ImpossibleGoalError(f"the {o.name} is not in a bowl or on a cube: there is nothing to take it "
                                          "out of", "say where to move it, e.g. 'move it to the left side'")
            out.append(_clause("take_out", subject=oid))
        return out
    m = re.match(r"^(?:empty|clear|clean)\s+(?:out\s+)?(.+)$", t)
    if m and not re.search(r"\b(?:half|side|part|corner|area|table|left|right|front|back|center|centre|middle|far|"
                           r"near|top|bottom|rear)$", m.group(1)):
        bowl = res.resolve(m.group(1), "bowl")
        st = res.state()
        if st.get(bowl).kind != "bowl":
            raise GoalParseError(f"can only empty a bowl, not the {name_of(bowl)}", "say e.g. 'empty the bowl'")
        inside = [o.id for o in st.contents(bowl)]
        if not inside:
            raise ImpossibleGoalError(f"the {name_of(bowl)} is already empty", "choose another goal")
        return [_clause("take_out", subject=o) for o in inside]
    # "swap the two balls" / "swap them"
    m = re.match(r"^(?:swap|switch|exchange)\s+(?:the\s+)?(?:positions?\s+of\s+|places\s+of\s+)?(.+?)"
                 r"(?:\s+around|\s+over)?$", t)
    if m and not re.search(r"\s(?:and|with)\s", m.group(1)):
        group = res.resolve_group(m.group(1))
        if group is not None:
            if len(group) != 2:
                raise GoalParseError(f"a swap takes two objects; {m.group(1)!r} names {len(group)}",
                                     "name the two objects, e.g. 'swap the red ball and the green ball'")
            return [_clause("swap", a=group[0], b=group[1])]
    # groups of subjects with one shared target
    m = re.match(rf"^({_MOVE_VERBS})\s+(.+?)\s+({_PREP}\s+.+|{_DIRS_RE})$", t)
    if m and m.group(1) != "stack":
        subj = m.group(2)
        group = None
        if not re.match(r"^(?:all|every|each)\s", subj) or re.match(r"^all\s+(?:two|three|four)\b", subj):
            try:
                group = res.resolve_group(subj)
            except GoalParseError:
                group = None
                if re.search(r"\b(?:both|two|three|four|everything|all|them)\b", subj):
                    raise
        if group is not None:
            out = []
            ref_text = re.sub(rf"^{_PREP}\s+", "", m.group(3))
            for oid in group:
                if ref_text != m.group(3) and re.match(r"^(?:the\s+)?(?:\w+\s+)?(?:bowl|container|basket)$", ref_text) \
                        and scene.get(oid).kind == "bowl":
                    continue  # "put everything in the bowl": not the bowl itself
                out += parse_clause(f"{m.group(1)} the {scene.get(oid).name} {m.group(3)}", res, scene)
            if not out:
                raise GoalParseError(f"{t!r} names no object to move", "name the objects")
            return out
    m = re.match(rf"^({_MOVE_VERBS})\s+(?:the\s+)?(?:whole\s+|entire\s+)?(?:tower|stack|pile)\b", t)
    if m and re.search(r"\bcubes?\b|\bblocks?\b", t) is None:
        raise ImpossibleGoalError("the planner moves one cube at a time: it cannot move a whole tower",
                                  "move its cubes one by one (top first), or stack them again where you want")
    return None


def _binary(t: str, verbs: str, preps: str) -> list[tuple[str, str]]:
    """Each way to read ``t`` as VERB X PREP Y, as (X, Y), shortest X first."""
    m = re.match(rf"^(?:{verbs})\s+(.+)$", t)
    if not m:
        return []
    body = m.group(1)
    return [(body[: p.start()], body[p.end():]) for p in re.finditer(rf"\s+(?:{preps})\s+(?=.)", body)
            if p.start() > 0]


def _parse_plain(t: str, res: Resolver, scene: Scene) -> dict[str, Any]:
    """One clause of the plain grammar; a shape whose objects do not resolve gives way to
    the next one (the first such error is raised when none fits)."""
    errors: list[SpiralError] = []
    m = re.match(r"^(?:stack|pile)(?:\s+up)?\s+(?:all|every|each)?\s*(?:of\s+)?(?:the\s+)?(?:(\w+)\s+)?(cubes|blocks)"
                 r"(?:\s+(?:into|in|to make)\s+(?:a|one)\s+(?:tower|stack|pile))?$", t) or \
        re.match(r"^(?:make|build)\s+(?:a|one)\s+(?:tower|stack|pile)\s+(?:of|with|from|using)\s+"
                 r"(?:all\s+|every\s+)?(?:of\s+)?(?:the\s+)?(?:(\w+)\s+)?(cubes|blocks)$", t)
    if m:
        number = m.group(1)
        if number is not None and number not in NUMBERS and number not in ("all", "the"):
            raise GoalParseError(f"I don't understand {number!r} in {t!r}", "say e.g. 'stack all the cubes'")
        return _clause("stack_all", count=NUMBERS.get(number or ""))
    m = re.match(r"^(?:put|place|drop|move|get|bring)\s+(?:all|every|each)\s+(?:of\s+)?(?:the\s+)?(\w+?)(?:s|es)?"
                 r"\s+(?:in|into|inside|in to)\s+(.+)$", t)
    if m:
        kind = _kind_words().get(m.group(1)) or _kind_words().get(m.group(1) + "s") or \
            _kind_words().get(m.group(1) + "es")
        if kind is None or kind == "bowl":
            raise GoalParseError(f"cannot put every {m.group(1)!r} in a bowl", "say e.g. 'put every ball in the bowl'")
        return _clause("put_every", object_kind=kind, bowl=res.resolve(m.group(2), "bowl"))
    m = re.match(r"^(?:swap|switch|exchange)\s+(?:the\s+)?(?:positions?\s+of\s+)?(?:the\s+)?(.+?)\s+(?:and|with)\s+(.+)$", t)
    if m:
        a_text, b_text = m.group(1), m.group(2)
        _a_col, a_kind = res.parts(a_text)
        _b_col, b_kind = res.parts(b_text)
        if a_kind is None and b_kind is not None:
            a_text = f"{a_text} {b_kind}"
        a = res.resolve(a_text)
        b = res.resolve(b_text, scene.get(a).kind)
        if a == b:
            raise GoalParseError(f"cannot swap the {scene.get(a).name} with itself", "name two objects")
        return _clause("swap", a=a, b=b)
    m = re.match(r"^(?:clear|empty|clean)\s+(?:off\s+|out\s+)?" + _REGION + r"$", t)
    if m:
        region = normalize_region(m.group(1))
        if region not in OPPOSITE:
            raise GoalParseError(f"can only clear a half of the table, not {m.group(1)!r}",
                                 "say left, right, back or front half")
        return _clause("clear_region", region=region)
    m = re.match(r"^(?:push|slide|shove|nudge|move)\s+(.+?)\s+(" + "|".join(
        sorted(map(re.escape, _DIR_WORDS), key=len, reverse=True)) + r")$", t)
    if m and not re.search(r"\b(?:the\s+)?(?:left|right|front|back)\s+(?:side|half|part)", t):
        try:
            return _clause("push", subject=res.resolve(m.group(1)), direction=_DIR_WORDS[m.group(2)])
        except (GoalParseError, UnknownObjectError) as e:  # another shape may read it ("the ball on the left")
            errors.append(e)
    m = re.match(r"^(?:move|put|place|set|pick up|drop|bring|take)\s+(.+?)\s+(?:and\s+(?:place|put|set|drop)\s+it\s+)?"
                 r"(?:to|on|onto|at|in|into|over to)\s+" + _REGION + r"$", t)
    if m:
        try:
            return _clause("place_region", subject=res.resolve(m.group(1)), region=normalize_region(m.group(2)))
        except (GoalParseError, UnknownObjectError) as e:
            errors.append(e)
    for a_text, b_text in _binary(t, "move|put|place|set|slide|bring|drop", "next to|beside|near|close to|over to|by"):
        try:
            a = res.resolve(a_text)
            ref = res.resolve(b_text, scene.get(a).kind)
        except (GoalParseError, UnknownObjectError) as e:
            errors.append(e)
            continue
        if ref == a:
            raise GoalParseError(f"cannot move the {scene.get(a).name} next to itself", "name another object")
        return _clause("next_to", subject=a, ref=ref)
    for a_text, b_text in _binary(t, "put|place|drop|move|set|get|throw", "in|into|inside|in to"):
        try:
            a = res.resolve(a_text)
            return _clause("put_in", subject=a, bowl=res.resolve(b_text, "bowl"))
        except (GoalParseError, UnknownObjectError) as e:
            errors.append(e)
    for a_text, ref_text in _binary(t, "put|place|stack|set|move|drop", "on top of|onto|on to|on|atop"):
        try:
            a = res.resolve(a_text)
            if re.fullmatch(r"(?:the\s+)?(?:whole\s+|entire\s+|new\s+)?(?:tower|stack|pile)", ref_text.strip()):
                return _clause("stack", subject=a, ref=res.tower(top=True))
            return _clause("stack", subject=a, ref=res.resolve(ref_text, scene.get(a).kind))
        except (GoalParseError, UnknownObjectError) as e:
            errors.append(e)
    if errors:
        raise errors[0]
    raise GoalParseError(
        f"I can't parse {t!r}",
        "supported goals: put X in Y, stack X on Y, stack all the cubes, swap X and Y, put every "
        "ball in the bowl, move X next to Y, push X left/right/forward/back, move X to the left side, "
        "clear the left half of the table; join several with ', then'")


def _np_split(res: Resolver, text: str) -> tuple[str, str] | None:
    """(noun phrase, target) for the first way to cut ``text`` where the noun phrase names
    objects and the rest is a target ("in the bowl", "to the left")."""
    for m in re.finditer(rf"\s+(?=(?:{_PREP})\s+|(?:{_DIRS_RE})$)", text):
        try:
            res.resolve_many(text[: m.start()])
        except SpiralError:
            continue
        return text[: m.start()], text[m.end():]
    return None


def split_coordination(text: str, res: Resolver) -> list[str]:
    """"put X in Y and Z next to W" → two clauses sharing the verb; "put X in Y and Z too"
    → "put Z in Y" as well. A clause is split only where the left side is a whole clause."""
    m = re.match(rf"^({_MOVE_VERBS})\s+(.+)$", text)
    if not m or not re.search(r",|\band\b", text):
        return [text]
    verb = m.group(1)
    for am in re.finditer(r",?\s+and\s+|,\s+", text):
        left, right = text[: am.start()], text[am.end():]
        ls = _np_split(res, left[len(verb) + 1:])
        if ls is None:
            continue
        right = re.sub(rf"^{_MOVE_VERBS}\s+", "", right)
        if _np_split(res, right) is not None and not re.search(r"\b(?:cubes|balls|blocks)$", left):
            return [left, *split_coordination(f"{verb} {right}", res)]
        if re.match(r"(?:next to|beside|near|close to|by)\b", ls[1]):
            continue  # "next to X and Y" could mean next to both
        try:
            res.resolve_many(right)
        except SpiralError:
            continue
        return [left, f"{verb} {right} {ls[1]}"]
    return [text]


_TARGETED = re.compile(rf"^({_MOVE_VERBS}|swap|switch|exchange)\s+(.+?)\s+((?:{_PREP})\s+.+|{_DIRS_RE})$")


def _with_verb(text: str, prev: str | None, res: Resolver) -> str:
    """A clause without a verb borrows one: "…, then the blue cube on the green one" takes
    the previous clause's verb, "…, then the yellow one" its verb and target too; a goal
    that starts without a verb ("red ball in the bowl") means *put*."""
    if re.match(rf"^(?:{_VERB_RE}|{_MOVE_VERBS}|take|grab|lift|remove|pick|carry)\b", text):
        return text
    if not re.match(r"^(?:the|a|an|both|all|every|each|it|them|everything|two|three|four|"
                    + "|".join([*COLORS, *_kind_words()]) + r")\b", text):
        return text
    text = re.sub(r"\s+(?:is|are|should be|must be|ends? up|goes|go|sits?)(?=\s+(?:in|into|inside|on|next|beside|near|at)\b)",
                  "", text)
    pm = _TARGETED.match(prev) if prev else None
    if pm is not None:
        cut = _np_split(res, prev[len(pm.group(1)) + 1:])
        target = cut[1] if cut else pm.group(3)
        try:
            res.resolve_many(text)
            return f"{pm.group(1)} {text} {target}"  # "…, then the ball on the left": same verb and target
        except SpiralError:
            pass
    has_target = re.match(rf"^(.+?)\s+((?:{_PREP})\s+.+|{_DIRS_RE})$", text)
    if pm is None:
        return f"put {text}" if has_target else text
    if has_target:
        return f"{pm.group(1)} {text}"
    return f"{pm.group(1)} {text} {pm.group(3)}"


def parse_goal(goal: str, scene: Scene) -> list[dict[str, Any]]:
    """Clauses of ``goal`` in ``scene`` (object names resolved to ids). The text is first
    brought to the grammar's plain phrasing (:func:`~spiral.worlds.tabletop.goal_text.normalize`)."""
    from spiral.worlds.tabletop.goal_text import normalize

    text = normalize(goal)
    clauses: list[dict[str, Any]] = []
    cache: dict[int, Scene] = {}

    def state() -> Scene:  # the scene as the clauses parsed so far leave it
        if len(clauses) not in cache:
            cache[len(clauses)] = plan_clauses(scene, copy.deepcopy(clauses))[2] if clauses else scene
        return cache[len(clauses)]

    res = Resolver(scene, state)
    prev = None
    for c in split_clauses(text):
        c = _with_verb(c, prev, res)
        prev = c
        for part in split_coordination(c, res):
            new = parse_clause(part, res, scene)
            clauses += new
            # "…, then move it …" / "…, then put the ball next to it": "it" is what the previous clause
            # acted on (not its bowl or reference, nor this clause's own subject)
            subjects = [cl.get("subject") or cl.get("a") for cl in new if cl.get("subject") or cl.get("a")]
            res.it = subjects[-1] if subjects else res.it
            if len(subjects) > 1:
                res.them = subjects
            elif new and new[-1]["kind"] == "swap":
                res.them = [new[-1]["a"], new[-1]["b"]]
    if not clauses:
        raise GoalParseError(f"no action found in {goal!r}", "say e.g. 'put the red cube in the blue bowl'")
    return clauses


# -- expansion ------------------------------------------------------------------------
class Expander:
    """Expands clauses into sub-actions, applying each one to a running symbolic state."""

    def __init__(self, scene: Scene, variant: int = 0, max_steps: int = 24):
        self.state = scene.copy_deep()
        self.origin = scene  # the observed state: pins of objects not moved since are final
        self.variant = variant
        self.steps: list[SubAction] = []
        self.max_steps = max_steps
        self.clause = 0

    def add(self, kind: str, subject: str, objects: list[str] | None = None, **params: Any) -> None:
        act = make_action(self.state, kind, subject, objects, params, variant=self.variant, clause=self.clause)
        bad = [c for c in act.preconditions if not holds(c, self.state)]
        if bad:  # pragma: no cover - expansion inserts the steps that make them hold
            raise ImpossibleGoalError(f"cannot {act.prompt}: {', '.join(map(str, bad))} does not hold",
                                      "rephrase the goal")
        self.steps.append(act)
        if len(self.steps) > self.max_steps:
            raise ImpossibleGoalError(f"the goal needs more than {self.max_steps} sub-actions",
                                      "split it into smaller goals or raise planner.max_steps")
        self.state = apply(self.state, act)

    def moved(self, oid: str) -> bool:
        """Has an earlier step of this expansion moved ``oid`` (so its position is assumed)?"""
        a, b = self.origin.get(oid), self.state.get(oid)
        return (a.x, a.y, a.on, a.in_) != (b.x, b.y, b.on, b.in_)

    def clear(self, oid: str) -> None:
        """Move whatever sits on ``oid`` to free spots nearby, top first."""
        while True:
            above = self.state.above(oid)
            if above is None:
                return
            top = above
            while self.state.above(top.id) is not None:
                top = self.state.above(top.id)
            self.add("pick_place", top.id)

    def expand(self, clause: dict[str, Any]) -> None:
        k = clause["kind"]
        st = self.state
        if k == "put_in":
            a, bowl = clause["subject"], clause["bowl"]
            if st.get(a).in_ == bowl:
                return
            self.clear(a)
            self.add("put_in", a, [bowl])
        elif k == "stack":
            a, b = clause["subject"], clause["ref"]
            if st.get(a).on == b:
                return
            self.clear(a)
            self.clear(b)
            self.add("stack", a, [b])
        elif k == "next_to":
            a, b = clause["subject"], clause["ref"]
            if holds(C("next_to", a, b), st) and holds(C("on_table", a), st):
                return
            holder = st.get(b).in_
            if holder is not None:
                raise ImpossibleGoalError(f"the {st.get(b).name} is in the {st.get(holder).name}: nothing can stand "
                                          "next to it there", f"say 'next to the {st.get(holder).name}'")
            self.clear(a)
            self.add("move_next_to", a, [b])
        elif k == "push":
            a = clause["subject"]
            o = st.get(a)
            if o.on or o.in_:
                raise ImpossibleGoalError(f"cannot push the {o.name}: it is not standing on the table",
                                          "move it onto the table first")
            target = clause.get("target_xy")
            if target and holds(C("at", a, xy=tuple(target)), st):
                return
            assumed = self.moved(a)  # where the push starts rests on an earlier step's result
            self.clear(a)
            params = {"direction": clause["direction"]}
            if target:
                params["target_xy"] = list(target)
            try:
                self.add("push", a, **params)
            except ImpossibleGoalError:
                if not target:
                    raise
                self.add("pick_place", a, target_xy=list(target),
                         prompt=phrases()["actions"]["push"][0].format(
                             a=o.name, dir=phrases()["directions"][clause["direction"]][0]))
            if not target:
                clause["target_xy"] = list(self.steps[-1].params["target_xy"])
                clause["provisional"] = ["target_xy"] if assumed else []
        elif k == "swap":
            a, b = clause["a"], clause["b"]
            for oid in (a, b):
                o = st.get(oid)
                if o.on or o.in_:
                    where = "in a bowl" if o.in_ else "on another cube"
                    raise ImpossibleGoalError(f"cannot swap the {o.name}: it is {where}",
                                              "move it onto the table first")
            pa, pb = clause.get("pos_a"), clause.get("pos_b")
            if pa is None:
                clause["pos_a"] = [st.get(a).x, st.get(a).y]
                clause["pos_b"] = [st.get(b).x, st.get(b).y]
                clause["provisional"] = [pin for pin, oid in (("pos_a", a), ("pos_b", b)) if self.moved(oid)]
                self.clear(a)
                self.clear(b)
                self.add("swap", a, [b])
                return
            a_done = holds(C("at", a, xy=tuple(pb)), st)
            b_done = holds(C("at", b, xy=tuple(pa)), st)
            if a_done and b_done:
                return
            if not a_done and not b_done:
                self.clear(a)
                self.clear(b)
                self.add("swap", a, [b])
                return
            if not a_done:
                self.add("pick_place", a, target_xy=list(pb))
            if not b_done:
                self.add("pick_place", b, target_xy=list(pa))
        elif k == "take_out":
            a = clause["subject"]
            if holds(C("on_table", a), st):
                return
            self.clear(a)
            self.add("pick_place", a)
        elif k == "place_region":
            a, region = clause["subject"], clause["region"]
            if holds(C("in_region", a, region=region), st):
                return
            self.clear(a)
            self.add("pick_place", a, region=region)
        elif k == "put_every":
            bowl, kind = clause["bowl"], clause["object_kind"]
            todo = [o.id for o in st.objects if o.kind == kind and o.in_ != bowl]
            room = BOWL_CAPACITY - len(st.contents(bowl))
            if not [o for o in st.objects if o.kind == kind]:
                raise ImpossibleGoalError(f"the scene has no {kind}s", "name objects that are in the scene")
            if len(todo) > room:
                raise ImpossibleGoalError(
                    f"the {bowl.replace('_', ' ')} has room for {room} more object(s) but {len(todo)} {kind}(s) "
                    f"are outside it", f"a bowl holds at most {BOWL_CAPACITY} objects")
            for oid in todo:
                self.clear(oid)
                self.add("put_in", oid, [bowl])
        elif k == "stack_all":
            cubes = [o.id for o in st.objects if o.kind == "cube"]
            if clause.get("count") and clause["count"] != len(cubes):
                raise ImpossibleGoalError(f"the goal names {clause['count']} cubes but the scene has {len(cubes)}",
                                          "say 'stack all the cubes'")
            if len(cubes) < 2:
                raise ImpossibleGoalError(f"stacking needs at least 2 cubes; the scene has {len(cubes)}",
                                          "choose another goal")
            if len(cubes) > MAX_STACK:
                raise ImpossibleGoalError(f"a tower holds at most {MAX_STACK} cubes; the scene has {len(cubes)}",
                                          "stack some of them by name")
            base = clause.get("base")
            if base is None:
                def tower(c: str) -> int:
                    n, cur = 1, c
                    while st.above(cur) is not None and st.above(cur).kind == "cube":
                        cur, n = st.above(cur).id, n + 1
                    return n
                bases = [c for c in cubes if st.get(c).on is None and st.get(c).in_ is None]
                if not bases:
                    bases = cubes
                base = max(bases, key=lambda c: (tower(c), -cubes.index(c)))
                clause["base"] = base
            self._build_tower(base, cubes)
        elif k == "clear_region":
            region = clause["region"]
            target = OPPOSITE[region]
            for _ in range(32):
                st = self.state
                movable = [o for o in st.objects if in_region(o.x, o.y, region) and st.above(o.id) is None
                           and (o.in_ is None or not in_region(st.get(o.in_).x, st.get(o.in_).y, region))]
                if not movable:
                    return
                movable.sort(key=lambda o: (-st.level(o.id), COLORS.index(o.color)))
                self.add("pick_place", movable[0].id, region=target)
            raise ImpossibleGoalError(f"could not clear the {region} half", "try fewer objects")  # pragma: no cover
        else:  # pragma: no cover
            raise ValueError(f"unknown clause kind {k!r}")

    def _build_tower(self, base: str, cubes: list[str]) -> None:
        st = self.state
        chain = [base]
        while st.above(chain[-1]) is not None and st.above(chain[-1]).kind == "cube":
            chain.append(st.above(chain[-1]).id)
        # the base must stand on the table: if it sits on another cube, that cube joins later
        for _ in range(4 * len(cubes)):
            st = self.state
            rest = [c for c in cubes if c not in chain]
            if not rest:
                return
            clear_rest = [c for c in rest if st.above(c) is None]
            nxt = clear_rest[0] if clear_rest else rest[0]
            self.clear(nxt)
            self.add("stack", nxt, [chain[-1]])
            chain.append(nxt)
        raise ImpossibleGoalError("could not build the tower", "stack the cubes one by one")  # pragma: no cover


def clause_conditions(clause: dict[str, Any], scene: Scene) -> list[Condition]:
    """Success conditions of one clause (evaluated on the final state)."""
    k = clause["kind"]
    if k == "put_in":
        return [C("in", clause["subject"], clause["bowl"])]
    if k == "stack":
        return [C("on", clause["subject"], clause["ref"])]
    if k == "next_to":
        return [C("next_to", clause["subject"], clause["ref"])]
    if k == "push":
        return [C("at", clause["subject"], xy=tuple(clause["target_xy"]))]
    if k == "swap":
        return [C("at", clause["a"], xy=tuple(clause["pos_b"])), C("at", clause["b"], xy=tuple(clause["pos_a"]))]
    if k == "take_out":
        return [C("on_table", clause["subject"])]
    if k == "place_region":
        return [C("in_region", clause["subject"], region=clause["region"])]
    if k == "put_every":
        return [C("in", o.id, clause["bowl"]) for o in scene.objects if o.kind == clause["object_kind"]]
    if k == "stack_all":
        return [C("on", o.id, o.on) for o in scene.objects if o.kind == "cube" and o.on]
    if k == "clear_region":
        return [C("region_empty", region=clause["region"])]
    raise ValueError(k)  # pragma: no cover


_PINNED_BY = {"push": {"target_xy": "subject"}, "swap": {"pos_a": "b", "pos_b": "a"}}  # pin -> object it targets


def provisional_conditions(clauses: list[dict[str, Any]]) -> list[Condition]:
    """The success conditions that rest on provisional pins (see the module doc): where an
    object must end depends on where an earlier step happened to put another (or the same)
    object, which the start state does not determine."""
    out = []
    for cl in clauses:
        for pin in cl.get("provisional") or []:
            oid = cl[_PINNED_BY[cl["kind"]][pin]]
            out.append(C("at", oid, xy=tuple(cl[pin])))
    return out


def unpin_provisional(clauses: list[dict[str, Any]], first: int) -> tuple[list[dict[str, Any]], bool]:
    """A copy of ``clauses`` where clauses from index ``first`` on lose their provisional
    pins (so that expanding them on a perceived state pins them from what is seen); and
    whether clause ``first`` had any."""
    out = [dict(c) for c in clauses]
    had = bool(first < len(out) and out[first].get("provisional"))
    for cl in out[first:]:
        if cl.get("provisional"):
            for pin in ("target_xy", "pos_a", "pos_b"):
                cl.pop(pin, None)
            cl.pop("provisional")
    return out, had


def plan_clauses(scene: Scene, clauses: list[dict[str, Any]], variant: int = 0,
                 max_steps: int = 24) -> tuple[list[SubAction], list[Condition], Scene]:
    """Expand clauses in order; returns the steps, the goal conditions and the final state."""
    ex = Expander(scene, variant=variant, max_steps=max_steps)
    for i, cl in enumerate(clauses):
        ex.clause = i
        ex.expand(cl)
    final = ex.state
    # objects each clause's steps move (with what they carry): a condition of an earlier
    # clause on an object a later clause moves is not part of the goal (it held by chance)
    moved_by: dict[int, set[str]] = {}
    replay = scene.copy_deep()
    for st in ex.steps:
        ids = set()
        for m in st.moving():
            ids |= _moving_with(replay, m)
        moved_by.setdefault(st.clause, set()).update(ids)
        replay = apply(replay, st)
    conds: list[Condition] = []
    for i, cl in enumerate(clauses):
        later = set().union(*(v for k, v in moved_by.items() if k > i)) if moved_by else set()
        for c in clause_conditions(cl, final):
            if c.pred in ("next_to", "at", "in_region") and set(c.args) & later:
                continue
            if holds(c, final) and c not in conds:
                conds.append(c)
    return ex.steps, conds, final


__all__ = [
    "DIRECTIONS",
    "Resolver",
    "clause_conditions",
    "parse_goal",
    "plan_clauses",
    "provisional_conditions",
    "split_clauses",
    "unpin_provisional",
]
