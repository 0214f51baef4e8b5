"""Goal text as people type it → the plain phrasing the clause grammar of ``goals.py`` reads.

One deterministic pass, no model: checks (control characters, length), lower case,
punctuation, politeness and filler words ("please", "can you", "first", "too", "a bit"),
common typos (one edit on words of 5+ letters against the grammar's vocabulary), verb
phrases that mean *put* ("pick up X and place it …", "grab X and put it …"), and tower
descriptions ("a tower with X at the bottom, then Y, then Z", "stack them red, green,
blue from the bottom"), which become the stack clauses they mean. Nothing here guesses:
a word it does not know is left for the grammar to refuse, and a tower whose order is not
said is a question back.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata

from spiral.errors import AmbiguousGoalError, GoalParseError
from spiral.worlds.tabletop.actions import phrases
from spiral.worlds.tabletop.scene import COLORS

MAX_GOAL_CHARS = 2000

# Politeness and filler: removed wherever they stand (longest first, whole words only).
FILLERS = (
    "i would like you to", "i'd like you to", "i want you to", "i need you to", "i'd like to", "i would like to",
    "i want to", "would you mind", "could you please", "can you please", "would you please", "could you",
    "can you", "would you", "will you", "can u", "could u", "go ahead and", "try to", "let's", "lets", "let us",
    "one after the other", "one after another", "one by one", "one at a time", "a little bit", "a little", "a bit",
    "as well", "thank you", "for me", "please", "pls", "plz", "kindly", "thanks", "too", "slightly", "carefully",
    "gently", "quickly", "just", "simply", "also", "okay", "ok", "hey", "hi", "hello", "alright", "robot",
    "first of all", "to start", "right now", "now", "first", "again", "i want", "i'd like", "i would like",
    "i need", "make sure", "once more", "as well please", "thx", "ty", "cheers", "thank u",
    "what i'd like is for you to", "what i would like is for you to", "what i want is for you to",
    "i'd love you to", "i'd love it if you could", "if you can", "if you could", "if possible",
)
# sequencing words that start a new clause: they become ", then"
SEQUENCERS = ("after that", "afterwards", "and next", "and finally", "finally", "lastly", "and last", "next",
              "secondly", "second", "thirdly", "third", "fourth")

_GERUNDS = {"putting": "put", "placing": "place", "stacking": "stack", "moving": "move", "pushing": "push",
            "sliding": "slide", "swapping": "swap", "dropping": "drop", "taking": "take", "setting": "set"}
_PUT_LIKE = r"(?:pick\s+up|pick|grab|take|lift|get|hold|carry)"
_NP = r"((?:(?!\b(?:in|into|on|onto|to|next|beside|near|and|then|out|off)\b)[^,])+?)"
_PUT_THEN = r"(?:put|place|set|drop|stack|lay|move|leave|deposit)"


@functools.lru_cache(maxsize=1)
def vocabulary() -> frozenset[str]:
    """Every word the goal grammar knows (typo correction snaps to these only)."""
    from spiral.worlds.tabletop.goal_parse import VERBS  # the grammar's own verb list

    words = set(COLORS) | set(VERBS)
    p = phrases()
    for kind_words in p["kinds"].values():
        for w in kind_words:
            words |= {w, w + "s", w + "es"}
    for group in ("directions", "regions"):
        for texts in p[group].values():
            for t in texts:
                words |= set(t.split())
    for texts in p["actions"].values():
        for t in texts:
            words |= {w for w in re.findall(r"[a-z]+", t) if w not in ("a", "b", "dir", "region")}
    for f in FILLERS + SEQUENCERS:
        words |= set(f.split())
    from spiral.worlds.tabletop.goal_parse import _DIR_WORDS

    for d in _DIR_WORDS:
        words |= set(d.split())
    words |= {"clean", "whole", "entire", "bases"}
    words |= {"the", "a", "an", "of", "and", "then", "to", "in", "into", "inside", "on", "onto", "top", "atop", "at", "by", "next", "beside", "near", "close", "over", "left", "right", "front", "back", "center", "centre", "middle", "far", "bottom", "base", "corner", "side", "half", "part", "area", "table", "it", "them", "they", "its", "both", "all", "every", "each", "everything", "two", "three", "four", "five", "six", "one", "ones", "other", "tower", "stack", "pile", "cube", "block", "ball", "sphere", "bowl", "container", "basket", "object", "objects", "thing", "things", "closest", "nearest", "furthest", "farthest", "leftmost", "rightmost", "frontmost", "backmost", "rearmost", "under", "below", "beneath", "above", "out", "off", "from", "remove", "empty", "clear", "away", "toward", "towards", "forward", "forwards", "backward", "backwards", "leftward", "rightward", "camera", "positions", "position", "exchange", "switch", "swap", "with", "followed", "order", "going", "up", "down", "first", "second", "third", "last", "place", "places", "sits", "sitting", "lying", "standing", "that", "which", "is", "are", "whole", "entire"}
    return frozenset(words)


def _edits1(a: str, b: str) -> bool:
    """``a`` and ``b`` differ by one insertion, deletion, substitution or swap of neighbours."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1:]


# Common English words of 5+ letters the grammar does not use: never "corrected" into one
# it does ("there" is not a typo of "three", nor "where" of "white").
COMMON_WORDS = frozenset(str.split("""
    there where their these those which while whose would could should about after again before being between
    other never maybe unless without think thing things around behind along among doesn't shall might since
    until still every something anything nothing someone really doing going where's whats there's here's
    above below under inside outside could've would've wants wanted needs needed makes moved moves putting
    placing stacking moving pushing taking getting leave leaving stays stay stand sitting point lower upper
    range world least cover parts starts
    """))


# Short words: only a dropped letter of a colour, a kind or a main verb is restored ("bal",
# "stak", "blu", "gren"), with the same first letter and one candidate, and never when the
# short word is an English word itself ("can" is not "cyan", "bow" not "bowl"); plus the
# commonest slips of "the" and "and".
_SHORT_TARGETS = ("red", "blue", "cyan", "green", "white", "ball", "balls", "bowl", "bowls", "cube", "cubes",
                  "block", "blocks", "stack", "place", "swap", "push", "move")
_SHORT_ENGLISH = frozenset(("bow", "cub", "cue", "bloc", "bock", "can", "sack", "tack", "pace", "lace", "sap",
                            "pus", "moe", "cues", "bows", "owls"))
_SHORT_SLIPS = {"teh": "the", "hte": "the", "tge": "the", "adn": "and", "nad": "and", "inot": "into",
                "itno": "into"}


def _fix_short(word: str) -> str:
    if word in _SHORT_SLIPS:
        return _SHORT_SLIPS[word]
    if len(word) < 3 or word in _SHORT_ENGLISH or word in vocabulary():
        return word
    cands = [w for w in _SHORT_TARGETS if len(w) == len(word) + 1 and w[0] == word[0]
             and any(w[:i] + w[i + 1:] == word for i in range(len(w)))]
    return cands[0] if len(cands) == 1 else word


def fix_typo(word: str) -> str:
    """``word`` itself when known; a short word (under 5 letters) only with a dropped letter
    restored (see ``_fix_short``); else the single known word one edit away, preferring one
    with the same first letter (a typo with two such candidates is left alone for the
    grammar to refuse)."""
    vocab = vocabulary()
    if len(word) < 5 and word.isalpha():
        return _fix_short(word)
    if len(word) < 5 or word in vocab or word in COMMON_WORDS or not word.isalpha():
        return word
    cands = sorted(w for w in vocab if len(w) >= 4 and _edits1(word, w))
    if len(cands) > 1:  # typos rarely hit the first letter: "yelow" is yellow, not below
        cands = [w for w in cands if w[0] == word[0]]
    return cands[0] if len(cands) == 1 else word


def check_text(goal: str) -> None:
    """Refuse what is not a goal a person typed: empty, too long, control characters."""
    if not goal or not goal.strip():
        raise GoalParseError("the goal is empty", 'give a goal, e.g. spiral run "put the red cube in the blue bowl"')
    if len(goal) > MAX_GOAL_CHARS:
        raise GoalParseError(f"the goal is longer than {MAX_GOAL_CHARS} characters", "shorten the goal")
    bad = sorted({f"U+{ord(ch):04X}" for ch in goal
                  if ch not in "\t\n\r" and unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs")})
    if bad:
        raise GoalParseError(f"the goal contains control or invisible characters ({', '.join(bad[:5])})",
                             "type the goal as plain text")


def _strip_fillers(text: str) -> str:
    for f in SEQUENCERS:
        text = re.sub(rf"(?:^|,?\s+)\b{re.escape(f)}\b(?!\s+to\b),?", ", then ", text)
    alt = "|".join(re.escape(f) for f in sorted(FILLERS, key=len, reverse=True))
    text = re.sub(rf"\b(?:{alt})\b", " ", text)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s+,", ",", text)
    text = re.sub(r"(?:,\s*)+(?=,)", "", text)
    text = re.sub(r"(,\s*then\s*)+", ", then ", text)
    text = re.sub(r"\bthen\s*,?\s*then\b", "then", text)
    return text.strip(" ,")


def _put_verbs(text: str) -> str:
    """"pick up X and place it on Y" / "grab X and put it in Y" → "put X on Y"; "give X a
    push to the left" → "push X to the left"; "can X go in Y" → "X in Y"."""
    text = re.sub(r"\bgive\s+(.+?)\s+(?:an?\s+)?(push|nudge|shove)\b", r"\2 \1", text)
    # "make the green cube (to) go on the blue cube", "have the ball end up in the bowl" → "put …"
    text = re.sub(r"\b(?:make|have|let|get)\s+(.+?)\s+(?:to\s+)?(?:go|move|sit|end\s+up|be|get)\s+"
                  r"(?=(?:in|into|inside|on|onto|on\s+top\s+of|next\s+to|beside|near)\b)", r"put \1 ", text)
    # "move X so that it is next to Y" → "move X next to Y"
    text = re.sub(r"\s+so\s+(?:that\s+)?(?:it|they)\s+(?:is|are|ends?\s+up|sits?|stands?)\s+", " ", text)
    text = re.sub(r"(^|,\s*(?:then\s+)?)(?:can|could|would|will|should)\s+(?=the\b|both\b|all\b|it\b)", r"\1", text)
    # "would you mind putting the ball in the bowl" (the filler is gone): the verb itself
    text = re.sub(r"(^|,\s*(?:then\s+)?|\band\s+(?:then\s+)?)(putting|placing|stacking|moving|pushing|sliding|swapping|"
                  r"dropping|taking|setting)\b", lambda m: m.group(1) + _GERUNDS[m.group(2)], text)
    text = re.sub(rf"\b{_PUT_LIKE}\s+{_NP}(?:\s+up)?\s*,?\s+and\s+(?:then\s+)?{_PUT_THEN}\s+it\b", r"put \1", text)
    text = re.sub(r"\bpick\s+(.+?)\s+up\b(?=\s+(?:and|,|then|$))", r"pick up \1", text)
    return text


# -- towers -----------------------------------------------------------------------------
# the cubes a tower is made of, when said: "all three cubes", "the four blocks", "them"
_GROUP = (r"(?:them|those|these|(?:all\s+)?(?:of\s+)?(?:the\s+)?(?P<count>two|three|four|both|2|3|4)?\s*"
          r"(?:cubes|blocks))(?:\s+up)?")
_TOWER_INTRO = re.compile(r"(?:^|\b(?:make|build|create|form|stack|assemble|construct|pile)\s+)"
                          r"(?:up\s+)?(?:(?:a|the|one|me a)\s+)?(?:tower|stack|pile)\s*"
                          rf"(?:(?:(?:out\s+)?of|with|using|from)\s+{_GROUP}\s*,?\s*(?:with\s+)?|"
                          r"(?:with|of|using|from|,))?\s*")
_STACK_INTRO = re.compile(rf"\b(?:stack|pile)\s+(?:up\s+)?(?:{_GROUP})?\s*,?\s*"
                          r"(?:with|in the order|in this order|as|like this|so that|so)?\s*[:,]?\s*")
_BOTTOM = r"(?:(?:at|on|as)\s+the\s+(?:bottom|base)|(?:at|on)\s+bottom|first|as\s+the\s+base|bottom|base)"
_TOP = r"(?:(?:at|on)\s+(?:the\s+)?top(?:\s+of\s+(?:it|that|them))?|last|top)"
_MIDDLE = r"(?:in\s+the\s+middle|middle|(?:on|above|below|under|beneath)\s+(?:it|that|them)|on\s+top\s+of\s+(?:it|that)|next|after that|over it)"
_ITEM_SEP = re.compile(r"\s*(?:,\s*(?:and\s+)?(?:then\s+|followed\s+by\s+|after\s+that\s+)?|\s+(?:and\s+)?then\s+|\s+followed\s+by\s+|\s+and\s+)\s*")
_ORDER_TAIL = re.compile(r"\s*,?\s*(?:going\s+|in\s+order\s+)?(?:(?:from|starting\s+(?:at|from|with))\s+(?:the\s+)?"
                         r"(bottom|top)(?:\s+(?:up|down|upward|upwards|downward|downwards))?|(bottom|top)\s+to\s+(?:the\s+)?"
                         r"(?:top|bottom)|(bottom|top)\s+first|(bottom|top)\s+up)\s*$")
_VERB_START = re.compile(r"^(?:put|place|stack|swap|switch|exchange|move|push|slide|shove|nudge|clear|empty|drop|set|"
                         r"pick|make|build|get|bring|take|grab|lift|remove)\b")


def _tower_items(rest: str) -> tuple[list[str], str, str | None]:
    """Items of a tower description (as written), the text after it, and the order said
    ("bottom" when the first item is the bottom, "top" when it is the top, else None)."""
    bounds, start = [], 0
    for m in _ITEM_SEP.finditer(rest):
        bounds.append((start, m.start()))
        start = m.end()
    bounds.append((start, len(rest)))
    items: list[str] = []
    order = None
    after = ""
    for i, (s0, s1) in enumerate(bounds):
        p = rest[s0:s1].strip(" ,")
        if not p or _VERB_START.match(p) or len(p.split()) > 7:
            after = rest[s0:]
            break
        m = _ORDER_TAIL.search(p)
        tail_order = None
        if m:
            tail_order = next(g for g in m.groups() if g)
            p = p[: m.start()].strip()
        if re.search(rf"\s*{_BOTTOM}$", p):
            order = order or ("bottom" if not items else "top")
            p = re.sub(rf"\s*{_BOTTOM}$", "", p)
        elif re.search(rf"\s*{_TOP}$", p):
            order = order or ("top" if not items else "bottom")
            p = re.sub(rf"\s*{_TOP}$", "", p)
        p = re.sub(rf"\s*{_MIDDLE}$", "", p).strip()
        colours = p.split()
        if len(colours) > 1 and all(c in COLORS for c in colours):  # "red green blue"
            items += colours[:-1]
            p = colours[-1]
        if not p and tail_order and items:  # "red, green and blue, bottom to top"
            order = tail_order
            after = rest[bounds[i + 1][0]:] if i + 1 < len(bounds) else ""
            break
        if len(p.split()) > 4 or not p:
            after = rest[s0:]
            break
        items.append(p)
        if tail_order:
            order = tail_order
            after = rest[bounds[i + 1][0]:] if i + 1 < len(bounds) else ""
            break
    return items, after.strip(" ,"), order


def _rewrite_tower(text: str, cube_colours: tuple[str, ...] | None = None) -> str:
    """"a tower with the red cube at the bottom, then green, then blue" → "stack green on
    the red cube, then stack blue on green"; an order that is not said is asked for."""
    for intro in (_TOWER_INTRO, _STACK_INTRO):
        for m in intro.finditer(text):
            items, after, order = _tower_items(text[m.end():])
            if len(items) < 2 or (intro is _STACK_INTRO and order is None):
                continue
            count = {"both": 2, "two": 2, "three": 3, "four": 4}.get(m.group("count") or "", m.group("count"))
            named = [next((c for c in COLORS if re.search(rf"\b{c}\b", it)), None) for it in items]
            rest = [c for c in (cube_colours or ()) if c not in named]
            if count is not None and int(count) == len(items) + 1 == 3 and order is not None and None not in named \
                    and len(cube_colours or ()) == 3 and len(rest) == 1:
                items = [items[0], rest[0], items[1]]  # "all three cubes: orange at the bottom, purple on top"
            if count is not None and int(count) != len(items):
                if int(count) > len(items) and order is not None:  # "a tower of the three cubes, yellow at the
                    raise AmbiguousGoalError(                       # bottom, blue on top": the middle is not said
                        f"which cube goes where in the tower of {count}: the goal places only "
                        f"{' and '.join(items)}?", "name every cube of the tower from the bottom, e.g. 'build a "
                        f"tower with {items[0]} at the bottom, then …, then {items[-1]}'")
                continue
            if any(re.search(r"\b(?:all|every|cubes|blocks|them)\b", it) for it in items):
                continue
            if order is None:
                raise AmbiguousGoalError(
                    f"which cube goes at the bottom of the tower: {' or '.join(items)}?",
                    f"say e.g. 'build a tower with {items[0]} at the bottom, then {', then '.join(items[1:])}'")
            if order == "top":
                items = items[::-1]
            stacks = [f"stack {a} on {b}" for b, a in itertools.pairwise(items)]
            head = text[: m.start()].rstrip(" ,")
            out = ", then ".join([x for x in (head, *stacks, after) if x])
            return re.sub(r"(?:,\s*then\s+)?\bthen\s*,\s*then\b", ", then", out)
    return text


def normalize(goal: str, cube_colours: tuple[str, ...] | None = None) -> str:
    """The goal in the grammar's plain phrasing (see the module doc). ``cube_colours``, the
    colours of the scene's cubes, lets "a tower of the three cubes, red at the bottom, blue
    on top" name its middle cube (the one not named)."""
    check_text(goal)
    t = unicodedata.normalize("NFKC", goal).lower()
    t = "".join(" " if unicodedata.category(ch) == "So" or "\ufe00" <= ch <= "\ufe0f" else ch
                for ch in t)  # emoji and other symbols, and their variation selectors
    t = t.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    t = re.sub(r"\s*(?:->|=>|-->|\u2192|\u21d2|\u27a1)\s*", " to ", t)  # "white ball -> orange bowl"
    t = re.sub(r"\binside\s+of\b", "inside", t)  # "put the red ball inside of the bowl"
    t = re.sub(r"[\"`*_(){}<>]", " ", t)
    t = re.sub(r"\s*[\u2013\u2014]\s*|\s+-\s+", ", ", t)
    t = re.sub(r"[!?]+", ".", t)
    t = re.sub(r"\.{2,}", ".", t)
    t = re.sub(r"\s+", " ", t).strip()
    t = re.sub(r"\b(that|which|what|it|where)'s\b", r"\1 is", t).replace(":", ",")
    words = re.split(r"(\W+)", t)
    t = "".join(fix_typo(w) if w.isalpha() else w for w in words)
    # sentences → clauses; fillers out
    t = re.sub(r"\.\s+", ", then ", t).rstrip(". ")
    if re.search(r"\b(?:tower|stack|pile)\b", t):  # "stack them: red first, then …": "first" is the bottom here
        t = re.sub(rf"\b({'|'.join(COLORS)}|cube|block|one)\s+first\b", r"\1 at the bottom", t)
    t = _strip_fillers(t)
    t = re.sub(r"^(?:and\s+)?then\b\s*,?\s*|^so\b\s*,?\s*", "", t)
    t = re.sub(r",?\s+(?:both|all|all three|all two)\s+of\s+them$", "", t)  # "put the balls in the bowl, both of them"
    t = _put_verbs(t)
    t = _rewrite_tower(t, cube_colours)
    # what the fillers leave behind: "… on the blue cube please and thank you" → "… and"
    t = re.sub(r"(?:,?\s+\band\b)+\s*$", "", t.strip(" ,"))
    t = re.sub(r"^(?:and\b\s*)+", "", t)
    return t.strip(" ,")


__all__ = ["FILLERS", "MAX_GOAL_CHARS", "check_text", "fix_typo", "normalize", "vocabulary"]
