"""A stand-in for the model endpoint ``@task.llm`` tasks call, inside the smoke run's child.

The LLM tasks of ``llm_over_rows`` run for real in the smoke run: the common-ai
provider's pydantic-ai client sends real chat-completion requests over HTTP, to an
OpenAI-compatible stub on the child's loopback (the sandbox's network namespace starts
with ``lo`` down; the child, root in its own namespace, brings it up: nothing outside
the namespace is reachable still). The stub answers each request with JSON valid
under the request's ``response_format`` schema (``NativeOutput``), built from the
rows of the batch the prompt carries: one answer per row, the row's own values where
a field is one of its columns (the key), the first values of enums, sample text.
The connections the LLM tasks use point at it for the run.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from airflow_llm.validate.sandbox import loopback_up

LOOPBACK = "127.0.0.1"
MODEL = "smoke-stand-in"
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def answer_for(schema: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> Any:
    """A value valid under ``schema``: the first array of objects holds one object per
    row of ``rows``, each taking the row's value for a property the row has."""
    return _Builder(schema.get("$defs", {}), list(rows)).value(schema, {}, 0)


@dataclass
class _Builder:
    defs: Mapping[str, Any]
    rows: list[Mapping[str, Any]]

    def value(self, schema: Mapping[str, Any], row: Mapping[str, Any], index: int) -> Any:
        schema = self._resolved(schema)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][index % len(schema["enum"])]
        variants = schema.get("anyOf") or schema.get("oneOf")
        if variants:
            typed = [v for v in variants if self._resolved(v).get("type") != "null"]
            return self.value((typed or variants)[0], row, index)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind == "object":
            properties = schema.get("properties", {})
            return {
                name: (
                    row[name]
                    if _fits(row.get(name), self._resolved(sub))
                    else self.value(sub, row, index)
                )
                for name, sub in properties.items()
            }
        if kind == "array":
            items = self._resolved(schema.get("items", {}))
            if items.get("type") == "object" and self.rows:
                rows, self.rows = self.rows, []  # the first list of objects: one per row
                return [self.value(items, found, i) for i, found in enumerate(rows)]
            return [self.value(items, row, index)] * max(1, int(schema.get("minItems", 1)))
        return {
            "string": f"sample {index}",
            "integer": index,
            "number": float(index),
            "boolean": index % 2 == 0,
        }.get(str(kind))

    def _resolved(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        reference = schema.get("$ref")
        if isinstance(reference, str) and reference.startswith("#/$defs/"):
            return self._resolved(self.defs[reference.rsplit("/", 1)[-1]])
        return schema


def _fits(value: Any, schema: Mapping[str, Any]) -> bool:
    """Whether a row's ``value`` is valid for a property of ``schema`` (scalars only)."""
    if value is None or isinstance(value, (list, dict)):
        return False
    if "enum" in schema:
        return value in schema["enum"]
    expected = _JSON_TYPES.get(str(schema.get("type")), ())
    return isinstance(value, expected) and not (isinstance(value, bool) and bool not in expected)


def _rows(messages: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The batch of rows the last user message carries as JSON (none if it does not)."""
    users = [m for m in messages if m.get("role") == "user"]
    content = users[-1].get("content") if users else None
    if isinstance(content, list):  # content parts
        content = "".join(str(part.get("text", "")) for part in content)
    try:
        found = json.loads(str(content))
    except ValueError:
        return []
    rows = found if isinstance(found, list) else []
    return [row for row in rows if isinstance(row, dict)]


def completion(request: Mapping[str, Any]) -> dict[str, Any]:
    """The chat completion the stand-in answers ``request`` with."""
    format_ = request.get("response_format") or {}
    schema = format_.get("json_schema", {}).get("schema", {"type": "string"})
    content = json.dumps(answer_for(schema, _rows(request.get("messages", []))))
    return {
        "id": "smoke",
        "object": "chat.completion",
        "created": 0,
        "model": request.get("model", MODEL),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


@dataclass
class ModelStandIn:
    """The running stand-in: its base URL and the requests it answered."""

    url: str = ""
    requests: int = 0
    rows: int = 0
    """Rows of the batches it answered about."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """Answer one request, counting it."""
        with self._lock:
            self.requests += 1
            self.rows += len(_rows(request.get("messages", [])))
        return completion(request)


def connection(url: str) -> dict[str, Any]:
    """The Airflow connection (JSON form, type ``pydanticai``) that reaches ``url``."""
    return {
        "conn_type": "pydanticai",
        "host": url,
        "password": "smoke",
        "extra": {"model": f"openai-chat:{MODEL}"},
    }


@contextmanager
def model_stand_in(conn_ids: Sequence[str]) -> Iterator[ModelStandIn]:
    """The stub on the loopback while the block runs, the ``conn_ids`` pointing at it
    (in this process's environment); nothing when there are none."""
    stand_in = ModelStandIn()
    if not conn_ids:
        yield stand_in
        return
    loopback_up()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.dumps(stand_in.answer(json.loads(self.rfile.read(length)))).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the smoke run reports the requests."""

    with ThreadingHTTPServer((LOOPBACK, 0), Handler) as server:
        stand_in.url = f"http://{LOOPBACK}:{server.server_address[1]}/v1"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        names = [f"AIRFLOW_CONN_{conn_id.upper()}" for conn_id in conn_ids]
        for name in names:
            os.environ[name] = json.dumps(connection(stand_in.url))
        try:
            yield stand_in
        finally:
            server.shutdown()
            for name in names:
                os.environ.pop(name, None)
