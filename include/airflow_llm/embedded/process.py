"""Start a server in the background, wait until it is ready, and stop exactly that process.

A pid file records the pid and the kernel's start time of the process, so ``stop``
never signals an unrelated process that happens to reuse the pid. Servers run in
their own session (process group) and are stopped group-wide: SIGTERM first,
SIGKILL only after a grace period. Linux only (reads ``/proc``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path


class ServiceError(RuntimeError):
    """A service did not start, or did not become ready in time."""


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot, or None if it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    state, start_time = fields[0], fields[19]
    return None if state in ("Z", "X") else start_time


def descendants(pid: int) -> list[int]:
    """Every living descendant of ``pid`` (children first found through /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat[stat.rindex(")") + 2 :].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def _reap(pid: int) -> None:
    """Collect the exit status if ``pid`` is our own child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


@dataclass
class ManagedProcess:
    """One background server: how to start it and how to tell it is ready."""

    name: str
    argv: list[str]
    is_ready: Callable[[], bool]
    state_dir: Path
    env: Mapping[str, str] | None = None
    startup_timeout: float = 120.0
    stop_timeout: float = 20.0
    _poll_interval: float = field(default=0.2, repr=False)

    @property
    def pidfile(self) -> Path:
        """Where the pid and start time of the running server are recorded."""
        return self.state_dir / f"{self.name}.pid"

    @property
    def logfile(self) -> Path:
        """The server's combined stdout and stderr."""
        return self.state_dir / f"{self.name}.log"

    def running_pid(self) -> int | None:
        """The pid of the server this object started, if it is still alive."""
        try:
            record = json.loads(self.pidfile.read_text())
        except (OSError, ValueError):
            return None
        pid = int(record["pid"])
        _reap(pid)
        return pid if _start_time(pid) == record["start_time"] else None

    def start(self) -> bool:
        """Start the server unless it already runs; return True when this call started it."""
        if self.running_pid() is not None:
            return False
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with self.logfile.open("ab") as log:
            process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=None if self.env is None else dict(self.env),
            )
        record = {"pid": process.pid, "start_time": _start_time(process.pid), "argv": self.argv}
        self.pidfile.write_text(json.dumps(record))
        self._wait_until_ready(process)
        return True

    def _wait_until_ready(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self.pidfile.unlink(missing_ok=True)
                raise ServiceError(
                    f"{self.name} exited with code {process.returncode} while starting:\n"
                    f"{self.log_tail()}"
                )
            if self.is_ready():
                return
            time.sleep(self._poll_interval)
        self.stop()
        raise ServiceError(
            f"{self.name} was not ready after {self.startup_timeout:.0f} s:\n{self.log_tail()}"
        )

    def stop(self) -> bool:
        """Stop the server this object started; return True when there was one to stop."""
        pid = self.running_pid()
        if pid is None:
            self.pidfile.unlink(missing_ok=True)
            return False
        # children that left the process group (airflow's task runners do) go down too
        family = [pid, *descendants(pid)]
        for member in family:
            self._signal_group(member, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        while any(self._alive(m) for m in family) and time.monotonic() < deadline:
            time.sleep(self._poll_interval)
        for member in family:
            if self._alive(member):
                self._signal_group(member, signal.SIGKILL)
        while self._alive(pid):
            time.sleep(self._poll_interval)
        self.pidfile.unlink(missing_ok=True)
        return True

    @staticmethod
    def _signal_group(pid: int, signum: signal.Signals) -> None:
        """Signal ``pid``'s process group when it leads one, else ``pid`` alone."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.getpgid(pid) == pid:
                os.killpg(pid, signum)  # started with start_new_session: pgid == pid
            else:
                os.kill(pid, signum)

    @staticmethod
    def _alive(pid: int) -> bool:
        _reap(pid)
        return _start_time(pid) is not None

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server's log, for error messages."""
        try:
            text = self.logfile.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])
