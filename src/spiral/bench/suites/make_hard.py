"""Regenerate ActWM-Bench Hard (``actwm-bench-hard.jsonl``) deterministically.

    python -m spiral.bench.suites.make_hard

210 tabletop tasks out of the training distribution *by construction*: every scene holds
7 or 8 objects (ActWM-Dataset-Lite's scenes hold 3 to 6; the palette has 8 colours and
each object needs its own, so 8 is the most a scene can hold with colours the model has
words for), and each category adds what the dataset never shows:

``crowded``   8 objects, 2–4-step goals;
``bowls``     two or three bowls, objects put into different ones;
``under``     a stacked start: the goal's subject is under another cube (the planner
              inserts a clearing step, "move the X cube to the table");
``clearing``  two or more clearing steps (a subject under two cubes, or two subjects
              each under a cube);
``tower``     towers of 4–5 cubes (the dataset's towers stop at 4, its goals at 3);
``chain``     8–12-step chains (the dataset's stop at 6);
``wording``   goals in words the dataset never uses (verbs such as nudge, bring, get,
              throw, pile; atop, leftwards, towards …), all of which the goal parser accepts.

Each task lists its ``features`` (computed from the task, not from its category: a chain
in a two-bowl scene lists ``bowls`` too) and ``movable``. Success conditions and
expectations are as for Lite (provisional pins left out). Scenes come from their own
generator, seeded from a range no dataset split and no Lite task uses, and every kept
task plans the same on the scene perceived from its first frame (what a run's planner
sees) and is solved by the exact simulator under the benchmark's own strict scoring (so a
failure is the generator's or the loop's, not the benchmark's).
"""

from __future__ import annotations

import json
import math
import random
from itertools import pairwise
from pathlib import Path
from typing import Any

from spiral.errors import SpiralError
from spiral.worlds.tabletop.actions import apply
from spiral.worlds.tabletop.goal_gen import random_goal
from spiral.worlds.tabletop.goals import parse_goal, plan_clauses
from spiral.worlds.tabletop.scene import (
    BOWL_CAPACITY,
    BOWL_SLOTS,
    COLORS,
    CUBE_HALF,
    MAX_STACK,
    STACK_DY,
    TABLE_MARGIN,
    Scene,
    SceneObject,
    footprint,
)

BASE = 50_000_000  # scene seeds (a generator of its own): the dataset's default seeds are under 30 000 000, Lite's 40 000 000 on
PER_CATEGORY = 30
DATASET_MAX_OBJECTS = 6  # DatasetSpec.max_objects
DATASET_MAX_STEPS = 6  # DatasetSpec.max_steps
CONNECTOR = ", then "

# category: (objects, bowls, starting tower heights, steps of the random part)
RECIPES: dict[str, dict[str, Any]] = {
    "crowded": {"objects": (8, 8), "bowls": (1, 2), "towers": [(), (2,)], "steps": (2, 4)},
    "bowls": {"objects": (7, 8), "bowls": (2, 3), "towers": [()], "steps": (2, 4)},
    "under": {"objects": (7, 8), "bowls": (1, 2), "towers": [(2,), (2, 2), (3,)], "steps": (0, 2)},
    "clearing": {"objects": (7, 8), "bowls": (1, 2), "towers": [(3,), (2, 2), (3, 2)], "steps": (0, 1)},
    "tower": {"objects": (7, 8), "bowls": (1, 2), "towers": [(), (2,), (3,)], "steps": (0, 0)},
    "chain": {"objects": (7, 8), "bowls": (1, 2), "towers": [(), (2,)], "steps": (8, 12)},
    "wording": {"objects": (7, 8), "bowls": (1, 2), "towers": [(), (2,)], "steps": (1, 4)},
}

# phrasings in words the dataset never uses (checked against the model's vocabulary by the tests)
WORDING = {
    "put_in": ["get the {a} into the {b}", "throw the {a} into the {b}"],
    "stack": ["put the {a} atop the {b}", "set the {a} atop the {b}"],
    "move_next_to": ["bring the {a} beside the {b}", "bring the {a} close to the {b}"],
    "push": ["nudge the {a} {dir}"],
    "pick_place": ["bring the {a} to the {region}", "get the {a} over to the {region}"],
}
WORDING_DIRS = {"left": ["leftwards"], "right": ["rightwards"], "back": ["backwards", "towards the back"],
                "front": ["forwards", "towards the camera", "towards the front"]}
TOWER_GOALS = ("stack all the cubes", "pile up all the cubes", "pile all the cubes into one tower",
               "make a tower of all the cubes", "build a tower with all the cubes")


# -- scenes -----------------------------------------------------------------------------
def hard_scene(rng: random.Random, n: int, n_bowls: int, towers: tuple[int, ...],
               min_cubes: int = 0) -> Scene | None:
    """A crowded scene: ``n`` objects, ``n_bowls`` bowls, towers of the given heights
    (their bases far enough back that a tower of 5 stays in the frame), the rest on the
    table or in a bowl. ``None`` when the objects do not fit."""
    colors = rng.sample(COLORS, n)
    n_tower = sum(towers)
    n_cubes = max(n_tower, min_cubes, rng.randint(n_tower, n - n_bowls))
    n_free = n - n_bowls - n_tower
    kinds = ["bowl"] * n_bowls + ["cube"] * n_tower
    rest = ["cube"] * (n_cubes - n_tower) + ["ball"] * (n - n_bowls - n_cubes)
    if n_free < 0 or len(kinds) + len(rest) != n:
        return None
    rng.shuffle(rest)
    kinds += rest
    placed: list[tuple[float, float, float]] = []
    objects: list[SceneObject] = []

    def spot(kind: str, y_min: float = 0.0) -> tuple[float, float] | None:
        r = footprint(kind)
        lo, hi = r + TABLE_MARGIN, 1 - r - TABLE_MARGIN
        for _ in range(400):
            x, y = rng.uniform(lo, hi), rng.uniform(max(lo + STACK_DY * 3, y_min), hi)
            if all(math.hypot(x - px, y - py) >= r + pr + 0.03 for px, py, pr in placed):
                placed.append((x, y, r))
                return round(x, 4), round(y, 4)
        return None

    it = iter(zip(kinds, colors))
    for _ in range(n_bowls):
        kind, color = next(it)
        xy = spot(kind)
        if xy is None:
            return None
        objects.append(SceneObject(kind=kind, color=color, x=xy[0], y=xy[1]))
    for h in towers:
        base_xy = spot("cube", y_min=0.02 + CUBE_HALF + (MAX_STACK - 1) * STACK_DY)
        if base_xy is None:
            return None
        below = None
        for _ in range(h):
            kind, color = next(it)
            objects.append(SceneObject(kind=kind, color=color, x=base_xy[0], y=base_xy[1], on=below))
            below = objects[-1].id
    bowls = [o for o in objects if o.kind == "bowl"]
    for kind, color in it:
        if bowls and rng.random() < 0.2:
            bowl = rng.choice(bowls)
            used = {o.slot for o in objects if o.in_ == bowl.id}
            free = [s for s in range(BOWL_CAPACITY) if s not in used]
            if free:
                dx, dy = BOWL_SLOTS[free[0]]
                objects.append(SceneObject(kind=kind, color=color, x=round(bowl.x + dx, 4), y=round(bowl.y + dy, 4),
                                           **{"in": bowl.id}, slot=free[0]))
                continue
        xy = spot(kind, y_min=0.02 + CUBE_HALF + (MAX_STACK - 1) * STACK_DY if kind == "cube" else 0.0)
        if xy is None:
            return None
        objects.append(SceneObject(kind=kind, color=color, x=xy[0], y=xy[1]))
    objects.sort(key=lambda o: COLORS.index(o.color))
    scene = Scene(objects=objects)
    return None if scene.layout_problems() else scene


# -- goals ------------------------------------------------------------------------------
def _name(oid: str) -> str:
    return oid.replace("_", " ")


def reworded(step, rng: random.Random) -> str | None:
    """A phrasing of a sub-action in words the dataset never uses (``None``: none for it)."""
    from spiral.worlds.tabletop.actions import phrases

    templates = WORDING.get(step.kind)
    if not templates:
        return None
    if step.kind == "pick_place" and not step.params.get("region"):
        return None
    region = step.params.get("region", "")
    regions = phrases()["regions"].get(region, [""])
    return rng.choice(templates).format(
        a=_name(step.subject), b=_name(step.objects[0]) if step.objects else "",
        dir=rng.choice(WORDING_DIRS.get(step.params.get("direction", ""), [""])), region=rng.choice(regions))


def _under_subjects(scene: Scene) -> list[str]:
    return [o.id for o in scene.objects if scene.above(o.id) is not None]


def _clause_about(subject: str, scene: Scene, rng: random.Random) -> str | None:
    """One clause that moves ``subject`` (a cube under another) somewhere."""
    from spiral.worlds.tabletop.actions import phrases
    from spiral.worlds.tabletop.predicates import REGIONS

    bowls = [o for o in scene.objects if o.kind == "bowl" and len(scene.contents(o.id)) < BOWL_CAPACITY]
    others = [o for o in scene.objects if o.id != subject and o.kind != "bowl" and o.in_ is None
              and scene.get(subject).on != o.id and (o.on != subject)]
    opts = []
    if bowls:
        opts.append(f"put the {_name(subject)} in the {_name(rng.choice(bowls).id)}")
    if others:
        opts.append(f"move the {_name(subject)} next to the {_name(rng.choice(others).id)}")
    opts.append(f"move the {_name(subject)} to the {phrases()['regions'][rng.choice(REGIONS)][0]}")
    return rng.choice(opts)


def _goal(cat: str, scene: Scene, rng: random.Random) -> str | None:
    lo, hi = RECIPES[cat]["steps"]
    if cat == "tower":
        if rng.random() < 0.5:
            return rng.choice(TOWER_GOALS)
        cubes = [o.id for o in scene.objects if o.kind == "cube"]
        rng.shuffle(cubes)
        h = rng.randint(4, min(5, len(cubes)))
        return CONNECTOR.join(f"stack the {_name(a)} on the {_name(b)}" for b, a in pairwise(cubes[:h]))
    if cat in ("under", "clearing"):
        under = _under_subjects(scene)
        if not under:
            return None
        if cat == "clearing":
            deep = [u for u in under if scene.above(u) and scene.above(scene.above(u).id)]
            picks = [rng.choice(deep)] if deep and rng.random() < 0.6 else rng.sample(under, min(2, len(under)))
        else:
            picks = [rng.choice(under)]
        clauses = [_clause_about(p, scene, rng) for p in picks]
        n = rng.randint(lo, hi)
        if n:
            state = scene
            try:
                steps, _, state = plan_clauses(scene, parse_goal(CONNECTOR.join(clauses), scene))
            except SpiralError:
                return None
            more = random_goal(state, rng, n)
            if more is None:
                return None
            clauses.append(more)
        return CONNECTOR.join(clauses)
    if cat == "bowls":
        return random_goal(scene, rng, rng.randint(lo, hi), ("put_in", "put_in", "move_next_to", "push"))
    goal = random_goal(scene, rng, rng.randint(max(lo, 1), hi))
    if goal is None or cat != "wording":
        return goal
    steps, _, _ = plan_clauses(scene, parse_goal(goal, scene))
    texts = [reworded(s, rng) or s.prompt for s in steps]
    return CONNECTOR.join(texts)


# -- features, checks -------------------------------------------------------------------
def model_vocab() -> set[str]:
    """The shipped tiny-ti2v tokenizer's vocabulary: every word of the dataset's prompts."""
    from importlib import resources

    cfg = json.loads(resources.files("spiral.models.tiny_ti2v").joinpath("weights/config.json").read_text())
    return set(cfg["vocab"])


def unseen_words(goal: str, vocab: set[str]) -> list[str]:
    from spiral.models.tiny_ti2v.tokenization_tiny_ti2v import words

    return sorted({w for w in words(goal) if w not in vocab})


def is_clearing(step) -> bool:
    """A step the planner inserted to uncover a cube ("move the X cube to the table")."""
    return step.kind == "pick_place" and step.prompt.endswith("to the table")


def max_tower(scene: Scene) -> int:
    return 1 + max((scene.level(o.id) for o in scene.objects), default=0)


def features(scene: Scene, goal: str, clauses, steps, vocab: set[str]) -> list[str]:
    """What makes a task hard, computed from the task itself."""
    out = []
    if len(scene.objects) > DATASET_MAX_OBJECTS:
        out.append("crowded")
    if sum(o.kind == "bowl" for o in scene.objects) > 1:
        out.append("bowls")
    subjects = {c.get("subject") or c.get("a") for c in clauses} | {c.get("b") for c in clauses}
    if any(s and scene.above(s) is not None for s in subjects):
        out.append("under")
    if any(is_clearing(s) for s in steps):
        out.append("clearing")
    state, tallest = scene, max_tower(scene)
    for s in steps:
        state = apply(state, s)
        tallest = max(tallest, max_tower(state))
    if tallest >= 4:
        out.append("tower")
    if len(steps) > DATASET_MAX_STEPS:
        out.append("chain")
    if unseen_words(goal, vocab):
        out.append("wording")
    return out


def in_frame(scene: Scene, steps) -> bool:
    """Every state of the plan keeps every object (a tower's top cube included) in the frame."""
    state = scene
    for s in [None, *steps]:
        if s is not None:
            state = apply(state, s)
        for o in state.objects:
            if o.y - state.level(o.id) * STACK_DY - footprint(o.kind) < 0.0:
                return False
    return True


def plans_as_seen(scene: Scene, goal: str, steps, size: int = 64) -> bool:
    """Does the goal plan the same on the scene perceived from the rendered first frame
    (what a run's planner sees)? A push that only just fits may not, where perception
    reads an object a pixel off."""
    from spiral.worlds.tabletop.perception import perceive
    from spiral.worlds.tabletop.render import render_scene

    seen = perceive(render_scene(scene, size), known={o.color: o.kind for o in scene.objects}).scene
    if seen is None:
        return False
    try:
        got, _, _ = plan_clauses(seen, parse_goal(goal, seen))
    except SpiralError:
        return False
    return [(s.kind, s.subject, s.objects) for s in got] == [(s.kind, s.subject, s.objects) for s in steps]


def solved_exactly(scene: Scene, goal: str, success, steps, movable: list[str], size: int = 64,
                   frames: int = 12) -> bool:
    """Does the exact simulator's episode pass the benchmark's own strict scoring?"""
    from spiral.agents.perception_critic import PerceptionCritic
    from spiral.bench.metrics import strict_success, task_success
    from spiral.bench.metrics._episode import Episode
    from spiral.worlds.tabletop.render import render_scene
    from spiral.worlds.tabletop.simulate import simulate

    first = render_scene(scene, size)
    segs, st = [], scene
    for a in steps:
        fr, states = simulate(st, a, frames, size)
        segs.append(fr)
        st = states[-1]
    ep = Episode(first=first, segments=segs, registry=PerceptionCritic().observe(first), result={})
    lenient = task_success.compute(ep, success)["task_success"]
    return lenient == 1.0 and strict_success.compute(ep, lenient, movable)["strict_success"] == 1.0


def _accept(cat: str, scene: Scene, steps, feats: list[str]) -> bool:
    n = len(steps)
    if cat == "chain":
        return 8 <= n <= 12
    if cat == "tower":
        return "tower" in feats
    if cat == "bowls":
        return "bowls" in feats and len({s.objects[0] for s in steps if s.kind == "put_in"}) >= 2
    if cat == "under":
        return "under" in feats and "clearing" in feats
    if cat == "clearing":
        return sum(is_clearing(s) for s in steps) >= 2
    if cat == "wording":
        return "wording" in feats
    return n >= 2


DEV_BASE = 60_000_000  # the tuning split's scene seeds: same recipes, other scenes
DEV_PER_CATEGORY = 10


def make(per_category: int = PER_CATEGORY, base: int = BASE, prefix: str = "hard") -> list[dict]:
    from spiral.bench.suites.make_lite import reference_plan
    from spiral.bench.tasks import plan_movable

    vocab = model_vocab()
    tasks: list[dict] = []
    for ci, (cat, recipe) in enumerate(RECIPES.items()):
        made, k = 0, 0
        while made < per_category:  # each category its own seed stream: its first tasks do not
            seed = base + ci * 1_000_000 + k  # depend on how many the others have
            k += 1
            rng = random.Random(f"bench-hard:{seed}")
            scene = hard_scene(rng, rng.randint(*recipe["objects"]), rng.randint(*recipe["bowls"]),
                               rng.choice(recipe["towers"]), min_cubes=4 if cat == "tower" else 0)
            if scene is None:
                continue
            goal = _goal(cat, scene, rng)
            if not goal:
                continue
            ref = reference_plan(scene, goal)
            if ref is None or not in_frame(scene, ref[1]):
                continue
            clauses, plan, conds, loose = ref
            feats = features(scene, goal, clauses, plan, vocab)
            if not _accept(cat, scene, plan, feats):
                continue
            movable = plan_movable(scene, plan)
            if not plans_as_seen(scene, goal, plan) or not solved_exactly(scene, goal, conds, plan, movable):
                continue
            tasks.append({
                "id": f"{prefix}-{cat}-{made:03d}", "goal": goal, "category": cat, "features": feats,
                "horizon": len(plan), "scene": scene.model_dump(by_alias=True, exclude_none=True),
                "seed": ci * 1000 + made,
                "success": [c.model_dump(exclude_none=True) for c in conds],
                "expectations": [{"step": i, "postconditions": [c.model_dump(exclude_none=True)
                                                                for c in s.postconditions if c not in loose]}
                                 for i, s in enumerate(plan)],
                "movable": movable,
            })
            made += 1
    return tasks


def main() -> None:
    """Write the Hard suite, and its development split (``actwm-bench-hard-dev.jsonl``: the
    same recipes on scenes from another seed range, what the loop's policies are tuned on;
    figures are reported on the suite itself, never tuned on)."""
    here = Path(__file__).parent
    for name, tasks in (("actwm-bench-hard", make()),
                        ("actwm-bench-hard-dev", make(DEV_PER_CATEGORY, DEV_BASE, "hard-dev"))):
        (here / f"{name}.jsonl").write_text("".join(json.dumps(t, separators=(",", ":")) + "\n" for t in tasks))
        print(f"wrote {len(tasks)} tasks to {name}.jsonl")


if __name__ == "__main__":
    main()
