"""A real Airflow API server for tests: ``airflow api-server`` on a free port with the
test's own Airflow home (metadata database, simple auth manager users in ``env``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from airflow_llm.embedded.process import ManagedProcess

AIRFLOW = str(Path(sys.executable).parent / "airflow")
"""The ``airflow`` command of this environment."""


@contextmanager
def running_api_server(env: dict[str, str], port: int, state_dir: Path) -> Iterator[str]:
    """The server's base URL while the block runs (started once its health answers)."""
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/api/v2/monitor/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    server = ManagedProcess(
        name="api-server",
        argv=[AIRFLOW, "api-server", "-H", "127.0.0.1", "-p", str(port), "-w", "1"],
        is_ready=ready,
        state_dir=state_dir,
        env=env,
    )
    server.start()
    try:
        yield url
    finally:
        server.stop()
