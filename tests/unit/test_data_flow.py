"""What each task reads, and what produces it: the reads of the patterns' parameters and
of SQL (sqlglot), ``tasks.yml``'s ``reads`` written and read back, the report listing
them, and the structure gate refusing a task that reads a table nothing produces."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_llm.bundle.data_flow import FREE_FORM_READS, DataFlow
from airflow_llm.bundle.render import (
    BundleLayout,
    document_operators,
    parse_tasks_document,
    render_bundle,
)
from airflow_llm.gates import bundle_flow, gate_bundle
from airflow_llm.patterns import operator_patterns
from airflow_llm.patterns.operators import BoundOperator
from airflow_llm.patterns.reads import Read, config_reference
from airflow_llm.report import report_markdown
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec, TaskSpec
from airflow_llm.validate.findings import Finding, errors
from airflow_llm.validate.sql import read_tables
from tests.integration.test_gates import GOOD_FUNCTION, GOOD_SQL, GOOD_SUITE, SPEC, bundle
from tests.unit import test_databricks_pattern as databricks

ARCHIVE_SQL = GOOD_SQL.replace("FROM raw.orders", "FROM raw.order_archive")
"""Stages the orders from a table the spec does not declare and no task writes."""


def task(name: str, kind: str = "python", depends_on: tuple[str, ...] = ()) -> TaskSpec:
    return TaskSpec(name=name, kind=kind, description="A step.", depends_on=list(depends_on))


PATTERN_READS: list[tuple[str, dict[str, Any], TaskSpec, list[Read]]] = [
    (
        "query_to_s3",
        {"table": "features_churn", "format": "parquet", "key": "features/churn/"},
        task("export"),
        [Read("table", "features_churn")],
    ),
    (
        "sql_sensor",
        {"table": "raw.orders"},
        task("wait", "sensor"),
        [Read("table", "raw.orders")],
    ),
    (
        "table_to_file",
        {
            "table": "orders",
            "columns": [{"name": "id", "type": "INT"}],
            "output": "exports/orders.csv",
            "output_format": "csv",
        },
        task("export"),
        [Read("table", "orders")],
    ),
    (
        "s3_to_table",
        {
            "source": "raw.orders",
            "columns": ["order_id"],
            "table": "stg_orders",
            "format": "csv",
            "bucket": "landing",
            "key": "orders/{{ ds }}.csv",
        },
        task("load"),
        [Read("object", "s3://landing/orders/{{ ds }}.csv", "source")],
    ),
    (
        "s3_key_sensor",
        {"key": "partner/_SUCCESS"},
        task("wait", "sensor"),
        [Read("object", f"s3://{config_reference('wait', 'bucket')}/partner/_SUCCESS", "external")],
    ),
    (
        "file_sensor",
        {"path": "/data/in/orders.csv"},
        task("wait", "sensor"),
        [Read("file", "/data/in/orders.csv", "external")],
    ),
    (
        "ftp_sensor",
        {"path": "outgoing/orders.csv"},
        task("wait", "sensor"),
        [Read("file", "ftp: outgoing/orders.csv", "external")],
    ),
    (
        "http_call",
        {"method": "GET", "endpoint": "/api/users"},
        task("call"),
        [Read("file", "http: /api/users", "external")],
    ),
    (
        "json_to_rows",
        {
            "source": "call",
            "reads": "answer",
            "fields": [{"name": "city", "path": "address.city", "use": "text"}],
            "output_format": "csv",
        },
        task("parse", depends_on=("call",)),
        [Read.of_task("xcom", "call", "call")],
    ),
    (
        "validate_file",
        {"source": "download", "input_format": "csv"},
        task("check", depends_on=("download",)),
        [Read.of_task("file", "download", "download")],
    ),
    (
        "validate_file",
        {"source": "landing/orders.csv", "input_format": "csv"},
        task("check"),
        [Read("file", "landing/orders.csv")],
    ),
    (
        "validate_file",
        {"input_format": "csv"},
        task("check"),
        [Read("file", config_reference("check", "input"))],
    ),
    (
        "notify_email",
        {"attachments": ["export"]},
        task("mail", depends_on=("export",)),
        [Read.of_task("file", "export", "export")],
    ),
    (
        "bash_command",
        {"command": "dbt run"},
        task("transform"),
        [Read.unknown("bash_command: code the bundle does not hold")],
    ),
    ("trigger_dag", {"dag_id": "downstream_reports"}, task("trigger"), []),
]
"""A pattern's parameters -> what the task reads (producers its pattern knows)."""


@pytest.mark.parametrize(
    ("pattern", "parameters", "spec_task", "expected"),
    PATTERN_READS,
    ids=[f"{case[0]}-{index}" for index, case in enumerate(PATTERN_READS)],
)
def test_a_patterns_parameters_say_what_it_reads(
    pattern: str, parameters: dict[str, Any], spec_task: TaskSpec, expected: list[Read]
) -> None:
    found = operator_patterns()[pattern]
    assert found.data_reads(found.parse(parameters), spec_task) == expected


ORDERS_FILE = {
    "table": "orders",
    "columns": [{"name": "id", "type": "INT"}],
    "output": "exports/orders.csv",
    "output_format": "csv",
}


@pytest.mark.parametrize(
    ("pattern", "parameters", "expected"),
    [
        ("table_to_file", ORDERS_FILE, [Read("file", "exports/orders.csv")]),
        ("table_to_file", {**ORDERS_FILE, "output": None}, []),
        (
            "query_to_s3",
            {"table": "orders", "format": "csv", "bucket": "lake", "key": "orders/"},
            [Read("object", "s3://lake/orders/orders.csv")],
        ),
        (
            "rebuild_table",
            {"source": "raw.orders", "target": "orders_copy"},
            [Read("table", "orders_copy")],
        ),
    ],
)
def test_a_patterns_parameters_say_what_it_writes_for_the_tasks_after_it(
    pattern: str, parameters: dict[str, Any], expected: list[Read]
) -> None:
    found = operator_patterns()[pattern]
    assert found.data_writes(found.parse(parameters), task("t")) == expected


def test_a_file_an_upstream_task_writes_is_its_and_a_file_no_task_writes_is_external() -> None:
    def bound(pattern: str, parameters: dict[str, Any], spec_task: TaskSpec) -> BoundOperator:
        found = operator_patterns()[pattern]
        return BoundOperator(found, found.parse(parameters), spec_task)

    landing = {"source": "exports/orders.csv", "input_format": "csv"}
    operators = {
        "export_orders": bound("table_to_file", ORDERS_FILE, task("export_orders")),
        "check_export": bound(
            "validate_file", landing, task("check_export", depends_on=("export_orders",))
        ),
        "check_landing": bound("validate_file", landing, task("check_landing")),
    }
    tasks = [bound.task for bound in operators.values()]
    flow = DataFlow(tasks, SPEC.sources, "postgres", {}, operators, {}, {})
    assert flow.reads == {
        "export_orders": [Read("table", "orders", "source")],  # raw.orders
        "check_export": [Read.of_task("file", "exports/orders.csv", "export_orders")],
        "check_landing": [Read("file", "exports/orders.csv", "external")],
    }
    assert flow.findings(lambda t: t.name) == [], "no file blocks"


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "SELECT * FROM raw.orders o JOIN raw.customers c ON o.id = c.id",
            ["raw.orders", "raw.customers"],
        ),
        ("WITH recent AS (SELECT * FROM raw.orders) SELECT * FROM recent", ["raw.orders"]),
        (GOOD_SQL, ["raw.orders"]),
        ("CREATE TABLE t AS SELECT 1 AS x; INSERT INTO u SELECT x FROM t", []),
        (
            "MERGE INTO t USING (SELECT * FROM s) AS s ON t.id = s.id WHEN MATCHED THEN DELETE",
            ["s"],
        ),
        ("SELECT * FROM generate_series(1, 3)", []),
        ("DROP TABLE everything", []),
        ("DELETE FROM t USING u WHERE t.id = u.id", ["u"]),
        ("SELECT FROM WHERE", None),
    ],
)
def test_sql_reads_the_tables_it_names_but_its_ctes_and_the_tables_it_creates(
    sql: str, expected: list[str] | None
) -> None:
    assert read_tables(sql, "postgres", {"schema": "analytics"}) == expected


IN_PLACE_READS: list[tuple[str, str, list[str]]] = [
    (
        "postgres",
        "DELETE FROM {{ params.schema }}.orders WHERE ctid NOT IN "
        "(SELECT MIN(ctid) FROM {{ params.schema }}.orders GROUP BY order_id)",
        ["analytics.orders"],
    ),
    (
        "trino",
        "DELETE FROM orders WHERE amount IS NULL; "
        "INSERT INTO orders SELECT order_id, 0 AS amount FROM orders WHERE amount < 0",
        ["orders"],
    ),
    (
        "snowflake",
        "CREATE OR REPLACE TABLE analytics.orders AS SELECT DISTINCT * FROM analytics.orders",
        ["analytics.orders"],
    ),
    (
        "bigquery",
        "CREATE OR REPLACE TABLE ds.orders AS SELECT * FROM ds.orders "
        "QUALIFY ROW_NUMBER() OVER (PARTITION BY order_id ORDER BY updated_at DESC) = 1",
        ["ds.orders"],
    ),
    (
        "duckdb",
        "INSERT INTO orders SELECT * FROM new_orders "
        "WHERE order_id NOT IN (SELECT order_id FROM orders)",
        ["new_orders", "orders"],
    ),
    (
        "postgres",
        "INSERT INTO audit SELECT COUNT(*) FROM orders; "
        "CREATE TABLE orders AS SELECT * FROM raw.orders",
        ["orders", "raw.orders"],
    ),
]
"""A table the script reads before it writes it: its rows were there before."""
CREATED_FIRST: list[tuple[str, str, list[str]]] = [
    ("postgres", "CREATE TABLE t AS SELECT 1 AS x; INSERT INTO u SELECT x FROM t", []),
    (
        "duckdb",
        "CREATE TEMP TABLE dedup AS SELECT DISTINCT * FROM raw.orders; "
        "INSERT INTO orders SELECT * FROM dedup",
        ["raw.orders"],
    ),
    (
        "snowflake",
        "CREATE OR REPLACE TABLE scratch AS SELECT * FROM raw.orders; "
        "CREATE OR REPLACE TABLE orders AS SELECT DISTINCT * FROM scratch",
        ["raw.orders"],
    ),
    (
        "bigquery",
        "CREATE TABLE IF NOT EXISTS ds.totals (d DATE, n INT64); "
        "DELETE FROM ds.totals WHERE d IN (SELECT d FROM totals WHERE n = 0)",
        [],
    ),
    (
        "trino",
        "CREATE VIEW recent AS SELECT * FROM raw.orders; "
        "INSERT INTO orders SELECT * FROM recent",
        ["raw.orders"],
    ),
]
"""A table the script creates first and then reads is its own: not read."""


@pytest.mark.parametrize(
    ("dialect", "sql", "expected"),
    IN_PLACE_READS + CREATED_FIRST,
    ids=[
        f"{kind}-{case[0]}-{index}"
        for kind, cases in (("in-place", IN_PLACE_READS), ("created-first", CREATED_FIRST))
        for index, case in enumerate(cases)
    ],
)
def test_a_table_read_before_the_script_writes_it_is_read_one_it_created_is_not(
    dialect: str, sql: str, expected: list[str]
) -> None:
    assert read_tables(sql, dialect, {"schema": "analytics"}) == expected


DEDUPE_SQL = (
    "DELETE FROM {{ params.schema }}.stg_orders WHERE order_id IN (SELECT order_id FROM "
    "{{ params.schema }}.stg_orders GROUP BY order_id HAVING COUNT(*) > 1)"
)
"""Rewrites the staged orders in place: it reads the rows an upstream task wrote."""


def test_a_table_rewritten_in_place_is_produced_upstream() -> None:
    stage, dedupe = task("stage_orders", "sql"), task("dedupe_orders", "sql", ("stage_orders",))
    artifacts = {"stage_orders": GOOD_SQL, "dedupe_orders": DEDUPE_SQL}
    flow = DataFlow([stage, dedupe], SPEC.sources, "postgres", artifacts, {}, {}, {})
    assert flow.reads["dedupe_orders"] == [Read.of_task("table", "stg_orders", "stage_orders")]
    assert flow.findings(lambda t: t.name) == []


def gate_reads(
    files: Mapping[str, str], pipeline: str = SPEC.name
) -> tuple[dict[str, list[Read]], list[Finding]]:
    """What the structure gate finds the tasks of ``files`` read, and its findings."""
    layout = BundleLayout(pipeline)
    document = parse_tasks_document(files[layout.resource("tasks.yml")])
    operators = document_operators(document, lambda file: files[layout.resource(file)])
    flow = bundle_flow(layout, files, document, operators)
    findings = flow.findings(lambda t: layout.resource(document.file(t)))
    return flow.reads, findings + flow.recorded_findings(
        document.reads, layout.resource("tasks.yml")
    )


def test_a_valid_bundle_records_what_each_task_reads_and_who_produces_it() -> None:
    files = bundle()
    document = parse_tasks_document(files[BundleLayout(SPEC.name).resource("tasks.yml")])
    expected = {
        "stage_orders": [Read("table", "raw.orders", "source")],
        "check_staged": [Read.of_task("table", "stg_orders", "stage_orders")],
        "count_orders": [
            Read.of_task("xcom", "check_staged", "check_staged"),
            Read.unknown(FREE_FORM_READS),
        ],
    }
    assert document.reads == expected
    assert gate_reads(files) == (expected, [])


def test_tasks_yml_without_reads_still_parses_and_bad_reads_are_named() -> None:
    files = bundle()
    path = BundleLayout(SPEC.name).resource("tasks.yml")
    written = yaml.safe_load(files[path])
    for entry in written["tasks"]:
        del entry["reads"]
    older = parse_tasks_document(yaml.safe_dump(written))
    assert older.reads == {}
    assert [t.name for t in older.tasks] == [t.name for t in SPEC.tasks or []]
    written["tasks"][1]["reads"] = [{"table": "stg_orders", "produced_by": "somebody"}]
    with pytest.raises(ValueError, match=r"task check_staged: reads\[0\]: produced_by"):
        parse_tasks_document(yaml.safe_dump(written))


def spec_with(**changes: Any) -> PipelineSpec:
    return SPEC.model_copy(update=changes)


FETCH = TaskSpec(name="fetch_orders", kind="python", description="Fetch the orders.")


@pytest.mark.parametrize(
    ("spec", "artifacts", "findings"),
    [
        pytest.param(
            SPEC,
            {"stage_orders": ARCHIVE_SQL},
            [
                (
                    "error",
                    "structure.unproduced_input",
                    "stage_orders reads table raw.order_archive, which nothing produces: "
                    "declare it under the spec's sources, or have an upstream task write it",
                )
            ],
            id="unproduced",
        ),
        pytest.param(
            SPEC,
            {"stage_orders": DEDUPE_SQL},
            [
                (
                    "error",
                    "structure.unproduced_input",
                    "stage_orders reads table stg_orders, which nothing produces: "
                    "declare it under the spec's sources, or have an upstream task write it",
                ),
                (
                    "error",
                    "structure.unproduced_input",
                    "check_staged reads table stg_orders, which nothing produces: "
                    "declare it under the spec's sources, or have an upstream task write it",
                ),
            ],
            id="rewritten-in-place-unproduced",
        ),
        pytest.param(
            spec_with(sources=[]),
            {"stage_orders": GOOD_SQL},
            [
                (
                    "warning",
                    "structure.no_sources",
                    "stage_orders reads table raw.orders, and the spec declares no sources: "
                    "not verified before the smoke run",
                )
            ],
            id="no-sources",
        ),
        pytest.param(
            spec_with(
                tasks=[
                    FETCH,
                    *[
                        (
                            t.model_copy(update={"depends_on": ["fetch_orders"]})
                            if t.name == "stage_orders"
                            else t
                        )
                        for t in SPEC.tasks or []
                    ],
                ]
            ),
            {"stage_orders": ARCHIVE_SQL, "fetch_orders": GOOD_FUNCTION},
            [
                (
                    "warning",
                    "structure.unverified_input",
                    "stage_orders reads table raw.order_archive, which no source or upstream "
                    "task is known to write; fetch_orders may (code the bundle cannot read): "
                    "not verified before the smoke run",
                )
            ],
            id="free-form-upstream",
        ),
        pytest.param(
            spec_with(
                tasks=[
                    t.model_copy(update={"depends_on": []}) if t.name == "check_staged" else t
                    for t in SPEC.tasks or []
                ]
            ),
            {},
            [
                (
                    "error",
                    "structure.unproduced_input",
                    "check_staged reads table stg_orders, which nothing produces (stage_orders "
                    "writes it but does not run before check_staged: add it to depends_on): "
                    "declare it under the spec's sources, or have an upstream task write it",
                )
            ],
            id="written-by-no-ancestor",
        ),
    ],
)
def test_a_table_nothing_produces_is_a_finding(
    spec: PipelineSpec, artifacts: dict[str, str], findings: list[tuple[str, str, str]]
) -> None:
    written = {
        "stage_orders": GOOD_SQL,
        "check_staged": json.dumps(GOOD_SUITE),
        "count_orders": GOOD_FUNCTION,
        **artifacts,
    }
    files = render_bundle(spec, list(spec.tasks or []), written)
    _, found = gate_reads(files)
    assert [(f.severity, f.rule, f.message) for f in found] == findings
    assert all(
        f.file.endswith(("stage_orders.sql", "check_staged_expectations.json")) for f in found
    )


def test_the_structure_gate_refuses_a_table_nothing_produces(tmp_path: Path) -> None:
    settings = GenerationSettings(work_dir=tmp_path / "work", smoke_run=False)
    refused = gate_bundle(SPEC.name, bundle(sql=ARCHIVE_SQL), settings)
    assert [f.rule for f in errors(refused.findings)] == ["structure.unproduced_input"]
    assert refused.reads is not None
    assert refused.reads["stage_orders"] == [Read("table", "raw.order_archive")]
    passed = gate_bundle(SPEC.name, bundle(), settings)
    assert passed.passed, passed.findings
    assert passed.reads is not None
    assert passed.reads["stage_orders"] == [Read("table", "raw.orders", "source")]


def test_the_structure_gate_refuses_reads_tasks_yml_records_wrongly(tmp_path: Path) -> None:
    untouched = bundle()
    path = BundleLayout(SPEC.name).resource("tasks.yml")
    assert stale_reads(untouched) == []  # and it passes every gate: see the test above
    written = yaml.safe_load(untouched[path])
    written["tasks"][1]["reads"] = [{"table": "stg_orders", "produced_by": "source"}]
    edited = {**untouched, path: yaml.safe_dump(written, sort_keys=False)}
    settings = GenerationSettings(work_dir=tmp_path / "work", smoke_run=False)
    refused = gate_bundle(SPEC.name, edited, settings)
    assert [(f.file, f.rule, f.message) for f in errors(refused.findings)] == [
        (
            path,
            "structure.stale_reads",
            "check_staged: tasks.yml records table stg_orders (source) where its files give "
            "table stg_orders (task stage_orders): tasks.yml was edited by hand or is stale; "
            "render the bundle again",
        )
    ]


def stale_reads(files: Mapping[str, str]) -> list[Finding]:
    """The structure gate's findings on the reads ``tasks.yml`` records in ``files``."""
    return [f for f in gate_reads(files)[1] if f.rule == "structure.stale_reads"]


def test_a_stale_tasks_yml_names_the_reads_it_lacks_or_has_too_many() -> None:
    files = bundle()
    path = BundleLayout(SPEC.name).resource("tasks.yml")
    written = yaml.safe_load(files[path])
    written["tasks"][0]["reads"] = []
    written["tasks"][2]["reads"].append({"table": "raw.orders", "produced_by": "source"})
    found = stale_reads({**files, path: yaml.safe_dump(written)})
    assert [f.message.split(":")[0] for f in found] == ["stage_orders", "count_orders"]
    assert "records nothing where its files give table raw.orders (source)" in found[0].message
    assert "records table raw.orders (source) where its files give nothing" in found[1].message
    reordered = yaml.safe_load(files[path])
    reordered["tasks"][2]["reads"].reverse()
    assert stale_reads({**files, path: yaml.safe_dump(reordered)}) == [], "order is free"
    for entry in reordered["tasks"]:
        del entry["reads"]
    assert stale_reads({**files, path: yaml.safe_dump(reordered)}) == [], "older bundles"


def test_the_report_lists_what_each_task_reads(tmp_path: Path) -> None:
    result = databricks.valid_bundle(databricks.SPEC, tmp_path)
    reads = {task["name"]: task["reads"] for task in result.report["tasks"]}
    assert reads == {
        "prepare_features": [{"unknown": "databricks_job: code the bundle does not hold"}],
        "score_customers": [{"unknown": "databricks_job: code the bundle does not hold"}],
        "publish_scores": [{"unknown": "databricks_job: code the bundle does not hold"}],
    }
    assert "- `score_customers`: unknown: databricks_job: code the bundle does not hold" in (
        report_markdown(result.report)
    )
