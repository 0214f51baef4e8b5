import numpy as np

from spiral.core.memory import EpisodeMemory, ExperienceStore
from spiral.core.types import SubAction, Verdict


def _verdict(ftype="incomplete_action"):
    return Verdict(passed=False, scores={"action": 0.0}, failure_type=ftype, feedback="stopped short")


def test_episode_memory_persists_registry_keyframes_segments_and_failures(tmp_path):
    f0 = np.full((32, 32, 3), 7, np.uint8)
    f1 = np.full((32, 32, 3), 9, np.uint8)
    db = tmp_path / "memory.sqlite"
    m = EpisodeMemory(db)
    m.register_objects([{"id": "red_cube", "color": "red", "kind": "cube", "mean_rgb": [200, 40, 40]}], f0)
    sub = SubAction(kind="push", subject="red_cube", prompt="push the red cube left")
    m.add_segment(0, sub, "segments/0000.npy", "abc", f1)
    fid = m.log_failure(1, 0, _verdict(), "more_steps", plan_version=0)
    m.mark_fixed(fid, "more_steps")
    m.close()
    m = EpisodeMemory(db)  # reopened from disk
    assert m.known_kinds() == {"red": "cube"}
    assert np.array_equal(m.first_frame(), f0)
    assert [k.mean() for k in m.keyframes()] == [7, 9]
    assert m.segments()[0]["sub_action"]["subject"] == "red_cube"
    (fail,) = m.failures()
    assert fail["failure_type"] == "incomplete_action" and fail["fixed"] == 1 and fail["fixed_by"] == "more_steps"
    m.truncate(0, plan_version=0)
    assert m.segments() == [] and len(m.keyframes()) == 1 and m.failures() == []


def test_experience_store_ranks_by_fix_rate(tmp_path):
    store = ExperienceStore(tmp_path / "exp" / "experience.sqlite")
    order = ["reseed", "rewrite_prompt", "more_steps"]
    assert store.rank("incomplete_action", order) == order  # no data: keep the default order
    for _ in range(5):
        store.record("incomplete_action", "more_steps", True)
        store.record("incomplete_action", "reseed", False)
    assert store.rank("incomplete_action", order)[0] == "more_steps"
    assert store.rank("missing_action", order) == order  # other failure types unaffected
    again = ExperienceStore(tmp_path / "exp" / "experience.sqlite")
    assert again.stats("incomplete_action")[("incomplete_action", "more_steps")] == (5, 5)
