"""scene.py: the seeded generator, validation, JSON round trip and load errors."""

from __future__ import annotations

import json
import math

import pytest

from spiral.errors import InputFileError, SpiralError
from spiral.worlds.tabletop.scene import (
    BOWL_CAPACITY,
    BOWL_SLOTS,
    COLORS,
    KINDS,
    MAX_STACK,
    PALETTE,
    Scene,
    SceneObject,
    SceneSpec,
    footprint,
    random_scene,
)

from .helpers import in_bowl, make_scene, obj

SEEDS = range(120)
WIDE = SceneSpec(min_objects=2, max_objects=6)


def test_palette_has_enough_colours_and_kinds():
    assert len(COLORS) >= 6
    assert len(set(COLORS)) == len(COLORS)
    assert set(KINDS) == {"cube", "ball", "bowl"}
    for rgb in PALETTE.values():
        assert len(rgb) == 3 and all(0 <= c <= 255 for c in rgb)


@pytest.mark.parametrize("seed", [0, 1, 7, 123, 99999])
def test_random_scene_is_deterministic(seed):
    a, b = random_scene(seed), random_scene(seed)
    assert a == b
    assert a.to_json() == b.to_json()
    assert random_scene(seed, WIDE) == random_scene(seed, WIDE)


def test_different_seeds_give_different_scenes():
    texts = {random_scene(s).to_json() for s in range(50)}
    assert len(texts) >= 48


@pytest.mark.parametrize("spec", [SceneSpec(), WIDE], ids=["default", "2-6"])
def test_random_scene_respects_its_spec(spec):
    counts = set()
    for seed in SEEDS:
        sc = random_scene(seed, spec)
        n = len(sc.objects)
        counts.add(n)
        assert spec.min_objects <= n <= spec.max_objects
        colors = [o.color for o in sc.objects]
        assert len(set(colors)) == n, f"seed {seed}: repeated colour"
        assert all(c in PALETTE for c in colors)
        assert colors == sorted(colors, key=COLORS.index)
        assert sum(o.kind == "bowl" for o in sc.objects) <= spec.max_bowls
        assert all(0.0 <= o.x <= 1.0 and 0.0 <= o.y <= 1.0 for o in sc.objects)
        assert all(sc.level(o.id) < MAX_STACK for o in sc.objects)
        if n >= 2:
            assert len({o.kind for o in sc.objects}) >= 2, f"seed {seed}: uniform scene"
        # the scene is valid: it survives its own JSON
        assert Scene.model_validate(json.loads(sc.to_json())) == sc
    assert counts == set(range(spec.min_objects, spec.max_objects + 1))


def test_random_scene_geometry_is_consistent():
    """Ground objects do not overlap; stacked cubes share their base's anchor; contents
    sit at their bowl's slot."""
    seen_on = seen_in = 0
    for seed in range(200):
        sc = random_scene(seed, WIDE)
        ground = [o for o in sc.objects if o.on is None and o.in_ is None]
        for i, a in enumerate(ground):
            for b in ground[i + 1:]:
                d = math.hypot(a.x - b.x, a.y - b.y)
                assert d >= footprint(a.kind) + footprint(b.kind), f"seed {seed}: {a.id} overlaps {b.id}"
        for o in sc.objects:
            if o.on is not None:
                seen_on += 1
                below = sc.get(o.on)
                assert (o.kind, below.kind) == ("cube", "cube")
                assert (o.x, o.y) == (below.x, below.y)
            if o.in_ is not None:
                seen_in += 1
                bowl = sc.get(o.in_)
                dx, dy = BOWL_SLOTS[o.slot]
                assert o.x == pytest.approx(bowl.x + dx, abs=1e-9)
                assert o.y == pytest.approx(bowl.y + dy, abs=1e-9)
        for bowl in (o for o in sc.objects if o.kind == "bowl"):
            slots = [o.slot for o in sc.contents(bowl.id)]
            assert len(slots) == len(set(slots)) <= BOWL_CAPACITY
    assert seen_on > 0 and seen_in > 0, "the generator never stacks or fills a bowl"


def test_spec_kinds_are_respected():
    for seed in range(30):
        sc = random_scene(seed, SceneSpec(kinds=("cube",)))
        assert {o.kind for o in sc.objects} == {"cube"}
        sc = random_scene(seed, SceneSpec(kinds=("cube", "ball")))
        assert "bowl" not in {o.kind for o in sc.objects}


def test_ids_names_and_queries(tower_scene):
    sc = tower_scene
    red = sc.get("red_cube")
    assert (red.id, red.name) == ("red_cube", "red cube")
    assert sc.by_color("yellow").id == "yellow_ball"
    assert sc.by_color("purple") is None
    assert sc.level("red_cube") == 1 and sc.level("green_cube") == 0
    assert sc.above("green_cube").id == "red_cube"
    assert sc.above("red_cube") is None
    assert [o.id for o in sc.contents("white_bowl")] == ["yellow_ball"]
    with pytest.raises(KeyError):
        sc.get("pink_cube")
    copy = sc.copy_deep()
    copy.get("red_cube").x = 0.9
    assert sc.get("red_cube").x == 0.3


def test_json_round_trip(tmp_path, tower_scene, demo_scene):
    for i, sc in enumerate([tower_scene, demo_scene] + [random_scene(s, WIDE) for s in range(20)]):
        path = tmp_path / f"scene{i}.json"
        sc.save(path)
        back = Scene.load(path)
        assert back == sc
        assert back.to_json() == sc.to_json()


def test_json_uses_the_in_alias_and_omits_nulls(tower_scene):
    data = json.loads(tower_scene.to_json())
    ball = next(o for o in data["objects"] if o["color"] == "yellow")
    assert ball["in"] == "white_bowl" and "in_" not in ball
    green = next(o for o in data["objects"] if o["color"] == "green")
    assert "on" not in green and "slot" not in green


def test_load_missing_file(tmp_path):
    path = tmp_path / "nope.json"
    with pytest.raises(InputFileError) as e:
        Scene.load(path)
    assert "not found" in e.value.message and str(path) in e.value.message
    assert e.value.hint and "--scene" in e.value.hint
    with pytest.raises(InputFileError):  # a directory is not a scene file either
        Scene.load(tmp_path)


@pytest.mark.parametrize("text", ["{not json", "", "\xff\xfe"])
def test_load_invalid_json(tmp_path, text):
    path = tmp_path / "bad.json"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(InputFileError) as e:
        Scene.load(path)
    assert "not valid JSON" in e.value.message and str(path) in e.value.message
    assert isinstance(e.value, SpiralError) and e.value.hint


def _bad(*objs):
    return {"version": 1, "objects": list(objs)}


@pytest.mark.parametrize("data, words", [
    (_bad(obj("cube", "red", 0.2, 0.2), obj("ball", "red", 0.6, 0.6)), ["repeated: red"]),
    (_bad(obj("ball", "red", 0.2, 0.2), obj("cube", "blue", 0.2, 0.2, on="red_ball")),
     ["blue_cube", "only a cube can be on a cube"]),
    (_bad(obj("cube", "pink", 0.2, 0.2)), ["unknown colour 'pink'", "red", "white"]),
    (_bad(obj("ball", "red", 0.2, 0.2, **{"in": "blue_cube"}), obj("cube", "blue", 0.5, 0.5)), ["not a bowl"]),
    (_bad(obj("bowl", "red", 0.2, 0.2, on="blue_cube"), obj("cube", "blue", 0.5, 0.5)), ["bowl must stand"]),
    (_bad(obj("cube", "red", 0.2, 0.2, on="blue_cube"), obj("cube", "blue", 0.2, 0.2, on="red_cube")), ["cycle"]),
    (_bad(obj("cube", "red", 1.5, 0.2)), ["objects.0.x", "less than or equal to 1"]),
    (_bad(obj("cone", "red", 0.5, 0.2)), ["objects.0.kind", "'cube', 'ball' or 'bowl'"]),
    (_bad(), ["1 to 8 objects"]),
    (_bad(obj("bowl", "blue", 0.5, 0.5), *[obj("ball", c, 0.5, 0.5, **{"in": "blue_bowl"})
                                           for c in ("red", "green", "yellow", "white")]),
     ["blue_bowl holds 4 objects", "at most 3"]),
    (_bad(obj("bowl", "blue", 0.5, 0.5), obj("ball", "red", 0.5, 0.45, **{"in": "blue_bowl"}, slot=0),
          obj("ball", "green", 0.5, 0.45, **{"in": "blue_bowl"}, slot=0)), ["distinct slots"]),
    (_bad(obj("bowl", "blue", 0.5, 0.5), obj("ball", "red", 0.5, 0.45, **{"in": "blue_bowl"}, slot=3)),
     ["distinct slots 0..2"]),
    (_bad(*[obj("cube", c, 0.3, 0.3, **({"on": f"{p}_cube"} if p else {}))
            for p, c in zip([None, "red", "green", "blue", "yellow", "white"],
                            ["red", "green", "blue", "yellow", "white", "cyan"])]),
     ["higher than 5 cubes"]),
    ({"objects": [obj("cube", "red", 0.2, 0.2)], "colour": "x"}, ["colour", "Extra inputs"]),
], ids=["duplicate-colour", "cube-on-ball", "unknown-colour", "in-a-cube", "bowl-on-cube", "cycle",
        "off-table", "unknown-kind", "empty", "extra-key", "overfull-bowl", "shared-slot", "bad-slot",
        "tower-of-6"])
def test_load_invalid_scene(tmp_path, data, words):
    path = tmp_path / "scene.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputFileError) as e:
        Scene.load(path)
    msg = e.value.message
    assert "not a valid scene" in msg and str(path) in msg
    for w in words:
        assert w in msg, f"{w!r} not in {msg!r}"
    assert "docs/scene.md" in e.value.hint


def test_valid_hand_made_scene_loads(tmp_path):
    bowl = obj("bowl", "blue", 0.5, 0.6)
    data = _bad(obj("cube", "red", 0.2, 0.3), obj("cube", "green", 0.2, 0.3, on="red_cube"), bowl,
                in_bowl("ball", "white", bowl, 1))
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(data))
    sc = Scene.load(path)
    assert sc.get("green_cube").on == "red_cube"
    assert sc.get("white_ball").in_ == "blue_bowl" and sc.get("white_ball").slot == 1
    assert isinstance(sc.objects[0], SceneObject)
    assert make_scene(*data["objects"]) == sc


def test_perceived_scenes_skip_the_tidiness_checks():
    """What a generator shows may be physically untidy; perception must still describe it."""
    data = _bad(obj("bowl", "blue", 0.5, 0.5), *[obj("ball", c, 0.5, 0.5, **{"in": "blue_bowl"})
                                                 for c in ("red", "green", "yellow", "white")])
    with pytest.raises(ValueError):
        Scene.model_validate(data)
    sc = Scene.model_validate(data, context={"perceived": True})
    assert len(sc.contents("blue_bowl")) == 4


def test_a_scene_file_whose_layout_the_world_cannot_show_is_refused(tmp_path):
    import json

    from spiral.errors import InputFileError
    from spiral.worlds.tabletop.scene import Scene, random_scene

    cases = {
        "overlap": ([{"kind": "cube", "color": "red", "x": 0.5, "y": 0.5},
                     {"kind": "ball", "color": "blue", "x": 0.52, "y": 0.5}], "red cube and blue ball overlap"),
        "no slot": ([{"kind": "bowl", "color": "white", "x": 0.5, "y": 0.5},
                     {"kind": "ball", "color": "red", "x": 0.5, "y": 0.455, "in": "white_bowl"}], "without a slot"),
        "floating": ([{"kind": "cube", "color": "red", "x": 0.3, "y": 0.5},
                      {"kind": "cube", "color": "blue", "x": 0.7, "y": 0.5, "on": "red_cube"}], "not at its anchor"),
        "edge": ([{"kind": "ball", "color": "red", "x": 0.01, "y": 0.5}], "not wholly on the table"),
    }
    for name, (objs, says) in cases.items():
        f = tmp_path / f"{name.replace(' ', '_')}.json"
        f.write_text(json.dumps({"objects": objs}))
        with pytest.raises(InputFileError, match=says):
            Scene.load(f)
    assert not any(random_scene(s).layout_problems() for s in range(300))  # what `spiral scene new` writes


def test_states_the_world_itself_produces_pass_the_layout_check():
    import random

    from spiral.worlds.tabletop.actions import apply
    from spiral.worlds.tabletop.sampling import sample_action
    from spiral.worlds.tabletop.scene import random_scene

    for seed in range(200):
        state, rng = random_scene(seed), random.Random(seed)
        for _ in range(6):
            act = sample_action(state, rng)
            if act is None:
                break
            state = apply(state, act)
            assert not state.layout_problems(), (seed, act.prompt, state.layout_problems())


def test_random_scenes_stack_at_most_four_though_scenes_may_hold_five():
    """Towers of 5 are valid scenes (MAX_STACK), but the random generator keeps its own
    bound, so every seed gives the scene it gave before (and the dataset stays the same)."""
    from spiral.worlds.tabletop.scene import MAX_STACK, RANDOM_MAX_STACK

    assert (RANDOM_MAX_STACK, MAX_STACK) == (4, 5)
    spec = SceneSpec(min_objects=6, max_objects=6, kinds=("cube",), p_stacked=1.0)
    levels = [random_scene(s, spec).level(o.id) for s in range(30) for o in random_scene(s, spec).objects]
    assert max(levels) == RANDOM_MAX_STACK - 1
