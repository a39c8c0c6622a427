"""The smoke-run gate: run the generated DAG end to end on sample data before publishing.

The bundle's DAG runs once with ``dag.test()`` in a sandboxed child (see
:mod:`airflow_llm.validate.sandbox`: no credentials, no network, timeout, memory limit)
against an embedded DuckDB warehouse seeded with sample rows for the spec's sources. SQL
tasks execute for real (SQL in other dialects is transpiled to DuckDB's with sqlglot
first, and the report says so), Python tasks run, and quality tasks run their Great
Expectations suites on the tables the SQL produced. Provider operators (operator
patterns) run for real against stand-ins in the child, sensors poking once (see
:mod:`airflow_llm.validate.stand_ins`): their connections point at the DuckDB warehouse,
the S3 stand-in and a folder of the sandbox (which holds the file a file sensor waits
for, and the files file tasks read that no task writes, created with sample rows: see
:mod:`airflow_llm.validate.sample_files`), their HTTP and FTP connections at the child's
HTTP stub and FTP server, which serve the files the tasks download or wait for there
(written the same way), their Elasticsearch ones at the child's bulk-API stand-in, and
a setting still a placeholder gets a stand-in value. The LLM tasks of ``llm_over_rows``
send real requests to a stub of the model endpoint in the child
(:mod:`airflow_llm.validate.model_stand_in`), and their answers reach the warehouse.
Free-form sensors and LLM tasks, which wait for the outside world, are marked successful
without running and reported as "not run: external: <why>" (no gate counts them).
The report gives, per task: its state, rows in the tables and files it wrote, objects
it wrote to S3, requests it sent the model's stub, expectations passed, and the
error it failed with. A task that reads a table nothing produces (the spec declares
sources, none of them is that table, and no upstream task wrote it before the task
ran) is a blocking finding of its own, ``smoke.unproduced_input``: data must flow from
a source or an upstream task. A spec that declares no sources at all (a bare
description) gets a warning instead: "not verified on sample data".
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
import yaml

from airflow_llm.bundle.render import (
    BundleLayout,
    TasksDocument,
    artifact_file,
    document_operators,
    ordered_tasks,
)
from airflow_llm.patterns.file_operations import READERS
from airflow_llm.patterns.operators import BoundOperator, SettingKind, is_placeholder
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import TaskSpec
from airflow_llm.validate.findings import Finding
from airflow_llm.validate.mail_sink import SENDER
from airflow_llm.validate.sample_data import SAMPLE_DATE, seed_warehouse
from airflow_llm.validate.sample_files import count_rows, file_tasks, seed_files, seed_served
from airflow_llm.validate.sandbox import default_zygote
from airflow_llm.validate.sql import (
    SAMPLE_CONTEXT,
    SAMPLE_LOGICAL_DATE,
    run_context,
    written_tables,
)
from airflow_llm.validate.sql_execution import duckdb_statements, missing_table
from airflow_llm.validate.stand_ins import (
    aws_connection,
    files_folder,
    fs_connection,
    served_folder,
)

NOT_RUN = {"sensor": "waits for external data", "llm": "calls the model endpoint"}
"""Why free-form tasks of these kinds do not run in the smoke run."""
STAND_IN_BUCKET = "airflow-llm-smoke"
"""The bucket a placeholder bucket setting names in the smoke run."""
STAND_IN_HTTP = "airflow_llm_smoke_http"
"""The connection a placeholder HTTP connection setting names in the smoke run."""
STAND_IN_SLACK = "airflow_llm_smoke_slack"
"""The connection a placeholder Slack webhook connection setting names in the smoke run."""
STAND_IN_FTP = "airflow_llm_smoke_ftp"
"""The connection a placeholder FTP connection setting names in the smoke run."""
_MACRO = re.compile(r"\{\{\s*(\w+)\s*\}\}")
"""An Airflow macro in a key (``{{ ds }}``), rendered with the sample context."""
STAND_IN_MODEL = "airflow_llm_smoke_model"
"""The connection a placeholder model connection setting names in the smoke run."""
STAND_IN_SECRET = "airflow-llm-smoke-secret"  # noqa: S105 - a stand-in, no credential
"""The value of every Airflow Variable the operators read secrets from, in the smoke run."""


@dataclass(frozen=True)
class SmokeTask:
    """One task of the smoke run."""

    name: str
    kind: str
    state: str
    rows: dict[str, int] = field(default_factory=dict)
    objects: dict[str, int] = field(default_factory=dict)
    """Objects it wrote to the S3 stand-in (``s3://bucket/key`` -> bytes)."""
    expectations: str | None = None
    error: str | None = None
    rerun_rows: dict[str, int] = field(default_factory=dict)
    """Rows in the tables it wrote after its SQL ran a second time for the same date."""
    unit_tests: str | None = None
    model_requests: int = 0
    """Requests it sent the model endpoint's stand-in (an LLM task that really ran)."""
    http_requests: list[str] = field(default_factory=list)
    """Requests the child's HTTP stub answered it (``METHOD path``; a Slack message's
    text after the webhook's path)."""
    reports: dict[str, int] = field(default_factory=dict)
    """Report files it wrote, which no DuckDB reader counts rows of (a PDF, an XML or
    HTML file), by path in the stand-in's folder: their bytes."""


@dataclass(frozen=True)
class SmokeReport:
    """What the smoke run did, for the bundle's report."""

    environment: str
    dialect: str
    transpiled: bool
    tasks: list[SmokeTask]
    findings: list[Finding]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (findings go to the report's gate list instead)."""
        return {
            "environment": self.environment,
            "dialect": self.dialect,
            "note": (
                f"SQL transpiled from {self.dialect} to DuckDB with sqlglot"
                if self.transpiled
                else "SQL ran as written"
            ),
            "tasks": [asdict(task) for task in self.tasks],
        }


def smoke_run(
    root: Path,
    document: TasksDocument,
    settings: GenerationSettings,
    interval: tuple[str, str] | None = None,
) -> SmokeReport:
    """Run the bundle written under ``root`` (its ``dags/`` folder) on sample data; its
    SQL is rendered for the data ``interval`` ``dag.test()`` runs (ISO start and end,
    from the DAG's schedule; by default the sample day), as its other tasks see it."""
    layout = BundleLayout(document.pipeline)
    configs = yaml.safe_load((root / layout.resource("config.yml")).read_text())
    environment = next(iter(configs))
    config = configs[environment]
    home = root / "smoke"
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(root / "dags", home / "dags")
    warehouse = home / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as connection:
        schemas = [config.get("schema")]
        seed_warehouse(connection, document.sources, document.dialect, SAMPLE_DATE, schemas)
    params = {"schema": config.get("schema"), "bucket": config.get("bucket"), **config["vars"]}
    transpiled = document.dialect != "duckdb"
    context = SAMPLE_CONTEXT
    if interval is not None:
        start, end = (datetime.fromisoformat(moment) for moment in interval)
        context = run_context(SAMPLE_LOGICAL_DATE, start, end)
    findings = _prepare_sql(home, layout, document, params, context)
    try:
        operators = document_operators(document, lambda f: (home / layout.resource(f)).read_text())
    except ValueError as error:
        findings.append(Finding(layout.resources, None, "smoke.operator", str(error)))
    if findings:
        return SmokeReport(environment, document.dialect, transpiled, [], findings)
    connections, buckets = _stand_ins(operators, configs, environment)
    objects = _loads(home, warehouse, operators, configs, environment)
    values = configs[environment].get("operators", {})
    seed_files(files_folder(home), operators, values, document.sources, document.dialect)
    seed_served(home, operators, values, document.sources, document.dialect)
    _create_schemas(warehouse, [r.name for r in document.outputs.values() if not r.file_format])
    (home / layout.resource("config.yml")).write_text(yaml.safe_dump(configs, sort_keys=False))
    sql_tasks = [t for t in ordered_tasks(document.tasks) if t.kind == "sql"]
    arguments = {
        "dags": str(home / "dags"),
        "dag_id": document.pipeline,
        "logical_date": SAMPLE_LOGICAL_DATE.isoformat(),
        "mark_success": "|".join(f"^{t.name}$" for t in document.tasks if _external(t, operators)),
        "s3_buckets": buckets,
        "s3_objects": objects,
        "smtp_connections": _connections_of(operators, configs[environment], "smtp_conn_id"),
        "http_connections": _connections_of(operators, configs[environment], "http_conn_id"),
        "slack_connections": _connections_of(
            operators, configs[environment], "slack_webhook_conn_id"
        ),
        "ftp_connections": _connections_of(operators, configs[environment], "ftp_conn_id"),
        "elasticsearch_connections": _connections_of(
            operators, configs[environment], "elasticsearch_conn_id"
        ),
        "served": {service: str(served_folder(home, service)) for service in ("http", "ftp")},
        "s3_awaited": [name for name, bound in operators.items() if bound.pattern.awaits_s3_object],
        "files_awaited": [name for name, bound in operators.items() if bound.pattern.awaits_file],
        "model_connections": sorted(c for c, kind in connections.items() if kind == "llm"),
        "values": [
            t.name for t in document.tasks if t.kind == "quality" or _writes_file(t, operators)
        ],
        "warehouse": str(warehouse),
        "rerun": [_rerun_item(home, layout, task, params) for task in sql_tasks],
        "unit_tests": (
            {
                "tasks_yml": str(root / layout.resource("tasks.yml")),
                "resources": str(root / layout.resources),
                "files": {task.name: document.file(task) for task in document.tasks},
                "params": params,
            }
            if any(task.tests for task in document.tasks)
            else {}
        ),
    }
    stand_in = {"sql": {"conn_type": "duckdb", "host": str(warehouse)}, "fs": fs_connection(home)}
    airflow_connections = {  # the model's: the child's stand-in, once it listens
        conn_id: stand_in.get(kind) or aws_connection()
        for conn_id, kind in {**connections, str(config["conn_id"]): "sql"}.items()
        if kind != "llm"
    }
    run = default_zygote().run(
        "airflow_llm.validate.smoke_child:main",
        arguments,
        home,
        settings.smoke_timeout,
        {
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            **{
                f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(connection)
                for conn_id, connection in airflow_connections.items()
            },
            **{
                f"AIRFLOW_VAR_{name.upper()}": STAND_IN_SECRET
                for bound in operators.values()
                for name in bound.variables(document.pipeline)
            },
            "AIRFLOW_LLM_ENVIRONMENT": environment,
        },
    )
    if run.result is None or "error" in run.result:
        why = run.failure() if run.result is None else str(run.result["error"])
        rule = "smoke.timeout" if run.timed_out else "smoke.crashed"
        message = (
            f"the DAG did not finish in {settings.smoke_timeout:.0f} s" if run.timed_out else why
        )
        return SmokeReport(
            environment,
            document.dialect,
            transpiled,
            [],
            [Finding(layout.dag_file, None, rule, message)],
        )
    tasks = _task_results(home, layout, document, params, run.result, operators)
    findings = [_failure(layout, document, t) for t in tasks if t.state == "failed"]
    findings += _rerun_findings(layout, document, run.result.get("reruns", {}))
    findings += _unit_test_findings(layout, document, run.result.get("unit_tests", {}))
    return SmokeReport(environment, document.dialect, transpiled, tasks, findings)


def _loads(
    home: Path,
    warehouse: Path,
    operators: dict[str, BoundOperator],
    configs: dict[str, Any],
    environment: str,
) -> dict[str, str]:
    """For each load (an operator that reads an S3 object with a source's columns): the
    object the S3 stand-in holds, written from the source's sample rows (by ``s3://``
    URI, its file), and the table it loads into, created empty as the warehouse would
    have it. Run after :func:`_stand_ins` (the settings then name no placeholder)."""
    in_schema = all(config.get("schema") for config in configs.values())
    schema = configs[environment].get("schema")
    objects: dict[str, str] = {}
    with duckdb.connect(str(warehouse)) as connection:
        for task, bound in operators.items():
            if not bound.pattern.seeds_s3_object:
                continue
            params, values = bound.params, configs[environment]["operators"][task]
            path = home / "s3" / f"{task}.{params.format}"
            path.parent.mkdir(exist_ok=True)
            options = "FORMAT parquet" if params.format == "parquet" else "FORMAT csv, HEADER"
            rows = f"SELECT * FROM {params.source}"  # noqa: S608 - names the pattern checked
            connection.execute(f"COPY ({rows}) TO '{path}' ({options})")
            target = f"{schema}.{params.table}" if in_schema else params.table
            connection.execute(f"CREATE TABLE IF NOT EXISTS {target} AS {rows} WHERE false")
            key = _MACRO.sub(lambda m: SAMPLE_CONTEXT.get(m.group(1), m.group(0)), values["key"])
            objects[f"s3://{values['bucket']}/{key}"] = str(path)
    return objects


def _stand_ins(
    operators: dict[str, BoundOperator], configs: dict[str, Any], environment: str
) -> tuple[dict[str, str], list[str]]:
    """Point the operators' settings in ``configs[environment]`` at the stand-ins
    (placeholders get stand-in values, paths relative to the filesystem stand-in's
    folder, in place): the connection ids they use (id -> ``sql``, ``aws``, ``llm`` or
    ``fs``) and the buckets the S3 stand-in must have."""
    connections: dict[str, str] = {}
    buckets: list[str] = []
    values = configs[environment].get("operators", {})
    for task, bound in operators.items():
        for setting in bound.settings():
            value = values[task][setting.name]
            if is_placeholder(value):
                value = {
                    "sql_conn_id": configs[environment]["conn_id"],
                    "aws_conn_id": "aws_default",
                    "llm_conn_id": STAND_IN_MODEL,
                    "bucket": STAND_IN_BUCKET,
                    "dag_id": "airflow_llm_smoke_dag",
                    "smtp_conn_id": "smtp_default",
                    "recipients": SENDER,
                    "http_conn_id": STAND_IN_HTTP,
                    "endpoint": f"/smoke/{task}",
                    "key": f"smoke/{task}/{{{{ ds }}}}/{setting.name}",
                    "fs_conn_id": "fs_default",
                    "path": f"smoke/{task}/{{{{ ds }}}}/{setting.name}",
                    "command": "true",
                    "slack_webhook_conn_id": STAND_IN_SLACK,
                    "message": f"airflow-llm smoke run message of {task}",
                    "ftp_conn_id": STAND_IN_FTP,
                    "databricks_conn_id": "databricks_default",
                    "elasticsearch_conn_id": "elasticsearch_default",
                    "compute": f"smoke-{task}-{setting.name}",
                }[setting.kind]
            if setting.kind == "path":  # under the filesystem stand-in's folder
                value = str(value).lstrip("/")
            values[task][setting.name] = value
            if setting.kind in ("sql_conn_id", "aws_conn_id", "llm_conn_id", "fs_conn_id"):
                connections[str(value)] = setting.kind.split("_")[0]
            elif setting.kind == "bucket":
                buckets.append(str(value))
    return connections, sorted(set(buckets))


def _writes_file(task: TaskSpec, operators: dict[str, BoundOperator]) -> bool:
    """Whether a file pattern serves ``task`` and writes a file (returning its path)."""
    found = file_tasks(operators).get(task.name)
    return found is not None and found.pattern.writes_file


def _file_rows(
    home: Path, task: TaskSpec, operators: dict[str, BoundOperator], values: dict[str, Any]
) -> tuple[dict[str, int], dict[str, int]]:
    """The rows of the data file ``task`` wrote, and the bytes of the report it wrote (a
    format no DuckDB reader reads), by its path in the stand-in's folder."""
    path = values.get(task.name)
    found = file_tasks(operators)[task.name]
    file_format = found.pattern.output_format(found.params)
    if not isinstance(path, str) or file_format is None:
        return {}, {}
    shown = str(Path(path).relative_to(home)) if Path(path).is_relative_to(home) else path
    if file_format not in READERS:
        return {}, ({shown: Path(path).stat().st_size} if Path(path).is_file() else {})
    counted = count_rows(path, file_format)
    return ({} if counted is None else {shown: counted}), {}


def _create_schemas(warehouse: Path, tables: list[str]) -> None:
    """The schemas of the tables operators write under a schema the words name
    (``public.transactions``), as the warehouse would have them."""
    schemas = sorted({name.rsplit(".", 1)[0] for name in tables if name.count(".") == 1})
    with duckdb.connect(str(warehouse)) as connection:
        for schema in schemas:
            connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')


def _connections_of(
    operators: dict[str, BoundOperator], config: dict[str, Any], kind: SettingKind
) -> list[str]:
    """The connections of ``kind`` the operators use (the child points its SMTP ones at
    its mail sink, its HTTP and Slack webhook ones at its API stub, its FTP ones at its
    FTP server)."""
    return sorted(
        {
            str(config["operators"][task][setting.name])
            for task, bound in operators.items()
            for setting in bound.settings()
            if setting.kind == kind
        }
    )


def _external(task: TaskSpec, operators: dict[str, BoundOperator]) -> str | None:
    """Why ``task`` does not run in the smoke run (it reaches what no stand-in stands
    for: a free-form sensor or LLM task, an operator such as a DAG trigger), or None."""
    if task.name in operators:
        return operators[task.name].external()
    return NOT_RUN.get(task.kind)


def _rerun_item(
    home: Path, layout: BundleLayout, task: TaskSpec, params: dict[str, Any]
) -> dict[str, Any]:
    """What the child runs again for ``task``: its DuckDB statements and written tables."""
    path = home / layout.resource(artifact_file(task))
    tables = written_tables(path.read_text(), "duckdb", params, qualified=True)
    return {"task": task.name, "file": str(path), "tables": tables}


def _rerun_findings(
    layout: BundleLayout, document: TasksDocument, reruns: dict[str, dict[str, Any]]
) -> list[Finding]:
    """A finding per SQL task whose second run for the same date changed a row count."""
    findings = []
    for task in document.tasks:
        counts = reruns.get(task.name, {})
        file = layout.resource(artifact_file(task))
        if "error" in counts:
            message = (
                f"{task.name}: a second run for the same logical date fails: {counts['error']}"
            )
            findings.append(Finding(file, None, "smoke.idempotent", message))
            continue
        changed = {table: pair for table, pair in counts.items() if pair[0] != pair[1]}
        for table, (before, after) in changed.items():
            message = (
                f"{task.name} is not idempotent: running it again for the same logical date "
                f"took {table} from {before} to {after} rows"
            )
            findings.append(Finding(file, None, "smoke.idempotent", message))
    return findings


def _unit_test_findings(
    layout: BundleLayout, document: TasksDocument, failures: dict[str, list[str]]
) -> list[Finding]:
    """The unit tests that failed in the smoke run's sandbox."""
    return [
        Finding(layout.resource(artifact_file(task)), None, "smoke.unit_test", message)
        for task in document.tasks
        for message in failures.get(task.name, [])
    ]


def _prepare_sql(
    home: Path,
    layout: BundleLayout,
    document: TasksDocument,
    params: dict[str, Any],
    context: Mapping[str, str],
) -> list[Finding]:
    """Replace each SQL file by its DuckDB statements for the run's ``context`` (see
    ``duckdb_statements``)."""
    findings = []
    for task in document.tasks:
        if task.kind != "sql":
            continue
        relative = layout.resource(artifact_file(task))
        path = home / relative
        try:
            statements = duckdb_statements(path.read_text(), document.dialect, params, context)
        except sqlglot.errors.SqlglotError as error:
            message = f"cannot read as {document.dialect} for DuckDB: {error}"
            findings.append(Finding(relative, None, "smoke.transpile", message))
            continue
        path.write_text(";\n".join(statements) + "\n")
    return findings


def _task_results(
    home: Path,
    layout: BundleLayout,
    document: TasksDocument,
    params: dict[str, Any],
    result: dict[str, Any],
    operators: dict[str, BoundOperator],
) -> list[SmokeTask]:
    tasks = []
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as warehouse:
        listed = "SELECT table_schema, table_name FROM information_schema.tables"
        qualified = {
            name: f"{schema}.{name}" for schema, name in warehouse.execute(listed).fetchall()
        }
        for task in document.tasks:
            found = _chain_result(result["tasks"], task.name, operators)
            state = found["state"]
            reason = _external(task, operators)
            if reason is not None:
                state = f"not run: external: {reason}"
            rows = {}
            rerun = result.get("reruns", {}).get(task.name, {})
            written: list[str] = []
            reports: dict[str, int] = {}
            if task.kind == "sql" and state == "success":
                sql = (home / layout.resource(artifact_file(task))).read_text()
                written = written_tables(sql, "duckdb", params)
            elif task.name in operators and task.name in document.outputs and state == "success":
                written = [document.outputs[task.name].name]
            if _writes_file(task, operators) and state == "success":
                in_file, reports = _file_rows(home, task, operators, result["values"])
                rows.update(in_file)
            for name in written:
                if name in qualified:
                    table = qualified[name]
                    count = f"SELECT count(*) FROM {table}"  # noqa: S608 - catalog name
                    counted = warehouse.execute(count).fetchone()
                    rows[table] = int(counted[0]) if counted else 0
            rows = {  # after the DAG run, before the second run of the SQL
                table: next(
                    (
                        pair[0]
                        for name, pair in rerun.items()
                        if table.endswith(name.split(".")[-1])
                    ),
                    count,
                )
                for table, count in rows.items()
            }
            suite = result["values"].get(task.name)
            expectations = (
                f"{suite['expectations'] - suite['failed']}/{suite['expectations']} passed"
                if isinstance(suite, dict)
                else None
            )
            again = {table: pair[1] for table, pair in rerun.items() if table != "error"}
            tests = len(task.tests)
            failed = len(result.get("unit_tests", {}).get(task.name, []))
            verdict = f"{tests - failed}/{tests} passed" if tests else None
            tasks.append(
                SmokeTask(
                    task.name,
                    task.kind,
                    state,
                    rows,
                    found.get("objects", {}),
                    expectations,
                    found["error"],
                    again,
                    verdict,
                    found.get("model_requests", 0),
                    found.get("http_requests", []),
                    reports,
                )
            )
    return tasks


def _chain_result(
    results: dict[str, dict[str, Any]], name: str, operators: dict[str, BoundOperator]
) -> dict[str, Any]:
    """The child's result for task ``name`` and the tasks its operator adds after it
    (say, the one writing an LLM task's answers): the first state that is not success,
    the first error, the model requests of them all."""
    chain = [name, *(operators[name].followers() if name in operators else [])]
    found = [results.get(task, {"state": "not run", "error": None}) for task in chain]
    return {
        "state": next((f["state"] for f in found if f["state"] != "success"), "success"),
        "error": next((f["error"] for f in found if f.get("error")), None),
        "objects": {k: v for f in found for k, v in f.get("objects", {}).items()},
        "model_requests": sum(f.get("model_requests", 0) for f in found),
        "http_requests": [r for f in found for r in f.get("http_requests", [])],
    }


def _failure(layout: BundleLayout, document: TasksDocument, task: SmokeTask) -> Finding:
    """Why ``task`` failed; a table it read that neither a declared source nor an
    upstream task produced is named as such (only a warning when the spec declares no
    sources at all: what exists is then unknown, not missing)."""
    spec_task = next(t for t in document.tasks if t.name == task.name)
    file = layout.resource(document.file(spec_task))
    missing = missing_table(task.error or "")
    declared = {source.name.rsplit(".", 1)[-1].lower() for source in document.sources}
    if missing is not None and missing not in declared and declared:
        message = (
            f"{task.name} reads {missing}, which nothing produces: declare it under the "
            "spec's sources, or have an upstream task write it"
        )
        return Finding(file, None, "smoke.unproduced_input", message)
    if missing is not None and not declared:
        message = (
            f"{task.name} reads {missing}, and the spec declares no sources: not verified "
            "on sample data"
        )
        return Finding(file, None, "smoke.no_sources", message, severity="warning")
    return Finding(file, None, "smoke.failed", f"{task.name}: {task.error}")
