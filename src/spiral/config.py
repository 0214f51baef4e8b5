"""Typed run configuration.

A run is described by a :class:`RunConfig`, built from (lowest to highest precedence) the
defaults, a ``--config`` file (JSON or YAML), the CLI options, and ``--set key=value``
overrides. Unknown keys and wrong types are errors that name the key and the fix.
Backend sections (``generator``, ``planner``, ``critic``) carry a ``name`` plus the
backend's own options, validated by that backend's ``Config`` class.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from spiral import redaction
from spiral.core.loop_config import LoopConfig  # owned by core (the loop reads it); re-exported here
from spiral.errors import ConfigError, InputFileError

Mode = Literal["closed-loop", "plan-only", "open-loop"]
MODES: tuple[str, ...] = ("closed-loop", "plan-only", "open-loop")
log = logging.getLogger(__name__)

#: a secret-looking key name: one of these words as a whole part of the name (``secret_key``,
#: ``aws_secret_access_key``, ``api_key_file``, ``hf_token`` …; not ``max_tokens``)
SECRET_RE = re.compile(r"(^|[_-])(api[_-]?key|apikey|secret|password|passwd|token|auth|authorization)([_-]|$)",
                       re.IGNORECASE)
DEFAULT_GENERATOR = "tiny-ti2v"  # the built-in learned world model (weights ship in the package)
DEFAULT_WORLD = "tabletop"  # spiral.worlds.base.World by name (spiral.registry.get_world)
#: the tabletop's planner and critic: the defaults when neither the run nor its world names others
DEFAULT_COMPONENTS = {"planner": "symbolic", "critic": "perception"}


class ComponentConfig(BaseModel):
    """A backend chosen by ``name``; other keys are the backend's options."""

    model_config = ConfigDict(extra="allow")
    name: str

    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class SceneConfig(BaseModel):
    """Where the first frame comes from: a seeded random scene, a scene file or an image."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    seed: int | None = Field(default=None, description="random scene seed (no scene option: the demo scene)")
    file: str | None = Field(default=None, description="scene JSON file")
    image: str | None = Field(default=None, description="first-frame image (PNG/JPEG)")
    size: int = Field(default=64, ge=32, le=1024, description="frame size in pixels")
    min_objects: int = Field(default=3, ge=2, le=6)
    max_objects: int = Field(default=5, ge=2, le=6)
    domain_check: Literal["refuse", "warn", "off"] = Field(
        default="refuse", description="--image/--scene with the built-in planner or critic: refuse (or only warn "
                                      "about) a first frame that does not look like a tabletop render; off skips it")


class MemoryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    experience_path: str | None = Field(default=None, description="cross-episode experience SQLite file")


class OutputConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    video_scale: int = Field(default=4, ge=1, le=16, description="upscale factor of video.mp4")
    report: bool = True


class AgentsConfig(BaseModel):
    """The OpenAI-compatible endpoint of the LLM planner and the VLM critic (vLLM, SGLang,
    Ollama, LM Studio or a hosted model). The API key is never a config key: it is read from
    the environment (``SPIRAL_API_KEY``, else ``OPENAI_API_KEY``)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    base_url: str = Field(default="http://127.0.0.1:8000/v1", min_length=1,
                          description="the server's OpenAI-compatible base URL (usually ends in /v1)")
    model: str | None = Field(default=None, description="model name; null: the only model the server lists")
    timeout_s: float = Field(default=120.0, gt=0, description="seconds to wait for one answer")
    max_retries: int = Field(default=3, ge=0, le=20, description="retries on 429, 5xx, timeouts, connection errors")
    backoff_s: float = Field(default=1.0, ge=0, description="first retry delay; doubles each retry")
    backoff_max_s: float = Field(default=30.0, ge=0, description="longest retry delay (also caps Retry-After)")
    structured_output: Literal["auto", "json_schema", "json_object", "off"] = Field(
        default="auto", description="auto: JSON-schema response_format, falling back to the schema in the prompt")
    temperature: float = Field(default=0.0, ge=0, le=2)
    max_tokens: int = Field(default=2048, ge=16, description="longest answer in tokens")
    cache: bool = Field(default=True, description="reuse validated answers of identical requests from disk")
    cache_dir: str | None = Field(default=None, description="null: $SPIRAL_CACHE_DIR or ~/.cache/spiral/llm")
    price_in_per_mtok: float | None = Field(default=None, ge=0, description="USD per million prompt tokens")
    price_out_per_mtok: float | None = Field(default=None, ge=0, description="USD per million answer tokens")

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if v.startswith("local:"):  # an in-process model (spiral.agents.local_llm)
            return v
        redaction.add_url(v)  # its password and ?api_key= value are secrets from now on, wherever they appear
        shown = redaction.redact(re.sub(r"[^/@]*@", "***@", v, count=1))  # user:password@ stays out of messages
        try:
            parts = urlsplit(v)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as exc:
            raise ValueError(f"{shown!r} is not a URL ({exc})") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{shown!r} is not an http(s) URL: write e.g. http://127.0.0.1:8000/v1 "
                             "(or local:MODEL for an in-process model)")
        return v


def safe_url(url: str) -> str:
    """``url`` without user:password and secret query parameters (``?api_key=``, ``token=`` …):
    safe to print or to write into a run directory (:func:`spiral.redaction.safe_url`)."""
    return redaction.safe_url(url)


#: ``agents`` keys that change how answers are fetched, not what they are (not part of a run's identity)
AGENTS_RUNTIME_KEYS = ("timeout_s", "max_retries", "backoff_s", "backoff_max_s", "cache", "cache_dir",
                       "price_in_per_mtok", "price_out_per_mtok")


class RunConfig(BaseModel):
    """Everything that determines a run (with the seed, the same config gives the same run)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    goal: str = ""
    seed: int = 0
    mode: Mode = "closed-loop"
    world: str = Field(default=DEFAULT_WORLD, min_length=1, description=(
        "where first frames come from and which planner and critic read them by default (tabletop: built in; "
        "others through spiral.registry.register('world', ...) or the spiral.worlds entry points)"))
    scene: SceneConfig = Field(default_factory=SceneConfig)
    generator: ComponentConfig = Field(default_factory=lambda: ComponentConfig(name=DEFAULT_GENERATOR))
    planner: ComponentConfig = Field(default_factory=lambda: ComponentConfig(name=DEFAULT_COMPONENTS["planner"]))
    critic: ComponentConfig = Field(default_factory=lambda: ComponentConfig(name=DEFAULT_COMPONENTS["critic"]))
    loop: LoopConfig = Field(default_factory=LoopConfig)
    memory: MemoryConfig = Field(default_factory=MemoryConfig)
    agents: AgentsConfig = Field(default_factory=AgentsConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)

    def public_dict(self) -> dict[str, Any]:
        """The config as written next to outputs: secrets removed (secret-looking keys, and a
        user name or password in ``agents.base_url``, e.g. a proxy's basic auth)."""
        return public(self.model_dump(mode="json"))

    def identity(self) -> str:
        """Hash of what determines the result (output options excluded)."""
        d = self.public_dict()
        d.pop("output", None)
        if d.get("world") == DEFAULT_WORLD:  # runs from before the key existed keep their hash
            d.pop("world")
        d.get("loop", {}).pop("speculate", None)  # how the run is executed, not what it produces
        d.get("scene", {}).pop("domain_check", None)  # whether to start, not what a run produces
        for k in AGENTS_RUNTIME_KEYS:
            d.get("agents", {}).pop(k, None)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def scrub(obj: Any) -> Any:
    """Drop secret-looking keys (api_key, token, …) from nested dicts."""
    if isinstance(obj, dict):
        return {k: scrub(v) for k, v in obj.items() if not SECRET_RE.search(str(k))}
    if isinstance(obj, list):
        return [scrub(v) for v in obj]
    return obj


def public(config: dict[str, Any]) -> dict[str, Any]:
    """A (possibly partial) config dict as it may be written or shown: secret-looking keys
    dropped, and no user name or password in ``agents.base_url`` (a proxy's basic auth)."""
    d = scrub(config)
    agents = d.get("agents")
    if isinstance(agents, dict) and isinstance(agents.get("base_url"), str):
        agents["base_url"] = safe_url(agents["base_url"])
    return d


def shown_input(err: dict[str, Any]) -> Any:
    """A validation error's input as it may be printed: secret-looking keys removed from a
    section, and nothing of a value whose own key looks secret."""
    if any(SECRET_RE.search(str(x)) for x in err.get("loc", ())):
        return "***"
    return scrub(err.get("input"))


def _valid_keys(model: type[BaseModel]) -> list[str]:
    return list(model.model_fields)


def _section_model(key: str) -> type[BaseModel] | None:
    field = RunConfig.model_fields.get(key)
    ann = field.annotation if field else None
    return ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None


def parse_value(raw: str) -> Any:
    """``--set`` values: JSON when they parse (numbers, booleans, lists, null), else strings."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def apply_set(data: dict[str, Any], item: str) -> None:
    if "=" not in item:
        raise ConfigError(f"--set {item!r} is not key=value", "write e.g. --set loop.max_attempts=3")
    key, raw = item.split("=", 1)
    key = key.strip()
    parts = key.split(".")
    if not all(parts):
        raise ConfigError(f"--set: bad key {key!r}", "write e.g. --set loop.max_attempts=3")
    top = parts[0]
    value = parse_value(raw)
    # the key, or a key inside a section's value (scrub drops it; containers only: nan != nan)
    if SECRET_RE.search(parts[-1]) or (isinstance(value, (dict, list)) and scrub(value) != value):
        raise ConfigError(f"{key!r} looks like a secret or holds one; secrets are not config keys",
                          "set the API key in the environment: SPIRAL_API_KEY (or OPENAI_API_KEY)")
    if top not in RunConfig.model_fields:
        raise ConfigError(f"unknown config key {key!r}" + _suggest(top, _valid_keys(RunConfig)),
                          f"top-level keys: {', '.join(_valid_keys(RunConfig))}")
    section = _section_model(top)
    if len(parts) > 1 and section is not None and section is not ComponentConfig \
            and parts[1] not in section.model_fields:
        raise ConfigError(f"unknown config key {key!r}" + _suggest(parts[1], _valid_keys(section)),
                          f"keys under {top}: {', '.join(_valid_keys(section))}")
    if len(parts) > 1 and section is None:
        raise ConfigError(f"config key {top!r} has no sub-keys (got {key!r})", f"write --set {top}=VALUE")
    cur = data
    for p in parts[:-1]:
        nxt = cur.setdefault(p, {})
        if not isinstance(nxt, dict):
            raise ConfigError(f"cannot set {key!r}: {p!r} is not a section", "check the key path")
        cur = nxt
    cur[parts[-1]] = value


def _suggest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def load_config_file(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"config file not found: {p}", "pass an existing JSON or YAML file to --config")
    try:
        text = p.read_text(encoding="utf-8")
        if p.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:  # any parse error is a bad file
        raise InputFileError(f"config file {p} does not parse: {exc}", "fix the file's syntax") from exc
    if isinstance(data, dict) and "config" in data and "config_hash" in data:
        data = data["config"]  # a run's config.json
    if not isinstance(data, dict):
        raise InputFileError(f"config file {p} must hold a mapping at top level", "see docs/config.md")
    return data


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out


def error_lines(exc: ValidationError, unknown: Any, prefix: str = "", masked: tuple[str, ...] = ()) -> list[str]:
    """One line per error of ``exc`` (the config's and every component's options' errors read
    alike): ``unknown(loc, error)`` words an unknown key, others read ``prefix + loc: message
    (got value)``; a value is never shown for the ``masked`` keys (their message shows them,
    masked) and secret-looking values are scrubbed (:func:`shown_input`)."""
    lines = []
    for e in exc.errors():
        loc = ".".join(str(x) for x in e["loc"])
        if e["type"] == "extra_forbidden":
            lines.append(unknown(loc, e))
            continue
        msg = e["msg"].removeprefix("Value error, ")
        lines.append(f"{prefix}{loc}: {msg}" + ("" if loc in masked else f" (got {shown_input(e)!r})"))
    return lines


def _unknown_key(loc: str, e: dict[str, Any]) -> str:
    if SECRET_RE.search(str(e["loc"][-1])):
        return (f"{loc!r} looks like a secret; secrets are not config keys (set the API key in the environment: "
                "SPIRAL_API_KEY or OPENAI_API_KEY)")
    parent = e["loc"][0] if len(e["loc"]) > 1 else None
    section = _section_model(str(parent)) if parent else RunConfig
    opts = _valid_keys(section) if section else []
    return f"unknown config key {loc!r}" + _suggest(str(e["loc"][-1]), opts)


def validate(data: dict[str, Any]) -> RunConfig:
    try:
        cfg = RunConfig.model_validate(data)
    except ValidationError as exc:
        lines = error_lines(exc, _unknown_key, masked=("agents.base_url",))
        raise ConfigError("invalid config:\n  " + "\n  ".join(lines),
                          "run `spiral config` to see every key with its default") from None
    if cfg.scene.size < 64 and (cfg.critic.name == "perception" or cfg.planner.name == "symbolic"):
        log.warning("scene.size=%d: the built-in perception (symbolic planner, perception critic) needs 64 "
                    "pixels or more and misreads small objects below that", cfg.scene.size)
    if cfg.scene.min_objects > cfg.scene.max_objects:
        raise ConfigError("scene.min_objects is larger than scene.max_objects", "lower min_objects")
    if cfg.loop.steps is not None and cfg.loop.steps > cfg.loop.max_steps:
        raise ConfigError(f"loop.steps ({cfg.loop.steps}) is above loop.max_steps ({cfg.loop.max_steps}), the "
                          "cap of the more_steps refinement (it would lower the steps)",
                          "raise loop.max_steps, or lower loop.steps")
    sources = [x for x in (cfg.scene.file, cfg.scene.image) if x]
    if len(sources) > 1:
        raise ConfigError("give either a scene file or an image, not both", "drop --scene or --image")
    return cfg


def build_config(file: str | Path | None = None, overrides: dict[str, Any] | None = None,
                 sets: list[str] | None = None) -> RunConfig:
    """The run config from the defaults, a config ``file``, ``overrides`` (a nested dict) and
    ``--set`` items, in that order. A planner or critic the caller does not name is left out of
    the config's set fields (``RunConfig.model_fields_set``): the run's world chooses it
    (:func:`spiral.api.with_defaults`; the tabletop's are the ``DEFAULT_COMPONENTS``)."""
    data: dict[str, Any] = {"generator": {"name": DEFAULT_GENERATOR}}
    if file:
        data = merge(data, load_config_file(file))
    data = merge(data, overrides or {})
    for item in sets or []:
        apply_set(data, item)
    for role, name in DEFAULT_COMPONENTS.items():  # options given without a name: the default's
        if isinstance(data.get(role), dict) and "name" not in data[role]:
            data[role] = {"name": name, **data[role]}
    return validate(data)
