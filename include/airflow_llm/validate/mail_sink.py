"""A local SMTP server for the smoke run's child: notifications are delivered to it, not
sent.

The child has a network namespace of its own with no interface up; the sink brings its
loopback interface up (the child is root in its user namespace), listens on
127.0.0.1, points the given Airflow SMTP connections at itself (no TLS, a sender of its
own) and keeps every message it accepts. Nothing leaves the namespace.
"""

from __future__ import annotations

import json
import os
import socketserver
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from airflow_llm.validate.sandbox import loopback_up

SENDER = "airflow-llm-smoke@localhost"


@dataclass(frozen=True)
class Message:
    """One message the sink accepted."""

    sender: str
    recipients: list[str]
    data: str


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    messages: list[Message]


class _Session(socketserver.StreamRequestHandler):
    """The SMTP commands smtplib sends, each answered with success."""

    server: _Server

    def handle(self) -> None:
        self._reply("220 airflow-llm smoke sink")
        sender, recipients = "", []
        while line := self.rfile.readline():
            command = line.decode(errors="replace").strip()
            verb = command[:4].upper()
            if verb == "QUIT":
                self._reply("221 bye")
                return
            if verb == "MAIL":
                sender = command.partition(":")[2].strip("<> ")
            elif verb == "RCPT":
                recipients.append(command.partition(":")[2].strip("<> "))
            elif verb == "DATA":
                self._reply("354 end with <CR><LF>.<CR><LF>")
                lines = iter(self.rfile.readline, b"")
                body = "".join(chunk.decode(errors="replace") for chunk in _until_dot(lines))
                self.server.messages.append(Message(sender, recipients, body))
                recipients = []
            self._reply("250 OK")

    def _reply(self, text: str) -> None:
        self.wfile.write(f"{text}\r\n".encode())


def _until_dot(lines: Iterator[bytes]) -> Iterator[bytes]:
    for line in lines:
        if line == b".\r\n":
            return
        yield line[1:] if line.startswith(b"..") else line  # dot-stuffing undone


@contextmanager
def smtp_sink(conn_ids: Sequence[str]) -> Iterator[list[Message]]:
    """The sink while the block runs, with the connections ``conn_ids`` pointed at it;
    yields the messages it accepts (nothing runs when there are no connections)."""
    messages: list[Message] = []
    if not conn_ids:
        yield messages
        return
    loopback_up()
    server = _Server(("127.0.0.1", 0), _Session)
    server.messages = messages
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    connection: dict[str, Any] = {
        "conn_type": "smtp",
        "host": "127.0.0.1",
        "port": server.server_address[1],
        "extra": {"disable_ssl": True, "disable_tls": True, "from_email": SENDER},
    }
    for conn_id in conn_ids:
        os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(connection)
    try:
        yield messages
    finally:
        server.shutdown()
        server.server_close()
