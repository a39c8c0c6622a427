"""A local FTP server for the smoke run's child: FTP sensors and downloads reach it, not
the real server.

Like :mod:`airflow_llm.validate.mail_sink`, it brings the child's loopback up, listens on
127.0.0.1 (a free port) and points the given Airflow ``ftp`` connections at itself. It is
pyftpdlib's server, in a thread, serving one folder of the sandbox read-only to one
user: the folder where the parent wrote the files the tasks wait for and download
(:func:`airflow_llm.validate.sample_files.seed_served`). Nothing leaves the namespace.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from airflow_llm.validate.sandbox import loopback_up

USER = "airflow-llm-smoke"
SECRET = "airflow-llm-smoke"  # noqa: S105 - the login of a server on the child's loopback
_POLL = 0.05
"""Seconds the server's loop waits for activity before checking whether to stop."""


@contextmanager
def ftp_stand_in(conn_ids: Sequence[str], folder: Path) -> Iterator[None]:
    """The server while the block runs, serving ``folder``, with the connections
    ``conn_ids`` pointed at it (nothing runs when there are none)."""
    if not conn_ids:
        yield
        return
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import FTPServer

    loopback_up()
    quiet = logging.getLogger("pyftpdlib")  # with a handler, it adds no stderr one of its own
    quiet.addHandler(logging.NullHandler())
    quiet.setLevel(logging.WARNING)
    folder.mkdir(parents=True, exist_ok=True)
    authorizer = DummyAuthorizer()
    authorizer.add_user(USER, SECRET, str(folder), perm="elr")  # list and read only

    class Handler(FTPHandler):  # type: ignore[misc]
        """The stand-in's sessions (pyftpdlib configures handlers by class)."""

    Handler.authorizer = authorizer
    server = FTPServer(("127.0.0.1", 0), Handler)
    stopping = threading.Event()

    def serve() -> None:
        while not stopping.is_set():
            server.serve_forever(timeout=_POLL, blocking=False, handle_exit=False)
        server.close_all()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    connection = {
        "conn_type": "ftp",
        "host": "127.0.0.1",
        "port": server.address[1],
        "login": USER,
        "password": SECRET,
    }
    for conn_id in conn_ids:
        os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(connection)
    try:
        yield
    finally:
        stopping.set()
        thread.join()
