"""ManagedProcess with a real (tiny) HTTP server: start, readiness, and stopping only our own."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from airflow_llm.embedded.process import ManagedProcess, ServiceError, descendants


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _http_server(tmp_path: Path) -> ManagedProcess:
    port = _free_port()

    def ready() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1):
                return True
        except OSError:
            return False

    argv = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    return ManagedProcess("web", argv, ready, tmp_path, startup_timeout=20, stop_timeout=5)


def test_start_is_idempotent_and_stop_stops_it(tmp_path: Path) -> None:
    server = _http_server(tmp_path)
    assert server.start() is True
    pid = server.running_pid()
    assert pid is not None
    assert server.start() is False  # already running: nothing new started
    assert server.running_pid() == pid
    assert server.stop() is True
    assert server.running_pid() is None
    assert not server.pidfile.exists()
    assert server.stop() is False


def test_stop_never_signals_a_process_that_reused_the_pid(tmp_path: Path) -> None:
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        record = {"pid": stranger.pid, "start_time": "1", "argv": ["not", "this", "one"]}
        server = _http_server(tmp_path)
        server.pidfile.write_text(json.dumps(record))
        assert server.running_pid() is None
        assert server.stop() is False
        assert stranger.poll() is None, "the unrelated process must survive"
    finally:
        stranger.kill()
        stranger.wait()


def test_a_server_that_exits_early_reports_its_log(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import sys; print('port already taken'); sys.exit(3)"]
    failing = ManagedProcess("broken", argv, lambda: False, tmp_path, startup_timeout=20)
    with pytest.raises(ServiceError, match=r"exited with code 3(.|\n)*port already taken"):
        failing.start()
    assert not failing.pidfile.exists()


def test_stop_also_ends_children_that_left_the_process_group(tmp_path: Path) -> None:
    code = (
        "import subprocess, sys, time\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], start_new_session=True)\n"
        "time.sleep(60)\n"
    )
    parent = ManagedProcess(
        "family", [sys.executable, "-c", code], lambda: True, tmp_path, stop_timeout=5
    )
    parent.start()
    pid = parent.running_pid()
    assert pid is not None
    deadline = time.monotonic() + 10
    while not descendants(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    (child,) = descendants(pid)
    assert parent.stop() is True
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    state = (
        Path(f"/proc/{child}/stat").read_text().split()[2]
        if Path(f"/proc/{child}").exists()
        else "gone"
    )
    assert state in ("gone", "Z")
