"""The critic-fidelity suite and its metrics, on oracle, blind and the perception critic."""

from __future__ import annotations

import pytest

from spiral.bench.critic_fidelity import CLASSES, ERROR, PASS, evaluate, iter_suite, metrics
from spiral.core.types import Verdict
from spiral.errors import SpiralError
from spiral.worlds.tabletop.corrupt import CORRUPTIONS, LABELS


class Oracle:
    """Knows the label of each clip (by its frames): the ceiling of every metric."""

    name = "oracle"

    def __init__(self, labels: dict[bytes, str]):
        self.labels = labels

    def critique(self, clip, sub_action, memory):
        label = self.labels[clip.frames.tobytes()]
        ok = label == PASS
        return Verdict(passed=ok, scores={"action": 1.0 if ok else 0.0}, failure_type=None if ok else label)


class AlwaysPass:
    name = "always-pass"

    def critique(self, clip, sub_action, memory):
        return Verdict(passed=True, scores={"action": 1.0})


class Broken:
    name = "broken"

    def critique(self, clip, sub_action, memory):
        raise SpiralError("endpoint down")


def test_suite_is_labelled_deterministic_and_complete():
    skipped: dict[str, int] = {}
    cases = list(iter_suite(3, seed=1, skipped=skipped))
    again = list(iter_suite(3, seed=1))
    assert [(c.scene_seed, c.corruption) for c in cases] == [(c.scene_seed, c.corruption) for c in again]
    assert all((a.frames == b.frames).all() for a, b in zip(cases, again))
    assert sum(c.corruption is None for c in cases) == 3
    for c in cases:
        assert c.label == (PASS if c.corruption is None else LABELS[c.corruption])
        assert c.frames.shape == (12, 64, 64, 3)
    made = {c.corruption for c in cases if c.corruption}
    assert made | set(skipped) == set(CORRUPTIONS)
    assert len(cases) == 3 * (1 + len(CORRUPTIONS)) - sum(skipped.values())
    with pytest.raises(SpiralError, match="unknown corruption"):
        next(iter_suite(1, corruptions=["melt"]))


def test_oracle_scores_perfectly():
    labels = {c.frames.tobytes(): c.label for c in iter_suite(2)}
    r = evaluate(Oracle(labels), n_scenes=2)
    assert r["balanced_accuracy"] == 1.0 and r["detection"]["balanced_accuracy"] == 1.0
    assert all(v["precision"] == 1.0 and v["recall"] == 1.0 for v in r["per_type"].values() if v["support"])
    m = r["confusion"]["matrix"]
    assert sum(m[i][j] for i in range(len(m)) for j in range(len(m[0])) if i != j) == 0
    assert r["n_clips"] == sum(map(sum, m)) and r["errors"] == 0 and r["cost"] is None


def test_blind_and_broken_critics():
    r = evaluate(AlwaysPass(), n_scenes=1, corruptions=["static", "teleport"])
    assert r["detection"] == {"positives": 2, "negatives": 1, "tpr": 0.0, "tnr": 1.0, "precision": None,
                              "balanced_accuracy": 0.5}
    assert r["balanced_accuracy"] == pytest.approx(1 / 3, abs=1e-3)  # pass recall 1, two types at 0
    r = evaluate(Broken(), n_scenes=1, corruptions=["static"])
    assert r["errors"] == 2 and r["detection"]["tpr"] == 0.0 and r["detection"]["tnr"] == 0.0
    assert r["rows"][0]["pred"] == ERROR and r["rows"][0]["feedback"] == "endpoint down"


def test_metrics_by_hand():
    rows = [{"label": "pass", "pred": "pass", "corruption": None},
            {"label": "pass", "pred": "sudden_switch", "corruption": None},
            {"label": "sudden_switch", "pred": "sudden_switch", "corruption": "teleport"},
            {"label": "identity_drift", "pred": "hallucinated_object", "corruption": "color_drift"}]
    m = metrics(rows)
    assert m["detection"]["tpr"] == 1.0 and m["detection"]["tnr"] == 0.5 and m["detection"]["precision"] == 0.6667
    assert m["per_type"]["sudden_switch"] == {"support": 1, "predicted": 2, "precision": 0.5, "recall": 1.0,
                                              "f1": 0.6667}
    assert m["per_type"]["identity_drift"]["recall"] == 0.0
    assert m["balanced_accuracy"] == round((0.5 + 1.0 + 0.0) / 3, 4)
    assert m["per_corruption"]["color_drift"] == {"label": "identity_drift", "n": 1, "detected": 1, "typed": 0,
                                                  "detection_rate": 1.0, "type_recall": 0.0}
    assert m["confusion"]["labels_true"] == list(CLASSES)


def test_perception_critic_runs_on_the_suite():
    from spiral.agents.perception_critic import PerceptionCritic

    r = evaluate(PerceptionCritic(), n_scenes=2)
    assert r["critic"] == "perception" and r["errors"] == 0 and r["n_clips"] >= 18
    assert r["detection"]["balanced_accuracy"] > 0.8  # a sanity floor, not a tuned target
