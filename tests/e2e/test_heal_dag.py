"""Self-healing end to end, with dag.test(): a published bundle's SQL fails in a real
DuckDB warehouse after a column is renamed there; the task listener records the
incident in the real S3 server; the heal DAG repairs the SQL (a scripted model answers
the repair prompt) through every gate and publishes it in dev only; the healed DAG then
runs against the same warehouse."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from airflow import settings
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk.listener import get_listener_manager

from airflow_llm.connections import conn_env_var
from airflow_llm.embedded.config import EmbeddedConfig
from airflow_llm.embedded.s3_server import s3_client
from airflow_llm.healing import listener
from airflow_llm.healing.classify import SQL_ERROR
from airflow_llm.publish import bundle_identity
from tests.e2e.test_generate_dag import REPO_ROOT, _serving, run_dag
from tests.scripted_endpoint import ScriptedModel

pytestmark = pytest.mark.integration

SPEC = """name: e2e_heal
description: Stage the day's orders.
dialect: duckdb
environments: {dev: {conn_id: warehouse_dev, schema: analytics_dev}}
sources:
  - name: raw.orders
    columns: {order_id: BIGINT, amount: "NUMERIC(12,2)", ORDERED: TIMESTAMP}
tasks:
  - {name: stage_orders, kind: sql, description: Stage the day's orders into stg_orders.}
"""
SQL = """CREATE TABLE IF NOT EXISTS {{ params.schema }}.stg_orders (
    order_id BIGINT, amount NUMERIC(12, 2), order_date DATE
);
DELETE FROM {{ params.schema }}.stg_orders WHERE order_date = CAST('{{ ds }}' AS DATE);
INSERT INTO {{ params.schema }}.stg_orders (order_id, amount, order_date)
SELECT DISTINCT order_id, amount, CAST(ORDERED AS DATE)
FROM raw.orders
WHERE CAST(ORDERED AS DATE) = CAST('{{ ds }}' AS DATE)
"""
BEFORE, AFTER = "ordered_at", "order_ts"
DAY = datetime(2024, 1, 31, tzinfo=UTC)


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedModel]:
    """Writes the SQL, and repairs it for the renamed column."""
    monkeypatch.setenv("AIRFLOW_VAR_AIRFLOW_LLM_STRATEGY", "free")
    script = {"sql": [SQL.replace("ORDERED", BEFORE)], "repair": [SQL.replace("ORDERED", AFTER)]}
    yield from _serving(ScriptedModel(script), monkeypatch)


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A DuckDB warehouse with the day's orders, as the spec's environment reaches it."""
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("CREATE SCHEMA raw; CREATE SCHEMA analytics_dev")
        connection.execute(
            f"CREATE TABLE raw.orders (order_id BIGINT, amount DECIMAL(12,2), {BEFORE} TIMESTAMP)"
        )
        connection.execute("INSERT INTO raw.orders VALUES (1, 5.00, '2024-01-31 09:00:00')")
    connection_json = json.dumps({"conn_type": "duckdb", "host": str(path)})
    monkeypatch.setenv(conn_env_var("warehouse_dev"), connection_json)
    monkeypatch.setenv("AIRFLOW_LLM_ENVIRONMENT", "dev")
    return path


def run_bundle(client: Any, bucket: str, root: Path) -> str:
    """Sync the dev bundle as an S3DagBundle would and run its DAG for DAY; its state."""
    prefix = "bundles/dev/e2e_heal/"
    for item in client.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]:
        target = root / item["Key"][len("bundles/dev/") :]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
    dags = root / "e2e_heal" / "dags"
    with pytest.MonkeyPatch.context() as patch:  # dag.test() runs DAGs of the DAG folder
        patch.setattr(settings, "DAGS_FOLDER", str(dags))
        dag = DagBag(dag_folder=str(dags)).get_dag("e2e_heal")
        assert dag is not None
        for task in dag.tasks:  # one try: a retry waits out its retry_delay
            task.retries = 0
        return str(dag.test(logical_date=DAY).state)


def read_json(client: Any, bucket: str, key: str) -> Any:
    return json.loads(client.get_object(Bucket=bucket, Key=key)["Body"].read())


def test_a_renamed_column_is_recorded_and_healed_in_dev_only(
    airflow_db: Path,
    s3_connection: EmbeddedConfig,
    model: ScriptedModel,
    warehouse: Path,
    tmp_path: Path,
) -> None:
    client, bucket = s3_client(s3_connection), s3_connection.bucket
    spec_key = "e2e-heal/e2e_heal.yml"
    client.put_object(Bucket=bucket, Key=spec_key, Body=SPEC.replace("ORDERED", BEFORE).encode())
    rows = {row["pipeline"]: row for row in run_dag("e2e-heal/")["rows"]}
    assert rows["e2e_heal"]["status"] == "published", rows["e2e_heal"]
    manifest_key = "bundles/dev/e2e_heal/manifest.json"
    failing_text = client.get_object(Bucket=bucket, Key=manifest_key)["Body"].read().decode()
    failing = json.loads(failing_text)

    # the warehouse renames the column; the bundle's SQL now fails
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute(f"ALTER TABLE raw.orders RENAME COLUMN {BEFORE} TO {AFTER}")
    listeners = get_listener_manager()
    listeners.add_listener(listener)
    try:
        assert run_bundle(client, bucket, tmp_path / "failing") == "failed"
    finally:
        listeners.pm.unregister(listener)
    keys = [
        item["Key"]
        for item in client.list_objects_v2(Bucket=bucket, Prefix="incidents/e2e_heal/")["Contents"]
    ]
    assert len(keys) == 1, keys
    assert keys[0].endswith("/incident.json")
    incident = read_json(client, bucket, keys[0])
    assert (incident["dag_id"], incident["task_id"], incident["try_number"]) == (
        "e2e_heal",
        "stage_orders",
        1,
    )
    assert "BinderException" in incident["error_types"]
    assert BEFORE in incident["message"]
    assert incident["log_tail"]
    assert incident["artifact"] == "stage_orders.sql"
    assert incident["environment"] == "dev"
    assert incident["bundle_version"] == bundle_identity(failing_text)["version"]

    # the spec's owner records the rename; the heal repairs the SQL with the error
    client.put_object(Bucket=bucket, Key=spec_key, Body=SPEC.replace("ORDERED", AFTER).encode())
    heal_dag = DagBag(dag_folder=str(REPO_ROOT / "dags")).get_dag("airflow_llm_heal")
    assert heal_dag is not None
    run = heal_dag.test()
    assert str(run.state) == "success"
    healed = next(ti for ti in run.get_task_instances() if ti.task_id == "heal")
    result = healed.xcom_pull(task_ids="heal", map_indexes=0)
    assert result["diagnosis"]["category"] == SQL_ERROR
    assert (result["action"], result["result"]["status"]) == ("regenerated", "published")
    incident_uri = f"s3://{bucket}/{keys[0]}"
    repairs = [
        json.dumps(body) for body in model.requests if "fix code that failed" in json.dumps(body)
    ]
    assert len(repairs) == 1, "one repair: the runtime error and the failing SQL"
    assert incident_uri in repairs[0]
    assert f"CAST({BEFORE} AS DATE)" in repairs[0]

    manifest = read_json(client, bucket, manifest_key)
    assert manifest["files"] != failing["files"]
    assert all(manifest["gates"].values()), manifest["gates"]
    report_key = result["result"]["report_uri"].removeprefix(f"s3://{bucket}/")
    report = read_json(client, bucket, report_key)
    assert report["healing"] == {"incident": incident_uri, "task": "stage_orders"}
    assert report["smoke_run"]["tasks"][0]["state"] == "success"
    analysis = read_json(client, bucket, keys[0].replace("incident.json", "analysis.json"))
    assert analysis["result"]["version"] == result["result"]["version"]
    for environment in ("staging", "prod"):
        listing = client.list_objects_v2(Bucket=bucket, Prefix=f"bundles/{environment}/e2e_heal/")
        assert "Contents" not in listing, f"nothing is published in {environment}"

    # the healed bundle runs against the renamed warehouse
    assert run_bundle(client, bucket, tmp_path / "healed") == "success"
    with duckdb.connect(str(warehouse)) as connection:
        assert connection.execute("SELECT count(*) FROM analytics_dev.stg_orders").fetchone() == (
            1,
        )
