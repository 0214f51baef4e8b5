from __future__ import annotations

from importlib import resources

import pytest

from spiral.worlds.tabletop.scene import Scene

from .helpers import in_bowl, make_scene, obj


@pytest.fixture
def demo_scene() -> Scene:
    """The packaged demo: red ball, green cube, blue cube, yellow ball, purple bowl."""
    path = resources.files("spiral.worlds.tabletop").joinpath("scenes/demo.json")
    return Scene.load(str(path))


@pytest.fixture
def bowl_scene() -> Scene:
    """A red cube, a blue bowl, a green ball and a yellow cube, all on the table."""
    return make_scene(obj("cube", "red", 0.25, 0.4), obj("bowl", "blue", 0.7, 0.65),
                      obj("ball", "green", 0.3, 0.8), obj("cube", "yellow", 0.75, 0.25))


@pytest.fixture
def balls_scene() -> Scene:
    """Two balls (red, green), a blue cube and an orange bowl."""
    return make_scene(obj("ball", "red", 0.2, 0.3), obj("ball", "green", 0.75, 0.7),
                      obj("cube", "blue", 0.5, 0.5), obj("bowl", "orange", 0.25, 0.75))


@pytest.fixture
def tower_scene() -> Scene:
    """A red cube on a green cube, a lone blue cube, a white bowl holding a yellow ball."""
    bowl = obj("bowl", "white", 0.75, 0.75)
    return make_scene(obj("cube", "green", 0.3, 0.4), obj("cube", "red", 0.3, 0.4, on="green_cube"),
                      obj("cube", "blue", 0.7, 0.35), bowl, in_bowl("ball", "yellow", bowl, 0))


@pytest.fixture
def open_scene() -> Scene:
    """Like the demo, with the blue cube in the middle so it can be pushed any way."""
    return make_scene(obj("ball", "red", 0.2, 0.75), obj("cube", "green", 0.3, 0.3),
                      obj("cube", "blue", 0.5, 0.5), obj("ball", "yellow", 0.8, 0.75),
                      obj("bowl", "purple", 0.75, 0.25))
