"""A local HTTP API for the smoke run's child: HTTP operators call it, not the real API.

Like :mod:`airflow_llm.validate.mail_sink`, it brings the child's loopback up, listens on
127.0.0.1 and points the given Airflow ``http`` connections at itself. A GET of a file
it serves (a folder of the sandbox where the parent wrote the files the tasks download
and the answers they parse, see :func:`airflow_llm.validate.sample_files.seed_served`)
gets that file, and so does a POST, PUT or PATCH there; it answers
every other GET, POST, PUT or PATCH with a small JSON document of sample rows (which
names the path it was asked for; a GraphQL request in GraphQL's shape, see
:mod:`airflow_llm.validate.graphql_answers`), and counts the requests it answered (a GET by its
path, others as ``METHOD path``). It also stands in for Slack's incoming webhooks: the given
``slackwebhook`` connections point at a path of it under ``/services/`` (as
hooks.slack.com's), where a POST is answered as Slack answers it (200, ``ok``) and
recorded with the message's text. Nothing leaves the child's network namespace.
"""

from __future__ import annotations

import json
import mimetypes
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from airflow_llm.validate.graphql_answers import graphql_answer, graphql_request
from airflow_llm.validate.sandbox import loopback_up

SAMPLE_ROWS = [{"id": 1, "name": "sample one"}, {"id": 2, "name": "sample two"}]
"""What the stub answers with, beside the path."""
WEBHOOKS = "/services/"
"""Where the Slack webhook connections point, under the stub."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    requests: list[str]
    files: Path | None

    def served(self, path: str) -> Path | None:
        """The file it serves at a request's ``path`` (its query aside), if any."""
        if self.files is None:
            return None
        root = self.files.resolve()
        found = (root / unquote(urlsplit(path).path).lstrip("/")).resolve()
        return found if found.is_relative_to(root) and found.is_file() else None


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        served = self.server.served(self.path)
        if served is not None:
            kind = mimetypes.guess_type(served.name)[0] or "application/octet-stream"
            self._send(served.read_bytes(), kind)
            return
        self._answer()

    def do_POST(self) -> None:
        """Also PUT and PATCH: the request's body is read and left aside, but for a Slack
        webhook's, whose text is recorded; the answer is the JSON file served at the
        path, if any."""
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        request = f"{self.command} {self.path}"
        if self.path.startswith(WEBHOOKS):
            text = json.loads(body or b"{}").get("text", "")
            self.server.requests.append(f"{request}: {text}")
            self._send(b"ok", "text/plain")
            return
        self.server.requests.append(request)
        question = graphql_request(body)
        if question is not None:
            answer = graphql_answer(question, self.headers.get("Authorization"))
            self._send(json.dumps(answer).encode())
            return
        served = self.server.served(self.path)
        if served is not None:
            self._send(served.read_bytes())
            return
        self._answer()

    def do_PUT(self) -> None:
        self.do_POST()

    def do_PATCH(self) -> None:
        self.do_POST()

    def _answer(self) -> None:
        self._send(json.dumps({"path": self.path, "rows": SAMPLE_ROWS}).encode())

    def _send(self, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the child reports through its result line."""


@contextmanager
def http_stub(
    conn_ids: Sequence[str], webhook_ids: Sequence[str] = (), files: Path | None = None
) -> Iterator[list[str]]:
    """The stub while the block runs, serving the files under ``files``, with the
    ``http`` connections ``conn_ids`` and the Slack webhook connections ``webhook_ids``
    pointed at it; yields the requests it answered (nothing runs when there are no
    connections)."""
    requests: list[str] = []
    if not conn_ids and not webhook_ids:
        yield requests
        return
    loopback_up()
    server = _Server(("127.0.0.1", 0), _Handler)
    server.requests = requests
    server.files = files
    threading.Thread(target=server.serve_forever, daemon=True).start()
    connection = {"conn_type": "http", "host": "127.0.0.1", "port": server.server_address[1]}
    for conn_id in conn_ids:
        os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps({**connection, "schema": "http"})
    for conn_id in webhook_ids:  # the hook posts to host + "/" + password
        webhook = {
            "conn_type": "slackwebhook",
            "host": f"http://127.0.0.1:{server.server_address[1]}",
            "password": f"{WEBHOOKS}{conn_id}",
        }
        os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(webhook)
    try:
        yield requests
    finally:
        server.shutdown()
        server.server_close()
