"""Goal language of the tabletop world: parse a goal into clauses (``goal_parse``, with
``goal_text`` and ``goal_refs``; re-exported here), expand clauses into sub-actions in a
given state (this module).

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

from typing import Any

from spiral.core.types import C, Condition, SubAction
from spiral.errors import ImpossibleGoalError
from spiral.worlds.tabletop.actions import DIRECTIONS, _moving_with, apply, make_action, phrases
from spiral.worlds.tabletop.goal_parse import (
    NUMBERS,
    OPPOSITE,
    VERBS,
    normalize_region,
    parse_clause,
    parse_goal,
    split_clauses,
)
from spiral.worlds.tabletop.goal_refs import Resolver
from spiral.worlds.tabletop.predicates import holds, in_region
from spiral.worlds.tabletop.scene import BOWL_CAPACITY, COLORS, MAX_STACK, Scene


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
        """Add the sub-actions that make one parsed clause hold (none when it holds already)."""
        step = getattr(self, f"_clause_{clause['kind']}", None)
        if step is None:  # pragma: no cover
            raise ValueError(f"unknown clause kind {clause['kind']!r}")
        step(clause)

    def _clause_put_in(self, clause: dict[str, Any]) -> None:
        st = self.state
        a, bowl = clause["subject"], clause["bowl"]
        if st.get(a).in_ == bowl:
            return
        self.clear(a)
        self.add("put_in", a, [bowl])

    def _clause_stack(self, clause: dict[str, Any]) -> None:
        st = self.state
        a, b = clause["subject"], clause["ref"]
        if st.get(a).on == b:
            return
        self.clear(a)
        self.clear(b)
        self.add("stack", a, [b])

    def _clause_next_to(self, clause: dict[str, Any]) -> None:
        st = self.state
        a, b = clause["subject"], clause["ref"]
        if holds(C("next_to", a, b), st) and holds(C("on_table", a), st):
            return
        holder = st.get(b).in_
        if holder is not None:
            raise ImpossibleGoalError(f"the {st.get(b).name} is in the {st.get(holder).name}: nothing can stand "
                                      "next to it there", f"say 'next to the {st.get(holder).name}'")
        self.clear(a)
        self.add("move_next_to", a, [b])

    def _clause_push(self, clause: dict[str, Any]) -> None:
        st = self.state
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

    def _clause_swap(self, clause: dict[str, Any]) -> None:
        st = self.state
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
        # the rest of a swap half done: each object to where the other stood (the prompt says so)
        if not a_done:
            self.add("pick_place", a, target_xy=list(pb),
                     prompt=f"move the {st.get(a).name} to where the {st.get(b).name} was")
        if not b_done:
            self.add("pick_place", b, target_xy=list(pa),
                     prompt=f"move the {st.get(b).name} to where the {st.get(a).name} was")

    def _clause_take_out(self, clause: dict[str, Any]) -> None:
        st = self.state
        a = clause["subject"]
        if holds(C("on_table", a), st):
            return
        self.clear(a)
        self.add("pick_place", a)

    def _clause_place_region(self, clause: dict[str, Any]) -> None:
        st = self.state
        a, region = clause["subject"], clause["region"]
        if holds(C("in_region", a, region=region), st):
            return
        self.clear(a)
        self.add("pick_place", a, region=region)

    def _clause_put_every(self, clause: dict[str, Any]) -> None:
        st = self.state
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

    def _clause_stack_all(self, clause: dict[str, Any]) -> None:
        st = self.state
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

    def _clause_clear_region(self, clause: dict[str, Any]) -> None:
        st = self.state
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
    "NUMBERS",
    "VERBS",
    "Resolver",
    "clause_conditions",
    "normalize_region",
    "parse_clause",
    "parse_goal",
    "plan_clauses",
    "provisional_conditions",
    "split_clauses",
    "unpin_provisional",
]
