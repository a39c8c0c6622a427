"""Run untrusted generated code in a child process that can do little harm.

The child gets a scrubbed environment (``PATH`` and what the caller adds: no
credentials, no ``AIRFLOW_CONN_*`` of the parent), a throw-away home, a memory limit,
a wall-clock timeout after which its whole process group is killed, and, where the
kernel allows unprivileged user namespaces, a network namespace of its own with no
interfaces up (``unshare --net``): nothing it opens reaches another host, not even
the embedded services on loopback. The child reports through one ``@@RESULT@@``
line of JSON on stdout.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import resource
import shutil
import signal
import socket
import struct
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

RESULT_MARKER = "@@RESULT@@"
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1
MEMORY_LIMIT_BYTES = 4 * 1024**3


@dataclass(frozen=True)
class SandboxRun:
    """What a sandboxed child did: its JSON result, or why there is none."""

    result: dict[str, Any] | None
    stdout: str
    stderr: str
    timed_out: bool = False

    def failure(self) -> str:
        """Why the child produced no result: a timeout or the tail of its output."""
        if self.timed_out:
            return "timed out"
        tail = (self.stderr or self.stdout).strip().splitlines()[-5:]
        return "crashed: " + " | ".join(tail)


@cache
def network_isolation() -> list[str]:
    """The command prefix that gives a child its own empty network namespace, or ``[]``
    where unprivileged user namespaces are not available (containers often lack them)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    prefix = [unshare, "--net", "--map-root-user"]
    probe = subprocess.run([*prefix, "true"], capture_output=True, check=False)
    return prefix if probe.returncode == 0 else []


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


def _limit_memory(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def run_sandboxed(
    argv: Sequence[str],
    home: Path,
    timeout: float,
    environment: Mapping[str, str] | None = None,
    memory_limit: int = MEMORY_LIMIT_BYTES,
) -> SandboxRun:
    """Run ``argv`` in ``home`` under the sandbox; never raises for what the child does."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
        "PYTHONDONTWRITEBYTECODE": "1",
        **(environment or {}),
    }
    with subprocess.Popen(
        [*network_isolation(), *argv],
        env=env,
        cwd=home,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: _limit_memory(memory_limit),
    ) as child:
        try:
            stdout, stderr = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            stdout, stderr = child.communicate()
            return SandboxRun(None, stdout, stderr, timed_out=True)
    marker = stdout.rfind(RESULT_MARKER)
    if marker == -1:
        return SandboxRun(None, stdout, stderr)
    line = stdout[marker + len(RESULT_MARKER) :].splitlines()[0]
    return SandboxRun(json.loads(line), stdout, stderr)


def report_result(result: Mapping[str, Any]) -> None:
    """Print the child's result line (called in the child)."""
    print(RESULT_MARKER + json.dumps(result, default=str), flush=True)
