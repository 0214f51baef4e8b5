"""Noun phrases of tabletop goals → object ids: colours and kinds ("the blue one"),
groups ("both balls", "the red and the blue cube", "everything"), references ("it",
"them", "the other ball", "the tower") and relational descriptions ("the cube closest to
the bowl", "the ball on the left", "the cube on top of the red one"). A phrase that fits
more than one object is a question back (:class:`~spiral.errors.AmbiguousGoalError`), never
a guess.
"""

from __future__ import annotations

import math
import re
from typing import Any

from spiral.errors import AmbiguousGoalError, GoalParseError, UnknownObjectError
from spiral.worlds.tabletop.actions import phrases
from spiral.worlds.tabletop.scene import COLORS, Scene


def _kind_words() -> dict[str, str]:
    out = {}
    for kind, words in phrases()["kinds"].items():
        for w in words:
            out[w] = kind
            out[w + "s"] = kind
            out[w + "es"] = kind
    return out



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
        self.current: str | None = None  # the clause's first object, once read ("… on the other cube")
        self.bowl: str | None = None  # the bowl the previous clause put into or took out of ("… in it too")
        self.vacated: str | None = None  # the bowl the previous clause took its object out of ("in its place")
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
                raise GoalParseError(f"I don't understand {quote(w)} in {quote(text.strip())}",
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
                raise GoalParseError(f"'{qual} {word}' mixes one and many", f"say '{qual} {word}s'")
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
        try:
            last_kind = self.parts(items[-1])[1] if not _RELATIONAL.search(items[-1]) else None
        except GoalParseError:  # "… and all the balls": a group, read below
            last_kind = None
        out = []
        for it in items:
            last = it.split()[-1]
            if re.match(r"^(?:all|every|each|both|two|three|four|five|six|[2-6]|the\s+(?:two|three|four|five|six|[2-6])|"
                        r"everything)\b", it) or (last in self.kinds and _singular(last) != last):
                sub = self.resolve_group(it, default_kind)  # "all the balls and the cube"
                if sub is not None:
                    for oid in sub:
                        if oid in out:
                            raise GoalParseError(f"{text.strip()!r} names the {name_of(oid)} twice",
                                                 "name each object once")
                    out += sub
                    continue
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
        m = re.fullmatch(r"(?:the\s+)?(?:top|upper|highest|bottom|lower|lowest)\s+(?:cube|block|one)(?:\s+(?:of|in|on)\s+"
                         r"the\s+(?:tower|stack|pile))?|(?:the\s+)?(?:cube|block|one)\s+at\s+the\s+(?:top|bottom)\s+of\s+"
                         r"the\s+(?:tower|stack|pile)", t)
        if m:  # "the top cube of the tower", "the cube at the bottom of the tower"
            return self.tower(top=re.search(r"\b(?:top|upper|highest)\b", t) is not None)
        m = re.fullmatch(r"(?:the\s+)?(?:middle|center|centre)\s+(\w+)", t)
        if m and (m.group(1) in self.kinds or m.group(1) == "one"):  # "the middle cube": between the others
            kind, objs = self.candidates(m.group(1), default_kind)
            ranked = sorted(objs, key=lambda o: o.x)
            if len(ranked) != 3:
                raise AmbiguousGoalError(which(kind, ranked) if len(ranked) > 1 else
                                         f"'{t}': there is only one {kind or 'object'}", "name its colour")
            if min(ranked[1].x - ranked[0].x, ranked[2].x - ranked[1].x) < 0.05:
                raise AmbiguousGoalError(which(kind, ranked), "they are about as far left: name its colour")
            return ranked[1].id
        m = re.fullmatch(r"(?:the\s+)?other\s+(\w+)", t)
        if m:  # other than this clause's first object, else than the previous clause's
            kind, objs = self.candidates(m.group(1), default_kind)
            other_than = [self.current] if self.current else [self.it, *(self.them or [])]
            rest = [o for o in objs if o.id not in other_than]
            if other_than == [None] or len(rest) != 1:
                if len(rest) > 1:
                    raise AmbiguousGoalError(which(kind, rest), "name its colour")
                raise GoalParseError(f"{t!r}: there is no other {kind or 'object'} to refer to", "name the object")
            return rest[0].id
        m = re.fullmatch(r"(?:the\s+)?(leftmost|rightmost|frontmost|backmost|rearmost|far left|far right|"
                         r"left|right|front|back|far|near)\s+(\w+)", t)
        if m and m.group(2) in self.kinds or m and m.group(2) in ("one",):
            return self._extreme(*self.candidates(m.group(2), default_kind), _SIDE_WORDS[m.group(1)], t)
        m = re.fullmatch(r"(.+?)\s+(?:that is\s+|which is\s+)?(?:(?:on|to|at|in)\s+(?:the\s+)?(?:far\s+)?"
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
                                                r"backmost|rearmost|top|upper|highest|bottom|lower|lowest|"
                                                r"middle)\b", t) or re.match(
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


def quote(text: str, limit: int = 80) -> str:
    """``text`` quoted for an error message, cut to ``limit`` characters."""
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def name_of(oid: str) -> str:
    return oid.replace("_", " ")
