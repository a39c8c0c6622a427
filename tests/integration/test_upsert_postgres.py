"""file_to_tables' upsert against a real PostgreSQL server: the generated task, run twice
with changed rows, updates the rows by key and inserts the new ones through
``PostgresHook`` (psycopg2, ``%s`` placeholders, a transaction of its own), as it does
against the smoke run's DuckDB (``tests/unit/test_file_to_tables_pattern.py``)."""

from __future__ import annotations

import json
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from airflow_llm.cluster.postgres import (
    SUPERUSER,
    database_url,
    init_data_dir,
    postgres_bin,
    postgres_ready,
    server_argv,
)
from tests.unit.test_file_to_tables_pattern import MERGE, generated_task

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def postgres() -> Iterator[int]:
    """A PostgreSQL server of its own on a free loopback port (skipped without one); its
    folder is one the ``postgres`` account reaches when tests run as root."""
    try:
        postgres_bin("initdb")
    except FileNotFoundError as missing:
        pytest.skip(str(missing))
    home = tempfile.TemporaryDirectory(prefix="airflow-llm-pg-")
    Path(home.name).chmod(0o711)
    data_dir = Path(home.name) / "data"
    init_data_dir(data_dir)
    port = free_port()
    server = subprocess.Popen(server_argv(data_dir, "127.0.0.1", port))
    try:
        for _ in range(300):
            if postgres_ready("127.0.0.1", port) or server.poll() is not None:
                break
            time.sleep(0.1)
        assert postgres_ready("127.0.0.1", port), "PostgreSQL did not start"
        yield port
    finally:
        server.terminate()
        server.wait(30)
        home.cleanup()


def test_the_upsert_updates_postgres_rows_by_key(
    postgres: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    visits = folder / "visits.csv"
    visits.write_text(
        "patient_id,visited_on,cost\n101,2024-01-02,40\n101,2024-01-09,55\n102,2024-01-03,20\n"
    )
    connection = {"conn_type": "postgres", "host": "127.0.0.1", "port": postgres}
    connection |= {"login": SUPERUSER, "schema": "postgres"}
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", json.dumps(connection))
    monkeypatch.setenv(
        "AIRFLOW_CONN_DATA", json.dumps({"conn_type": "fs", "extra": {"path": str(folder)}})
    )
    task = generated_task(MERGE, tmp_path / "bundle", "postgres")
    assert task.python_callable(templates_dict=task.templates_dict) == {"clinic": 2}
    visits.write_text("patient_id,visited_on,cost\n101,2024-02-01,70\n103,2024-02-02,15\n")
    assert task.python_callable(templates_dict=task.templates_dict) == {"clinic": 2}
    with psycopg.connect(database_url("127.0.0.1", postgres, "postgres")) as found:
        rows = found.execute("SELECT * FROM clinic ORDER BY patient_id").fetchall()
    assert rows == [
        (101, date(2024, 2, 1), Decimal("70.00")),
        (102, date(2024, 1, 3), Decimal("20.00")),
        (103, date(2024, 2, 2), Decimal("15.00")),
    ]
