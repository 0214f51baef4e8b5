"""A local chat-completions server on 127.0.0.1 with scripted answers, driving the real
``openai`` client through the real agents.

Replies are consumed in order from ``server.queue``; when it is empty, ``server.router``
(a function of the request body) answers. A reply is a dict:

* ``{"content": "..."}``: HTTP 200 with that assistant message (and token usage);
* ``{"status": 429, "error": "...", "headers": {"retry-after": "0"}}``: an HTTP error;
* ``"delay": seconds`` in any reply: wait that long first (past the client's timeout).
"""

from __future__ import annotations

import json
import secrets
import threading
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: a throwaway API key made fresh for every test session (no key-like literal in the repo);
#: the tests check that it never reaches a run directory, a log, an error or the cache
SECRET = "sk-test-" + secrets.token_hex(16)


class ScriptedServer:
    def __init__(self) -> None:
        self.queue: deque[dict[str, Any]] = deque()
        self.router: Callable[[dict[str, Any]], dict[str, Any]] | None = None
        self.requests: list[dict[str, Any]] = []  # every chat request: {"headers": ..., "body": ...}
        self.model_requests = 0
        self.hits = 0  # every HTTP request, whatever its path or answer
        self.models = ["scripted-vlm"]
        self.stop = threading.Event()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout)

            def do_GET(self) -> None:
                with server.lock:
                    server.hits += 1
                if self.path.rstrip("/").endswith("/models"):
                    with server.lock:
                        server.model_requests += 1
                    self._send(200, {"object": "list", "data": [
                        {"id": m, "object": "model", "created": 0, "owned_by": "test"} for m in server.models]})
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:
                with server.lock:
                    server.hits += 1
                n = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(n) or b"{}")
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                with server.lock:
                    server.requests.append({"headers": headers, "body": body})
                    reply = server.queue.popleft() if server.queue else None
                if reply is None:
                    reply = server.router(body) if server.router else {"status": 500, "error": "no scripted reply"}
                if callable(reply):
                    reply = reply(body, headers)
                if reply.get("delay"):
                    server.stop.wait(reply["delay"])
                if "status" in reply and reply["status"] != 200:
                    self._send(reply["status"], {"error": {"message": reply.get("error", ""), "type": "scripted"}},
                               reply.get("headers"))
                    return
                if "raw" in reply:  # a 200 whose body is whatever the test says (cut off, not JSON …)
                    data = reply["raw"].encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                if "body" in reply:  # a 200 with this JSON body (a reply of an unexpected shape)
                    self._send(200, reply["body"])
                    return
                content = reply["content"]
                self._send(200, {
                    "id": "chatcmpl-scripted", "object": "chat.completion", "created": 0,
                    "model": body.get("model", "?"),
                    "choices": [{"index": 0, "finish_reason": reply.get("finish_reason", "stop"),
                                 "message": {"role": "assistant", "content": content}}],
                    "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110},
                }, reply.get("headers"))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def push(self, *replies: dict[str, Any]) -> None:
        self.queue.extend(replies)

    def bodies(self) -> list[dict[str, Any]]:
        return [r["body"] for r in self.requests]

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def schema_name(body: dict[str, Any]) -> str | None:
    rf = body.get("response_format") or {}
    return (rf.get("json_schema") or {}).get("name")


def user_text(body: dict[str, Any]) -> str:
    """All text of the request's messages (images left out)."""
    out = []
    for m in body.get("messages", []):
        c = m.get("content")
        if isinstance(c, str):
            out.append(c)
        elif isinstance(c, list):
            out += [p.get("text", "") for p in c if p.get("type") == "text"]
    return "\n".join(out)


def n_images(body: dict[str, Any]) -> int:
    return sum(1 for m in body.get("messages", []) if isinstance(m.get("content"), list)
               for p in m["content"] if p.get("type") == "image_url")


# -- scripted answers ------------------------------------------------------------------------
DEMO_GOAL = "stack the green cube on the blue one, then put the red ball in the bowl"


def cond(pred: str, *args: str, **kw: Any) -> dict[str, Any]:
    return {"pred": pred, "args": list(args), **kw}


def demo_plan(**over: Any) -> dict[str, Any]:
    """A valid answer for the demo goal on the demo scene."""
    plan = {
        "objects": [],
        "steps": [
            {"kind": "stack", "subject": "green_cube", "objects": ["blue_cube"], "params": {},
             "prompt": "the green cube is lifted and placed on top of the blue cube",
             "preconditions": [cond("clear", "blue_cube")], "postconditions": [cond("on", "green_cube", "blue_cube")]},
            {"kind": "put_in", "subject": "red_ball", "objects": ["purple_bowl"], "params": {},
             "prompt": "the red ball is picked up and dropped into the purple bowl",
             "preconditions": [], "postconditions": [cond("in", "red_ball", "purple_bowl")]},
        ],
        "goal_conditions": [cond("on", "green_cube", "blue_cube"), cond("in", "red_ball", "purple_bowl")],
    }
    plan.update(over)
    return plan


def kitchen_plan() -> dict[str, Any]:
    """A valid answer for a free-form (non-tabletop) kitchen image."""
    return {
        "objects": [{"id": "mug", "description": "a brown mug on the counter"},
                    {"id": "cupboard", "description": "the blue cupboard on the left"}],
        "steps": [
            {"kind": "pick_place", "subject": "mug", "objects": ["cupboard"], "params": {},
             "prompt": "a hand picks up the mug and puts it in the cupboard",
             "preconditions": [cond("on_counter", "mug", text="the mug is on the counter")],
             "postconditions": [cond("in", "mug", "cupboard", text="the mug is in the cupboard")]},
            {"kind": "close", "subject": "cupboard", "objects": [], "params": {},
             "prompt": "the cupboard door swings shut",
             "preconditions": [], "postconditions": [cond("closed", "cupboard", text="the cupboard is closed")]},
        ],
        "goal_conditions": [cond("in", "mug", "cupboard"), cond("closed", "cupboard")],
    }


SCORES_OK = {"action": 0.9, "permanence": 1.0, "stillness": 1.0, "continuity": 0.95, "identity": 1.0,
             "no_hallucination": 1.0}


def verdict(passed: bool = True, failure_type: str | None = None, feedback: str | None = None,
            **over: Any) -> dict[str, Any]:
    scores = dict(SCORES_OK)
    if not passed:
        scores["action"] = 0.1
    v = {"passed": passed, "scores": scores, "failure_type": failure_type, "failures": [],
         "feedback": feedback if feedback is not None else ("The step looks correct." if passed else
                                                            "The subject did not move; it must reach its target."),
         "scope": "local"}
    v.update(over)
    return v


def goal(satisfied: bool = True, unmet: list[str] | None = None) -> dict[str, Any]:
    return {"satisfied": satisfied, "unmet": unmet or [], "missing_objects": []}


def ok(obj: Any, **kw: Any) -> dict[str, Any]:
    return {"content": json.dumps(obj), **kw}


def agent_router(plan: dict[str, Any], verdicts: list[dict[str, Any]] | None = None,
                 goal_answer: dict[str, Any] | None = None) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Answers by what is asked (the response_format's schema name, else the prompt): the plan,
    then the verdicts in order (the last one repeats), then the goal check."""
    queue = deque(verdicts or [verdict()])

    def route(body: dict[str, Any]) -> dict[str, Any]:
        name = schema_name(body) or ("goal_check" if "Conditions that must hold" in user_text(body) else
                                     "verdict" if "You are the critic" in user_text(body) else "plan")
        if name == "plan":
            return ok(plan)
        if name == "verdict":
            return ok(queue.popleft() if len(queue) > 1 else queue[0])
        return ok(goal_answer or goal())

    return route
