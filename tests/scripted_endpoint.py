"""A scripted OpenAI-compatible endpoint for tests: canned answers, injected faults.

``ScriptedModel`` decides each answer from the request (by the prompt's role line)
and records every request. Use it as an ``httpx2.MockTransport`` handler for unit
tests, or serve it over real HTTP on 127.0.0.1 with ``serve()`` for CLI tests and
socket-level faults (:class:`Wire` answers, see ``tests/fault_endpoint.py``).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2


@dataclass(frozen=True)
class Wire:
    """An answer only real HTTP can give: ``drive`` writes (or withholds) raw bytes itself.

    It gets the client's socket and an event set when the server shuts down (wait on
    it instead of sleeping, so that shutting down never waits for a stalled answer).
    """

    drive: Callable[[socket.socket, threading.Event], None]


Answer = str | Callable[[dict[str, Any]], str] | httpx2.Response | Wire

ROLE_MARKERS = {
    "plan": "You split a data pipeline",
    "plan_step": "You plan an Airflow data pipeline one step",
    "sql": "You write one SQL script",
    "python": "You write one Python function",
    "quality": "You write a Great Expectations suite",
    "repair": "You fix code that failed",
    "hybrid": "You configure one task",
}


def chat_completion(
    content: str, prompt_tokens: int = 10, completion_tokens: int = 5, finish_reason: str = "stop"
) -> dict[str, Any]:
    """An OpenAI chat.completion body."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": "scripted",
        "choices": [
            {
                "index": 0,
                "finish_reason": finish_reason,
                "message": {"role": "assistant", "content": content},
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def first_choices(body: dict[str, Any]) -> str:
    """A schema-following answer (pydantic-ai's ``TestModel`` idea): for the request's
    ``json_schema``, the first option of every enum and the fewest items a list allows.
    A model that always takes the first option: it shows what linking and rendering do
    alone."""
    schema = body["response_format"]["json_schema"]["schema"]
    return json.dumps(_first(schema))


def _first(schema: dict[str, Any]) -> Any:
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        return _first(schema["anyOf"][0])
    if schema.get("type") == "object":
        return {name: _first(prop) for name, prop in schema.get("properties", {}).items()}
    if schema.get("type") == "array":
        items = schema.get("items", {})
        count = max(1, schema.get("minItems", 0)) if schema.get("maxItems", 1) else 0
        options = items.get("enum")
        if options is not None:
            return options[:count] if len(options) >= count else options
        return [_first(items) for _ in range(count)]
    return {"string": "", "integer": 0, "number": 0, "boolean": False}.get(str(schema.get("type")))


def role_of(body: dict[str, Any]) -> str:
    """Which prompt template a request was rendered from."""
    system = body["messages"][0]["content"]
    return next((role for role, marker in ROLE_MARKERS.items() if system.startswith(marker)), "?")


@dataclass
class ScriptedModel:
    """Answers per prompt role; a list of answers is consumed in order (last one repeats)."""

    answers: dict[str, list[Answer]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)

    def respond(self, body: dict[str, Any], url: str = "") -> httpx2.Response | Wire:
        """The scripted answer to one chat request."""
        self.requests.append(body)
        self.urls.append(url)
        queue = self.answers.get(role_of(body)) or self.answers.get("*") or ["no script"]
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, httpx2.Response | Wire):
            return answer
        content = answer(body) if callable(answer) else answer
        return httpx2.Response(200, json=chat_completion(content))

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        """For ``httpx2.MockTransport``."""
        response = self.respond(json.loads(request.content), str(request.url))
        if isinstance(response, Wire):
            raise TypeError("a Wire answer needs real HTTP: use serve()")
        return response

    def transport(self) -> httpx2.Client:
        """An httpx client whose every request this script answers."""
        return httpx2.Client(transport=httpx2.MockTransport(self.handler))

    def roles(self) -> list[str]:
        """The role of every request so far."""
        return [role_of(body) for body in self.requests]

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Serve over HTTP on 127.0.0.1; yields the base URL (``.../v1``)."""
        script = self
        stopping = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                response = script.respond(json.loads(self.rfile.read(length)), self.path)
                if isinstance(response, Wire):
                    self.close_connection = True
                    with suppress(OSError):  # the client gave up: that is the point
                        response.drive(self.connection, stopping)
                    return
                payload = response.content
                self.send_response(response.status_code)
                for name, value in response.headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding"):
                        self.send_header(name, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # a short poll interval: shutting down waits for the next poll
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/v1"
        finally:
            stopping.set()
            server.shutdown()
            server.server_close()
