"""Goal text → clauses: the grammar of the tabletop world's goals.

The text is first brought to a plain phrasing (:mod:`goal_text`: fillers, typos, tower
descriptions), then split into clauses (", then", "and then", sentences, "and" before a
verb, one clause's "X in Y and Z next to W"); each clause is read by the first shape that
fits and whose noun phrases resolve (:mod:`goal_refs`). A clause is data; expanding it
into sub-actions is :mod:`goals`' work.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from spiral.core.types import C
from spiral.errors import AmbiguousGoalError, GoalParseError, ImpossibleGoalError, SpiralError, UnknownObjectError
from spiral.worlds.tabletop.goal_refs import Resolver, _kind_words, name_of, quote, which
from spiral.worlds.tabletop.predicates import holds
from spiral.worlds.tabletop.scene import COLORS, Scene

VERBS = ("put", "place", "stack", "swap", "switch", "exchange", "move", "push", "slide", "shove",
         "nudge", "clear", "empty", "drop", "set", "pick", "make", "build", "pile", "get", "bring",
         "take", "remove", "grab", "lift", "throw", "pop")
_VERB_RE = "|".join(VERBS)
NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "2": 2, "3": 3, "4": 4, "5": 5, "6": 6}
OPPOSITE = {"left": "right", "right": "left", "back": "front", "front": "back"}


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
    "towards the back": "back", "to the back": "back", "up": "back", "away from the camera": "back",
    "away from you": "back", "toward you": "front", "towards you": "front",
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
    res.current = None
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


Clauses = list[dict[str, Any]]


def _parse_special(t: str, res: Resolver, scene: Scene) -> Clauses | None:
    """Clauses the plain grammar has no shape for: stacking "both" cubes, taking objects
    out, emptying a bowl, swapping "the two balls", groups of subjects, moving "the tower"."""
    for shape in (_stack_count, _on_the_table, _take_out, _empty_bowl, _swap_group, _group, _whole_tower):
        out = shape(t, res, scene)
        if out is not None:
            return out
    return None


def _stack_count(t: str, res: Resolver, scene: Scene) -> Clauses | None:
    """"stack both cubes", "stack the two blocks"."""
    m = re.match(r"^(?:stack|pile)(?:\s+up)?\s+(?:the\s+)?(both|two|three|four)(?:\s+of\s+the)?\s+(?:cubes|blocks)"
                 r"(?:\s+(?:into|in|to make)\s+(?:a|one)\s+(?:tower|stack|pile))?$", t)
    if m:
        return [_clause("stack_all", count=NUMBERS.get(m.group(1), 2))]
    return None


def _on_the_table(t: str, res: Resolver, scene: Scene) -> Clauses | None:
    """"put the red cube back on the table": out of its bowl or off its cube."""
    m = re.match(r"^(?:put|place|set|move|take|bring|lay)\s+(.+?)\s+(?:back\s+|down\s+)?(?:on|onto|to)\s+the\s+table$", t)
    if m:
        out = []
        for oid in res.resolve_many(m.group(1)):
            if holds(C("on_table", oid), res.state()):
                raise ImpossibleGoalError(f"the {name_of(oid)} is already on the table",
                                          "say where on the table, e.g. 'move it to the left side'")
            out.append(_clause("take_out", subject=oid))
        return out
    return None


def _take_out(t: str, res: Resolver, scene: Scene) -> Clauses | None:
    """"take X out (of Y)", "take X off (Y)", "remove X from Y", "take out X"."""
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
    return None


def _empty_bowl(t: str, res: Resolver, scene: Scene) -> Clauses | None:
    """"empty the bowl": each object in it taken out."""
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
    return None


def _swap_group(t: str, res: Resolver, scene: Scene) -> Clauses | None:
    """"swap the two balls", "swap them"."""
    m = re.match(r"^(?:swap|switch|exchange)\s+(?:the\s+)?(?:positions?\s+of\s+|places\s+of\s+)?(.+?)"
                 r"(?:\s+around|\s+over)?$", t)
    if m and not re.search(r"\s(?:and|with)\s", m.group(1)):
        group = res.resolve_group(m.group(1))
        if group is not None:
            if len(group) != 2:
                raise GoalParseError(f"a swap takes two objects; {m.group(1)!r} names {len(group)}",
                                     "name the two objects, e.g. 'swap the red ball and the green ball'")
            return [_clause("swap", a=group[0], b=group[1])]
    return None


def _group(t: str, res: Resolver, scene: Scene) -> Clauses | None:
    """Several subjects, one target: "put both balls in the bowl", "push them left"."""
    m = re.match(rf"^({_MOVE_VERBS})\s+(.+?)\s+({_PREP}\s+.+|{_DIRS_RE})$", t)
    if m and m.group(1) != "stack":
        subj = m.group(2)
        group = None
        if not re.match(r"^(?:all|every|each)\s", subj) or re.match(r"^all\s+(?:two|three|four)\b", subj) \
                or re.search(r"\s+and\s+|,", subj):  # "all the balls and the cube"
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
    return None


def _whole_tower(t: str, res: Resolver, scene: Scene) -> Clauses | None:
    """"move the tower …" is refused: the planner moves one cube at a time."""
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
        res.current = a
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
    if m and not re.search(r"\b(?:the\s+)?(?:left|right|front|back)\s+(?:side|half|part)", t) \
            and not re.match(r"move\s.+\sto\s+the\s+(?:left|right|front|back)$", t):  # a place, not a push
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
            res.current = a
            ref = res.resolve(b_text, scene.get(a).kind)
        except (GoalParseError, UnknownObjectError) as e:
            errors.append(e)
            continue
        if ref == a:
            raise GoalParseError(f"cannot move the {scene.get(a).name} next to itself", "name another object")
        return _clause("next_to", subject=a, ref=ref)
    m = re.match(r"^(?:put|place|drop|move|set|get|throw|pop|stick)\s+(.+?)\s+(?:back\s+)?(?:in|into|inside)$", t)
    if m:  # "…, then put the blue cube in": in the bowl just named, else the only bowl
        bowl = _bowl_meant(res, scene, None)
        if bowl is None:
            bowls = [o for o in res.state().objects if o.kind == "bowl"]
            if len(bowls) > 1:
                raise AmbiguousGoalError(which("bowl", bowls), "name the bowl, e.g. 'in the "
                                         f"{bowls[0].name}'")
        else:
            try:
                return _clause("put_in", subject=res.resolve(m.group(1)), bowl=bowl)
            except (GoalParseError, UnknownObjectError) as e:
                errors.append(e)
    for a_text, b_text in _binary(t, "put|place|drop|move|set|get|throw", "in|into|inside|in to"):
        try:
            a = res.resolve(a_text)
            bowl = _bowl_meant(res, scene, a_text) if b_text.strip() in ("it", "that", "that one") else None
            if b_text.strip() in ("its place", "its spot", "its stead") and res.vacated is not None:
                bowl = res.vacated  # "take the ball out of the bowl and put the cube in its place"
            return _clause("put_in", subject=a, bowl=bowl or res.resolve(b_text, "bowl"))
        except (GoalParseError, UnknownObjectError) as e:
            errors.append(e)
    for a_text, ref_text in _binary(t, "put|place|stack|set|move|drop", "on top of|onto|on to|on|atop"):
        try:
            a = res.resolve(a_text)
            res.current = a
            if re.fullmatch(r"(?:the\s+)?(?:whole\s+|entire\s+|new\s+)?(?:tower|stack|pile)", ref_text.strip()):
                return _clause("stack", subject=a, ref=res.tower(top=True))
            return _clause("stack", subject=a, ref=res.resolve(ref_text, scene.get(a).kind))
        except (GoalParseError, UnknownObjectError) as e:
            errors.append(e)
    for a_text, b_text in _binary(t, "put|place|drop|move|set|bring|get|take|slide", "to|over to"):
        try:  # "move it to the yellow bowl", "white ball -> orange bowl": into it (a last reading: its
            a = res.resolve(a_text)  # errors do not replace those of the readings above)
            b = res.resolve(b_text, "bowl")
        except (GoalParseError, UnknownObjectError):
            continue
        if scene.get(b).kind == "bowl" and scene.get(a).kind != "bowl":
            return _clause("put_in", subject=a, bowl=b)
    if errors:
        raise errors[0]
    raise GoalParseError(
        f"I can't parse {quote(t)}",
        "supported goals: put X in Y, stack X on Y, stack all the cubes, swap X and Y, put every "
        "ball in the bowl, move X next to Y, push X left/right/forward/back, move X to the left side, "
        "clear the left half of the table; join several with ', then'")


def _bowl_meant(res: Resolver, scene: Scene, subject_text: str | None) -> str | None:
    """The bowl "in it" (or a bare "in") means when "it" is not a bowl: the one bowl the
    clause's own subject phrase names ("the ball closest to the green bowl … in it"), else
    the bowl the previous clause put something in or took something out of ("put the cube
    in the bowl, then the ball in it too"), else the scene's only bowl; ``None`` when none
    of these is one bowl (the grammar then reads the text as it stands)."""
    if res.it is not None and scene.get(res.it).kind == "bowl" and subject_text is not None:
        return res.it
    if subject_text:
        named = set()
        for m in re.finditer(r"(?:(\w+)\s+)?(?:bowl|container|basket)\b", subject_text):
            try:
                named.add(res.resolve(f"the {m.group(0)}", "bowl"))
            except SpiralError:
                return None
        if len(named) == 1:
            return named.pop()
        if named:
            return None
    if res.bowl is not None:
        return res.bowl
    bowls = [o.id for o in scene.objects if o.kind == "bowl"]
    return bowls[0] if len(bowls) == 1 else None


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
    text = re.sub(r"\s+(?:is|are|should be|must be|ends? up|goes|go|sits?|stacked|placed|put|moved|standing|sitting)"
                  r"(?=\s+(?:in|into|inside|on|onto|next|beside|near|at)\b)", "", text)
    pm = _TARGETED.match(prev) if prev else None
    if pm is not None:
        cut = _np_split(res, prev[len(pm.group(1)) + 1:])
        target = cut[1] if cut else pm.group(3)
        own = _np_split(res, text)
        if own is None or not re.match(r"(?:next to|beside|near|close to|by)\b", own[1]):
            # "…, then the blue ball next to the cube" has its own target: "next to" there is
            # where to put it, not which ball (the one closest to the cube) to put in the bowl
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


def _merge_pickups(clauses: list[str], res: Resolver) -> list[str]:
    """"take X" followed by "put it in Y" is one clause: "put X in Y" (for an X the text
    cut of ``goal_text`` could not take whole, like "the cube on top of the green one")."""
    out: list[str] = []
    for c in clauses:
        m = re.match(r"^(?:put|place|set|drop|stack|move|lay|leave)\s+it\b\s*(.*)$", c)
        pm = re.match(r"^(?:pick\s+up|pick|grab|take|lift|get|hold|carry)\s+(.+?)(?:\s+up)?$", out[-1]) if out else None
        if m and pm and not re.search(r"\b(?:out|off)$", pm.group(1)):
            try:
                res.resolve_many(pm.group(1))
            except SpiralError:
                pm = None
        if m and pm and not re.search(r"\b(?:out|off)$", pm.group(1)):
            out[-1] = f"put {pm.group(1)} {m.group(1)}".strip()
        else:
            out.append(c)
    return out


def _topic(text: str, res: Resolver) -> bool:
    """A first clause that only names objects ("the red ball, put it in the bowl") is what
    "it" / "them" mean next; nothing is planned for it."""
    if re.match(rf"^(?:{_VERB_RE}|take|grab|lift|remove)\b", text) or re.search(rf"\s(?:{_PREP})\s", text):
        return False
    try:
        ids = res.resolve_many(text)
    except SpiralError:
        return False
    res.it, res.them = ids[-1], (ids if len(ids) > 1 else res.them)
    return True


def parse_goal(goal: str, scene: Scene) -> list[dict[str, Any]]:
    """Clauses of ``goal`` in ``scene`` (object names resolved to ids). The text is first
    brought to the grammar's plain phrasing (:func:`~spiral.worlds.tabletop.goal_text.normalize`)."""
    from spiral.worlds.tabletop.goal_text import normalize
    from spiral.worlds.tabletop.goals import plan_clauses  # expansion imports this module

    text = normalize(goal, tuple(o.color for o in scene.objects if o.kind == "cube"))
    clauses: list[dict[str, Any]] = []
    cache: dict[int, Scene] = {}

    def state() -> Scene:  # the scene as the clauses parsed so far leave it
        if len(clauses) not in cache:
            cache[len(clauses)] = plan_clauses(scene, copy.deepcopy(clauses))[2] if clauses else scene
        return cache[len(clauses)]

    res = Resolver(scene, state)
    prev = None
    for c in _merge_pickups(split_clauses(text), res):
        if prev is None and _topic(c, res):  # "the red ball, put it in the bowl"
            continue
        c = _with_verb(c, prev, res)
        prev = c
        for part in split_coordination(c, res):
            new = parse_clause(part, res, scene)
            before = state()
            clauses += new
            res.vacated = None
            for cl in new:  # the bowl "in it" / a bare "in" / "in its place" may mean next
                if cl["kind"] in ("put_in", "put_every"):
                    res.bowl = cl["bowl"]
                elif cl["kind"] == "take_out" and before.get(cl["subject"]).in_ is not None:
                    res.bowl = res.vacated = before.get(cl["subject"]).in_
            # "…, then move it …" / "…, then put the ball next to it": "it" is what the previous clause
            # acted on (not its bowl or reference, nor this clause's own subject)
            subjects = [cl.get("subject") or cl.get("a") for cl in new if cl.get("subject") or cl.get("a")]
            res.it = subjects[-1] if subjects else res.it
            if len(subjects) > 1:
                res.them = subjects
            elif new and new[-1]["kind"] == "swap":
                res.them = [new[-1]["a"], new[-1]["b"]]
    if not clauses:
        raise GoalParseError(f"no action found in {quote(goal)}", "say e.g. 'put the red cube in the blue bowl'")
    return clauses
