"""Operator patterns through the bundle gates: the smoke run runs the provider operator
for real (``SqlToS3Operator`` reads the DuckDB warehouse and writes to the S3 stand-in in
the sandboxed child), ``airflow-llm validate`` lists the placeholders still to fill, and
promotion to an environment with one left is refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airflow_llm.bundle.render import render_bundle
from airflow_llm.embedded.config import EmbeddedConfig
from airflow_llm.embedded.s3_server import s3_client
from airflow_llm.gates import GATES, gate_bundle
from airflow_llm.patterns.operators import OperatorArtifact
from airflow_llm.promotion import PromotionError, promote
from airflow_llm.publish import MANIFEST
from airflow_llm.recheck import recheck_bundle
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec
from airflow_llm.validate.findings import errors, sha256_text
from airflow_llm.validate.sample_data import SAMPLE_DATE
from tests.integration.test_gates import GOOD_SQL
from tests.integration.test_gates import SPEC as ORDERS
from tests.integration.test_promotion import SOURCE, keys, publish_to_source

pytestmark = pytest.mark.integration
TARGET = "operators_target"
"""The environment promoted to: one the spec gives no bucket."""

SPEC = PipelineSpec.model_validate(
    {
        "name": "orders_export",
        "description": "Stage the day's orders and export them to S3.",
        "dialect": "postgres",
        "environments": {
            "dev": {"conn_id": "warehouse_dev", "schema": "analytics_dev", "bucket": "orders-dev"},
            TARGET: {"conn_id": "warehouse_prod", "schema": "analytics"},
        },
        "sources": [source.model_dump() for source in ORDERS.sources],
        "tasks": [
            {"name": "stage_orders", "kind": "sql", "description": "Stage the day's orders."},
            {
                "name": "export_orders",
                "kind": "python",
                "depends_on": ["stage_orders"],
                "description": "Export the day's stg_orders to Parquet at "
                "exports/orders/dt={{ ds }}/.",
            },
        ],
    }
)
PARAMETERS = {
    "table": "stg_orders",
    "format": "parquet",
    "bucket": None,
    "key": "exports/orders/dt={{ ds }}/",
    "date_column": "order_date",
}


def bundle(**changed: Any) -> dict[str, str]:
    """The bundle with the export's parameters (``changed`` replacing some), and a
    manifest that says it passed every gate."""
    parameters = {**PARAMETERS, **changed}
    artifact = OperatorArtifact("query_to_s3", 1, parameters).to_json()
    pattern = {"name": "query_to_s3", "version": 1, "parameters": parameters}
    records = {"export_orders": {"strategy": "hybrid", "pattern": pattern}}
    tasks = list(SPEC.tasks or [])
    files = render_bundle(
        SPEC, tasks, {"stage_orders": GOOD_SQL, "export_orders": artifact}, records
    )
    listed = {path: sha256_text(content) for path, content in sorted(files.items())}
    manifest = {"pipeline": SPEC.name, "files": listed, "gates": dict.fromkeys(GATES, True)}
    return {**files, MANIFEST: json.dumps(manifest, indent=2, sort_keys=True) + "\n"}


@pytest.fixture
def s3(s3_server: EmbeddedConfig) -> tuple[Any, str]:
    return s3_client(s3_server), s3_server.bucket


@pytest.fixture
def settings(tmp_path: Path) -> GenerationSettings:
    return GenerationSettings(work_dir=tmp_path / "work", smoke_timeout=180)


def export_task(smoke: dict[str, Any] | None) -> dict[str, Any]:
    assert smoke is not None
    return next(task for task in smoke["tasks"] if task["name"] == "export_orders")


def test_the_export_writes_the_days_rows_to_the_s3_stand_in(settings: GenerationSettings) -> None:
    files = {path: text for path, text in bundle().items() if path != MANIFEST}
    result = gate_bundle(SPEC.name, files, settings)
    assert result.passed, result.findings
    export = export_task(result.smoke)
    assert export["state"] == "success"
    key = f"s3://orders-dev/exports/orders/dt={SAMPLE_DATE.isoformat()}/stg_orders.parquet"
    assert list(export["objects"]) == [key]
    assert export["objects"][key] > 500  # a Parquet file of the day's five rows


def test_an_export_whose_query_fails_is_stopped(settings: GenerationSettings) -> None:
    files = {k: v for k, v in bundle(date_column="shipped_on").items() if k != MANIFEST}
    result = gate_bundle(SPEC.name, files, settings)
    assert [finding.rule for finding in result.findings] == ["smoke.failed"]
    assert result.findings[0].file.endswith("export_orders_operator.json")
    assert "shipped_on" in result.findings[0].message
    assert export_task(result.smoke)["objects"] == {}


def test_validate_lists_the_placeholders_per_environment(tmp_path: Path) -> None:
    root = tmp_path / "bundle"
    for relative, content in bundle().items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(content)
    findings = recheck_bundle(root, GenerationSettings(work_dir=tmp_path / "w", smoke_run=False))
    assert errors(findings) == []
    placeholders = [str(f) for f in findings if f.rule == "config.placeholder"]
    assert placeholders == [
        "dags/resources/orders_export/config.yml: warning: [config.placeholder] "
        f"{TARGET}: operators.export_orders.bucket: "
        "<fill in: S3 bucket export_orders writes to>"
    ]


def test_promotion_to_an_environment_with_a_placeholder_is_refused(
    s3: tuple[Any, str], tmp_path: Path
) -> None:
    client, bucket = s3
    published = publish_to_source(s3, bundle())
    settings = GenerationSettings(work_dir=tmp_path / "work", smoke_run=False)
    with pytest.raises(PromotionError) as refused:
        promote(
            client, bucket, SOURCE, TARGET, SPEC.name, published.version, published.sha256, settings
        )
    assert str(refused.value) == (
        f"orders_export {published.version} has settings still to fill for {TARGET}: "
        "operators.export_orders.bucket: <fill in: S3 bucket export_orders writes to> "
        "(set them in the spec's environment, or its vars as <task>_<setting>, and regenerate)"
    )
    assert keys(client, bucket, f"bundles/{TARGET}/") == []


SENSORS = PipelineSpec.model_validate(
    {
        "name": "orders_sensed",
        "description": "Wait for the day's orders and the partner's marker, then stage them.",
        "dialect": "postgres",
        "environments": {"dev": {"conn_id": "warehouse_dev", "schema": "analytics_dev"}},
        "sources": [source.model_dump() for source in ORDERS.sources],
        "tasks": [
            {
                "name": "wait_for_orders",
                "kind": "sensor",
                "description": "Wait until the day's rows have landed in raw.orders.",
            },
            {
                "name": "wait_for_marker",
                "kind": "sensor",
                "description": "Wait for the marker file s3://partner-drops/orders/dt={{ ds }}/_SUCCESS.",
            },
            {
                "name": "stage_orders",
                "kind": "sql",
                "depends_on": ["wait_for_orders", "wait_for_marker"],
                "description": "Stage the day's orders.",
            },
        ],
    }
)


def sensor_bundle(rows: dict[str, Any], marker: dict[str, Any]) -> dict[str, str]:
    """The sensor spec's bundle: ``sql_sensor`` and ``s3_key_sensor`` with these
    parameters."""
    chosen = {"wait_for_orders": ("sql_sensor", rows), "wait_for_marker": ("s3_key_sensor", marker)}
    artifacts = {
        name: OperatorArtifact(p, 1, params).to_json() for name, (p, params) in chosen.items()
    }
    records = {
        name: {"strategy": "hybrid", "pattern": {"name": p, "version": 1, "parameters": params}}
        for name, (p, params) in chosen.items()
    }
    tasks = list(SENSORS.tasks or [])
    return render_bundle(SENSORS, tasks, {**artifacts, "stage_orders": GOOD_SQL}, records)


def test_sensors_poke_the_warehouse_and_the_s3_stand_in(settings: GenerationSettings) -> None:
    files = sensor_bundle(
        {"table": "raw.orders", "date_column": "ordered_at"},
        {"bucket": "partner-drops", "key": "orders/dt={{ ds }}/_SUCCESS"},
    )
    assert "deferrable=True" in files["dags/orders_sensed.py"]
    result = gate_bundle(SENSORS.name, files, settings)
    assert result.passed, result.findings
    assert result.smoke is not None
    states = {task["name"]: task["state"] for task in result.smoke["tasks"]}
    assert states == dict.fromkeys(
        ["wait_for_orders", "wait_for_marker", "stage_orders"], "success"
    )


def test_a_sensor_whose_query_fails_is_stopped(settings: GenerationSettings) -> None:
    files = sensor_bundle(
        {"table": "raw.orders", "date_column": "order_ts"},
        {"bucket": "partner-drops", "key": "orders/dt={{ ds }}/_SUCCESS"},
    )
    result = gate_bundle(SENSORS.name, files, settings)
    assert [finding.rule for finding in result.findings] == ["smoke.failed"]
    assert result.findings[0].file.endswith("wait_for_orders_operator.json")
    assert "order_ts" in result.findings[0].message


LOADS = PipelineSpec.model_validate(
    {
        "name": "partner_orders",
        "description": "Load the partner's daily orders file and check it.",
        "dialect": "postgres",
        "environments": {"dev": {"conn_id": "warehouse_dev", "schema": "analytics_dev"}},
        "sources": [source.model_dump() for source in ORDERS.sources],
        "tasks": [
            {
                "name": "load_partner_orders",
                "kind": "python",
                "description": "Load the day's CSV file s3://partner-drops/orders/dt={{ ds }}/ "
                "with raw.orders' columns into partner_orders.",
            },
            {
                "name": "check_partner_orders",
                "kind": "quality",
                "depends_on": ["load_partner_orders"],
                "description": "partner_orders has rows and every order_id.",
            },
        ],
    }
)
LOAD = {
    "source": "raw.orders",
    "columns": ["order_id", "customer_id", "amount", "ordered_at"],
    "table": "partner_orders",
    "format": "csv",
    "bucket": "partner-drops",
    "key": "orders/dt={{ ds }}/",
    "date_column": "ordered_at",
}
LOADED_SUITE = {
    "name": "check_partner_orders",
    "table": "partner_orders",
    "expectations": [
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 12}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "order_id"}},
    ],
}


def load_bundle(**changed: Any) -> dict[str, str]:
    """The load spec's bundle: ``s3_to_table`` with ``changed`` parameters, and a suite
    that counts the rows it loaded."""
    parameters = {**LOAD, **changed}
    pattern = {"name": "s3_to_table", "version": 1, "parameters": parameters}
    artifacts = {
        "load_partner_orders": OperatorArtifact("s3_to_table", 1, parameters).to_json(),
        "check_partner_orders": json.dumps(LOADED_SUITE),
    }
    records = {"load_partner_orders": {"strategy": "hybrid", "pattern": pattern}}
    return render_bundle(LOADS, list(LOADS.tasks or []), artifacts, records)


def test_a_load_reads_the_sample_rows_from_the_s3_stand_in(settings: GenerationSettings) -> None:
    result = gate_bundle(LOADS.name, load_bundle(), settings)
    assert result.passed, result.findings
    assert result.smoke is not None
    load, check = result.smoke["tasks"]
    assert load["state"] == "success"
    # the file holds raw.orders' twelve sample rows, NULLs included
    assert check["expectations"] == "2/2 passed"


def test_a_load_of_other_columns_is_stopped(settings: GenerationSettings) -> None:
    files = load_bundle(columns=["order_id", "order_total"])
    result = gate_bundle(LOADS.name, files, settings)
    assert [finding.rule for finding in result.findings] == ["smoke.failed"]
    assert result.findings[0].file.endswith("load_partner_orders_operator.json")
    assert "order_total" in result.findings[0].message


TRIGGERS = PipelineSpec.model_validate(
    {
        "name": "orders_announced",
        "description": "Stage the day's orders, announce them and start the reporting.",
        "dialect": "postgres",
        "environments": {"dev": {"conn_id": "warehouse_dev", "schema": "analytics_dev"}},
        "sources": [source.model_dump() for source in ORDERS.sources],
        "tasks": [
            {"name": "stage_orders", "kind": "sql", "description": "Stage the day's orders."},
            {
                "name": "announce_orders",
                "kind": "python",
                "depends_on": ["stage_orders"],
                "description": "Announce that stg_orders is ready (an asset event).",
            },
            {
                "name": "start_reporting",
                "kind": "python",
                "depends_on": ["announce_orders"],
                "description": "Trigger the orders_reporting DAG.",
            },
        ],
    }
)


def trigger_bundle() -> dict[str, str]:
    """The trigger spec's bundle: ``asset_event`` and ``trigger_dag``."""
    chosen = {
        "announce_orders": ("asset_event", {"table": "stg_orders"}),
        "start_reporting": ("trigger_dag", {"dag_id": "orders_reporting"}),
    }
    artifacts = {
        name: OperatorArtifact(p, 1, params).to_json() for name, (p, params) in chosen.items()
    }
    records = {
        name: {"strategy": "hybrid", "pattern": {"name": p, "version": 1, "parameters": params}}
        for name, (p, params) in chosen.items()
    }
    tasks = list(TRIGGERS.tasks or [])
    return render_bundle(TRIGGERS, tasks, {**artifacts, "stage_orders": GOOD_SQL}, records)


def test_an_asset_event_runs_and_a_dag_trigger_is_reported_external(
    settings: GenerationSettings,
) -> None:
    result = gate_bundle(TRIGGERS.name, trigger_bundle(), settings)
    assert result.passed, result.findings
    assert result.smoke is not None
    states = {task["name"]: task["state"] for task in result.smoke["tasks"]}
    assert states == {
        "stage_orders": "success",
        "announce_orders": "success",
        "start_reporting": "not run: external: triggers a run of another DAG of the deployment",
    }


NOTIFY = PipelineSpec.model_validate(
    {
        "name": "orders_notified",
        "description": "Stage the day's orders and tell finance.",
        "dialect": "postgres",
        "environments": {"dev": {"conn_id": "warehouse_dev", "schema": "analytics_dev"}},
        "sources": [source.model_dump() for source in ORDERS.sources],
        "tasks": [
            {"name": "stage_orders", "kind": "sql", "description": "Stage the day's orders."},
            {
                "name": "tell_finance",
                "kind": "python",
                "depends_on": ["stage_orders"],
                "description": "Email finance@example.com that the day's orders are staged.",
            },
        ],
    }
)


def notify_bundle(to: str | None) -> dict[str, str]:
    """The notification spec's bundle: ``notify_email`` to ``to``."""
    parameters = {"to": to}
    pattern = {"name": "notify_email", "version": 1, "parameters": parameters}
    artifacts = {
        "stage_orders": GOOD_SQL,
        "tell_finance": OperatorArtifact("notify_email", 1, parameters).to_json(),
    }
    records = {"tell_finance": {"strategy": "hybrid", "pattern": pattern}}
    return render_bundle(NOTIFY, list(NOTIFY.tasks or []), artifacts, records)


@pytest.mark.parametrize("to", ["finance@example.com", None])
def test_an_email_is_delivered_to_the_childs_smtp_sink(
    settings: GenerationSettings, to: str | None
) -> None:
    """Stated recipients, or a placeholder the smoke run fills: the EmailOperator talks
    SMTP to the sink on the child's own loopback (it fails when nothing answers)."""
    result = gate_bundle(NOTIFY.name, notify_bundle(to), settings)
    assert result.passed, result.findings
    assert result.smoke is not None
    states = {task["name"]: task["state"] for task in result.smoke["tasks"]}
    assert states == {"stage_orders": "success", "tell_finance": "success"}


API = PipelineSpec.model_validate(
    {
        "name": "partner_api",
        "description": "Wait for the partner API, then store the day's orders it serves.",
        "environments": {"dev": {"conn_id": "warehouse_dev"}},
        "tasks": [
            {
                "name": "wait_for_api",
                "kind": "sensor",
                "description": "Wait until the partner API endpoint /v1/status answers.",
            },
            {
                "name": "fetch_orders",
                "kind": "python",
                "depends_on": ["wait_for_api"],
                "description": "Call the partner API at /v1/orders?date={{ ds }} and store the "
                "response in S3 at s3://partner-drops/api/orders/dt={{ ds }}/orders.json.",
            },
        ],
    }
)


def api_bundle(sensor: dict[str, Any], fetch: dict[str, Any]) -> dict[str, str]:
    """The API spec's bundle: ``http_sensor`` and ``http_to_s3``."""
    chosen = {"wait_for_api": ("http_sensor", sensor), "fetch_orders": ("http_to_s3", fetch)}
    artifacts = {
        name: OperatorArtifact(p, 1, params).to_json() for name, (p, params) in chosen.items()
    }
    records = {
        name: {"strategy": "hybrid", "pattern": {"name": p, "version": 1, "parameters": params}}
        for name, (p, params) in chosen.items()
    }
    return render_bundle(API, list(API.tasks or []), artifacts, records)


def test_http_operators_call_the_childs_api_stub(settings: GenerationSettings) -> None:
    """The sensor's poke and the transfer's GET reach the stub on the child's loopback
    (the http connections are placeholders the smoke run fills); the response lands in
    the S3 stand-in."""
    files = api_bundle(
        {"endpoint": "/v1/status"},
        {
            "endpoint": "/v1/orders?date={{ ds }}",
            "bucket": "partner-drops",
            "key": "api/orders/dt={{ ds }}/orders.json",
        },
    )
    result = gate_bundle(API.name, files, settings)
    assert result.passed, result.findings
    assert result.smoke is not None
    sensed, fetched = result.smoke["tasks"]
    assert (sensed["state"], fetched["state"]) == ("success", "success")
    key = f"s3://partner-drops/api/orders/dt={SAMPLE_DATE.isoformat()}/orders.json"
    assert list(fetched["objects"]) == [key]


BRANCH = PipelineSpec.model_validate(
    {
        "name": "orders_routed",
        "description": "Route the day by its number of orders.",
        "dialect": "postgres",
        "environments": {"dev": {"conn_id": "warehouse_dev", "schema": "analytics_dev"}},
        "sources": [source.model_dump() for source in ORDERS.sources],
        "tasks": [
            {
                "name": "route_orders",
                "kind": "branch",
                "description": "If the day's rows of raw.orders number more than 3, run "
                "stage_orders, else skip_orders.",
            },
            {
                "name": "stage_orders",
                "kind": "sql",
                "depends_on": ["route_orders"],
                "description": "Stage the day's orders.",
            },
            {
                "name": "skip_orders",
                "kind": "sql",
                "depends_on": ["route_orders"],
                "description": "Stage the day's orders too.",
            },
        ],
    }
)


def branch_bundle(**changed: Any) -> dict[str, str]:
    """The branch spec's bundle: ``branch_on_sql`` with ``changed`` parameters."""
    parameters = {
        "table": "raw.orders",
        "measure": "count",
        "comparison": ">",
        "threshold": 3,
        "date_column": "ordered_at",
        "if_true": ["stage_orders"],
        **changed,
    }
    pattern = {"name": "branch_on_sql", "version": 1, "parameters": parameters}
    artifacts = {
        "route_orders": OperatorArtifact("branch_on_sql", 1, parameters).to_json(),
        "stage_orders": GOOD_SQL,
        "skip_orders": GOOD_SQL,
    }
    records = {"route_orders": {"strategy": "hybrid", "pattern": pattern}}
    return render_bundle(BRANCH, list(BRANCH.tasks or []), artifacts, records)


@pytest.mark.parametrize(
    ("threshold", "ran", "skipped"),
    [(3, "stage_orders", "skip_orders"), (100, "skip_orders", "stage_orders")],
)
def test_the_branch_counts_the_days_rows_and_skips_the_other_side(
    settings: GenerationSettings, threshold: int, ran: str, skipped: str
) -> None:
    result = gate_bundle(BRANCH.name, branch_bundle(threshold=threshold), settings)
    assert result.passed, result.findings
    assert result.smoke is not None
    states = {task["name"]: task["state"] for task in result.smoke["tasks"]}
    assert states == {"route_orders": "success", ran: "success", skipped: "skipped"}
