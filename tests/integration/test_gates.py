"""The bundle gates on hand-written bundles: a good one passes its smoke run on DuckDB;
a SQL error, a failing expectation, a hanging task, and code that reaches for the
network or a secret are each stopped with a finding that says why."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from airflow_llm.bundle.render import (
    BundleLayout,
    artifact_file,
    parse_tasks_document,
    render_bundle,
)
from airflow_llm.gates import GateResult, gate_bundle
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec
from airflow_llm.validate.python_code import assemble_function
from airflow_llm.validate.sandbox import default_zygote, network_isolation
from airflow_llm.validate.smoke_run import smoke_run
from tests.snippet_goldens import write_bundle

pytestmark = pytest.mark.integration

SPEC = PipelineSpec.model_validate(
    {
        "name": "orders_smoke",
        "description": "Stage the day's orders, check them, and count them.",
        "dialect": "postgres",
        "environments": {"dev": {"conn_id": "warehouse_dev", "schema": "analytics_dev"}},
        "sources": [
            {
                "name": "raw.orders",
                "columns": {
                    "order_id": "BIGINT",
                    "customer_id": "BIGINT",
                    "amount": "NUMERIC(12,2)",
                    "ordered_at": "TIMESTAMP",
                },
            }
        ],
        "tasks": [
            {"name": "stage_orders", "kind": "sql", "description": "Stage the day's orders."},
            {
                "name": "check_staged",
                "kind": "quality",
                "description": "Staged orders have ids.",
                "depends_on": ["stage_orders"],
            },
            {
                "name": "count_orders",
                "kind": "python",
                "description": "Count the staged orders.",
                "depends_on": ["check_staged"],
            },
        ],
    }
)
GOOD_SQL = """CREATE TABLE IF NOT EXISTS {{ params.schema }}.stg_orders (
    order_id BIGINT, customer_id BIGINT, amount NUMERIC(12, 2), order_date DATE
);
DELETE FROM {{ params.schema }}.stg_orders WHERE order_date = CAST('{{ ds }}' AS DATE);
INSERT INTO {{ params.schema }}.stg_orders (order_id, customer_id, amount, order_date)
SELECT DISTINCT order_id, customer_id, amount, CAST(ordered_at AS DATE)
FROM raw.orders
WHERE CAST(ordered_at AS DATE) = '{{ ds }}'
"""
"""Idempotent for a logical date: the smoke run runs it a second time."""
GOOD_SUITE = {
    "name": "check_staged",
    "table": "stg_orders",
    "expectations": [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "order_id"}},
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
    ],
}
GOOD_FUNCTION = "def run(config, upstream, item):\n    return len(upstream)\n"


def bundle(
    sql: str = GOOD_SQL, suite: dict[str, object] | None = None, function: str = GOOD_FUNCTION
) -> dict[str, str]:
    tasks = list(SPEC.tasks or [])
    python = tasks[2]
    artifacts = {
        "stage_orders": sql,
        "check_staged": json.dumps(suite or GOOD_SUITE),
        "count_orders": assemble_function(
            function, artifact_file(python), "python", python.name, python.description
        ).source,
    }
    return render_bundle(SPEC, tasks, artifacts)


@pytest.fixture
def settings(tmp_path: Path) -> GenerationSettings:
    return GenerationSettings(work_dir=tmp_path / "work", smoke_timeout=120)


def rules(result: GateResult) -> list[str]:
    return [finding.rule for finding in result.findings]


def smoke_task(result: GateResult, name: str) -> dict[str, object]:
    assert result.smoke is not None
    return next(task for task in result.smoke["tasks"] if task["name"] == name)


def test_a_good_bundle_runs_on_sample_data(settings: GenerationSettings) -> None:
    result = gate_bundle(SPEC.name, bundle(), settings)
    assert result.passed, result.findings
    assert result.smoke is not None
    assert "transpiled from postgres" in result.smoke["note"]
    staged = smoke_task(result, "stage_orders")
    assert staged["state"] == "success"
    # of the eleven distinct sample rows six fall on the logical date and one of those has
    # a NULL timestamp; DISTINCT drops the duplicate row
    assert staged["rows"] == {"analytics_dev.stg_orders": 5}
    assert smoke_task(result, "check_staged")["expectations"] == "2/2 passed"
    assert smoke_task(result, "count_orders")["state"] == "success"


def test_a_sql_error_is_stopped(settings: GenerationSettings) -> None:
    broken = GOOD_SQL.replace("customer_id,", "customer_name,")
    result = gate_bundle(SPEC.name, bundle(sql=broken), settings)
    assert not result.passed
    assert rules(result) == ["smoke.failed"]
    assert result.findings[0].file.endswith("stage_orders.sql")
    assert "customer_name" in result.findings[0].message
    assert smoke_task(result, "check_staged")["state"] == "upstream_failed"


def test_a_table_nothing_produces_is_a_blocking_finding(
    settings: GenerationSettings, tmp_path: Path
) -> None:
    reads_nothing = bundle(sql=GOOD_SQL.replace("FROM raw.orders", "FROM raw.order_archive"))
    result = gate_bundle(SPEC.name, reads_nothing, settings)
    assert not result.passed
    assert rules(result) == ["structure.unproduced_input"], "found before anything runs"
    assert result.findings[0].severity == "error"
    assert "reads table raw.order_archive, which nothing produces" in result.findings[0].message
    assert result.smoke is None
    # a read the structure gate cannot see (in code) the smoke run names when it fails
    write_bundle(tmp_path / "bundle", reads_nothing)
    tasks_yml = reads_nothing[BundleLayout(SPEC.name).resource("tasks.yml")]
    smoke = smoke_run(tmp_path / "bundle", parse_tasks_document(tasks_yml), settings)
    assert [finding.rule for finding in smoke.findings] == ["smoke.unproduced_input"]
    assert "reads order_archive, which nothing produces" in smoke.findings[0].message


def test_a_failing_expectation_is_stopped(settings: GenerationSettings) -> None:
    strict = {
        **GOOD_SUITE,
        "expectations": [
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "amount", "max_value": 1},
            }
        ],
    }
    result = gate_bundle(SPEC.name, bundle(suite=strict), settings)
    assert rules(result) == ["smoke.failed"]
    assert result.findings[0].file.endswith("check_staged_expectations.json")
    assert "expect_column_values_to_be_between" in result.findings[0].message


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        pytest.param(
            "INSERT INTO {{ params.schema }}.stg_orders (order_id, customer_id, amount, order_date)\n"
            "SELECT order_id, customer_id, amount, CAST(ordered_at AS DATE) FROM raw.orders\n",
            "is not idempotent: running it again for the same logical date took",
            id="insert-without-delete",
        ),
        pytest.param(
            "CREATE TABLE {{ params.schema }}.stg_orders AS\n"
            "SELECT DISTINCT order_id, customer_id, amount FROM raw.orders\n",
            "a second run for the same logical date fails",
            id="create-table-as",
        ),
    ],
)
def test_sql_that_a_rerun_changes_is_stopped(
    settings: GenerationSettings, sql: str, why: str
) -> None:
    table = (
        "CREATE TABLE IF NOT EXISTS {{ params.schema }}.stg_orders "
        "(order_id BIGINT, customer_id BIGINT, amount NUMERIC(12, 2), order_date DATE);\n"
    )
    result = gate_bundle(SPEC.name, bundle(sql=table + sql if "INSERT" in sql else sql), settings)
    assert rules(result) == ["smoke.idempotent"], result.findings
    assert why in result.findings[0].message


def test_a_hanging_dag_is_stopped_at_the_timeout(settings: GenerationSettings) -> None:
    hang = "def run(config, upstream, item):\n    while True:\n        pass\n"
    result = gate_bundle(SPEC.name, bundle(function=hang), replace(settings, smoke_timeout=20))
    assert rules(result) == ["smoke.timeout"]
    assert "did not finish in 20 s" in result.findings[0].message


@pytest.mark.parametrize(
    ("body", "rule", "why"),
    [
        pytest.param(
            "    import os\n    os._exit(3)\n",
            "smoke.crashed",
            "crashed (exit status 3)",
            id="exits",
        ),
        pytest.param(
            "    return len(bytearray(8 * 1024**3))\n",
            "smoke.failed",
            "count_orders: MemoryError",
            id="outgrows-the-memory-limit",
        ),
    ],
)
def test_a_dag_that_kills_its_process_or_outgrows_its_memory_is_stopped(
    settings: GenerationSettings, body: str, rule: str, why: str
) -> None:
    result = gate_bundle(
        SPEC.name, bundle(function="def run(config, upstream, item):\n" + body), settings
    )
    assert rules(result) == [rule]
    assert why in result.findings[0].message
    zygote = default_zygote().pid()
    assert zygote is not None
    assert gate_bundle(SPEC.name, bundle(), settings).passed
    assert default_zygote().pid() == zygote, "the sandbox's warm process lives on"


@pytest.fixture
def listening_server() -> Iterator[socket.socket]:
    """A server on loopback the generated code will try to reach (non-blocking, so
    ``accept`` tells at once whether anything connected)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.setblocking(False)
        yield server


def test_code_reaching_for_the_network_fails_in_the_sandbox(
    settings: GenerationSettings, listening_server: socket.socket
) -> None:
    assert network_isolation(), "unshare --net is unavailable: the sandbox cannot cut the network"
    port = listening_server.getsockname()[1]
    exfiltrate = (
        "def run(config, upstream, item):\n"
        f"    return str(__import__('socket').create_connection(('127.0.0.1', {port})))\n"
    )
    result = gate_bundle(SPEC.name, bundle(function=exfiltrate), settings)
    assert rules(result) == ["smoke.failed"]
    # the child's own network namespace has no interface up, not even loopback
    assert "count_orders: OSError: [Errno 101] Network is unreachable" in str(result.findings[0])
    assert smoke_task(result, "stage_orders")["state"] == "success", "the rest of the DAG ran"
    with pytest.raises(BlockingIOError):
        listening_server.accept()  # no connection reached the server


def test_code_reading_a_secret_finds_none(
    settings: GenerationSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_PROD", f"postgres://u:{secret}@db/x")
    steal = (
        "def run(config, upstream, item):\n"
        "    import os\n"
        "    return os.environ['AWS_SECRET_ACCESS_KEY']\n"
    )
    result = gate_bundle(SPEC.name, bundle(function=steal), settings)
    assert rules(result) == ["smoke.failed"]
    assert "KeyError" in result.findings[0].message
    assert secret not in json.dumps(result.smoke)
