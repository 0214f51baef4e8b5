"""The secret-leak paths of issue 20, driven end to end through the CLI against the scripted
loopback server, and an independent counter of every form of a secret in files and streams.

Used by ``test_secret_leaks.py`` and by ``benchmarks/bench_secret_leaks.py``. Each path makes
a hostile or careless server put a secret somewhere an answer or an error goes, runs
``spiral run`` (or ``spiral bench critic``) at ``-vv``, then ``spiral show`` (with and without
``--events``), and counts the secret's forms in every file under the run directory, the
response cache and the bench directory, in the log records and stderr, and in stdout.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
from PIL import Image
from scripted_server import ScriptedServer, agent_router, kitchen_plan, ok, verdict
from typer.testing import CliRunner

KITCHEN_GOAL = "put the mug in the cupboard and close it"
ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")
LOGGERS = ("spiral", "openai", "httpx", "httpx2", "httpcore", "httpcore2")


# -- counting -------------------------------------------------------------------------------------
def forms(secret: str) -> list[str]:
    """The forms a secret is searched in: plain, base64 (standard, URL-safe, unpadded), JSON
    ``\\u``-escaped, URL-encoded."""
    raw = secret.encode()
    b64 = base64.b64encode(raw).decode()
    out = [secret, b64, b64.rstrip("="), base64.urlsafe_b64encode(raw).decode().rstrip("="),
           "".join(f"\\u{ord(c):04x}" for c in secret), "".join(f"%{b:02X}" for b in raw)]
    return list(dict.fromkeys(f for f in out if len(f) >= 6))


def _normalise(text: str) -> str:
    """Escapes decoded and invisible (format) characters dropped, written independently of
    ``spiral.redaction`` so the count does not trust the code it checks."""
    text = re.sub(r"\\+u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
    text = re.sub(r"%([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), text)
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


_B64_RUN = re.compile(r"[A-Za-z0-9+/_-]{12,}={0,2}")


def _b64_decoded(text: str, depth: int = 2) -> list[str]:
    """Every base64-looking run of ``text`` decoded (at each of its 4 possible starts), and
    what those hold in turn, ``depth`` levels deep (a base64 auth header echoed in base64)."""
    out = []
    for m in _B64_RUN.finditer(text):
        tok = m.group().rstrip("=").replace("-", "+").replace("_", "/")
        for shift in range(4):
            t = tok[shift:]
            t = t[:len(t) - 1] if len(t) % 4 == 1 else t  # (one char alone holds no byte)
            if len(t) < 8:
                continue
            dec = base64.b64decode(t + "=" * (-len(t) % 4)).decode("latin-1")
            out.append(dec)
            if depth > 1:
                out += _b64_decoded(dec, depth - 1)
    return out


def count(text: str, secrets_: list[str]) -> int:
    """Occurrences of any form of any secret in ``text`` (as written, and normalised), plus the
    plain secret inside anything base64 in it (decoded two levels deep)."""
    norm = _normalise(text)
    n = sum(max(text.count(f), norm.count(f)) for s in secrets_ for f in forms(s))
    if any(len(s) >= 8 for s in secrets_):
        for dec in _b64_decoded(norm):
            n += sum(dec.count(s) for s in secrets_ if len(s) >= 8)
    return n


def count_tree(root: Path, secrets_: list[str]) -> dict[str, int]:
    """Per file under ``root`` (every file, binary ones read as UTF-8 with errors ignored)."""
    out: dict[str, int] = {}
    if not root.exists():
        return out
    for f in sorted(root.rglob("*")):
        if f.is_file():
            n = count(f.read_bytes().decode("utf-8", "ignore"), secrets_)
            if n:
                out[str(f.relative_to(root))] = n
    return out


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # noqa: BLE001
            self.lines.append(str(record.msg))


# -- the paths ---------------------------------------------------------------------------------
@dataclass
class LeakPath:
    """One leak path: what the server does, the CLI arguments, the secrets to look for."""

    name: str
    what: str
    setup: Callable[[ScriptedServer, dict[str, str]], None]
    args: Callable[[ScriptedServer, dict[str, str], Path], list[str]]
    secrets: Callable[[dict[str, str]], list[str]]
    exit_codes: tuple[int, ...] | None = (0,)  # None: any (what it is is not this test's business)
    show: bool = True
    extra: list[Callable[[ScriptedServer, dict[str, str], Path], list[str]]] = field(default_factory=list)


def new_values() -> dict[str, str]:
    """Fresh throwaway secrets (no key-like literal in the repository)."""
    return {"key": "sk-test-" + secrets.token_hex(16), "user": "alice", "password": "pw-" + secrets.token_hex(10),
            "query": "qk-" + secrets.token_hex(12)}


def _run_args(server: ScriptedServer, v: dict[str, str], work: Path, base_url: str | None = None,
              *extra: str) -> list[str]:
    return ["run", KITCHEN_GOAL, "--image", str(work / "kitchen.png"), "--planner", "llm", "--critic", "vlm",
            "--set", f"agents.base_url={base_url or server.url}", "--out", str(work / "run"), "-vv", *extra]


def _creds_url(server: ScriptedServer, v: dict[str, str]) -> str:
    return server.url.replace("http://", f"http://{v['user']}:{v['password']}@")


def _plan_with_prompt(prompt: str) -> dict[str, Any]:
    plan = kitchen_plan()
    plan["steps"][0]["prompt"] = prompt
    return plan


def _escaped_plan(v: dict[str, str]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    text = json.dumps(_plan_with_prompt(f"a hand lifts the mug; token {v['key']} ok"))
    text = text.replace(v["key"], "".join(f"\\u{ord(c):04x}" for c in v["key"]))  # still valid JSON
    route = agent_router(kitchen_plan(), [verdict()])

    def answer(body: dict[str, Any]) -> dict[str, Any]:
        r = route(body)
        return {"content": text} if "You are the planner" in json.dumps(body) else r

    return answer


def _zero_width(secret: str) -> str:
    return "".join(c + ZERO_WIDTH[i % len(ZERO_WIDTH)] for i, c in enumerate(secret))


def _echo_auth(body: dict[str, Any]) -> Callable[..., dict[str, Any]]:
    def reply(body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        auth = headers.get("authorization", "")
        return {"status": 401, "error": f"invalid credentials {auth!r} (base64 "
                                        f"{base64.b64encode(auth.encode()).decode()})"}

    return reply


def _lite_task_plan(secret: str) -> dict[str, Any]:
    """A valid plan for ActWM-Bench-Lite's first task ("move the white ball to the back right corner")."""
    return {"objects": [], "goal_conditions": [], "steps": [
        {"kind": "pick_place", "subject": "white_ball", "objects": [], "params": {"region": "back-right"},
         "prompt": f"the white ball is carried to the back right corner ({secret})", "preconditions": [],
         "postconditions": []}]}


def _key_env(v: dict[str, str]) -> list[str]:
    return [v["key"]]


PATHS: list[LeakPath] = [
    LeakPath("plan_prompt_plain", "a valid plan whose step prompt contains the key",
          lambda s, v: setattr(s, "router", agent_router(_plan_with_prompt(
              f"a hand lifts the mug (my key is {v['key']}) into the cupboard"), [verdict()])),
          _run_args, _key_env),
    LeakPath("plan_prompt_escaped", "the same, the key \\u-escaped in the JSON answer",
          lambda s, v: setattr(s, "router", _escaped_plan(v)), _run_args, _key_env),
    LeakPath("plan_prompt_zero_width", "the key split by zero-width characters in a step prompt",
          lambda s, v: setattr(s, "router", agent_router(_plan_with_prompt(
              f"a hand lifts the mug {_zero_width(v['key'])} into the cupboard"), [verdict()])),
          _run_args, _key_env),
    LeakPath("verdict_feedback", "a VLM verdict whose feedback contains the key (then a refinement)",
          lambda s, v: setattr(s, "router", agent_router(kitchen_plan(), [
              verdict(False, "missing_action", f"The mug did not move. Debug: {v['key']}"), verdict()])),
          lambda s, v, w: _run_args(s, v, w, None, "--set", "agents.cache=false"), _key_env),
    LeakPath("models_name", "a /models answer naming a model model-<key> (agents.model unset)",
          lambda s, v: (setattr(s, "models", [f"model-{v['key']}"]),
                        setattr(s, "router", agent_router(kitchen_plan(), [verdict()]))),
          _run_args, _key_env),
    LeakPath("url_credentials", "agents.base_url with user:password@ (at -vv)",
          lambda s, v: setattr(s, "router", agent_router(kitchen_plan(), [verdict()])),
          lambda s, v, w: _run_args(s, v, w, _creds_url(s, v)),
          lambda v: [v["key"], v["password"], f"{v['user']}:{v['password']}"]),
    LeakPath("auth_header_echo", "a server echoing the auth header (and its base64) into an error",
          lambda s, v: setattr(s, "router", _echo_auth),
          lambda s, v, w: _run_args(s, v, w, _creds_url(s, v)),
          lambda v: [v["key"], v["password"], f"{v['user']}:{v['password']}"], exit_codes=(2,), show=False),
    LeakPath("query_api_key", "?api_key= in agents.base_url (the server's 404 echoes the path)",
          lambda s, v: setattr(s, "router", agent_router(kitchen_plan(), [verdict()])),
          lambda s, v, w: _run_args(s, v, w, f"{s.url}?api_key={v['query']}"),
          lambda v: [v["key"], v["query"]], exit_codes=(2,), show=False,
          extra=[lambda s, v, w: ["run", "--generator", "sim", "--set", f"agents.base_url={s.url}?api_key={v['query']}",
                                  "--out", str(w / "run"), "-vv"]]),
    LeakPath("bench_critic_feedback", "`spiral bench critic --critic vlm` with feedback quoting the key",
          lambda s, v: setattr(s, "router", lambda body: ok(verdict(
              False, "missing_action", f"Nothing moved ({quote(v['key'])}) {v['key']}"))),
          lambda s, v, w: ["bench", "critic", "--critic", "vlm", "--n", "1", "--corruptions", "static",
                           "--set", f"agents.base_url={s.url}", "--set", "critic.frames=2", "--out",
                           str(w / "run"), "-q"],
          _key_env, show=False),
    LeakPath("bench_run_task", "`spiral bench run --planner llm`: a valid plan for the task whose step prompt "
                               "holds the key split by zero-width characters",
             lambda s, v: setattr(s, "router", agent_router(_lite_task_plan(_zero_width(v["key"])), [])),
             lambda s, v, w: ["bench", "run", "--planner", "llm", "--generator", "sim", "--workers", "1",
                              "--limit", "1", "--set", f"agents.base_url={s.url}", "--out", str(w / "run")],
             _key_env, exit_codes=None, show=False),
]


def kitchen_png(path: Path) -> Path:
    img = np.zeros((96, 128, 3), np.uint8)
    img[:] = (200, 170, 140)
    img[60:] = (120, 100, 80)
    img[10:50, 10:40] = (90, 110, 130)
    img[20:40, 70:110] = (170, 140, 120)
    img[45:58, 80:92] = (140, 100, 90)
    Image.fromarray(img).save(path)
    return path


def run_path(path: LeakPath, work: Path, values: dict[str, str] | None = None) -> dict[str, Any]:
    """Drive one path in ``work`` (a fresh directory); the counts found, per place."""
    from spiral.cli.main import app

    try:
        from spiral import redaction
    except ImportError:  # a checkout without it (the benchmark's baseline)
        redaction = None

    v = values or new_values()
    work.mkdir(parents=True, exist_ok=True)
    kitchen_png(work / "kitchen.png")
    cache = work / "llm-cache"
    old_env = {k: os.environ.get(k) for k in ("SPIRAL_API_KEY", "OPENAI_API_KEY", "SPIRAL_CACHE_DIR")}
    os.environ.update({"SPIRAL_API_KEY": v["key"], "SPIRAL_CACHE_DIR": str(cache)})
    os.environ.pop("OPENAI_API_KEY", None)
    if redaction is not None:
        redaction.forget_registered()  # each path on its own: nothing learnt from an earlier one
    handler = _Records()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    for name in LOGGERS:
        logging.getLogger(name).addHandler(handler)
    server = ScriptedServer()
    server.thread.start()
    runner = CliRunner()
    stdout, stderr, codes = [], [], []
    try:
        path.setup(server, v)
        commands = [path.args(server, v, work)] + [f(server, v, work) for f in path.extra]
        if path.show:
            commands += [["show", str(work / "run")], ["show", str(work / "run"), "--events"]]
        for i, args in enumerate(commands):
            if i > 0 and args[0] == "run":  # an extra run: a directory of its own
                args = [a if a != str(work / "run") else str(work / f"run{i}") for a in args]
            r = runner.invoke(app, args, catch_exceptions=True)
            if r.exception is not None and not isinstance(r.exception, SystemExit):
                stderr.append(repr(r.exception))
            codes.append(r.exit_code)
            stdout.append(r.stdout)
            stderr.append(r.stderr)
    finally:
        server.close()
        for name in LOGGERS:
            logging.getLogger(name).removeHandler(handler)
        for k, val in old_env.items():
            if val is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = val
    secrets_ = path.secrets(v)
    files: dict[str, int] = {}
    for root in sorted(p for p in work.iterdir() if p.is_dir()):
        for f, n in count_tree(root, secrets_).items():
            files[f"{root.name}/{f}"] = n
    stderr_text = "\n".join(stderr)
    return {"name": path.name, "what": path.what, "exit_codes": codes,
            "expected_exit": path.exit_codes is None or codes[0] in path.exit_codes, "files": sum(files.values()), "file_hits": files,
            "logs": count("\n".join(handler.lines), secrets_) + count(stderr_text, secrets_),
            "printed": count("\n".join(stdout), secrets_), "log_lines": len(handler.lines),
            "requests": server.hits, "stdout": "\n".join(stdout),
            "stderr": stderr_text, "records": handler.lines, "values": v}
