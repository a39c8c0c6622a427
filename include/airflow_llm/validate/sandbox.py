"""Run untrusted generated code in a child process that can do little harm.

Every run is a child forked by a warm process, the zygote
(:mod:`airflow_llm.validate.zygote`), which has already imported Airflow and what the
generated code uses, so a run pays for the bundle, not for imports. :class:`Zygote`
starts it on first use, in the sandbox's scrubbed environment
(:func:`sandbox_environment`: ``PATH`` and the sandbox's Airflow settings, no
credentials, no ``AIRFLOW_CONN_*`` of the caller). One zygote per user, interpreter,
Airflow version and version of the zygote's code serves every process on the machine
(say, the gate tasks of a worker) over a Unix socket; it exits after
:data:`IDLE_SECONDS` without a run.

Each child, before it loads anything of the bundle, takes a session of its own, a user
and network namespace of its own with no interface up where the kernel allows
unprivileged user namespaces (:func:`network_isolation`: nothing it opens reaches
another host, not even the embedded services on loopback), the memory limit, the
caller's environment for the run, the run's folder as its home, and a fresh copy of a
migrated Airflow metadata database there. The zygote kills the child's process group
at the timeout. The child's output and its JSON result land in the home's
``.sandbox/`` folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any, BinaryIO

MEMORY_LIMIT_BYTES = 4 * 1024**3
IDLE_SECONDS = 300.0
"""How long the zygote waits for a request before it exits."""
START_SECONDS = 300.0
"""How long a client waits for a zygote to warm up (imports, the template database)."""
SOCKET = "zygote.sock"
LOG = "zygote.log"
OUTPUT = ".sandbox"
"""The folder, in a run's home, with the child's ``stdout``, ``stderr`` and ``result.json``."""
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1
_ANSWER_SECONDS = 60.0
"""How long a client waits past a run's timeout for the zygote's answer."""
_TAIL_BYTES = 64 * 1024


class SandboxUnavailableError(RuntimeError):
    """The zygote did not start or does not answer."""


@dataclass(frozen=True)
class SandboxRun:
    """What a sandboxed child did: its JSON result, or why there is none."""

    result: dict[str, Any] | None
    stdout: str
    stderr: str
    timed_out: bool = False
    returncode: int | None = None
    """The child's exit status; minus the signal's number when a signal killed it."""

    def failure(self) -> str:
        """Why the child produced no result: a timeout, or how it ended and the tail of
        its output."""
        if self.timed_out:
            return "timed out"
        if self.returncode is None:
            ended = "no answer from the sandbox"
        elif self.returncode < 0:
            ended = f"killed by {signal.Signals(-self.returncode).name}"
        else:
            ended = f"exit status {self.returncode}"
        tail = (self.stderr or self.stdout).strip().splitlines()[-5:]
        return f"crashed ({ended})" + (": " + " | ".join(tail) if tail else "")


@cache
def network_isolation() -> bool:
    """Whether a process may take a user and network namespace of its own, as each child
    does (unprivileged user namespaces: containers often refuse them)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    probe = [unshare, "--net", "--map-root-user", "true"]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


def loopback_up() -> None:
    """Bring ``lo`` up in the child's network namespace, for the stand-ins it serves
    itself there (a no-op where it is up, or where the process may not)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        request = struct.pack("16sH14s", b"lo", 0, b"")
        flags = struct.unpack("16sH14s", fcntl.ioctl(probe, _SIOCGIFFLAGS, request))[1]
        if not flags & _IFF_UP:
            with contextlib.suppress(OSError):
                up = struct.pack("16sH14s", b"lo", flags | _IFF_UP, b"")
                fcntl.ioctl(probe, _SIOCSIFFLAGS, up)


def sandbox_environment(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The whole environment of a sandboxed process with ``home`` as its home and Airflow
    home (its metadata database there): nothing of the caller's but ``PATH``."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
        "PYTHONDONTWRITEBYTECODE": "1",
        **(extra or {}),
    }


@cache
def default_zygote() -> Zygote:
    """The zygote of this user, interpreter, Airflow version and zygote code (it imports
    the rest of ``airflow_llm`` afresh in each child)."""
    root = Path(tempfile.gettempdir()) / f"airflow-llm-sandbox-{os.getuid()}"
    return Zygote(root / _zygote_version())


def _zygote_version() -> str:
    digest = hashlib.sha256(f"{sys.executable}\n{version('apache-airflow')}\n".encode())
    for module in (Path(__file__), Path(__file__).with_name("zygote.py")):
        digest.update(module.read_bytes())
    return digest.hexdigest()[:16]


class Zygote:
    """A client of the zygote under ``folder``, which it starts when none answers there."""

    def __init__(self, folder: Path, idle_seconds: float = IDLE_SECONDS) -> None:
        self.folder = folder
        self.idle_seconds = idle_seconds
        self._started: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def run(
        self,
        entry: str,
        arguments: Mapping[str, Any],
        home: Path,
        timeout: float,
        environment: Mapping[str, str] | None = None,
        memory_limit: int = MEMORY_LIMIT_BYTES,
    ) -> SandboxRun:
        """Call ``entry`` (``module:function``, given ``arguments``, returning a JSON-ready
        dict) in a sandboxed child with ``home`` as its home and ``environment`` added to
        the sandbox's; never raises for what the child does."""
        output = home / OUTPUT
        shutil.rmtree(output, ignore_errors=True)
        request = {
            "entry": entry,
            "arguments": arguments,
            "home": str(home.resolve()),
            "environment": sandbox_environment(home.resolve(), environment),
            "timeout": timeout,
            "memory_limit": memory_limit,
        }
        try:
            with self._submitted(request) as (connection, answers, child):
                connection.settimeout(timeout + _ANSWER_SECONDS)
                answer = _answer(answers)
        except SandboxUnavailableError as error:
            return SandboxRun(None, "", str(error))
        stdout, stderr = _tail(output / "stdout"), _tail(output / "stderr")
        if answer is None:  # the zygote died or hung: leave nothing of the run behind
            with contextlib.suppress(OSError):
                os.killpg(child, signal.SIGKILL)
            return SandboxRun(None, stdout, stderr)
        returncode = int(answer["returncode"])
        result = None
        if returncode == 0 and not answer["timed_out"]:
            with contextlib.suppress(OSError, ValueError):
                result = json.loads((output / "result.json").read_text())
        return SandboxRun(result, stdout, stderr, bool(answer["timed_out"]), returncode)

    def pid(self) -> int | None:
        """The running zygote's process id, or None when none answers (starts nothing)."""
        answer = self._tell({"ping": True})
        return None if answer is None else int(answer["pid"])

    def stop(self) -> None:
        """Stop the zygote (its children killed) and wait until it has exited."""
        answer = self._tell({"stop": True})
        if self._started is not None:
            self._started.wait(timeout=_ANSWER_SECONDS)
            self._started = None
        elif answer is not None:
            _wait_gone(int(answer["pid"]))

    def _tell(self, request: Mapping[str, Any]) -> dict[str, Any] | None:
        """The answer of a running zygote to ``request``, or None (starts nothing)."""
        try:
            with self._dial() as connection, connection.makefile("rb") as answers:
                connection.settimeout(_ANSWER_SECONDS)
                connection.sendall(json.dumps(request).encode() + b"\n")
                return _answer(answers)
        except OSError:
            return None

    @contextlib.contextmanager
    def _submitted(
        self, request: Mapping[str, Any]
    ) -> Iterator[tuple[socket.socket, BinaryIO, int]]:
        """A connection on which the zygote took ``request``, its answers, and the child's
        pid. A zygote that closes on it before that (it was exiting, idle) is started
        again, once."""
        line = json.dumps(request).encode() + b"\n"
        for attempt in (1, 2):
            try:
                connection = self._connection()
            except OSError as error:
                raise SandboxUnavailableError(f"the sandbox does not answer: {error}") from error
            with connection, connection.makefile("rb") as answers:
                try:
                    connection.settimeout(_ANSWER_SECONDS)
                    connection.sendall(line)
                except OSError:
                    answer = None
                else:
                    answer = _answer(answers)
                if answer is not None and "pid" in answer:
                    yield connection, answers, int(answer["pid"])
                    return
            if attempt == 2:
                raise SandboxUnavailableError(f"the sandbox refused the run: {answer}")

    def _connection(self) -> socket.socket:
        with contextlib.suppress(OSError):
            return self._dial()
        with self._lock, _file_lock(self.folder / "start.lock"):
            with contextlib.suppress(OSError):
                return self._dial()
            self._start()
            return self._dial()

    def _dial(self) -> socket.socket:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            connection.connect(str(self.folder / SOCKET))
        except OSError:
            connection.close()
            raise
        return connection

    def _start(self) -> None:
        if self._started is not None:
            self._started.poll()  # reap one that exited
        (self.folder / SOCKET).unlink(missing_ok=True)
        home = self.folder / "home"
        home.mkdir(exist_ok=True)
        argv = [sys.executable, "-m", "airflow_llm.validate.zygote", str(self.folder)]
        argv += [str(self.idle_seconds), "isolated" if network_isolation() else "shared"]
        with (self.folder / LOG).open("wb") as log:
            self._started = subprocess.Popen(
                argv,
                env=sandbox_environment(home),
                cwd=home,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_SECONDS
        while not (self.folder / SOCKET).exists():
            if self._started.poll() is not None or time.monotonic() > deadline:
                self._started.kill()
                self._started.wait()
                tail = _tail(self.folder / LOG).strip().splitlines()[-5:]
                raise SandboxUnavailableError("the sandbox did not start: " + " | ".join(tail))
            time.sleep(0.05)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _answer(answers: BinaryIO) -> dict[str, Any] | None:
    """The zygote's next one-line JSON answer, or None when it closed or went quiet."""
    try:
        line = answers.readline()
    except OSError:
        return None
    if not line.endswith(b"\n"):
        return None
    answer: dict[str, Any] = json.loads(line)
    return answer


def _tail(path: Path) -> str:
    """The last :data:`_TAIL_BYTES` of ``path`` ("" when it does not exist)."""
    try:
        with path.open("rb") as file:
            file.seek(max(0, path.stat().st_size - _TAIL_BYTES))
            return file.read().decode(errors="replace")
    except OSError:
        return ""


def _wait_gone(pid: int) -> None:
    """Wait until process ``pid`` (not a child of this one) has exited."""
    deadline = time.monotonic() + _ANSWER_SECONDS
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, exited but not reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
