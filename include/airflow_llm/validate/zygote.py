"""The sandbox's warm process: Airflow imported once, one forked child per run.

Started by :class:`airflow_llm.validate.sandbox.Zygote` as ``python -m
airflow_llm.validate.zygote FOLDER IDLE_SECONDS isolated|shared``, in the sandbox's
scrubbed environment (``isolated``: each child takes a user and network namespace of
its own). It imports Airflow, the task SDK, the in-process execution API (its versioned
routes built: seconds on a run's first request), Great Expectations, DuckDB, moto and
the modules the operator patterns import; it migrates a template metadata database
once per ``FOLDER``; then it listens on ``FOLDER/zygote.sock``.

A request is one JSON line: ``ping`` and ``stop`` (its children killed) are answered
with the zygote's pid; a run (entry, arguments, home, environment, timeout, memory
limit) forks a child and is answered with the child's pid at once, and with how the
child ended when it has (``returncode``, ``timed_out``). Before it loads anything of
the run, the child closes the zygote's sockets, takes a session of its own, dies with
the zygote, isolates itself (:func:`_own_namespaces`), takes the memory limit, the
run's environment and home and a copy of the template database there, and points
Airflow's engine at it (:func:`_point_airflow_at_home`). The zygote kills the child's
process group at the timeout, or when the client hangs up.

Fork safety: the zygote forks from its only thread (the warm-up starts none: no
OpenBLAS pool, no jemalloc background thread, no execution API loop), holds no
database connection, and is not dumpable, so a child, root only in a namespace of
its own, cannot trace it to tamper with later runs. It exits after ``IDLE_SECONDS``
without a request or :data:`MAX_AGE_SECONDS` after it started, once its children
have ended; clients start a new one when none answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import importlib
import json
import os
import resource
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from airflow_llm.validate.sandbox import LOG, OUTPUT, SOCKET, sandbox_environment

MAX_AGE_SECONDS = 3600.0
WARM_MODULES = (
    "airflow.dag_processing.dagbag",
    "airflow.sdk.bases.sensor",
    "airflow.sdk.execution_time.supervisor",
    "airflow.sdk.execution_time.task_runner",
    "airflow.serialization.encoders",
    "airflow.providers.common.sql.operators.sql",
    "duckdb",
    "duckdb_provider.hooks.duckdb_hook",
    "great_expectations",
    "moto",
    "airflow_llm.validate.dag_import",
    "airflow_llm.validate.smoke_child",
)
"""Imported before the first fork, with the modules of every operator pattern; of this
package's own modules only what they import stays (:func:`warm_up`)."""
FORK_SAFE_ENVIRONMENT = {
    "OPENBLAS_NUM_THREADS": "1",
    "JE_ARROW_MALLOC_CONF": "background_thread:false",
}
"""Set before the warm-up: numpy's OpenBLAS and pyarrow's jemalloc start no thread."""
_CLONE_NEWUSER, _CLONE_NEWNET = 0x10000000, 0x40000000
_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE, _PR_SET_CHILD_SUBREAPER = 1, 4, 36
_REQUEST_BYTES = 64 * 1024**2
_REQUEST_SECONDS = 30.0


@dataclass
class _Child:
    """A running child: the client's connection, when it must end, whether it was killed."""

    connection: socket.socket
    deadline: float
    timed_out: bool = False


@dataclass
class _Zygote:
    folder: Path
    idle_seconds: float
    isolated: bool
    listener: socket.socket = field(default_factory=lambda: socket.socket(socket.AF_UNIX))
    selector: selectors.BaseSelector = field(default_factory=selectors.DefaultSelector)
    children: dict[int, _Child] = field(default_factory=dict)
    wake: tuple[int, int] = field(default_factory=os.pipe)
    started: float = field(default_factory=time.monotonic)
    last_run: float = 0.0
    """When the last run ended, or serving began (pings do not count)."""
    stopping: bool = False
    bound: int = 0
    """The inode of the socket's path (another zygote may have bound it since)."""

    @property
    def template(self) -> Path:
        return self.folder / "template" / "airflow.db"

    def serve(self) -> None:
        """Answer requests until idle, too old, or stopped."""
        for end in self.wake:
            os.set_blocking(end, False)
        signal.set_wakeup_fd(self.wake[1])
        signal.signal(signal.SIGCHLD, lambda number, frame: None)
        partial = self.folder / f"{SOCKET}.{os.getpid()}"
        partial.unlink(missing_ok=True)
        self.listener.bind(str(partial))
        self.listener.listen(64)
        partial.rename(self.folder / SOCKET)  # clients connect from now on
        self.bound = (self.folder / SOCKET).stat().st_ino
        self.selector.register(self.listener, selectors.EVENT_READ)
        self.selector.register(self.wake[0], selectors.EVENT_READ)
        self.last_run = time.monotonic()
        while not self.stopping or self.children:
            now = time.monotonic()
            if not self.children and (
                now - self.last_run > self.idle_seconds or now - self.started > MAX_AGE_SECONDS
            ):
                break
            deadlines = [child.deadline for child in self.children.values()]
            wait = min(deadlines, default=self.last_run + self.idle_seconds) - now
            for key, _ in self.selector.select(max(wait, 0.0) + 0.01):
                if key.fileobj is self.listener:
                    self._accept()
                elif key.fileobj == self.wake[0]:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self.wake[0], 4096)
                else:  # a client sends nothing after its request: it hung up
                    self._hung_up(int(key.data))
            self._reap()
            for pid, child in self.children.items():
                if time.monotonic() > child.deadline and not child.timed_out:
                    child.timed_out = True
                    self._kill(pid)
        self._unlink()
        self._kill_left_behind()
        _reap_all(_REQUEST_SECONDS)

    def _accept(self) -> None:
        connection, _ = self.listener.accept()
        try:
            connection.settimeout(_REQUEST_SECONDS)
            with connection.makefile("rb") as lines:
                request = json.loads(lines.readline(_REQUEST_BYTES))
            if "stop" in request:
                self._stop()
            if "ping" in request or "stop" in request:
                _send(connection, {"pid": os.getpid()})
                connection.close()
                return
            deadline = time.monotonic() + float(request["timeout"])
            pid = os.fork()
        except (OSError, ValueError, KeyError) as error:
            print(f"zygote: a request failed: {error!r}", file=sys.stderr, flush=True)
            connection.close()
            return
        if pid == 0:
            self._child(request, connection)
        self.children[pid] = _Child(connection, deadline)
        self.selector.register(connection, selectors.EVENT_READ, pid)
        try:
            _send(connection, {"pid": pid})
        except OSError:  # the client is gone
            self._hung_up(pid)

    def _stop(self) -> None:
        """Take no more requests (clients start a new zygote) and kill every child."""
        self.stopping = True
        self._unlink()
        self.selector.unregister(self.listener)
        for pid in self.children:
            self._kill(pid)

    def _unlink(self) -> None:
        """Remove the socket's path, if it is still this zygote's."""
        path = self.folder / SOCKET
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_ino == self.bound:
                path.unlink()

    def _reap(self) -> None:
        """Answer for each child that ended; reap and kill what runs left behind."""
        reaped = False
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            reaped = True
            self.last_run = time.monotonic()
            child = self.children.pop(pid, None)
            if child is None:  # a process a run left behind, reparented here
                continue
            with contextlib.suppress(KeyError):  # still registered unless it hung up
                self.selector.unregister(child.connection)
            with contextlib.suppress(OSError), child.connection:
                child.connection.settimeout(_REQUEST_SECONDS)
                returncode = os.waitstatus_to_exitcode(status)
                _send(child.connection, {"returncode": returncode, "timed_out": child.timed_out})
        if reaped:
            self._kill_left_behind()

    def _kill_left_behind(self) -> None:
        """Kill the processes of ended runs: the zygote is their subreaper, so an orphan of
        a run is its child; those in a running child's session live on."""
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) in self.children:
                continue
            with contextlib.suppress(OSError, ValueError, IndexError):
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parent, session = int(state[1]), int(state[3])
                if parent == os.getpid() and session not in self.children:
                    os.kill(int(entry.name), signal.SIGKILL)

    def _hung_up(self, pid: int) -> None:
        """The client of child ``pid`` is gone: the run is of no use any more."""
        self.selector.unregister(self.children[pid].connection)
        self._kill(pid)

    def _kill(self, pid: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)

    def _child(self, request: dict[str, Any], connection: socket.socket) -> NoReturn:
        """Isolate this forked child, run the request's entry in it, and exit."""
        status = 1
        try:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            for inherited in [connection, self.listener, *self._connections()]:
                inherited.close()
            self.selector.close()
            for end in self.wake:
                os.close(end)
            os.setsid()
            _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            home = Path(request["home"])
            _redirect_output(home / OUTPUT)
            if self.isolated:
                _own_namespaces()
            limit = int(request["memory_limit"])
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            os.chdir(home)
            os.environ.clear()
            os.environ.update(request["environment"])
            shutil.copyfile(self.template, home / "airflow.db")
            _point_airflow_at_home()
            module, _, function = str(request["entry"]).partition(":")
            result = getattr(importlib.import_module(module), function)(request["arguments"])
            (home / OUTPUT / "result.json").write_text(json.dumps(result, default=str))
            status = 0
        except BaseException:  # reported on stderr; the exit status says it failed
            traceback.print_exc()
        finally:
            with contextlib.suppress(BaseException):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(status)

    def _connections(self) -> list[socket.socket]:
        return [child.connection for child in self.children.values()]


def _reap_all(seconds: float) -> None:
    """Wait up to ``seconds`` until every child of this process has been reaped."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.01)


def _send(connection: socket.socket, answer: dict[str, Any]) -> None:
    connection.sendall(json.dumps(answer).encode() + b"\n")


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _redirect_output(folder: Path) -> None:
    """The child's stdin from ``/dev/null``, stdout and stderr to files in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for number, target in ((0, os.devnull), (1, folder / "stdout"), (2, folder / "stderr")):
        flags = os.O_RDONLY if number == 0 else os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        opened = os.open(target, flags, 0o600)
        os.dup2(opened, number)
        os.close(opened)


def _own_namespaces() -> None:
    """A user namespace of this process's own (root in it, mapped to the zygote's user)
    and a network namespace with no interface up; ``OSError`` where the kernel refuses."""
    uid, gid = os.geteuid(), os.getegid()
    if _libc().unshare(_CLONE_NEWUSER | _CLONE_NEWNET) != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"unshare: {os.strerror(number)}")
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"0 {uid} 1")
    Path("/proc/self/gid_map").write_text(f"0 {gid} 1")


def _point_airflow_at_home() -> None:
    """Airflow reads its settings again from the run's environment and opens its
    engine on the run's database (the zygote's engine never connected)."""
    from airflow import settings

    settings.configure_vars()  # type: ignore[no-untyped-call]
    settings.reconfigure_orm()  # type: ignore[no-untyped-call]


def _migrate(template: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """Start migrating a metadata database for ``template`` in a folder of its own."""
    home = template.parent / f"migrating-{os.getpid()}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env=sandbox_environment(home),
        cwd=home,
        stdin=subprocess.DEVNULL,
    )
    return process, home


def warm_up() -> None:
    """Import what runs use and build the execution API's routes, starting no thread."""
    from airflow_llm.patterns import operator_patterns

    imports = {line.split()[1] for p in operator_patterns().values() for line in p.imports}
    for module in [*WARM_MODULES, *sorted(imports)]:
        try:
            importlib.import_module(module)
        except ImportError as error:  # a run that needs it fails the same way
            print(f"zygote: not warmed: {module}: {error}", file=sys.stderr, flush=True)
    from airflow.providers_manager import ProvidersManager
    from airflow.sdk.execution_time.supervisor import in_process_api_server

    ProvidersManager().initialize_providers_hooks()  # type: ignore[no-untyped-call]
    asyncio.run(_first_request(in_process_api_server().app))
    own = [name for name in sys.modules if name.split(".")[0] == "airflow_llm"]
    for name in own:  # each child imports this package's code as it is on disk then
        del sys.modules[name]


async def _first_request(app: Any) -> None:
    """A request to no route: the versioned routers are built on an app's first one."""
    import httpx

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://zygote") as client:
        await client.get("/warm-up")


def main(argv: list[str]) -> None:
    """Warm up, make the template database, serve (``FOLDER IDLE_SECONDS NETWORK``)."""
    folder, idle, network = Path(argv[0]), float(argv[1]), argv[2]
    _libc().prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    _libc().prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    zygote = _Zygote(folder, idle, isolated=network == "isolated")
    migrating = None if zygote.template.exists() else _migrate(zygote.template)
    os.environ.update(FORK_SAFE_ENVIRONMENT)
    warm_up()
    if migrating is not None:
        process, home = migrating
        if process.wait() != 0:
            raise SystemExit(f"zygote: migrating the template database failed, see {LOG}")
        (home / "airflow.db").replace(zygote.template)
        shutil.rmtree(home)
    threads = len(os.listdir("/proc/self/task"))
    if threads != 1:
        print(f"zygote: {threads} threads before the first fork", file=sys.stderr, flush=True)
    zygote.serve()


if __name__ == "__main__":
    main(sys.argv[1:])
