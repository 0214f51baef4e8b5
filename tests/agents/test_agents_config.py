"""The `agents` config section: defaults, identity, and keys refused as config."""

from __future__ import annotations

import json

import pytest

from spiral.config import AgentsConfig, build_config
from spiral.errors import ConfigError


def test_defaults_and_overrides():
    cfg = build_config()
    assert cfg.agents == AgentsConfig()
    assert cfg.agents.base_url == "http://127.0.0.1:8000/v1" and cfg.agents.model is None
    cfg = build_config(sets=["agents.model=qwen", "agents.max_retries=0", "agents.structured_output=off"])
    assert (cfg.agents.model, cfg.agents.max_retries, cfg.agents.structured_output) == ("qwen", 0, "off")
    with pytest.raises(ConfigError, match="did you mean 'base_url'"):
        build_config(sets=["agents.base_ur=http://x/v1"])
    with pytest.raises(ConfigError, match="agents.structured_output"):
        build_config(sets=["agents.structured_output=xml"])


def test_runtime_keys_do_not_change_the_identity():
    base = build_config(overrides={"planner": {"name": "llm"}})
    same = build_config(overrides={"planner": {"name": "llm"}},
                        sets=["agents.timeout_s=5", "agents.max_retries=9", "agents.cache=false",
                              "agents.cache_dir=/tmp/x", "agents.backoff_s=0.01", "agents.price_in_per_mtok=1"])
    assert base.identity() == same.identity()
    for s in ("agents.model=other", "agents.base_url=http://h:1/v1", "agents.temperature=0.7"):
        assert build_config(overrides={"planner": {"name": "llm"}}, sets=[s]).identity() != base.identity()


@pytest.mark.parametrize("item", ["agents.api_key=sk-x", "planner.api_key=sk-x", "agents.token=t",
                                  "critic.password=p"])
def test_keys_are_refused_on_the_command_line(item):
    with pytest.raises(ConfigError, match="looks like a secret") as err:
        build_config(sets=[item])
    assert "SPIRAL_API_KEY" in err.value.hint and "sk-x" not in err.value.message


def test_keys_are_refused_in_files(tmp_path):
    f = tmp_path / "c.json"
    f.write_text(json.dumps({"agents": {"api_key": "sk-file-secret"}}))
    with pytest.raises(ConfigError, match="looks like a secret") as err:
        build_config(f)
    assert "sk-file-secret" not in err.value.message


@pytest.mark.parametrize("url,message", [
    ("127.0.0.1:8000/v1", "is not an http(s) URL"),
    ("http://[::1", "is not a URL"),
    ("ftp://host/v1", "is not an http(s) URL"),
    ("http://host:99999/v1", "is not a URL"),
    ("http://user:sk-in-url-1234@[::1", "is not a URL"),
])
def test_a_bad_base_url_is_a_config_error(url, message):
    with pytest.raises(ConfigError) as err:
        build_config(overrides={"agents": {"base_url": url}})
    assert message in err.value.message and "sk-in-url-1234" not in err.value.message


def test_a_password_in_the_base_url_stays_out_of_the_config_dump_and_the_identity():
    a = build_config(overrides={"agents": {"base_url": "http://user:sk-in-url-1234@127.0.0.1:8000/v1"}})
    b = build_config(overrides={"agents": {"base_url": "http://user:other-pass@127.0.0.1:8000/v1"}})
    assert a.agents.base_url.startswith("http://user:sk-in-url-1234@")  # the client still gets it
    assert a.public_dict()["agents"]["base_url"] == "http://127.0.0.1:8000/v1"
    assert a.identity() == b.identity()
    assert build_config(overrides={"agents": {"base_url": "local:tiny-gpt2"}}).agents.base_url == "local:tiny-gpt2"
