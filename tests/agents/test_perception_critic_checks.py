"""The perception critic's checks one by one: each corruption of an exact clip is named by
the failure type (and check) it breaks, and the exact clip passes."""

import numpy as np
import pytest

from spiral.agents.perception_critic import PerceptionCritic
from spiral.core.memory import EpisodeMemory
from spiral.core.types import Clip
from spiral.worlds.tabletop.actions import make_action
from spiral.worlds.tabletop.corrupt import corrupt
from spiral.worlds.tabletop.scene import Scene, SceneObject
from spiral.worlds.tabletop.simulate import simulate


def _scene():
    return Scene(objects=[SceneObject(kind="bowl", color="purple", x=0.7, y=0.62),
                          SceneObject(kind="ball", color="red", x=0.22, y=0.72),
                          SceneObject(kind="cube", color="green", x=0.3, y=0.3),
                          SceneObject(kind="cube", color="blue", x=0.75, y=0.25),
                          SceneObject(kind="ball", color="yellow", x=0.5, y=0.85)])


ACTION = make_action(_scene(), "put_in", "red_ball", ["purple_bowl"])


def _judge(frames):
    critic = PerceptionCritic()
    mem = EpisodeMemory(None)
    mem.register_objects(critic.observe(frames[0]), frames[0])
    return critic.critique(Clip(frames), ACTION, mem)


def test_the_exact_clip_passes():
    frames, _ = simulate(_scene(), ACTION, 12, 64)
    v = _judge(frames)
    assert v.passed and v.failure_type is None


@pytest.mark.parametrize("name,ftype,check", [
    ("teleport", "sudden_switch", "continuity"),
    ("color_drift", "identity_drift", "identity"),
    ("nontarget_moves", "physical_violation", "stillness"),
    ("vanish", "physical_violation", "permanence"),
    ("duplicate", "hallucinated_object", "no_hallucination"),
    ("static", "missing_action", "action"),
])
def test_each_corruption_is_named(name, ftype, check):
    frames, _, applied = corrupt(name, _scene(), ACTION, 12, 64, fallback=False)
    assert applied == name
    v = _judge(frames)
    assert not v.passed
    assert ftype in {f.type for f in v.failures}, v.failures
    assert v.scores[check] < 1.0


def test_a_scene_cut_is_a_sudden_switch():
    frames, _ = simulate(_scene(), ACTION, 12, 64)
    cut = frames.copy()
    cut[6:] = (0.45 * cut[6:]).astype(np.uint8)  # the lights go out half way: every pixel changes at once
    v = _judge(cut)
    assert any(f.type == "sudden_switch" and "cut" in f.detail for f in v.failures), v.failures


def test_a_subtle_hue_drift_within_the_same_colour_name_is_identity_drift():
    """The ball stays "red" to the pixel labeller (hue 16°, red's band) but leaves its
    first-frame hue by more than the critic's 12°: identity drift, from the hue check alone."""
    import cv2

    frames, _ = simulate(_scene(), ACTION, 12, 64)
    drift = frames.copy()
    for t in range(6, 12):
        hsv = cv2.cvtColor(drift[t], cv2.COLOR_RGB2HSV_FULL)
        red = (np.abs(drift[t].astype(int) - [220, 40, 40]).max(-1) < 50)
        hsv[..., 0][red] = round(16 * 256 / 360)
        drift[t] = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB_FULL)
    v = _judge(drift)
    assert any(f.type == "identity_drift" and "red_ball" in f.objects for f in v.failures), v.failures


def test_an_object_that_ends_torn_is_a_physical_violation():
    """What strict success calls torn, the critic rejects too (the same rule,
    spiral.worlds.tabletop.cleanliness.shape_problems): here the subject ends cut in half."""
    act = make_action(_scene(), "move_next_to", "green_cube", ["yellow_ball"])
    frames, _ = simulate(_scene(), act, 12, 64)
    assert _judge_with(frames, act).passed
    torn = frames.copy()
    green = np.abs(torn[-1].astype(int) - [40, 170, 60]).max(-1) < 70
    xs = np.nonzero(green)[1]
    cut = green & (np.arange(64)[None, :] > xs.mean())  # its right half is gone
    torn[-1][cut] = (112, 102, 92)
    v = _judge_with(torn, act)
    assert any(f.type == "physical_violation" and f.detail.startswith("torn") for f in v.failures), v.failures


def _judge_with(frames, act):
    critic = PerceptionCritic()
    mem = EpisodeMemory(None)
    mem.register_objects(critic.observe(frames[0]), frames[0])
    return critic.critique(Clip(frames), act, mem)


def test_a_notch_left_in_a_still_bowl_where_the_subject_stood_is_residue():
    """The subject leaves a bowl it sat in: the rim beside it must be repainted as rim. A notch
    painted table colour (clean to a colour test) is residue: the bowl is fitted to its render."""
    sc = Scene(objects=[SceneObject(kind="bowl", color="blue", x=0.5, y=0.5),
                        SceneObject(kind="cube", color="yellow", x=0.5, y=0.455, **{"in": "blue_bowl"}, slot=0),
                        SceneObject(kind="ball", color="red", x=0.2, y=0.25)])
    act = make_action(sc, "pick_place", "yellow_cube", params={"region": "front-left"})
    frames, _ = simulate(sc, act, 12, 64)
    assert _judge_with(frames, act).passed
    yellow = np.abs(frames[0].astype(int) - [235, 215, 30]).max(-1) < 60
    blue = np.abs(frames[-1].astype(int) - [40, 80, 220]).max(-1) < 60
    ys, xs = np.nonzero(yellow)
    rim = blue & np.zeros_like(blue)
    rim[max(0, ys.min() - 4):ys.min(), xs.min():xs.max() + 1] = True  # the rim just above where it stood
    rim &= blue
    assert rim.sum() >= 6
    notched = frames.copy()
    notched[-1][rim] = (112, 102, 92)
    v = _judge_with(notched, act)
    assert any(f.detail.startswith("residue") for f in v.failures), v.failures


def _uncovering_step():
    """A purple cube lifted off a yellow cube to the right: the exact clip."""
    sc = Scene(objects=[SceneObject(kind="cube", color="yellow", x=0.3, y=0.5),
                        SceneObject(kind="cube", color="purple", x=0.3, y=0.5, on="yellow_cube"),
                        SceneObject(kind="ball", color="green", x=0.7, y=0.3)])
    act = make_action(sc, "pick_place", "purple_cube", params={"region": "right"})
    frames, _ = simulate(sc, act, 12, 64)
    return act, frames


def test_an_uncovered_cube_painted_over_is_cut_off_not_a_new_object():
    """The model repaints a cube it uncovers in a muddy mix of its colour and the table: that is
    the cube cut off (a physical_violation), not a hallucinated object or a colour change."""
    act, frames = _uncovering_step()
    assert _judge_with(frames, act).passed
    muddy = frames.copy()
    for t in range(6, 12):
        yellow = np.abs(muddy[t].astype(int) - [235, 215, 30]).max(-1) < 90
        muddy[t][yellow] = (168, 128, 86)  # the tan seen on tiny-ti2v clips (hard-like scenes)
    v = _judge_with(muddy, act)
    assert not v.passed and v.failure_type == "physical_violation", v.failures
    assert v.failures[0].detail == "yellow_cube stays cut off at the end"


def test_an_uncovered_cube_with_a_few_soft_pixels_is_whole():
    """A handful of pixels off its colours (a soft edge the model drew) does not make an
    uncovered cube cut off: most of it still shows its own colours."""
    act, frames = _uncovering_step()
    soft = frames.copy()
    ys, xs = np.nonzero(np.abs(soft[-1].astype(int) - [235, 215, 30]).max(-1) < 20)  # its lit top
    top = ys == ys.min()
    soft[-1][ys[top][:8], xs[top][:8]] = (150, 130, 80)  # its top edge, muddy
    v = _judge_with(soft, act)
    assert v.passed, v.failures


def test_an_uncovered_cube_repainted_off_its_own_colours_is_cut_off():
    """Same hue, same size, but hardly a pixel in its own lit or shaded colour (the model
    repainted it a shade off, or drew a ghost across it): few faithful pixels, cut off."""
    act, frames = _uncovering_step()
    off = frames.copy()
    for t in range(8, 12):
        yellow = np.abs(off[t].astype(int) - [235, 215, 30]).max(-1) < 90
        off[t][yellow] = (off[t][yellow] * 0.84).astype(np.uint8)
    v = _judge_with(off, act)
    assert not v.passed and v.failures[0].detail == "yellow_cube stays cut off at the end", v.failures


def test_an_uncovered_cube_split_by_a_blended_row_is_whole():
    """The model repaints an uncovered cube with one row between its lit top and its shaded
    front that is no colour of it (seen on dev clips): two pieces of one cube, whole together."""
    from spiral.worlds.tabletop.scene import PALETTE, TABLE_RGB

    act, frames = _uncovering_step()
    split = frames.copy()
    yellow = np.abs(split[-1].astype(int) - PALETTE["yellow"]).max(-1) <= 14
    ys, xs = np.nonzero(yellow)
    # the last row of its lit top, soft edges too: neither piece alone is the 75 % of a cube
    # that one component had to be before
    split[-1][ys.max(), xs.min() - 1:xs.max() + 2] = TABLE_RGB
    v = _judge_with(split, act)
    assert v.passed, v.failures


def test_a_ghost_row_on_an_uncovered_cubes_top_edge_is_residue():
    """Where the lifted cube stood, the row just above the cube it uncovers shows a grey
    smudge: residue (the uncovered cube's box is not grown by its soft edge, which the colour
    test already allows)."""
    act, frames = _uncovering_step()
    ghost = frames.copy()
    yellow = np.abs(ghost[-1].astype(int) - [235, 215, 30]).max(-1) <= 90  # its soft top edge included
    ys, xs = np.nonzero(yellow)
    ghost[-1][ys.min() - 1, xs.min():xs.max() + 1] = (125, 141, 139)  # a grey smudge (as on dev clip 450078)
    v = _judge_with(ghost, act)
    assert any(f.detail.startswith("residue") for f in v.failures), v.failures


def test_a_still_cube_is_not_judged_moved_while_a_mover_touches_it():
    """While the carried cube passes beside a still one, what shows of the still one is cut and
    its centre shifts: those frames are not judged; the last frame is."""
    from spiral.worlds.tabletop.scene import PALETTE, TABLE_RGB

    sc = Scene(objects=[SceneObject(kind="cube", color="green", x=0.4, y=0.5),
                        SceneObject(kind="cube", color="red", x=0.49, y=0.5),  # hides its right edge
                        SceneObject(kind="ball", color="blue", x=0.8, y=0.8)])
    act = make_action(sc, "pick_place", "red_cube", params={"region": "front-right"})
    frames, _ = simulate(sc, act, 12, 64)
    assert _judge_with(frames, act).passed

    def shifted(t):
        out = frames.copy()
        green = np.abs(out[t].astype(int) - PALETTE["green"]).max(-1) <= 60
        px = out[t][green]
        out[t][green] = TABLE_RGB
        ys, xs = np.nonzero(green)
        out[t][ys - 4, xs] = px  # drawn 4 px higher
        return out

    red = [np.abs(f.astype(int) - PALETTE["red"]).max(-1) <= 60 for f in frames]
    green0 = np.abs(frames[0].astype(int) - PALETTE["green"]).max(-1) <= 60
    gx1 = np.nonzero(green0)[1].max()
    t = 1  # the red cube still stands beside it
    assert np.nonzero(red[t])[1].min() <= gx1 + 2
    assert _judge_with(shifted(t), act).passed
    v = _judge_with(shifted(11), act)
    assert any("should stay still" in f.detail for f in v.failures), v.failures


def test_a_smear_of_a_still_bowls_colour_where_the_subject_stood_is_residue():
    """The subject stood beside a bowl; the model paints a smear of the rim's colour (a mix of
    it and the table, which passes for the rim's soft edge) into where it stood. Around its
    fitted disc a still bowl's render is table: the smear is residue."""
    from spiral.worlds.tabletop.scene import BOWL_R, CUBE_HALF, PALETTE, TABLE_RGB

    sc = Scene(objects=[SceneObject(kind="bowl", color="blue", x=0.5, y=0.5),
                        SceneObject(kind="cube", color="red", x=0.5 + BOWL_R + CUBE_HALF + 0.01, y=0.5),
                        SceneObject(kind="ball", color="green", x=0.2, y=0.2)])
    act = make_action(sc, "pick_place", "red_cube", params={"region": "front-left"})
    frames, _ = simulate(sc, act, 12, 64)
    assert _judge_with(frames, act).passed
    red = np.abs(frames[0].astype(int) - PALETTE["red"]).max(-1) <= 60
    ys, xs = np.nonzero(red)
    smear = frames.copy()
    blend = (np.asarray(PALETTE["blue"]) + np.asarray(TABLE_RGB)) // 2
    smear[-1][ys.min() + 1:ys.max(), xs.min():xs.min() + 2] = blend  # the rim bulges into where it stood
    v = _judge_with(smear, act)
    assert any(f.detail.startswith("residue") for f in v.failures), v.failures
    # the same bulge joined to the ring (one blob with the bowl, so no faded piece of its own):
    # only the fitted disc's table margin tells it from the rim's soft edge
    joined = frames.copy()
    joined[-1][ys.min() + 1:ys.max(), xs.min() - 1:xs.min() + 2] = blend
    v = _judge_with(joined, act)
    assert any(f.detail.startswith("residue") for f in v.failures), v.failures


def test_a_faded_ghost_in_the_movers_colour_is_residue_not_its_soft_edge():
    """Where a white cube stood the model leaves two faded rows (a mix of white and table, as on
    dev clip 750028): the brighter row reads as white, but a piece too small to be an object
    excuses nothing next to it as its soft edge. Residue."""
    sc = Scene(objects=[SceneObject(kind="cube", color="white", x=0.3, y=0.6),
                        SceneObject(kind="ball", color="green", x=0.75, y=0.3)])
    act = make_action(sc, "pick_place", "white_cube", params={"region": "right"})
    frames, _ = simulate(sc, act, 12, 64)
    assert _judge_with(frames, act).passed
    white = np.abs(frames[0].astype(int) - [240, 240, 240]).max(-1) <= 60
    ys, xs = np.nonzero(white)
    ghost = frames.copy()
    x0 = xs.min() + 1
    ghost[-1][ys.max() - 1, x0:x0 + 6] = (163, 163, 163)
    ghost[-1][ys.max(), x0:x0 + 6] = (138, 132, 128)
    v = _judge_with(ghost, act)
    assert any(f.detail.startswith("residue") for f in v.failures), v.failures
