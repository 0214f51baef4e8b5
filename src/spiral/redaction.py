"""Secrets redacted by value: every secret the process knows, in every form it may take.

A model may echo the API key (in a plan step, a verdict's feedback, a model name), a server
may echo the auth header into an error, a proxy URL may carry ``user:password@`` or
``?api_key=``. Each such value is *registered* here, and :func:`redact` replaces it, wherever
and however it appears, with :data:`MARKER`. It runs where model answers enter SPIRAL (the
chat client) and again at every sink (trace, run-directory files, memory, cache, report,
logs, errors, printed output) as the last line of defence. The rules (docs/secrets.md):

* **what is secret**: the keys in the environment variables :data:`KEY_ENV_VARS` (read at
  every call), and every value passed to :func:`add_secret` / :func:`add_url` (the password
  and user name of a URL's ``user:password@``, the value of a secret-named query parameter
  such as ``?api_key=``); values shorter than :data:`MIN_SECRET` characters are not
  redacted by value (they would hit ordinary text); URL credentials and secret query values
  are still removed by pattern (below);
* **forms**: the plain value; its base64 at each of the three byte alignments, standard and
  URL-safe alphabets (so it is found inside ``Authorization: Basic base64(user:pass)`` or any
  longer base64 text), and the same of its base64 (a base64-encoded auth header); and any of these written with JSON ``\\uXXXX`` / ``\\xXX`` escapes
  (also double-escaped), URL ``%XX`` encoding, HTML ``&#NN;`` entities, or split by
  invisible characters (zero-width space/joiners, word joiner, BOM, soft hyphen, other
  format characters) or terminal colour codes, in any mix;
* **significant substrings**: for a value of :data:`SUBSTRING_MIN_KEY` characters or more,
  any :data:`SUBSTRING_LEN`-character piece of it, unless that piece reads like a word
  (only letters, all lower case, all upper case or capitalised), so a model quoting part of
  the key is caught while ordinary words are never redacted;
* **by pattern, whatever the value**: the ``user:password@`` of any URL and the value of a
  secret-named query parameter (:data:`QUERY_SECRET_NAMES`).

This module imports nothing from SPIRAL (``core`` and ``errors`` use it).
"""

from __future__ import annotations

import base64
import bisect
import logging
import os
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

MARKER = "[REDACTED]"
#: environment variables holding a key the agents send (``spiral.agents.llm_client``)
KEY_ENV_VARS = ("SPIRAL_API_KEY", "OPENAI_API_KEY")
MIN_SECRET = 6
SUBSTRING_MIN_KEY = 20
SUBSTRING_LEN = 12
#: query parameters whose value is a secret (``?api_key=…``, ``&token=…``)
QUERY_SECRET_NAMES = re.compile(
    r"^(api[_-]?key|apikey|key|token|access[_-]?token|auth|authorization|secret|client[_-]?secret|password|"
    r"passwd|pwd|sig|signature|x-api-key)$", re.IGNORECASE)

# invisible characters a secret may be split by: zero-width space/non-joiner/joiner, marks,
# word joiner and invisible operators, BOM, soft hyphen, variation selectors, tags …
_INVISIBLE = ("\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
              "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e0fff")
_TOKEN_RE = re.compile(r"\\+u[0-9a-fA-F]{4}|\\+x[0-9a-fA-F]{2}|%[0-9a-fA-F]{2}|&#[xX][0-9a-fA-F]{1,6};|&#[0-9]{1,7};"
                       r"|\x1b\[[0-9;?]*[A-Za-z]"  # a terminal colour code (rich styling) between characters
                       f"|[{_INVISIBLE}]")
_TOKEN_START_RE = re.compile(f"[\\\\%&\x1b{_INVISIBLE}]")  # a quick test: could anything need decoding?
_URL_CRED_RE = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@?#\"'<>]+@")
_QUERY_RE = re.compile(r"(?i)([?&;](?:api[_-]?key|apikey|key|token|access[_-]?token|auth|authorization|secret|"
                       r"client[_-]?secret|password|passwd|pwd|sig|signature|x-api-key)=)[^&\s#\"'<>]+")
_WORDLIKE_RE = re.compile(r"[a-z]+|[A-Z]+|[A-Z][a-z]+")

_lock = threading.Lock()
_registered: set[str] = set()
_matcher_cache: dict[frozenset[str], _Matcher] = {}


def _new_lock_in_child() -> None:  # a worker forked while another thread held the lock must not hang
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock_in_child)


def add_secret(value: str | None) -> None:
    """Treat ``value`` as a secret from now on (process-wide); short values are ignored."""
    if value and isinstance(value, str):
        v = value.strip()
        if len(v) >= MIN_SECRET:
            with _lock:
                _registered.add(v)


def add_url(url: str | None) -> None:
    """Register the secrets a URL carries: its ``user:password@`` and secret query values."""
    if not url or not isinstance(url, str):
        return
    try:
        parts = urlsplit(url)
        user, password = parts.username, parts.password
    except ValueError:
        return
    for v in (user, password):
        if v:
            add_secret(unquote(v))
    if user and password:
        add_secret(f"{unquote(user)}:{unquote(password)}")  # what Basic auth encodes
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if QUERY_SECRET_NAMES.match(name):
            add_secret(value)


def known() -> frozenset[str]:
    """Every secret known now: the environment's keys and the registered values."""
    env = {os.environ.get(v, "").strip() for v in KEY_ENV_VARS}
    with _lock:
        return frozenset(s for s in env | _registered if len(s) >= MIN_SECRET)


def forget_registered() -> None:
    """Drop the registered values (tests)."""
    with _lock:
        _registered.clear()
        _matcher_cache.clear()


def safe_url(url: str) -> str:
    """``url`` without ``user:password@`` and without secret query parameters (safe to print
    or to write into a run directory)."""
    try:
        parts = urlsplit(url)
        has_creds = bool(parts.username or parts.password)
    except ValueError:
        return "<invalid url>"
    if has_creds:
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        parts = parts._replace(netloc=host)
    if parts.query:
        q = parse_qsl(parts.query, keep_blank_values=True)
        kept = [(k, v) for k, v in q if not QUERY_SECRET_NAMES.match(k)]
        if len(kept) != len(q):
            parts = parts._replace(query=urlencode(kept))
    return urlunsplit(parts)


# -- matching ------------------------------------------------------------------------------------
def _b64_cores(data: bytes) -> list[str]:
    """The base64 characters that depend only on ``data``, at each of the 3 byte alignments
    it can have inside a longer base64 text (standard and URL-safe alphabets)."""
    out = []
    for k in range(3):
        n = len(data)
        start, end = -(-8 * k // 6), 8 * (k + n) // 6
        for enc in (base64.b64encode, base64.urlsafe_b64encode):
            core = enc(b"\0" * k + data).decode("ascii")[start:end]
            if len(core) >= 8:
                out.append(core)
    full = base64.b64encode(data).decode("ascii")  # the whole value, its padding included
    return [full, *out]


def _windows(secret: str) -> set[str]:
    if len(secret) < SUBSTRING_MIN_KEY:
        return set()
    ws = {secret[i:i + SUBSTRING_LEN] for i in range(len(secret) - SUBSTRING_LEN + 1)}
    return {w for w in ws if not _WORDLIKE_RE.fullmatch(w) and not w.isspace()}


class _Matcher:
    def __init__(self, secrets: frozenset[str]):
        needles: set[str] = set()
        windows: set[str] = set()
        for s in secrets:
            needles.add(s)
            b64 = _b64_cores(s.encode("utf-8"))
            needles.update(b64)
            needles.update(_b64_cores(b64[0].encode("ascii")))  # base64 of a header that holds it in base64
            windows.update(_windows(s))
        ordered = sorted(needles, key=lambda x: (-len(x), x))
        self.needle_re = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self.windows = windows
        # runs of SUBSTRING_LEN+ characters that could be pieces of a key (one fast scan), then
        # each piece of a run looked up in the set of the keys' pieces
        chars = "".join(sorted({c for w in windows for c in w}))
        self.run_re = re.compile(f"[{re.escape(chars)}]{{{SUBSTRING_LEN},}}") if windows else None

    def spans(self, text: str) -> list[tuple[int, int]]:
        out = []
        if self.needle_re is not None:
            out += [m.span() for m in self.needle_re.finditer(text)]
        if self.run_re is not None:
            n, ws = SUBSTRING_LEN, self.windows
            for m in self.run_re.finditer(text):
                run, base = m.group(), m.start()
                out += [(base + i, base + i + n) for i in range(len(run) - n + 1) if run[i:i + n] in ws]
        return out


def _matcher(secrets: frozenset[str]) -> _Matcher:
    m = _matcher_cache.get(secrets)
    if m is None:
        m = _Matcher(secrets)
        with _lock:
            if len(_matcher_cache) > 32:
                _matcher_cache.clear()
            _matcher_cache[secrets] = m
    return m


def _decode_token(tok: str) -> str:
    """What one escape token stands for ('' for an invisible character)."""
    if tok[0] == "\\":
        body = tok.lstrip("\\")
        return chr(int(body[1:], 16))
    if tok[0] == "%":
        return chr(int(tok[1:], 16))
    if tok.startswith("&#"):
        body = tok[2:-1]
        try:
            code = int(body[1:], 16) if body[:1] in "xX" else int(body)
            return chr(code) if code < 0x110000 else ""
        except ValueError:
            return ""
    return ""  # an invisible character


def _normalised(text: str) -> tuple[str, list[int], list[int], list[int]] | None:
    """``text`` with escapes decoded and invisible characters dropped, plus a map back:
    segments (norm start, orig start, orig end, is_token). ``None`` when nothing changes."""
    if not _TOKEN_START_RE.search(text):
        return None
    pieces: list[str] = []
    nstarts: list[int] = []
    ostarts: list[int] = []
    oends: list[int] = []
    pos = npos = 0
    found = False
    for m in _TOKEN_RE.finditer(text):
        found = True
        if m.start() > pos:
            pieces.append(text[pos:m.start()])
            nstarts.append(npos)
            ostarts.append(pos)
            oends.append(-1)  # a plain run: maps one to one
            npos += m.start() - pos
        ch = _decode_token(m.group())
        if _TOKEN_RE.fullmatch(ch or "x"):  # a decoded invisible character (\u200b) vanishes too
            ch = ""
        if ch:
            pieces.append(ch)
            nstarts.append(npos)
            ostarts.append(m.start())
            oends.append(m.end())
            npos += len(ch)
        pos = m.end()
    if not found:
        return None
    if pos < len(text):
        pieces.append(text[pos:])
        nstarts.append(npos)
        ostarts.append(pos)
        oends.append(-1)
    return "".join(pieces), nstarts, ostarts, oends


def _map_back(span: tuple[int, int], nstarts: list[int], ostarts: list[int], oends: list[int]) -> tuple[int, int]:
    a, b = span
    i = bisect.bisect_right(nstarts, a) - 1
    start = ostarts[i] if oends[i] >= 0 else ostarts[i] + (a - nstarts[i])
    j = bisect.bisect_right(nstarts, b - 1) - 1
    end = oends[j] if oends[j] >= 0 else ostarts[j] + (b - nstarts[j])
    return start, end


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _cut(text: str, spans: list[tuple[int, int]]) -> str:
    for a, b in reversed(_merge(spans)):
        text = text[:a] + MARKER + text[b:]
    return text


def redact(text: Any) -> str:
    """``text`` (made a string) with every known secret, in every form, replaced by :data:`MARKER`."""
    s = text if isinstance(text, str) else str(text)
    if "@" in s:
        s = _URL_CRED_RE.sub(lambda m: m.group(1) + MARKER + "@", s)
    if "=" in s:
        s = _QUERY_RE.sub(lambda m: m.group(1) + MARKER, s)
    secrets = known()
    if not secrets or not s:
        return s
    m = _matcher(secrets)
    spans = m.spans(s)  # as written, then in the decoded view (escapes, invisible characters)
    norm = _normalised(s)
    if norm is not None:
        ntext, nstarts, ostarts, oends = norm
        spans += [_map_back(sp, nstarts, ostarts, oends) for sp in m.spans(ntext)]
    return _cut(s, spans) if spans else s


def redact_obj(obj: Any) -> Any:
    """A JSON-like value with :func:`redact` applied to every string (keys included)."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {redact_obj(k) if isinstance(k, str) else k: redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(redact_obj(v) for v in obj)
    return obj


def active() -> bool:
    """Whether anything is known to redact by value (else only URL patterns apply)."""
    return bool(known())


# -- logging ---------------------------------------------------------------------------------------
class RedactFilter(logging.Filter):
    """A handler/logger filter: the formatted message (and any traceback text) redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


def _redact_record(record: logging.LogRecord) -> None:
    if getattr(record, "_spiral_redacted", False):
        return
    try:
        msg = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string: keep the raw parts, redacted
        msg = f"{record.msg} {record.args}"
    record.msg, record.args = redact(msg), None
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    record._spiral_redacted = True


_factory_installed = False
_NOISY = ("spiral", "openai", "httpx", "httpcore", "httpx2", "httpcore2")


def install_log_redaction(handlers: Iterable[logging.Handler] = ()) -> None:
    """Redact every log record of the process: a record factory (every logger, every level,
    whichever handler), plus :class:`RedactFilter` on ``handlers`` and on the SPIRAL,
    openai and httpx loggers. Idempotent."""
    global _factory_installed
    with _lock:
        if not _factory_installed:
            old = logging.getLogRecordFactory()

            def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
                rec = old(*args, **kwargs)
                _redact_record(rec)
                return rec

            logging.setLogRecordFactory(factory)
            _factory_installed = True
    for target in [*handlers, *(logging.getLogger(n) for n in _NOISY)]:
        if not any(isinstance(f, RedactFilter) for f in target.filters):
            target.addFilter(RedactFilter())


class RedactingStream:
    """A text stream that redacts what is written to it (the CLI's consoles)."""

    def __init__(self, stream: Any):
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(redact(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
