"""A chat client for any OpenAI-compatible endpoint (vLLM, SGLang, Ollama, LM Studio, hosted).

Built on the official ``openai`` client. What it adds, and what the LLM planner and the
VLM critic rely on:

* **settings** from the run config's ``agents`` section (base URL, model, timeouts, …) and
  the API key from the environment only (``SPIRAL_API_KEY``, else ``OPENAI_API_KEY``). The
  key never goes into the config, the trace, the logs, the cache or an error message: every
  secret (the key, a base URL's ``user:password@`` and ``?api_key=``) is registered with
  :mod:`spiral.redaction`, and every answer is redacted where it enters (the message text and
  the served model names), before it reaches a plan, a prompt, a verdict or a file.
* **retries** with exponential backoff on 429, 5xx, timeouts and connection errors
  (honouring ``Retry-After`` up to ``backoff_max_s``); other HTTP errors are not retried and
  become a :class:`AgentError` that says what to fix.
* **structured output**: the answer's JSON Schema as ``response_format`` when the server
  supports it (``structured_output: auto`` falls back when a server refuses it), otherwise the
  schema in the prompt and JSON extracted from the text. Every answer is untrusted: it is
  validated against a pydantic model plus the caller's own checks, and a refused answer gets
  exactly one repair round-trip before a clear error.
* an **on-disk cache** of validated answers keyed by the request (endpoint, model, messages,
  schema, sampling options; never the key), so re-running a benchmark does not pay twice.
* **token and cost accounting** (:class:`Usage`), which the agents hand to the loop through
  ``pop_cost()`` and the loop writes into the trace.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import random
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import openai
from pydantic import BaseModel, ValidationError

from spiral import redaction
from spiral.config import safe_url
from spiral.core.rundir import atomic_write_bytes
from spiral.errors import BackendError

log = logging.getLogger(__name__)

KEY_ENV_VARS = redaction.KEY_ENV_VARS  # ("SPIRAL_API_KEY", "OPENAI_API_KEY"): redacted wherever they appear
CACHE_ENV_VAR = "SPIRAL_CACHE_DIR"
NO_KEY = "EMPTY"  # what local servers (vLLM, Ollama, LM Studio) accept when no key is set
CACHE_VERSION = 1
T = TypeVar("T", bound=BaseModel)
Check = Callable[[Any], list[str]]


class AgentError(BackendError):
    """An LLM/VLM endpoint failed or its answer could not be used."""


class ImagesNotSupported(AgentError):
    """The endpoint refused a request because it contains images (a text-only model)."""


def client_prompts() -> dict[str, str]:
    from spiral.agents import prompt_data

    return prompt_data("llm_client")


def api_key_from_env() -> str | None:
    """The API key: ``SPIRAL_API_KEY``, else ``OPENAI_API_KEY``, else ``None``."""
    for var in KEY_ENV_VARS:
        val = os.environ.get(var, "").strip()
        if val:
            return val
    return None


def default_cache_dir() -> Path:
    env = os.environ.get(CACHE_ENV_VAR)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "spiral" / "llm"


# -- images -------------------------------------------------------------------------------
def encode_image(frame: np.ndarray, size: int = 256, quality: int = 85) -> str:
    """A frame as a JPEG ``data:`` URL, its longest side resized to ``size`` pixels (nearest
    neighbour when enlarging, so small synthetic frames stay crisp)."""
    from PIL import Image

    img = Image.fromarray(np.ascontiguousarray(frame, dtype=np.uint8))
    w, h = img.size
    scale = size / max(w, h)
    if scale != 1:
        new = (max(1, round(w * scale)), max(1, round(h * scale)))
        img = img.resize(new, Image.NEAREST if scale > 1 else Image.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=int(quality))
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def image_part(frame: np.ndarray, size: int = 256, quality: int = 85) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": encode_image(frame, size, quality)}}


def text_part(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def strip_images(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages with every image part removed (for text-only models)."""
    out = []
    for m in messages:
        c = m.get("content")
        if isinstance(c, list):
            texts = [p.get("text", "") for p in c if p.get("type") == "text"]
            m = {**m, "content": "\n".join(t for t in texts if t)}
        out.append(m)
    return out


# -- JSON extraction -----------------------------------------------------------------------
_THINK_RE = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_FENCE_RE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)


def extract_json(text: str) -> Any:
    """The first JSON object in a model's answer: the whole text, else a fenced block, else
    the first ``{...}`` that parses. Reasoning blocks (``<think>…</think>``) are ignored.
    Raises ``ValueError`` when there is none."""
    text = _THINK_RE.sub("", text or "").strip()
    if not text:
        raise ValueError("the answer is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    for block in _FENCE_RE.findall(text):
        try:
            return json.loads(block.strip())
        except json.JSONDecodeError:
            continue
    dec = json.JSONDecoder()
    for m in re.finditer(r"\{", text):
        try:
            obj, _ = dec.raw_decode(text, m.start())
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            return obj
    raise ValueError("the answer contains no JSON object")


def validation_errors(exc: ValidationError, limit: int = 12) -> list[str]:
    """Short, model-readable descriptions of a pydantic validation error."""
    out = []
    for e in exc.errors()[:limit]:
        loc = ".".join(str(x) for x in e["loc"]) or "<root>"
        if e["type"] == "extra_forbidden":
            out.append(f"{loc}: unexpected field (not in the schema)")
        elif e["type"] == "missing":
            out.append(f"{loc}: required field missing")
        else:
            out.append(f"{loc}: {e['msg']}")
    return out


# -- accounting ------------------------------------------------------------------------------
class Usage(BaseModel):
    """What a client's requests cost. Tokens count only answers the endpoint produced (cache
    hits cost nothing); ``usd`` is ``None`` unless prices are configured."""

    model: str = ""
    requests: int = 0
    retries: int = 0
    repairs: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usd: float | None = None

    def add(self, other: Usage) -> None:
        for k in ("requests", "retries", "repairs", "cache_hits", "prompt_tokens", "completion_tokens"):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        if other.usd is not None:
            self.usd = round((self.usd or 0.0) + other.usd, 8)
        self.model = self.model or other.model

    def empty(self) -> bool:
        return not (self.requests or self.retries or self.cache_hits)


# -- cache ----------------------------------------------------------------------------------
class ResponseCache:
    """Validated answers on disk, one JSON file per request key (``<dir>/ab/abcdef….json``).

    Files hold the key, the answer and the tokens it cost; never the API key, never the
    request's messages. Writes are atomic; a corrupt or unreadable file is a miss.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        p = self._path(key)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable cache file %s: %s", p, exc)
            return None
        if not isinstance(data, dict) or data.get("key") != key or "answer" not in data:
            return None
        return data

    def put(self, key: str, record: dict[str, Any]) -> None:
        p = self._path(key)
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            # redacted: the last line of defence; written whole or not at all
            atomic_write_bytes(p, redaction.redact(json.dumps({"key": key, **record})).encode(), fsync=False)
        except OSError as exc:  # a read-only cache must not break the run
            log.warning("cannot write the response cache at %s: %s", self.root, exc)


# -- the client -------------------------------------------------------------------------------
_FORMAT_WORDS = ("response_format", "json_schema", "guided", "structured output", "grammar")
_IMAGE_WORDS = ("image", "vision", "multimodal", "multi-modal")


class ChatClient:
    """Structured chat completions over an OpenAI-compatible endpoint.

    ``client`` is a ready ``openai.OpenAI`` (tests pass one pointed at a local server);
    :meth:`from_settings` builds one from the ``agents`` config section and the environment.
    """

    def __init__(self, client: Any, model: str | None = None, *, base_url: str | None = None,
                 timeout_s: float = 60.0, max_retries: int = 3, backoff_s: float = 1.0,
                 backoff_max_s: float = 30.0, structured_output: str = "auto", temperature: float = 0.0,
                 max_tokens: int = 2048, cache: ResponseCache | None = None,
                 price_in_per_mtok: float | None = None, price_out_per_mtok: float | None = None,
                 secrets: tuple[str, ...] = ()):
        self.client = client
        self._model = model
        self.base_url = safe_url(str(base_url or getattr(client, "base_url", "") or ""))
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.structured_output = structured_output
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.cache = cache
        self.price_in = price_in_per_mtok
        self.price_out = price_out_per_mtok
        key = getattr(client, "api_key", None)
        self._secrets = tuple(s for s in (*secrets, key if isinstance(key, str) else None)
                              if s and s != NO_KEY and len(s) >= 4)
        for secret in self._secrets:  # known process-wide: every sink redacts them too
            redaction.add_secret(secret)
        redaction.add_url(str(base_url or getattr(client, "base_url", "") or ""))
        redaction.install_log_redaction()  # openai/httpx log URLs (and -vv request details)
        self.usage = Usage()
        self.usage_pending: Usage | None = None  # the last reply's cost, until it is known usable
        self.last_finish_reason: str | None = None
        self._schema_ok: bool | None = None if structured_output == "auto" else structured_output != "off"

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_settings(cls, settings: Any, model: str | None = None) -> ChatClient:
        """From the ``agents`` config section (:class:`spiral.config.AgentsConfig`); the key
        comes from the environment."""
        structured = settings.structured_output
        if settings.base_url.startswith("local:"):  # an in-process model, no server (spiral.agents.local_llm)
            from spiral.agents.local_llm import LocalChatModel

            key, client = None, LocalChatModel.load(settings.base_url)
            structured = "off" if structured == "auto" else structured
        else:
            key = api_key_from_env()
            client = openai.OpenAI(base_url=settings.base_url, api_key=key or NO_KEY,
                                   timeout=settings.timeout_s, max_retries=0)
        cache = None
        if settings.cache:
            cache = ResponseCache(settings.cache_dir or default_cache_dir())
        return cls(client, model or settings.model, base_url=settings.base_url, timeout_s=settings.timeout_s,
                   max_retries=settings.max_retries, backoff_s=settings.backoff_s,
                   backoff_max_s=settings.backoff_max_s, structured_output=structured,
                   temperature=settings.temperature, max_tokens=settings.max_tokens, cache=cache,
                   price_in_per_mtok=settings.price_in_per_mtok, price_out_per_mtok=settings.price_out_per_mtok,
                   secrets=(key,) if key else ())

    # -- safety -------------------------------------------------------------------------------
    def redact(self, text: Any) -> str:
        """``text`` with the API key (and every other secret the process knows, in any form:
        :func:`spiral.redaction.redact`) removed; also short keys this client was given."""
        s = redaction.redact(text)
        for secret in self._secrets:
            s = s.replace(secret, redaction.MARKER)
        return s

    def _snippet(self, text: str, n: int = 160) -> str:
        s = " ".join(self.redact(text or "").split())
        return s if len(s) <= n else s[:n] + "…"

    # -- model ----------------------------------------------------------------------------------
    @property
    def model(self) -> str:
        """The model name: configured, else the only model the server lists (``GET /models``).
        What is sent to the server; :attr:`shown_model` is what may be written or logged."""
        if self._model is None:
            self._model = self._detect_model()
        return self._model

    @property
    def shown_model(self) -> str:
        """The model name as traces, caches, logs and verdicts show it (redacted: a server may
        name a model after the key)."""
        return self.redact(self.model)

    def _detect_model(self) -> str:
        hint = "set it: --set agents.model=NAME (the name your server serves, see `curl BASE_URL/models`)"
        try:
            names = [m.id for m in self._call(lambda: self.client.models.list(), "list models").data]
        except AgentError as exc:  # the cause's hint first (the server is down, the key is refused …)
            raise AgentError(f"agents.model is not set and the model list of {self.base_url} is unavailable: "
                             f"{exc.message}", f"{exc.hint}; or {hint}" if exc.hint else hint) from None
        if len(names) != 1:
            shown = ", ".join(names[:8]) + (" …" if len(names) > 8 else "")
            raise AgentError(f"agents.model is not set and {self.base_url} serves {len(names)} models"
                             + (f" ({self.redact(shown)})" if names else ""), hint)
        log.info("using the only model served at %s: %s", self.base_url, self.redact(names[0]))
        return names[0]

    # -- HTTP with retries -----------------------------------------------------------------
    def _delay(self, attempt: int, exc: Exception | None) -> float:
        d = min(self.backoff_max_s, self.backoff_s * (2 ** attempt))
        d += random.uniform(0, self.backoff_s)  # jitter
        resp = getattr(exc, "response", None)
        ra = resp.headers.get("retry-after") if resp is not None else None
        if ra:
            try:
                d = max(d, float(ra))
            except ValueError:
                pass
        return min(d, self.backoff_max_s)

    def _call(self, fn: Callable[[], Any], what: str) -> Any:
        """``fn()`` with retries on 429, 5xx, timeouts and connection errors."""
        last = ""
        for attempt in range(self.max_retries + 1):
            failed: Exception | None = None  # an HTTP error whose Retry-After may set the delay
            try:
                return fn()
            except openai.APITimeoutError:  # (a subclass of APIConnectionError)
                last = f"no answer within {self.timeout_s:g} s (timeout)"
            except openai.APIConnectionError as e:
                last = f"cannot connect ({type(e.__cause__ or e).__name__})"
            except openai.RateLimitError as e:
                last, failed = f"HTTP 429 rate limited: {self._snippet(_err_text(e))}", e
            except openai.InternalServerError as e:
                last, failed = f"HTTP {e.status_code}: {self._snippet(_err_text(e))}", e
            except openai.APIStatusError as e:
                raise self._status_error(e, what) from None
            except json.JSONDecodeError as e:  # a 200 whose body is cut off or not JSON (a proxy)
                last = f"a reply that is not JSON ({e.msg} at character {e.pos})"
            if attempt < self.max_retries:
                d = self._delay(attempt, failed)
                self.usage.retries += 1
                log.warning("%s at %s: %s; retry %d/%d in %.2f s", what, self.base_url, last, attempt + 1,
                            self.max_retries, d)
                time.sleep(d)
        hint = ("is the server running and agents.base_url right? (it usually ends in /v1)"
                if last.startswith("cannot connect") else
                "check the server (or the proxy in front of it) and its log" if "not JSON" in last else
                "raise agents.timeout_s, or use a faster model" if "timeout" in last else
                "wait and retry, or raise agents.max_retries / agents.backoff_max_s")
        raise AgentError(f"{what} at {self.base_url} failed after {self.max_retries + 1} attempts: {last}", hint)

    def _status_error(self, e: Any, what: str) -> AgentError:
        code = getattr(e, "status_code", "?")
        text = self._snippet(_err_text(e))
        where = self.base_url
        if code in (401, 403):
            return AgentError(f"{where} refused the request (HTTP {code}): {text}",
                              f"set a valid key in {' or '.join(KEY_ENV_VARS)} (never in the config)")
        if code == 404:
            return AgentError(f"{what}: {where} answered HTTP 404 ({text})",
                              "check agents.base_url (usually ends in /v1) and agents.model")
        low = text.lower()
        if code in (400, 422) and any(w in low for w in _FORMAT_WORDS):
            return _FormatRefused(f"{where} does not accept the JSON-schema response_format: {text}")
        if code in (400, 422) and any(w in low for w in _IMAGE_WORDS):
            return ImagesNotSupported(f"{where} refused a request with images (HTTP {code}): {text}",
                                      "use a vision-language model (agents.model / critic.model)")
        return AgentError(f"{what}: {where} answered HTTP {code}: {text}", "check agents.model and the server log")

    # -- completions ---------------------------------------------------------------------------
    def _create(self, messages: list[dict[str, Any]], response_format: dict[str, Any] | None) -> tuple[str, Usage]:
        kwargs: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": self.temperature,
                                  "max_tokens": self.max_tokens}
        if response_format is not None:
            kwargs["response_format"] = response_format
        resp = self._call(lambda: self.client.chat.completions.create(**kwargs), "chat completion")
        u = Usage(model=self.shown_model, requests=1)
        usage = getattr(resp, "usage", None)
        if usage is not None:
            u.prompt_tokens = _count(getattr(usage, "prompt_tokens", 0))
            u.completion_tokens = _count(getattr(usage, "completion_tokens", 0))
        if self.price_in is not None or self.price_out is not None:
            u.usd = round(u.prompt_tokens * (self.price_in or 0) / 1e6 + u.completion_tokens * (self.price_out or 0)
                          / 1e6, 8)
        self.usage_pending = u  # counted even if the reply turns out unusable
        choices = getattr(resp, "choices", None) or []
        if not isinstance(choices, list) or not choices:
            raise AgentError(f"{self.base_url} returned no choices", "check the server log")
        self.last_finish_reason = getattr(choices[0], "finish_reason", None)
        message = getattr(choices[0], "message", None)
        if message is None:
            raise AgentError(f"{self.base_url} returned a choice without a message", "check the server log")
        content = getattr(message, "content", None)
        if isinstance(content, list):  # content parts: keep the text ones
            content = "".join(p.get("text") or "" if isinstance(p, dict) else getattr(p, "text", None) or ""
                              for p in content)
        if content is not None and not isinstance(content, str):
            raise AgentError(f"{self.base_url} returned message content of type {type(content).__name__}",
                             "check the server: an OpenAI-compatible server returns text")
        self.usage_pending = None
        return self.redact(content or ""), u  # the answer enters SPIRAL here: no secret gets past

    def _cache_key(self, messages: list[dict[str, Any]], name: str, schema: dict[str, Any]) -> str:
        req = {"v": CACHE_VERSION, "base_url": self.base_url, "model": self.model, "messages": messages,
               "schema_name": name, "schema": schema, "temperature": self.temperature,
               "max_tokens": self.max_tokens}
        return hashlib.sha256(json.dumps(req, sort_keys=True, default=str).encode()).hexdigest()

    def complete_json(self, messages: list[dict[str, Any]], answer: type[T], *, name: str,
                      check: Check | None = None, what: str = "the model") -> T:
        """Ask for an answer of type ``answer``; validate it (schema + ``check``), with one repair
        round-trip; cache the validated answer. Raises :class:`AgentError` with what was wrong."""
        schema = answer.model_json_schema()
        key = self._cache_key(messages, name, schema) if self.cache is not None else ""
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                try:  # (a cache written before redaction by value may hold an echoed key)
                    value = answer.model_validate(json.loads(self.redact(json.dumps(hit["answer"]))))
                    if not (check(value) if check else []):
                        self.usage.cache_hits += 1
                        self.usage.model = self.usage.model or self.shown_model
                        log.info("%s: answer from the response cache", what)
                        return value
                except ValidationError:
                    pass
                log.warning("ignoring a cached answer that no longer validates")
        spent = Usage(model=self.shown_model)
        convo = list(messages)
        errors: list[str] = []
        content = ""
        try:
            for round_ in range(2):  # the answer, then at most one repair
                self.last_finish_reason = None
                try:
                    content, u = self._complete_once(convo, name, schema)
                finally:  # a reply that came but could not be used still cost its tokens
                    if self.usage_pending is not None:
                        spent.add(self.usage_pending)
                        self.usage_pending = None
                spent.add(u)
                value, errors = self._parse(content, answer, check)
                if value is not None:
                    if self.cache is not None:
                        self.cache.put(key, {"schema": name, "model": self.shown_model,
                                             "answer": json.loads(self.redact(value.model_dump_json())),
                                             "prompt_tokens": spent.prompt_tokens,
                                             "completion_tokens": spent.completion_tokens})
                    return value
                errors = [self.redact(e) for e in errors]  # they quote the answer, which may echo a key
                if self.last_finish_reason == "length":
                    errors.append(f"the answer was cut off at agents.max_tokens ({self.max_tokens} tokens)")
                log.warning("%s: unusable answer (%s)%s", what, "; ".join(errors)[:300],
                            "; asking for a repair" if round_ == 0 else "")
                if round_ == 0:
                    spent.repairs += 1
                    convo = convo + [{"role": "assistant", "content": self.redact(content)},
                                     {"role": "user", "content": client_prompts()["repair"].format(
                                         errors="\n".join(f"- {e}" for e in errors))}]
        finally:  # every path: the answer, an unusable one, a failed repair request
            self.usage.add(spent)
        hint = ("raise agents.max_tokens (a reasoning model may think at length before it answers)"
                if self.last_finish_reason == "length" else
                "use a stronger or instruction-tuned model (agents.model), or check the prompt templates")
        raise AgentError(f"{what} gave no valid answer after one repair round-trip: "
                         + "; ".join(errors)[:600] + f" (answer began: {self._snippet(content, 120)!r})", hint)

    def _complete_once(self, messages: list[dict[str, Any]], name: str, schema: dict[str, Any]) -> tuple[str, Usage]:
        if self._schema_ok is not False:
            json_mode = self.structured_output == "json_object"
            rf = ({"type": "json_object"} if json_mode else
                  {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": False}})
            try:  # JSON mode only promises JSON: the schema (the keys it needs) goes in the prompt
                out = self._create(_with_schema(messages, schema) if json_mode else messages, rf)
                self._schema_ok = True
                return out
            except _FormatRefused as exc:
                if self.structured_output != "auto":
                    raise AgentError(exc.message, "set agents.structured_output=off (or auto)") from None
                log.info("%s does not support response_format; using the schema in the prompt", self.base_url)
                self._schema_ok = False
        return self._create(_with_schema(messages, schema), None)

    def _parse(self, content: str, answer: type[T], check: Check | None) -> tuple[T | None, list[str]]:
        try:
            data = extract_json(content)
        except ValueError as exc:
            return None, [f"not JSON: {exc}"]
        if not isinstance(data, dict):
            return None, ["the answer must be a JSON object"]
        try:
            value = answer.model_validate(data)
        except ValidationError as exc:
            return None, validation_errors(exc)
        problems = check(value) if check else []
        return (None, problems) if problems else (value, [])

    def pop_usage(self) -> Usage | None:
        """The usage since the last call (``None`` if nothing happened), then reset."""
        u, self.usage = self.usage, Usage()
        return None if u.empty() else u


class _FormatRefused(AgentError):
    """The server refused the ``response_format`` (handled inside the client)."""


def _err_text(e: Any) -> str:
    body = getattr(e, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            return str(err.get("message") or err)
        return str(err)
    return str(getattr(e, "message", "") or e)


def _count(x: Any) -> int:
    """A token count from a reply's ``usage`` (0 when a server sends something else)."""
    try:
        return max(0, int(x or 0))
    except (TypeError, ValueError):
        return 0


def _with_schema(messages: list[dict[str, Any]], schema: dict[str, Any]) -> list[dict[str, Any]]:
    """``messages`` with the schema instructions appended to the last user message."""
    text = client_prompts()["json_instructions"].format(schema=json.dumps(schema, separators=(",", ":")))
    out = list(messages)
    for i in range(len(out) - 1, -1, -1):
        if out[i].get("role") == "user":
            c = out[i]["content"]
            out[i] = {**out[i], "content": (c + "\n\n" + text) if isinstance(c, str) else [*c, text_part(text)]}
            return out
    return out + [{"role": "user", "content": text}]


def cost_dict(u: Usage | None) -> dict[str, Any] | None:
    """A usage as the trace's ``cost`` object."""
    return None if u is None else u.model_dump(mode="json")
