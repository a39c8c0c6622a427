"""The sandbox's zygote, on its own: runs forked from one warm process, isolated from it
and from each other, stopped at their timeout with everything they started, and a
zygote that exits when idle and leaves no process behind. The gates' use of it (a
crash, the memory limit, the network, secrets) is in ``test_gates.py``."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

from airflow_llm.validate.sandbox import SandboxRun, Zygote

pytestmark = pytest.mark.integration

PARSE = "airflow_llm.validate.dag_import:parse_folder"
CLIENT = f"""
import sys
from pathlib import Path
from airflow_llm.validate.sandbox import Zygote
Zygote(Path(sys.argv[1])).run({PARSE!r}, {{"dags": sys.argv[2]}}, Path(sys.argv[3]), 600)
"""
"""A client in a process of its own, which the test kills."""


def _wait_until(condition: Callable[[], bool], seconds: float = 120.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _runs(pid: int) -> bool:
    """Whether process ``pid`` exists and is no zombie."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _processes_naming(text: str) -> list[int]:
    """The processes whose command line holds ``text`` (the zygote and its forks)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and text in (entry / "cmdline").read_text():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_a_zygote_forks_isolated_runs_and_stops_them_with_what_they_started(
    tmp_path: Path,
) -> None:
    zygote = Zygote(tmp_path / "zygote")
    home, dags = tmp_path / "home", tmp_path / "dags"
    home.mkdir()
    dags.mkdir()

    def parse(source: str, timeout: float = 120.0) -> SandboxRun:
        (dags / "bundle.py").write_text("# an airflow dag\n" + source)
        return zygote.run(PARSE, {"dags": str(dags)}, home, timeout)

    echoed = zygote.run("builtins:dict", {"echo": [1, "two"]}, home, 120)
    assert echoed.result == {"echo": [1, "two"]}, echoed.failure()
    assert (home / "airflow.db").is_file(), "each run gets a metadata database of its own"
    pid = zygote.pid()
    assert pid is not None

    tampering = parse("import os\nopen(f'/proc/{os.getppid()}/mem', 'rb')\n")
    assert tampering.result is not None, tampering.failure()
    (error,) = tampering.result["errors"].values()
    assert "PermissionError" in error, "a run cannot read or change the zygote's memory"

    crashed = parse("import os\nos._exit(3)\n")
    assert crashed.result is None
    assert crashed.failure() == "crashed (exit status 3)"

    def hang(marker: Path) -> str:
        return (
            "import pathlib, subprocess, time\n"
            f"sleeper = subprocess.Popen(['sleep', '600'])\n"
            f"pathlib.Path({str(marker)!r}).write_text(str(sleeper.pid))\n"
            "time.sleep(600)\n"
        )

    hanging = parse(hang(tmp_path / "first"), timeout=10)
    assert hanging.timed_out
    assert hanging.failure() == "timed out"
    first = int((tmp_path / "first").read_text())
    assert _wait_until(lambda: not _runs(first)), "the timeout ends what the run started"
    assert zygote.pid() == pid, "one zygote served every run, crashes and all"

    (dags / "bundle.py").write_text("# an airflow dag\n" + hang(tmp_path / "second"))
    client = subprocess.Popen(
        [sys.executable, "-c", CLIENT, str(zygote.folder), str(dags), str(home)]
    )
    assert _wait_until((tmp_path / "second").exists)
    client.kill()  # a gate worker killed with its run under way
    client.wait()
    second = int((tmp_path / "second").read_text())
    assert _wait_until(lambda: not _runs(second)), "the run ends with its client"

    with ThreadPoolExecutor(1) as pool:  # a run under way when the zygote stops
        running = pool.submit(parse, hang(tmp_path / "third"), 600)
        assert _wait_until((tmp_path / "third").exists)
        zygote.stop()
        assert running.result().failure().startswith("crashed (killed by SIGKILL)")
    assert not Path(f"/proc/{pid}").exists()
    assert not _runs(int((tmp_path / "third").read_text()))
    assert _processes_naming(str(zygote.folder)) == []
    assert not (zygote.folder / "zygote.sock").exists()


def test_an_idle_zygote_exits_and_is_reaped(tmp_path: Path) -> None:
    zygote = Zygote(tmp_path / "zygote", idle_seconds=3)
    home = tmp_path / "home"
    home.mkdir()
    assert zygote.run("builtins:dict", {}, home, 120).result == {}
    assert _wait_until(lambda: zygote.pid() is None)
    zygote.stop()  # reaps it: it is this process's child
    assert _processes_naming(str(zygote.folder)) == []
    assert not (zygote.folder / "zygote.sock").exists()
