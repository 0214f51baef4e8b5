"""Predicates over object states, one by one where a plan's checks depend on them."""

from spiral.core.types import C
from spiral.worlds.tabletop.predicates import describe, holds
from spiral.worlds.tabletop.scene import Scene, SceneObject


def test_apart_means_on_the_table_and_clear_of_the_others():
    """What a clearing step ("move the red cube to the table") is checked for."""
    base = [SceneObject(kind="cube", color="green", x=0.3, y=0.5), SceneObject(kind="bowl", color="blue", x=0.7, y=0.5)]
    clear = Scene(objects=[*base, SceneObject(kind="cube", color="red", x=0.3, y=0.85)])
    assert holds(C("apart", "red_cube"), clear)
    touching = Scene(objects=[*base, SceneObject(kind="cube", color="red", x=0.3, y=0.58)])
    assert not holds(C("apart", "red_cube"), touching)  # dropped onto the green cube's footprint
    stacked = Scene(objects=[*base, SceneObject(kind="cube", color="red", x=0.3, y=0.5, on="green_cube")])
    assert not holds(C("apart", "red_cube"), stacked)
    inside = Scene(objects=[*base, SceneObject(kind="cube", color="red", x=0.7, y=0.455, slot=0, **{"in": "blue_bowl"})])
    assert not holds(C("apart", "red_cube"), inside)
    # an object on a cube or in a bowl is no neighbour of its base
    assert holds(C("apart", "green_cube"), stacked) and holds(C("apart", "blue_bowl"), inside)
    assert describe(C("apart", "red_cube")) == "the red cube stands on the table, clear of the others"


def test_next_to_is_a_gap_between_footprints():
    a = SceneObject(kind="cube", color="red", x=0.3, y=0.5)
    near = Scene(objects=[a, SceneObject(kind="ball", color="blue", x=0.47, y=0.5)])
    far = Scene(objects=[a, SceneObject(kind="ball", color="blue", x=0.8, y=0.5)])
    assert holds(C("next_to", "red_cube", "blue_ball"), near)
    assert not holds(C("next_to", "red_cube", "blue_ball"), far)
