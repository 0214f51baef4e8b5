"""spiral.redaction: every form of every known secret is replaced, ordinary text is not."""

from __future__ import annotations

import base64
import json
import logging
import secrets
from urllib.parse import quote

import pytest

from spiral import redaction
from spiral.redaction import MARKER, redact, redact_obj


@pytest.fixture
def key(monkeypatch):
    k = "sk-test-" + secrets.token_hex(16)
    monkeypatch.setenv("SPIRAL_API_KEY", k)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    yield k
    redaction.forget_registered()


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    for var in redaction.KEY_ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    redaction.forget_registered()
    yield
    redaction.forget_registered()


def b64_at(data: bytes, k: int) -> str:
    """``data`` inside a longer base64 text, at byte offset ``k``."""
    return base64.b64encode(b"x" * k + data + b"yz").decode()


def test_nothing_known_nothing_changed():
    text = "the red cube is on the blue cube; max_tokens=2048 \u200b 100% \\u0041"
    assert redact(text) == text


def test_plain_and_the_other_env_var(key, monkeypatch):
    assert redact(f"a {key} b") == f"a {MARKER} b"
    monkeypatch.delenv("SPIRAL_API_KEY")
    monkeypatch.setenv("OPENAI_API_KEY", key)
    assert key not in redact(f"{key}{key}")


@pytest.mark.parametrize("form", ["json_u", "json_u_double", "partial_u", "url", "html", "hex_x"])
def test_escaped_forms(key, form):
    enc = {"json_u": "".join(f"\\u{ord(c):04x}" for c in key),
           "json_u_double": "".join(f"\\\\u{ord(c):04X}" for c in key),
           "partial_u": "".join(f"\\u{ord(c):04x}" if i % 3 == 0 else c for i, c in enumerate(key)),
           "url": "".join(f"%{b:02x}" for b in key.encode()),
           "html": "".join(f"&#{ord(c)};" if i % 2 else f"&#x{ord(c):x};" for i, c in enumerate(key)),
           "hex_x": "".join(f"\\x{ord(c):02x}" for c in key)}[form]
    out = redact(f'{{"prompt": "lift {enc} now"}}')
    assert out == f'{{"prompt": "lift {MARKER} now"}}'


@pytest.mark.parametrize("zw", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\x1b[1m"])
def test_split_by_invisible_characters(key, zw):
    split = zw.join(key)
    assert redact(f"x {split} y") == f"x {MARKER} y"
    assert key not in redact(json.dumps(f"x {split} y"))  # as JSON writes it: \u200b escapes


@pytest.mark.parametrize("k", [0, 1, 2])
def test_base64_at_every_alignment(key, k):
    for enc in (base64.b64encode, base64.urlsafe_b64encode):
        text = enc(b"x" * k + key.encode() + b"yz").decode()
        out = redact(f"Authorization: Basic {text}")
        assert MARKER in out
        assert base64.b64encode(key.encode()).decode()[4:-4] not in out
    assert redact(base64.b64encode(key.encode()).decode()) == MARKER  # the whole value, padding included


def test_significant_substrings_of_a_long_key(key):
    piece = key[10:23]
    assert redact(f"the model said {piece} ok") == f"the model said {MARKER} ok"
    assert redact(f"short {key[10:20]} piece") == f"short {key[10:20]} piece"  # 10 characters: kept


def test_words_are_never_redacted(monkeypatch):
    word_key = "Authorization-token-Transformers-42"
    monkeypatch.setenv("SPIRAL_API_KEY", word_key)
    text = "Authorization headers; the Transformers library; tokenization"
    assert redact(text) == text  # 12-letter words of the key are not pieces worth hiding
    assert redact(word_key) == MARKER


def test_short_values_are_not_redacted_by_value():
    redaction.add_secret("pw1")
    assert redact("pw1 and pw12") == "pw1 and pw12"


def test_url_credentials_and_query_secrets_by_pattern():
    text = "GET http://bob:hunter2@proxy:8080/v1/models?x=1&api_key=abc123&token=t0k"
    out = redact(text)
    assert "bob" not in out and "hunter2" not in out and "abc123" not in out and "t0k" not in out
    assert out == f"GET http://{MARKER}@proxy:8080/v1/models?x=1&api_key={MARKER}&token={MARKER}"
    assert redact("write to me@example.org, max_tokens=10") == "write to me@example.org, max_tokens=10"


def test_add_url_registers_password_user_pair_and_query_value():
    pw, qk = "pw-" + secrets.token_hex(8), "qk-" + secrets.token_hex(8)
    redaction.add_url(f"http://alice:{quote(pw)}@h:1/v1?api_key={qk}&model=m")
    basic = base64.b64encode(f"alice:{pw}".encode()).decode()
    out = redact(f"{pw} / {qk} / Basic {basic}")
    assert pw not in out and qk not in out and basic not in out


def test_safe_url_strips_credentials_and_secret_parameters():
    assert redaction.safe_url("http://u:p@h:8/v1?api_key=k&x=1&Token=t") == "http://h:8/v1?x=1"
    assert redaction.safe_url("https://h/v1") == "https://h/v1"


def test_redact_obj_and_keys(key):
    obj = {"a": [key, {"b": f"x{key}"}], key: 1, "n": 3}
    assert redact_obj(obj) == {"a": [MARKER, {"b": f"x{MARKER}"}], MARKER: 1, "n": 3}


def test_log_records_are_redacted_at_every_level(key, caplog):
    redaction.install_log_redaction()
    log = logging.getLogger("spiral.test_redaction")
    with caplog.at_level(logging.DEBUG):
        log.debug("key %s", key)
        logging.getLogger("httpx2").info("HTTP Request: POST http://u:pw-long-value@h/v1")
        try:
            raise ValueError(key)
        except ValueError:
            log.exception("failed")
    assert key not in caplog.text and "pw-long-value" not in caplog.text
    assert caplog.text.count(MARKER) >= 3


def test_errors_redact_their_message_and_hint(key):
    from spiral.errors import SpiralError

    err = SpiralError(f"server said {key}", f"fix {key}")
    assert key not in str(err) and err.message == f"server said {MARKER}" and err.hint == f"fix {MARKER}"


def test_redacting_stream(key):
    import io

    buf = io.StringIO()
    redaction.RedactingStream(buf).write(f"printed {key}\n")
    assert buf.getvalue() == f"printed {MARKER}\n"


def test_a_query_string_secret_is_treated_like_a_key():
    from spiral.config import build_config
    from spiral.errors import ConfigError

    qk = "qk-" + secrets.token_hex(10)
    cfg = build_config(sets=[f"agents.base_url=http://u:pw-{qk}@127.0.0.1:9/v1?api_key={qk}&v=2"])
    public = json.dumps(cfg.public_dict())
    assert qk not in public and "?v=2" in public and "pw-" not in public
    same = build_config(sets=["agents.base_url=http://127.0.0.1:9/v1?v=2"])
    assert cfg.identity() == same.identity()  # not part of the run's identity either
    assert redact(f"error at /v1?api_key={qk}/chat") == f"error at /v1?api_key={MARKER}"
    assert qk not in redact(f"echoed {qk}")  # registered by the config: redacted by value too
    with pytest.raises(ConfigError) as err:
        build_config(sets=[f"agents.base_url=ftp://u:secretpw@h/v1?token={qk}"])
    assert qk not in str(err.value) and "secretpw" not in str(err.value)
