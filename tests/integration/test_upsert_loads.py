"""file_to_tables' upsert for real: a step that merges an upstream file step's rows into a
system's records is generated, gated and smoke-run against DuckDB; and the generated
task, run twice with changed rows against a real PostgreSQL server, updates the rows by
key and inserts the new ones through ``PostgresHook`` (``%s`` placeholders, a
transaction of its own), as it does against DuckDB
(``tests/unit/test_file_to_tables_pattern.py``)."""

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
from airflow_llm.spec import PipelineSpec
from tests.pattern_bundles import smoke_run_of
from tests.unit.test_file_to_tables_pattern import MERGE, generated_task

pytestmark = pytest.mark.integration


PRICES = PipelineSpec.model_validate(
    {
        "name": "catalog_prices",
        "description": "Cleanse the supplier's prices and merge them into the catalog.",
        "environments": {"dev": {"conn_id": "warehouse_dev"}},
        "tasks": [
            {
                "name": "clean_prices",
                "kind": "python",
                "description": "Cleanse prices.csv: drop the rows whose sku, price or stock "
                "is null; write clean_prices.csv.",
            },
            {
                "name": "merge_prices",
                "kind": "python",
                "depends_on": ["clean_prices"],
                "description": "Merge the cleansed prices with the central catalog system to "
                "update list prices and stock. Key Parameters: join on sku.",
            },
        ],
    }
)


def test_a_merge_that_updates_a_system_is_an_upsert_that_passes_every_gate(
    tmp_path: Path,
) -> None:
    """The merge's target names the table; the smoke run loads one row per sku of the
    cleansed sample file (11 rows)."""
    _, smoke = smoke_run_of(
        PRICES, {"clean_prices": "file_transform", "merge_prices": "file_to_tables"}, tmp_path
    )
    assert smoke["clean_prices"]["rows"] == {"files/clean_prices.csv": 11}
    assert smoke["merge_prices"]["rows"] == {"main.central_catalog": 6}


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
