import json

import pytest

from spiral.config import RunConfig, apply_set, build_config, parse_value, scrub
from spiral.errors import ConfigError, InputFileError


def test_defaults_and_identity_are_stable():
    a, b = build_config(), build_config()
    assert a.identity() == b.identity()
    assert a.generator.name == "tiny-ti2v" and a.mode == "closed-loop"  # the shipped default, not a test's swap
    assert (a.world, a.planner.name, a.critic.name) == ("tabletop", "symbolic", "perception")
    assert build_config(sets=["seed=1"]).identity() != a.identity()
    # output options do not change what the run is
    assert build_config(sets=["output.video_scale=2"]).identity() == a.identity()


def test_set_parses_json_values_and_nests():
    cfg = build_config(sets=["loop.max_attempts=3", "generator.fault_rate=0.5", 'goal="push it"',
                             "loop.strategies=[\"reseed\"]"])
    assert cfg.loop.max_attempts == 3
    assert cfg.generator.options()["fault_rate"] == 0.5
    assert cfg.goal == "push it"
    assert cfg.loop.strategies == ["reseed"]
    assert parse_value("abc") == "abc" and parse_value("null") is None


@pytest.mark.parametrize("item, needle", [
    ("loop.max_atempts=3", "did you mean 'max_attempts'"),
    ("nope=1", "unknown config key 'nope'"),
    ("loop.max_attempts=abc", "loop.max_attempts"),
    ("loop.max_attempts=0", "greater than or equal to 1"),
    ("mode=sideways", "mode"),
    ("loop", "not key=value"),
    ("seed.x=1", "has no sub-keys"),
])
def test_bad_keys_and_values_name_the_problem(item, needle):
    with pytest.raises(ConfigError) as e:
        build_config(sets=[item])
    assert needle in str(e.value)


def test_config_file_json_and_yaml(tmp_path):
    j = tmp_path / "c.json"
    j.write_text(json.dumps({"goal": "stack all the cubes", "loop": {"max_attempts": 2}}))
    y = tmp_path / "c.yaml"
    y.write_text("goal: stack all the cubes\nloop:\n  max_attempts: 5\n")
    assert build_config(j).loop.max_attempts == 2
    assert build_config(y, sets=["loop.max_attempts=7"]).loop.max_attempts == 7
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(InputFileError, match="does not parse"):
        build_config(bad)
    with pytest.raises(InputFileError, match="not found"):
        build_config(tmp_path / "missing.yaml")
    unknown = tmp_path / "u.json"
    unknown.write_text(json.dumps({"loop": {"retries": 2}}))
    with pytest.raises(ConfigError, match="unknown config key 'loop.retries'"):
        build_config(unknown)


def test_scene_sources_are_exclusive():
    with pytest.raises(ConfigError, match="either a scene file or an image"):
        build_config(overrides={"scene": {"file": "a.json", "image": "b.png"}})


def test_secrets_never_reach_the_dump():
    data = {"generator": {"name": "x", "api_key": "sk-123", "nested": {"token": "t"}}, "a": [{"password": "p"}]}
    s = json.dumps(scrub(data))
    assert "sk-123" not in s and '"t"' not in s and '"p"' not in s
    cfg = RunConfig.model_validate({"generator": {"name": "sim", "api_key": "sk-secret"}})
    assert "sk-secret" not in json.dumps(cfg.public_dict())


def test_apply_set_refuses_non_sections():
    data = {"goal": "x"}
    with pytest.raises(ConfigError):
        apply_set(data, "goal.sub=1")


@pytest.mark.parametrize("item", ['planner={"api_key": "sk-SECRET123"}', "generator.secret_key=sk-SECRET123",
                                  'agents={"x": [{"hf_token": "sk-SECRET123"}]}', "critic.api_key_file=sk-SECRET123",
                                  "generator.aws_secret_access_key=sk-SECRET123", "planner.password_hash=sk-SECRET123"])
def test_set_refuses_secrets_anywhere_in_the_key_or_the_value(item):
    with pytest.raises(ConfigError) as err:
        build_config(sets=[item])
    assert "looks like a secret" in err.value.message and "sk-SECRET123" not in err.value.message


def test_a_config_error_never_prints_a_secret_it_was_given(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("agents:\n  - api_key: sk-SECRET789\nplanner:\n  hf_token: sk-SECRET789\n")
    with pytest.raises(ConfigError) as err:
        build_config(file=f)
    assert "sk-SECRET789" not in err.value.message
    assert scrub({"secret_key": 1, "aws_secret_access_key": 2, "api_key_file": 3, "password_hash": 4,
                  "max_tokens": 5, "prompt_tokens": 6}) == {"max_tokens": 5, "prompt_tokens": 6}
