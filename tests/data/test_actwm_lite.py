import json
import tarfile

import numpy as np
import pytest

from spiral.core.types import Condition
from spiral.data.actwm_lite import DatasetSpec, build, info, iter_episodes, load_manifest, show
from spiral.errors import InputFileError
from spiral.worlds.tabletop.goals import parse_goal, plan_clauses
from spiral.worlds.tabletop.predicates import holds
from spiral.worlds.tabletop.scene import Scene

SPEC = DatasetSpec(train=6, validation=3, test=3, shard_size=3, max_steps=3)


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    root = tmp_path_factory.mktemp("ds")
    build(root, SPEC, workers=1)
    return root


def test_manifest_splits_and_shards(ds):
    m = load_manifest(ds)
    assert m["complete"] and m["format"] == "webdataset"
    assert m["splits"] == {"train": 6, "validation": 3, "test": 3}
    assert len(m["shards"]) == 4
    for sh in m["shards"]:
        with tarfile.open(ds / sh["shard"]) as tar:
            names = tar.getnames()
        assert all(n.split(".", 1)[0].startswith(sh["split"]) for n in names)


def test_episode_contents_are_consistent(ds):
    seeds = {}
    for split in ("train", "validation", "test"):
        for ep in iter_episodes(ds, split):
            m = ep["meta"]
            seeds.setdefault(split, set()).add(m["scene_seed"])
            T = m["frames_per_step"]
            assert ep["video"].shape == (m["num_frames"], 64, 64, 3) and ep["video"].dtype == np.uint8
            assert len(m["states"]) == m["num_frames"]
            assert len(m["goal_phrasings"]) >= 2 and all(len(s["phrasings"]) >= 2 for s in m["steps"])
            scene = Scene.model_validate(m["scene"])
            steps, _, _ = plan_clauses(scene, parse_goal(m["goal"], scene))  # the goal text parses
            assert len(steps) == len(m["steps"])
            for k, st in enumerate(m["steps"]):
                a, b = st["frames"]
                assert np.array_equal(ep["clips"][k], ep["video"][a:b + 1])
                assert ep["clips"][k].shape[0] == T
                end = Scene.model_validate({"objects": m["states"][b]}, context={"perceived": True})
                assert all(holds(Condition.model_validate(c), end) for c in st["postconditions"])
                assert ep["targets"][k]["mask_a"].sum() > 0
    assert not (seeds["train"] & seeds["validation"]) and not (seeds["train"] & seeds["test"])


def test_build_is_deterministic_and_resumable(ds, tmp_path):
    other = tmp_path / "again"
    build(other, SPEC, workers=2)
    a, b = load_manifest(ds), load_manifest(other)
    assert [s["sha256"] for s in a["shards"]] == [s["sha256"] for s in b["shards"]]
    victim = other / a["shards"][1]["shard"]
    victim.unlink()  # as if the build had been killed before this shard
    build(other, SPEC, workers=1)
    assert [s["sha256"] for s in load_manifest(other)["shards"]] == [s["sha256"] for s in a["shards"]]
    with pytest.raises(InputFileError, match="another spec"):
        build(other, DatasetSpec(train=7, validation=3, test=3, shard_size=3, max_steps=3), workers=1)


def test_info_and_show(ds, tmp_path):
    i = info(ds)
    assert i["splits"]["train"] == 6 and sum(i["train_action_kinds"].values()) == i["train_sub_actions"]
    png = show(ds, tmp_path / "g.png", n=3)
    assert png.stat().st_size > 0
    mp4 = show(ds, tmp_path / "g.mp4", n=2)
    assert mp4.stat().st_size > 0
    with pytest.raises(InputFileError):
        load_manifest(tmp_path)
    assert json.loads((ds / "dataset.json").read_text())["name"] == "ActWM-Dataset-Lite"


def test_damaged_shards_are_found_named_and_rebuilt(ds, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(ds, copy)
    shards = load_manifest(copy)["shards"]
    first, second = copy / shards[0]["shard"], copy / shards[1]["shard"]
    first.write_bytes(first.read_bytes()[:5000])  # truncated
    with pytest.raises(InputFileError, match=rf"shard .*{first.name} is damaged") as err:
        info(copy)
    assert "spiral dataset build" in err.value.hint
    with pytest.raises(InputFileError, match=rf"{first.name} cannot be read"):
        list(iter_episodes(copy, "train"))
    second.unlink()
    build(copy, SPEC, workers=1)  # the same command rebuilds exactly what is damaged or missing
    assert [s["sha256"] for s in load_manifest(copy)["shards"]] == [s["sha256"] for s in shards]
    assert info(copy)["splits"]["train"] == 6
    (copy / "dataset.json").write_text("{nope")
    with pytest.raises(InputFileError, match="dataset.json is damaged"):
        load_manifest(copy)
    (copy / "dataset.json").write_text(json.dumps({"spec": {}, "complete": True, "format_version": 99}))
    with pytest.raises(InputFileError, match="newer SPIRAL"):
        load_manifest(copy)


def test_one_builder_per_dataset_directory_and_leftovers_removed(tmp_path):
    from spiral.core.lock import DirLock, DirLockedError

    out = tmp_path / "ds"
    with DirLock(out), pytest.raises(DirLockedError, match="being written by another process"):
        build(out, SPEC, workers=1)
    assert [p.name for p in out.iterdir()] == [".spiral.lock"]
    (out / ".train-00000.tar.k1ll3d.tmp").write_bytes(b"half a shard")  # a shard write a kill interrupted
    build(out, SPEC, workers=2)
    assert not list(out.glob("*.tmp")) and load_manifest(out, verify=True)["complete"]
