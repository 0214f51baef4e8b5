"""critic_real.py: the real-failure set (generated, oracle-labelled, split by scene) and its scores."""

from __future__ import annotations

import numpy as np
import pytest

from spiral.agents.perception_critic import PerceptionCritic
from spiral.bench.critic_real import PASS, evaluate, iter_cases, kind_of, part_of, real_metrics
from spiral.core.types import Clip, Verdict
from spiral.errors import SpiralError
from spiral.generators.sim import SimGenerator


class Still:
    """A generator that never moves anything."""

    def generate(self, requests):
        return [Clip(frames=np.repeat(r.cond_frame[None], r.num_frames, axis=0), fps=r.fps) for r in requests]


class AlwaysPass:
    name = "always-pass"

    def critique(self, clip, sub_action, memory):
        return Verdict(passed=True, scores={"action": 1.0})


def test_exact_clips_are_labelled_pass_and_the_perception_critic_accepts_them():
    sim = SimGenerator()
    r = evaluate(PerceptionCritic(), n_scenes=4, part="all", generator=sim, hot_generator=sim)
    assert r["n_clips"] >= 4 * (2 + 3) * 3 - 12  # chains go on: every clip passes
    assert {x["label"] for x in r["rows"]} == {PASS}
    assert r["false_rejection"]["rate"] == 0.0 and r["residue"]["support"] == 0
    assert {x["suite"] for x in r["rows"]} == {"lite", "hard"}
    assert any(x["kind"] == "clear" for x in r["rows"])  # hard scenes have clearing steps


def test_still_clips_are_missing_actions_and_stop_the_chain():
    r = evaluate(PerceptionCritic(), n_scenes=2, part="all", generator=Still(), hot_generator=Still())
    assert {x["label"] for x in r["rows"]} == {"missing_action"}
    assert {x["step"] for x in r["rows"]} == {0}  # nothing was done: no second step
    assert r["per_type"]["missing_action"]["recall"] == 1.0
    lax = evaluate(AlwaysPass(), n_scenes=2, part="all", generator=Still(), hot_generator=Still())
    assert lax["detection"]["tpr"] == 0.0 and lax["balanced_accuracy"] == 0.0  # the one class present: missed


def test_parts_are_split_by_scene():
    assert [part_of(k) for k in range(4)] == ["dev", "held-out", "dev", "held-out"]
    still = Still()
    dev = {c.scene_seed for c in iter_cases(6, part="dev", generator=still, hot_generator=still)}
    held = {c.scene_seed for c in iter_cases(6, part="held-out", generator=still, hot_generator=still)}
    assert dev and held and not dev & held
    assert all(s % 2 == 0 for s in dev) and all(s % 2 == 1 for s in held)
    with pytest.raises(SpiralError, match="unknown part"):
        next(iter_cases(2, part="test", generator=still, hot_generator=still))


def test_the_built_in_model_set_is_deterministic_for_a_seed():
    a = list(iter_cases(2, part="dev"))
    b = list(iter_cases(2, part="dev"))
    assert len(a) == len(b) >= 6
    assert all(np.array_equal(x.frames, y.frames) and x.label == y.label and x.residue == y.residue
               for x, y in zip(a, b))
    assert {x.temperature for x in a} == {None, 1.0}


def test_scores_count_false_rejections_and_residue():
    rows = [
        {"suite": "lite", "kind": "push", "label": PASS, "pred": PASS, "residue": False, "pred_residue": False},
        {"suite": "lite", "kind": "push", "label": PASS, "pred": "physical_violation", "residue": False,
         "pred_residue": True},
        {"suite": "hard", "kind": "clear", "label": "physical_violation", "pred": "physical_violation",
         "residue": True, "pred_residue": True},
        {"suite": "hard", "kind": "clear", "label": "physical_violation", "pred": PASS, "residue": True,
         "pred_residue": False},
    ]
    m = real_metrics(rows)
    assert m["false_rejection"] == {"correct_clips": 2, "rejected": 1, "rate": 0.5}
    assert m["residue"] == {"support": 2, "flagged": 2, "recall": 0.5, "precision": 0.5}
    assert m["per_corruption"]["hard: clear"]["label"] == "0 pass, 2 fail"
    assert m["balanced_accuracy"] == 0.5


def test_a_move_to_the_table_without_a_region_is_a_clearing_step():
    from spiral.worlds.tabletop.actions import make_action
    from spiral.worlds.tabletop.scene import Scene, SceneObject

    sc = Scene(objects=[SceneObject(kind="cube", color="red", x=0.3, y=0.5),
                        SceneObject(kind="cube", color="blue", x=0.3, y=0.5, on="red_cube")])
    assert kind_of(make_action(sc, "pick_place", "blue_cube", params={"region": None})) == "clear"
    assert kind_of(make_action(sc, "pick_place", "blue_cube", params={"region": "left"})) == "pick_place"


def test_the_supported_balanced_accuracy_leaves_out_rare_classes():
    rows = [{"suite": "lite", "kind": "push", "label": PASS, "pred": PASS, "residue": False, "pred_residue": False}
            for _ in range(10)]
    rows.append({"suite": "lite", "kind": "push", "label": "hallucinated_object", "pred": PASS, "residue": False,
                 "pred_residue": False})
    m = real_metrics(rows)
    assert m["balanced_accuracy"] == 0.5 and m["balanced_accuracy_supported"] == 1.0
