"""Issue 20, point 3: every leak path of a secret, driven through the CLI against the loopback
server at -vv, leaves 0 occurrences (plain, base64, \\u-escaped, URL-encoded, split by
zero-width characters) in the run directory, the response cache, the logs and the output.
Without redaction by value each of these paths leaks (benchmarks/bench_secret_leaks.py
--baseline counts them on a checkout without it)."""

from __future__ import annotations

import base64

import pytest
from leak_paths import PATHS, count, forms, new_values, run_path

pytestmark = pytest.mark.usefixtures("fast_default_generator")  # loop mechanics: sim-faulty as the default


@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_no_leak(path, tmp_path):
    r = run_path(path, tmp_path / "work")
    assert r["expected_exit"], (r["exit_codes"], r["stderr"][-2000:])
    assert r["requests"] > 0  # the server was really asked (and could echo the secret)
    assert r["file_hits"] == {}
    assert r["logs"] == 0, [ln for ln in r["records"] if "REDACTED" in ln][:5]
    assert r["printed"] == 0
    assert all(c in (0, 2) for c in r["exit_codes"])


def test_run_paths_are_logged_and_show_the_marker(tmp_path):
    """The -vv logs are really there (the HTTP lines), and the secret's place says [REDACTED]."""
    (plain,) = [p for p in PATHS if p.name == "plan_prompt_plain"]
    r = run_path(plain, tmp_path / "work")
    assert any("HTTP Request: POST" in ln for ln in r["records"])
    assert "[REDACTED]" in (tmp_path / "work" / "run" / "trace.jsonl").read_text()
    assert "[REDACTED]" in r["stdout"]  # spiral show prints the step, redacted


def test_url_credentials_never_reach_any_log_line(tmp_path):
    (creds,) = [p for p in PATHS if p.name == "url_credentials"]
    v = new_values()
    r = run_path(creds, tmp_path / "work", v)
    text = "\n".join(r["records"]) + r["stderr"] + r["stdout"]
    assert v["user"] + ":" not in text and v["password"] not in text
    assert "127.0.0.1" in text  # the URL itself is logged, without its credentials


def test_the_counter_finds_every_form():
    """The check itself: it counts the forms it claims to (else a 0 would prove nothing)."""
    s = "sk-test-" + "0123456789abcdef" * 2
    zw = "\u200b".join(s)
    escaped = "".join(f"\\u{ord(c):04x}" for c in s)
    for text in (s, base64.b64encode(s.encode()).decode(), zw, escaped, f'{{"a": "{zw}"}}',
                 "".join(f"%{b:02X}" for b in s.encode())):
        assert count(f"before {text} after", [s]) >= 1, text
    assert count("nothing here", [s]) == 0
    assert len(forms(s)) >= 5


def test_show_and_report_redact_a_run_written_before_redaction(tmp_path, monkeypatch):
    """A run directory that already holds the key (written by an older version): `spiral show`
    and the report still never print it."""
    import json

    from typer.testing import CliRunner

    from spiral.cli.main import app
    from spiral.report.html import write_run_report

    key = new_values()["key"]
    runner = CliRunner()
    out = tmp_path / "run"
    r = runner.invoke(app, ["run", "--generator", "sim", "--out", str(out), "-q"])
    assert r.exit_code == 0, r.output
    events = [json.loads(ln) for ln in (out / "trace.jsonl").read_text().splitlines()]
    for e in events:
        if e["event"] == "plan":
            e["steps"][0]["prompt"] = f"lift it {key} " + "\u200b".join(key)
        if e["event"] == "request":
            e["request"]["prompt"] = f"lift it {key}"
    (out / "trace.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    monkeypatch.setenv("SPIRAL_API_KEY", key)
    r1 = runner.invoke(app, ["show", str(out)])
    r2 = runner.invoke(app, ["show", str(out), "--events"])
    assert r1.exit_code == r2.exit_code == 0
    assert count(r1.output + r2.output, [key]) == 0 and "[REDACTED]" in r1.output
    write_run_report(out, tmp_path / "report.html")
    assert count((tmp_path / "report.html").read_text(), [key]) == 0


def test_an_internal_error_traceback_is_redacted(monkeypatch, capsys):
    from spiral.cli.main import _excepthook

    key = new_values()["key"]
    monkeypatch.setenv("SPIRAL_API_KEY", key)
    try:
        raise RuntimeError(f"unexpected {key}")
    except RuntimeError as exc:
        _excepthook(type(exc), exc, exc.__traceback__)
    err = capsys.readouterr().err
    assert "RuntimeError: unexpected [REDACTED]" in err and key not in err


def test_the_counter_decodes_base64_twice():
    s = "pw-" + "0123456789abcdef"
    header = "Basic " + base64.b64encode(f"alice:{s}".encode()).decode()
    assert count(f"echo {base64.b64encode(header.encode()).decode()} end", [s]) >= 1
