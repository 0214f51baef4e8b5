"""Fixtures of the agent tests: the scripted OpenAI-compatible server (see scripted_server.py),
an isolated environment (no real key, the response cache in tmp) and a client factory."""

from __future__ import annotations

from typing import Any

import pytest
from scripted_server import SECRET, ScriptedServer


@pytest.fixture
def server():
    s = ScriptedServer()
    s.thread.start()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """No real key or endpoint from the developer's shell; the cache in the test's tmp dir."""
    for var in ("SPIRAL_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SPIRAL_CACHE_DIR", str(tmp_path / "llm-cache"))


@pytest.fixture
def make_client(server):
    """A ChatClient over the real ``openai`` client pointed at the scripted server."""
    import openai

    from spiral.agents.llm_client import ChatClient, ResponseCache

    def make(cache_dir=None, timeout_s: float = 5.0, max_retries: int = 2, model: str | None = "scripted-vlm",
             **kw: Any) -> ChatClient:
        oc = openai.OpenAI(base_url=server.url, api_key=SECRET, timeout=timeout_s, max_retries=0)
        return ChatClient(oc, model, base_url=server.url, timeout_s=timeout_s, max_retries=max_retries,
                          backoff_s=kw.pop("backoff_s", 0.01), backoff_max_s=kw.pop("backoff_max_s", 0.05),
                          cache=ResponseCache(cache_dir) if cache_dir else None, **kw)

    return make
