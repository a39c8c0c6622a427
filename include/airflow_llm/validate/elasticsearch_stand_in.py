"""A local Elasticsearch stand-in for the smoke run's child: indexing tasks reach it, not
a cluster.

Like :mod:`airflow_llm.validate.ftp_stand_in`, it brings the child's loopback up,
listens on 127.0.0.1 (a free port) and points the given Airflow ``elasticsearch``
connections at itself. It answers what indexing and publishing tasks send: the cluster's
info (``GET /``), the bulk API (``PUT`` or ``POST`` ``/_bulk``, ``/<index>/_bulk``) and
alias changes (``POST /_aliases``), with the ``X-Elastic-Product`` header the official
client checks. It refuses what a cluster would refuse: a body that is not NDJSON pairs,
an action other than ``index``, ``create``, ``update`` or ``delete``, one without an
index, an index name a cluster would not take, a document that is not an object, an
alias action it does not know; a refused item or request fails the task's call, so the
smoke run reports the task failed. Nothing leaves the namespace.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from airflow_llm.validate.sandbox import loopback_up

_ACTIONS = frozenset({"index", "create", "update", "delete"})
_INDEX = re.compile(r"^[a-z0-9][a-z0-9_.+-]{0,254}$")
"""An index name Elasticsearch takes (lower case, no spaces or commas)."""
_INFO = {
    "name": "airflow-llm-smoke",
    "cluster_name": "airflow-llm-smoke",
    "version": {"number": "9.0.0", "build_flavor": "default"},
    "tagline": "You Know, for Search",
}


def bulk_items(body: bytes, default_index: str | None) -> list[dict[str, Any]]:
    """The bulk API's answer items for ``body`` (NDJSON action and document lines): each
    action's index, id and status, 400 with a reason for what a cluster refuses."""
    lines = [line for line in body.decode().splitlines() if line.strip()]
    items: list[dict[str, Any]] = []
    position = 0
    while position < len(lines):
        try:
            action = json.loads(lines[position])
        except ValueError:
            return [*items, _refused("index", None, None, "action line is not JSON")]
        kind = next(iter(action), "") if isinstance(action, dict) and len(action) == 1 else ""
        meta = action.get(kind) if kind in _ACTIONS else None
        if not isinstance(meta, dict):
            return [*items, _refused("index", None, None, f"not a bulk action: {lines[position]}")]
        index, doc_id = meta.get("_index", default_index), meta.get("_id")
        position += 1
        problem = None
        if kind != "delete":
            source = _document(lines[position]) if position < len(lines) else None
            position += 1
            problem = None if isinstance(source, dict) else "the document is not a JSON object"
        if not isinstance(index, str) or not _INDEX.match(index):
            problem = f"invalid index name {index!r}"
        items.append(
            _refused(kind, index, doc_id, problem)
            if problem
            else {kind: {"_index": index, "_id": doc_id, "status": 201, "result": "created"}}
        )
    return items


def alias_problems(body: bytes) -> list[str]:
    """What a cluster would refuse of an ``_aliases`` request: not ``{"actions": [...]}``,
    an action other than ``add``, ``remove`` or ``remove_index``, an index or alias name
    it would not take (an index may be ``*`` in a removal)."""
    try:
        actions = json.loads(body or b"{}").get("actions")
    except (ValueError, AttributeError):
        return ["the body is not a JSON object"]
    if not isinstance(actions, list) or not actions:
        return ["no actions"]
    problems = []
    for action in actions:
        kind = next(iter(action), "") if isinstance(action, dict) and len(action) == 1 else ""
        meta = action.get(kind) if kind in ("add", "remove", "remove_index") else None
        if not isinstance(meta, dict):
            problems.append(f"not an alias action: {action!r}")
            continue
        index, alias = meta.get("index"), meta.get("alias")
        if not (
            isinstance(index, str) and (_INDEX.match(index) or (index == "*" and kind == "remove"))
        ):
            problems.append(f"invalid index name {index!r}")
        if kind != "remove_index" and not (isinstance(alias, str) and _INDEX.match(alias)):
            problems.append(f"invalid alias name {alias!r}")
    return problems


def _document(line: str) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return None


def _refused(kind: str, index: Any, doc_id: Any, reason: str) -> dict[str, Any]:
    error = {"type": "illegal_argument_exception", "reason": reason}
    return {kind: {"_index": index, "_id": doc_id, "status": 400, "error": error}}


class _Handler(BaseHTTPRequestHandler):
    """The stand-in's requests: the cluster's info and the bulk API."""

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the task's log says what it sent."""

    def do_HEAD(self) -> None:
        self._answer(200, {})

    def do_GET(self) -> None:
        if self.path.split("?")[0] == "/":
            self._answer(200, _INFO)
        else:
            self._answer(404, {"error": f"the stand-in answers no GET {self.path}", "status": 404})

    def do_PUT(self) -> None:
        self.do_POST()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = self.path.split("?")[0].strip("/").split("/")
        if parts == ["_aliases"]:
            problems = alias_problems(body)
            status = 400 if problems else 200
            answer = {"error": {"reason": "; ".join(problems)}, "status": 400} if problems else {}
            self._answer(status, answer or {"acknowledged": True})
            return
        if parts[-1] != "_bulk" or len(parts) > 2:
            missing = f"the stand-in answers no {self.command} {self.path}"
            self._answer(404, {"error": missing, "status": 404})
            return
        items = bulk_items(body, parts[0] if len(parts) == 2 else None)
        errors = any(next(iter(item.values()))["status"] >= 300 for item in items)
        self._answer(200, {"took": 1, "errors": errors, "items": items})

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


@contextmanager
def elasticsearch_stand_in(conn_ids: Sequence[str]) -> Iterator[None]:
    """The stand-in while the block runs, with the connections ``conn_ids`` pointed at it
    (nothing runs when there are none)."""
    if not conn_ids:
        yield
        return
    loopback_up()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    connection = {
        "conn_type": "elasticsearch",
        "host": "127.0.0.1",
        "port": server.server_address[1],
        "schema": "http",
    }
    for conn_id in conn_ids:
        os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(connection)
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
