"""Operator patterns: their questions, the parameters they refuse, the operator they
render into the DAG file, the settings they put in ``config.yml`` per environment (with
placeholders where nothing gives a value), and the checks of their artifacts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_llm.bundle.render import (
    bound_operators,
    parse_tasks_document,
    render_bundle,
    render_config,
)
from airflow_llm.patterns import (
    ParameterError,
    Relation,
    context_for,
    operator_patterns,
    pattern_named,
    ranked_pattern_names,
)
from airflow_llm.patterns.http import stated_endpoints
from airflow_llm.patterns.operators import OperatorArtifact, operator_findings, placeholders
from airflow_llm.patterns.transfers import Location, stated_locations
from airflow_llm.recheck import unfilled
from airflow_llm.spec import Column, PipelineSpec
from airflow_llm.spec_loading import load_spec
from airflow_llm.validate.dag_import import import_dags
from tests.integration.test_operator_gates import (
    API,
    BRANCH,
    LOAD,
    LOADS,
    NOTIFY,
    SENSORS,
    TRIGGERS,
    api_bundle,
    branch_bundle,
    load_bundle,
    notify_bundle,
    sensor_bundle,
    trigger_bundle,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
CHURN = load_spec(REPO_ROOT / "specs" / "customer_features.md")
EXPORT = next(task for task in CHURN.tasks or [] if task.name == "export_training_snapshot")
FEATURES = Relation(
    "features_churn",
    (
        Column(name="customer_id", type="INT64"),
        Column(name="tenure_days", type="INT64"),
        Column(name="snapshot_date", type="DATE"),
    ),
    produced_by="join_feature_table",
)
PARAMETERS: dict[str, Any] = {
    "table": "features_churn",
    "format": "parquet",
    "bucket": "none",
    "key": "features/churn/dt={{ ds }}/",
    "date_column": "snapshot_date",
}
QUERY_TO_S3 = pattern_named("query_to_s3")


def export_context(spec: PipelineSpec = CHURN) -> Any:
    return context_for(spec, EXPORT, {"join_feature_table": FEATURES})


def churn_bundle(parameters: dict[str, Any], spec: PipelineSpec = CHURN) -> dict[str, str]:
    """The churn spec's bundle with the export written by query_to_s3 (the other
    tasks' artifacts are stand-ins: rendering does not read them)."""
    params = QUERY_TO_S3.parse(parameters)
    artifact = QUERY_TO_S3.render(params, export_context(spec)).content
    tasks = list(spec.tasks or [])
    artifacts = {task.name: "SELECT 1;\n" for task in tasks} | {EXPORT.name: artifact}
    record = {"name": "query_to_s3", "version": 1, "parameters": params.model_dump()}
    records = {EXPORT.name: {"strategy": "hybrid", "pattern": record}}
    return render_bundle(spec, tasks, artifacts, records)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Export to Parquet at features/churn/dt={{ ds }}/, and return the key.",
            [Location(None, "features/churn/dt={{ ds }}/")],
        ),
        (
            "Unload to s3://ml-exports/daily/orders.csv.",
            [Location("ml-exports", "daily/orders.csv")],
        ),
        ("Write csv/parquet files and/or JSON.", []),
    ],
)
def test_stated_locations(text: str, expected: list[Location]) -> None:
    assert stated_locations(text) == expected


def test_the_churn_export_is_cued_and_linking_decides_every_parameter() -> None:
    ctx = export_context()
    assert ranked_pattern_names(ctx) == ["query_to_s3"]
    assert QUERY_TO_S3.input_schema(ctx)["properties"] == {"table": {"enum": ["features_churn"]}}
    schema = QUERY_TO_S3.parameter_schema(ctx, {"table": "features_churn"})
    assert schema["properties"] == {
        "format": {"enum": ["parquet"]},
        "bucket": {"enum": ["none"]},
        "key": {"enum": ["features/churn/dt={{ ds }}/"]},
        "date_column": {"enum": ["none"]},
    }


def test_rows_of_the_logical_date_are_offered_when_the_words_ask_for_them() -> None:
    task = EXPORT.model_copy(update={"description": "Export the day's features_churn rows to S3."})
    ctx = context_for(CHURN, task, {"join_feature_table": FEATURES})
    schema = QUERY_TO_S3.parameter_schema(ctx, {"table": "features_churn"})
    assert schema["properties"]["date_column"] == {"enum": ["snapshot_date", "none"]}


@pytest.mark.parametrize(
    ("changed", "problem"),
    [
        ({"date_column": "tenure_days"}, "'tenure_days' is no date or timestamp column"),
        ({"date_column": "signup"}, "no column 'signup'"),
        ({"table": "features_missing"}, "no table 'features_missing'"),
        ({"key": "exports/../secrets/x"}, "leaves its bucket"),
        ({"key": "/exports/x"}, "leaves its bucket"),
        ({"key": "exports/{{ ds/x"}, "opens a macro it does not close"),
    ],
)
def test_parameters_the_pattern_refuses(changed: dict[str, Any], problem: str) -> None:
    params = QUERY_TO_S3.parse({**PARAMETERS, **changed})
    with pytest.raises(ParameterError, match=problem):
        QUERY_TO_S3.render(params, export_context())


@pytest.mark.parametrize(
    ("changed", "field"),
    [
        ({"format": "xlsx"}, "format"),
        ({"key": "a;b"}, "key"),
        ({"bucket": "Not_A_Bucket"}, "bucket"),
    ],
)
def test_answers_the_parameter_model_refuses(changed: dict[str, Any], field: str) -> None:
    with pytest.raises(ParameterError) as refused:
        QUERY_TO_S3.parse({**PARAMETERS, **changed})
    assert refused.value.problems[0].startswith(f"{field}:")


def test_the_dag_file_gets_the_provider_operator() -> None:
    files = churn_bundle(PARAMETERS)
    dag = files["dags/customer_churn_features.py"]
    assert "from airflow.providers.amazon.aws.transfers.sql_to_s3 import SqlToS3Operator\n" in dag
    snippet = dag[dag.index("    export_training_snapshot = ") :].split("\n\n")[0]
    assert snippet == ("""    export_training_snapshot = SqlToS3Operator(
        task_id="export_training_snapshot",
        retries=2,
        retry_delay=timedelta(seconds=300),
        execution_timeout=timedelta(seconds=3600),
        executor_config=_pod_override({"cpu": "1", "memory": "4Gi"}),
        sql_conn_id=OPERATORS["export_training_snapshot"]["sql_conn_id"],
        query=(
            "SELECT * FROM features_churn WHERE CAST(snapshot_date AS DATE) = "
            "CAST('{{ ds }}' AS DATE)"
        ),
        params=SQL_PARAMS,
        aws_conn_id=OPERATORS["export_training_snapshot"]["aws_conn_id"],
        s3_bucket=OPERATORS["export_training_snapshot"]["bucket"],
        s3_key=OPERATORS["export_training_snapshot"]["key"],
        file_format="parquet",
        replace=True,
    )""")
    resources = "dags/resources/customer_churn_features"
    assert "export_training_snapshot_function.py" not in str(sorted(files))
    assert json.loads(files[f"{resources}/export_training_snapshot_operator.json"]) == {
        "pattern": "query_to_s3",
        "version": 1,
        "parameters": {**PARAMETERS, "bucket": None},
    }
    requirements = files[f"{resources}/requirements.txt"].splitlines()
    assert {"apache-airflow-providers-amazon==9.39.0", "pyarrow==26.0.1"} <= set(requirements)
    document = parse_tasks_document(files[f"{resources}/tasks.yml"])
    assert document.file(EXPORT) == "export_training_snapshot_operator.json"


def test_the_rendered_dag_imports(tmp_path: Path) -> None:
    for relative, content in churn_bundle(PARAMETERS).items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(content)
    parsed = import_dags(tmp_path / "dags")
    assert parsed.errors == {}
    assert "export_training_snapshot" in parsed.dags["customer_churn_features"]["tasks"]


def test_the_pipelines_own_tables_are_read_in_the_environments_schema() -> None:
    spec = CHURN.model_copy(
        update={
            "environments": {
                name: env.model_copy(update={"schema_": f"ml_{name}"})
                for name, env in CHURN.environments.items()
            }
        }
    )
    dag = churn_bundle({**PARAMETERS, "date_column": "none"}, spec)[
        "dags/customer_churn_features.py"
    ]
    assert 'query="SELECT * FROM {{ params.schema }}.features_churn",' in dag


def test_settings_come_from_the_environment_the_words_and_vars_else_a_placeholder() -> None:
    spec = PipelineSpec.model_validate(
        {
            **CHURN.model_dump(by_alias=True),
            "environments": {
                "dev": {"conn_id": "bq_dev", "bucket": "ml-dev"},
                "prod": {
                    "conn_id": "bq_prod",
                    "vars": {"export_training_snapshot_key": "churn/{{ ds }}.parquet"},
                },
            },
        }
    )
    artifact = OperatorArtifact("query_to_s3", 1, {**PARAMETERS, "key": None}).to_json()
    records = {EXPORT.name: {"pattern": {"name": "query_to_s3"}}}
    operators = bound_operators(list(spec.tasks or []), {EXPORT.name: artifact}, records)
    config = yaml.safe_load(render_config(spec, operators))
    assert config["dev"]["operators"] == {
        "export_training_snapshot": {
            "sql_conn_id": "bq_dev",
            "aws_conn_id": "aws_default",
            "bucket": "ml-dev",
            "key": "<fill in: S3 object key export_training_snapshot writes>",
        }
    }
    assert (
        config["prod"]["operators"]["export_training_snapshot"]["key"] == "churn/{{ ds }}.parquet"
    )
    assert placeholders(config) == {
        "dev": [
            "operators.export_training_snapshot.key: "
            "<fill in: S3 object key export_training_snapshot writes>"
        ],
        "prod": [
            "operators.export_training_snapshot.bucket: "
            "<fill in: S3 bucket export_training_snapshot writes to>"
        ],
    }


def test_unfilled_reads_the_bundles_config() -> None:
    files = churn_bundle({**PARAMETERS, "key": "none"})
    assert unfilled(files, "customer_churn_features", "prod") == [
        "operators.export_training_snapshot.key: "
        "<fill in: S3 object key export_training_snapshot writes>"
    ]
    assert unfilled(churn_bundle(PARAMETERS), "customer_churn_features", "prod") == []


@pytest.mark.parametrize(
    ("artifact", "rule", "message"),
    [
        ("not json", "operator.artifact", "Expecting value"),
        (
            OperatorArtifact("copy_interval", 1, {}).to_json(),
            "operator.artifact",
            "no operator pattern 'copy_interval'",
        ),
        (
            OperatorArtifact("query_to_s3", 99, PARAMETERS).to_json(),
            "operator.artifact",
            "query_to_s3 version 99, this generator renders version 1",
        ),
        (
            OperatorArtifact("query_to_s3", 1, {**PARAMETERS, "format": "xml"}).to_json(),
            "pattern.parameters",
            "format:",
        ),
    ],
)
def test_artifacts_no_pattern_reads_are_found(artifact: str, rule: str, message: str) -> None:
    found = operator_findings(artifact, "x_operator.json", EXPORT, operator_patterns())
    assert [finding.rule for finding in found] == [rule]
    assert message in found[0].message


def test_a_tasks_yml_naming_another_file_is_refused() -> None:
    files = churn_bundle(PARAMETERS)
    tasks_yml = files["dags/resources/customer_churn_features/tasks.yml"]
    hostile = tasks_yml.replace(
        "file: export_training_snapshot_operator.json", "file: ../../../etc/passwd"
    )
    with pytest.raises(ValueError, match="names no resource of its own"):
        parse_tasks_document(hostile)


def test_the_bundles_pins_are_the_projects() -> None:
    pinned = set((REPO_ROOT / "requirements.txt").read_text().splitlines())
    for pattern in operator_patterns().values():
        assert set(pattern.requirements) <= pinned, pattern.name


def test_sensor_tasks_get_the_sensor_their_words_cue() -> None:
    rows, marker, _ = SENSORS.tasks or []
    rows_ctx, marker_ctx = (context_for(SENSORS, task, {}) for task in (rows, marker))
    assert ranked_pattern_names(rows_ctx) == ["sql_sensor"]
    assert ranked_pattern_names(marker_ctx) == ["s3_key_sensor"]
    sql_sensor, s3_key_sensor = pattern_named("sql_sensor"), pattern_named("s3_key_sensor")
    assert sql_sensor.input_schema(rows_ctx)["properties"] == {"table": {"enum": ["raw.orders"]}}
    date = sql_sensor.parameter_schema(rows_ctx, {"table": "raw.orders"})["properties"]
    assert date == {"date_column": {"enum": ["ordered_at", "none"]}}
    assert s3_key_sensor.input_schema(marker_ctx)["properties"] == {}
    assert s3_key_sensor.parameter_schema(marker_ctx, {})["properties"] == {
        "bucket": {"enum": ["partner-drops"]},
        "key": {"enum": ["orders/dt={{ ds }}/_SUCCESS"]},
    }


def test_sensors_render_their_provider_sensors() -> None:
    files = sensor_bundle(
        {"table": "raw.orders", "date_column": "ordered_at"},
        {"bucket": "partner-drops", "key": "orders/dt={{ ds }}/_SUCCESS"},
    )
    dag = files["dags/orders_sensed.py"]
    snippets = [
        dag[dag.index(f"    {name} = ") :].split("\n\n")[0]
        for name in ("wait_for_orders", "wait_for_marker")
    ]
    common = """retries=2,
        retry_delay=timedelta(seconds=300),
        execution_timeout=timedelta(seconds=3600),"""
    expected = [
        """    wait_for_orders = SqlSensor(
        task_id="wait_for_orders",
        COMMON
        conn_id=OPERATORS["wait_for_orders"]["sql_conn_id"],
        sql=(
            "SELECT COUNT(*) FROM raw.orders WHERE CAST(ordered_at AS DATE) = "
            "CAST('{{ ds }}' AS DATE)"
        ),
        params=SQL_PARAMS,
        poke_interval=60,
        timeout=3600,
        mode="reschedule",
    )""",
        """    wait_for_marker = S3KeySensor(
        task_id="wait_for_marker",
        COMMON
        aws_conn_id=OPERATORS["wait_for_marker"]["aws_conn_id"],
        bucket_name=OPERATORS["wait_for_marker"]["bucket"],
        bucket_key=OPERATORS["wait_for_marker"]["key"],
        poke_interval=60,
        timeout=3600,
        deferrable=True,
    )""",
    ]
    assert snippets == [snippet.replace("COMMON", common) for snippet in expected]
    config = yaml.safe_load(files["dags/resources/orders_sensed/config.yml"])
    assert config["dev"]["operators"]["wait_for_marker"] == {
        "aws_conn_id": "aws_default",
        "bucket": "partner-drops",
        "key": "orders/dt={{ ds }}/_SUCCESS",
    }


@pytest.mark.parametrize(
    ("pattern", "parameters", "problem"),
    [
        ("s3_key_sensor", {"bucket": "none", "key": "orders/"}, "a key, not a prefix"),
        ("s3_key_sensor", {"bucket": "none", "key": "../x"}, "leaves its bucket"),
        ("sql_sensor", {"table": "raw.orders", "date_column": "amount"}, "no date or timestamp"),
    ],
)
def test_sensor_parameters_the_patterns_refuse(
    pattern: str, parameters: dict[str, Any], problem: str
) -> None:
    rows, marker, _ = SENSORS.tasks or []
    task = rows if pattern == "sql_sensor" else marker
    found = pattern_named(pattern)
    with pytest.raises(ParameterError, match=problem):
        found.render(found.parse(parameters), context_for(SENSORS, task, {}))


def test_a_load_task_gets_s3_to_table_with_the_source_columns() -> None:
    task = (LOADS.tasks or [])[0]
    ctx = context_for(LOADS, task, {})
    load = pattern_named("s3_to_table")
    assert ranked_pattern_names(ctx) == ["s3_to_table"]
    assert load.input_schema(ctx)["properties"] == {"source": {"enum": ["raw.orders"]}}
    assert load.parameter_schema(ctx, {"source": "raw.orders"})["properties"] == {
        "table": {"enum": ["partner_orders"]},
        "format": {"enum": ["csv"]},
        "bucket": {"enum": ["partner-drops"]},
        "key": {"enum": ["orders/dt={{ ds }}/"]},
        "date_column": {"enum": ["ordered_at", "none"]},
    }
    answer = {key: value for key, value in LOAD.items() if key != "columns"}
    completed = load.complete(answer, ctx)
    assert completed["columns"] == LOAD["columns"]
    rendered = load.render(load.parse(completed), ctx)
    assert rendered.output is not None
    assert (rendered.output.name, rendered.output.column_names) == (
        "partner_orders",
        LOAD["columns"],
    )


def test_a_load_of_the_file_an_upstream_task_writes_is_no_s3_load() -> None:
    """A step handed a local file loads that file, not an S3 object, unless its words
    name S3."""
    fetch = {"name": "fetch_orders", "kind": "python", "description": "Fetch the orders."}
    load = {
        "name": "load_partner_orders",
        "kind": "python",
        "depends_on": ["fetch_orders"],
        "description": "Load the JSON file from fetch_orders with raw.orders' columns.",
    }
    spec = PipelineSpec.model_validate({**LOADS.model_dump(), "tasks": [fetch, load]})
    handed = {"fetch_orders": Relation("fetch_orders", (), "fetch_orders", "json")}
    task = (spec.tasks or [])[1]
    assert "s3_to_table" not in ranked_pattern_names(context_for(spec, task, handed))
    on_s3 = task.model_copy(update={"description": f"{load['description']} Keep it in S3."})
    assert "s3_to_table" in ranked_pattern_names(context_for(spec, on_s3, handed))


def test_a_load_renders_s3_to_sql_with_its_parser_and_the_rows_it_replaces() -> None:
    dag = load_bundle()["dags/partner_orders.py"]
    assert "from airflow.providers.amazon.aws.transfers.s3_to_sql import S3ToSqlOperator" in dag
    assert 'table="{{ params.schema }}.partner_orders",' in dag
    assert "parser=_load_partner_orders_rows," in dag
    assert "pre_execute=_load_partner_orders_clear," in dag
    assert '"DELETE FROM {{ params.schema }}.partner_orders WHERE CAST(ordered_at AS "' in dag


@pytest.mark.parametrize(
    ("changed", "problem"),
    [
        ({"table": "raw.orders"}, "raw.orders is a source: sources are read-only"),
        ({"columns": ["order_id"]}, "the columns of raw.orders differ"),
        ({"date_column": "amount"}, "no date or timestamp"),
    ],
)
def test_loads_the_pattern_refuses(changed: dict[str, Any], problem: str) -> None:
    load = pattern_named("s3_to_table")
    ctx = context_for(LOADS, (LOADS.tasks or [])[0], {})
    with pytest.raises(ParameterError, match=problem):
        load.render(load.parse({**LOAD, **changed}), ctx)


def test_trigger_tasks_get_the_dag_id_and_the_table_their_words_name() -> None:
    _, announce, start = TRIGGERS.tasks or []
    outputs = {"stage_orders": Relation("stg_orders", FEATURES.columns, "stage_orders")}
    announce_ctx, start_ctx = (context_for(TRIGGERS, t, outputs) for t in (announce, start))
    assert ranked_pattern_names(announce_ctx) == ["asset_event"]
    assert ranked_pattern_names(start_ctx) == ["trigger_dag"]
    assert pattern_named("asset_event").input_schema(announce_ctx)["properties"] == {
        "table": {"enum": ["stg_orders"]}
    }
    trigger = pattern_named("trigger_dag")
    assert trigger.parameter_schema(start_ctx, {})["properties"] == {
        "dag_id": {"enum": ["orders_reporting"]}
    }
    unstated = start.model_copy(update={"description": "Trigger the reporting DAG."})
    schema = trigger.parameter_schema(context_for(TRIGGERS, unstated, outputs), {})
    assert schema["properties"] == {"dag_id": {"enum": ["none"]}}
    params = trigger.parse({"dag_id": "none"})
    assert [
        s.value("start_reporting", TRIGGERS.environments["dev"])
        for s in trigger.settings(params, unstated)
    ] == ["<fill in: DAG id start_reporting triggers>"]


def test_triggers_render_an_asset_outlet_and_a_dag_run_operator() -> None:
    files = trigger_bundle()
    dag = files["dags/orders_announced.py"]
    assert "from airflow.sdk import DAG, Asset, task\n" in dag
    assert 'outlets=[Asset("stg_orders")],' in dag
    assert 'return "stg_orders"' in dag
    assert (
        "from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator"
        in dag
    )
    assert 'trigger_dag_id=OPERATORS["start_reporting"]["dag_id"],' in dag
    assert 'conf={"triggered_by": "orders_announced", "ds": "{{ ds }}"},' in dag
    config = yaml.safe_load(files["dags/resources/orders_announced/config.yml"])
    assert config["dev"]["operators"] == {
        "announce_orders": {},
        "start_reporting": {"dag_id": "orders_reporting"},
    }


def test_an_email_task_gets_the_addresses_its_words_write_out() -> None:
    task = (NOTIFY.tasks or [])[1]
    notify = pattern_named("notify_email")
    assert ranked_pattern_names(context_for(NOTIFY, task, {})) == ["notify_email"]
    schema = notify.parameter_schema(context_for(NOTIFY, task, {}), {})
    assert schema["properties"] == {"to": {"enum": ["finance@example.com"]}}
    told = task.model_copy(update={"description": "Email the stakeholders."})
    spec = NOTIFY.model_copy(update={"stakeholders": ["a@example.com", "b@example.com"]})
    schema = notify.parameter_schema(context_for(spec, told, {}), {})
    assert schema["properties"] == {"to": {"enum": ["a@example.com, b@example.com"]}}
    with pytest.raises(ParameterError, match="not a list of email addresses"):
        notify.parse({"to": "finance"})


def test_an_email_renders_the_email_operator_with_config_recipients() -> None:
    files = notify_bundle(None)
    dag = files["dags/orders_notified.py"]
    assert "from airflow.providers.smtp.operators.smtp import EmailOperator" in dag
    assert 'conn_id=OPERATORS["tell_finance"]["smtp_conn_id"],' in dag
    assert 'to=OPERATORS["tell_finance"]["to"],' in dag
    assert 'subject="orders_notified: tell_finance ({{ ds }})",' in dag
    config = yaml.safe_load(files["dags/resources/orders_notified/config.yml"])
    assert config["dev"]["operators"]["tell_finance"] == {
        "smtp_conn_id": "smtp_default",
        "to": "<fill in: email addresses tell_finance writes to>",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Call https://api.example.com/v1/orders?date={{ ds }} daily.",
            ["/v1/orders?date={{ ds }}"],
        ),
        ("GET /v1/status, then store it at s3://b-1/x/y.json.", ["/v1/status"]),
        ("Store it at exports/orders/dt={{ ds }}/ in S3.", []),
    ],
)
def test_stated_endpoints(text: str, expected: list[str]) -> None:
    assert stated_endpoints(text) == expected


def test_api_tasks_get_the_http_patterns_with_the_stated_endpoint() -> None:
    sensor, fetch = API.tasks or []
    sensor_ctx, fetch_ctx = (context_for(API, task, {}) for task in (sensor, fetch))
    assert ranked_pattern_names(sensor_ctx) == ["http_sensor"]
    assert ranked_pattern_names(fetch_ctx) == ["http_to_s3"]
    assert pattern_named("http_to_s3").parameter_schema(fetch_ctx, {})["properties"] == {
        "endpoint": {"enum": ["/v1/orders?date={{ ds }}"]},
        "bucket": {"enum": ["partner-drops"]},
        "key": {"enum": ["api/orders/dt={{ ds }}/orders.json"]},
    }
    files = api_bundle({"endpoint": "/v1/status"}, {"endpoint": None, "bucket": None, "key": None})
    dag = files["dags/partner_api.py"]
    assert 'HttpSensor(\n        task_id="wait_for_api",' in dag
    assert 'endpoint=OPERATORS["fetch_orders"]["endpoint"],' in dag
    config = yaml.safe_load(files["dags/resources/partner_api/config.yml"])["dev"]["operators"]
    assert config["wait_for_api"] == {
        "http_conn_id": "<fill in: HTTP connection (the API's host) wait_for_api calls>",
        "endpoint": "/v1/status",
    }
    assert config["fetch_orders"]["endpoint"] == "<fill in: endpoint fetch_orders calls>"


def test_a_branch_on_a_number_gets_the_count_comparison_and_threshold_its_words_state() -> None:
    route = (BRANCH.tasks or [])[0]
    ctx = context_for(BRANCH, route, {})
    branch = pattern_named("branch_on_sql")
    assert ranked_pattern_names(ctx) == ["branch_on_sql"]
    properties = branch.parameter_schema(ctx, {"table": "raw.orders"})["properties"]
    assert properties["measure"] == {"enum": ["count", "order_id", "customer_id", "amount"]}
    assert properties["comparison"] == {"enum": [">"]}
    assert properties["threshold"] == {"enum": [3]}
    assert properties["date_column"] == {"enum": ["ordered_at", "none"]}
    assert properties["if_true"]["items"] == {"enum": ["stage_orders", "skip_orders"]}
    assert (properties["if_true"]["minItems"], properties["if_true"]["maxItems"]) == (1, 1)


def test_a_branch_renders_branch_sql_with_both_sides() -> None:
    dag = branch_bundle(measure="amount", comparison=">=", threshold=99.5)["dags/orders_routed.py"]
    assert "from airflow.providers.common.sql.operators.sql import BranchSQLOperator" in dag
    assert "SELECT CASE WHEN COALESCE(SUM(amount), 0) >= 99.5 THEN 1 ELSE 0 END " in dag
    assert 'follow_task_ids_if_true=["stage_orders"],' in dag
    assert 'follow_task_ids_if_false=["skip_orders"],' in dag


@pytest.mark.parametrize(
    ("changed", "problem"),
    [
        ({"measure": "ordered_at"}, "'ordered_at' is no number column"),
        ({"if_true": ["publish"]}, "not downstream of route_orders: publish"),
    ],
)
def test_branches_the_pattern_refuses(changed: dict[str, Any], problem: str) -> None:
    branch = pattern_named("branch_on_sql")
    parameters = {
        "table": "raw.orders",
        "measure": "count",
        "comparison": ">",
        "threshold": 3,
        "date_column": "none",
        "if_true": ["stage_orders"],
        **changed,
    }
    ctx = context_for(BRANCH, (BRANCH.tasks or [])[0], {})
    with pytest.raises(ParameterError, match=problem):
        branch.render(branch.parse(parameters), ctx)
