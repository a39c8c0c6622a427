"""The smoke run's child process: ``dag.test()`` of one generated DAG, inside the sandbox.

:func:`main` runs in a child of the sandbox's zygote (called by
:mod:`airflow_llm.validate.smoke_run` through
:meth:`airflow_llm.validate.sandbox.Zygote.run`) with the DAG folder, the DAG id, the
logical date, the tasks to mark successful without running and the stand-ins the
operators reach (:mod:`airflow_llm.validate.stand_ins`; the model endpoint's:
:mod:`airflow_llm.validate.model_stand_in`; the FTP server's:
:mod:`airflow_llm.validate.ftp_stand_in`; Elasticsearch's:
:mod:`airflow_llm.validate.elasticsearch_stand_in`). Sensors poke once: a poke that finds
nothing fails the task rather than waiting. Reports every task's state, the error it
failed with, the return value of the tasks asked for, the objects each wrote to the S3
stand-in, the requests each sent the model's and those the HTTP stub answered it. Then,
still in the sandbox, it runs each SQL task's statements a second time for the same
logical date (row counts of the tables it writes, before and after: an idempotent
task leaves them equal), and the spec's unit tests from ``tasks.yml``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow_llm.validate.elasticsearch_stand_in import elasticsearch_stand_in
from airflow_llm.validate.ftp_stand_in import ftp_stand_in
from airflow_llm.validate.http_stub import http_stub
from airflow_llm.validate.mail_sink import smtp_sink
from airflow_llm.validate.model_stand_in import ModelStandIn, model_stand_in
from airflow_llm.validate.stand_ins import S3StandIn, hold_file, s3_stand_in, written

_STATE_RANK = ["success", "skipped", "None", "upstream_failed", "failed"]


def _capture_errors(
    dag: Any,
    errors: dict[str, str],
    s3: S3StandIn,
    objects: dict[str, dict[str, int]],
    awaited: list[str],
    model: ModelStandIn,
    requests: dict[str, int],
    awaited_files: list[str],
    stub: list[str],
    calls: dict[str, list[str]],
) -> None:
    """Record the exception each failing task raises (dag.test() only logs it), the
    objects each task writes to the S3 stand-in, the requests it sends the model's and
    those the HTTP ``stub`` answers it (in ``calls``); before a task of ``awaited``
    runs, the stand-in holds the object it waits for, and before one of
    ``awaited_files`` runs, its file is written."""
    for cls in {getattr(task, "operator_class", type(task)) for task in dag.tasks}:
        cls.execute = _recording(
            cls.execute, errors, s3, objects, awaited, model, requests, awaited_files, stub, calls
        )


def _recording(
    execute: Callable[..., Any],
    errors: dict[str, str],
    s3: S3StandIn,
    objects: dict[str, dict[str, int]],
    awaited: list[str],
    model: ModelStandIn,
    requests: dict[str, int],
    awaited_files: list[str],
    stub: list[str],
    calls: dict[str, list[str]],
) -> Callable[..., Any]:
    def wrapper(self: Any, context: Any) -> Any:
        if self.task_id in awaited:
            s3.hold(self.bucket_name, self.bucket_key)
        if self.task_id in awaited_files:
            from airflow.providers.standard.hooks.filesystem import FSHook

            hold_file(FSHook(self.fs_conn_id).get_path(), self.filepath)
        before, asked, answered = s3.snapshot(), model.requests, len(stub)
        try:
            return execute(self, context)
        except BaseException as error:
            errors[self.task_id] = f"{type(error).__name__}: {error}"[:2000]
            raise
        finally:
            objects[self.task_id] = written(before, s3.snapshot())
            requests[self.task_id] = requests.get(self.task_id, 0) + model.requests - asked
            calls.setdefault(self.task_id, []).extend(stub[answered:])

    return wrapper


def _worst(states: list[str]) -> str:
    return max(states, key=lambda s: _STATE_RANK.index(s) if s in _STATE_RANK else 2)


def main(arguments: dict[str, Any]) -> dict[str, Any]:
    """Run the DAG once; the result maps task ids to state, error and value."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk.bases.sensor import BaseSensorOperator

    bag = DagBag(dag_folder=arguments["dags"])
    dag = bag.dags.get(arguments["dag_id"])
    if dag is None:
        return {"error": f"DAG {arguments['dag_id']!r} did not load: {bag.import_errors}"}
    errors: dict[str, str] = {}
    objects: dict[str, dict[str, int]] = {}
    for task in dag.tasks:  # one try each: a retry would wait out its retry_delay
        task.retries = 0
        if isinstance(task, BaseSensorOperator):  # one poke, then fail instead of waiting
            task.mode, task.timeout = "poke", 0
            task.deferrable = False
    requests: dict[str, int] = {}
    calls: dict[str, list[str]] = {}
    with (
        s3_stand_in(arguments["s3_buckets"], arguments["s3_objects"]) as s3,
        smtp_sink(arguments["smtp_connections"]),
        http_stub(
            arguments["http_connections"],
            arguments["slack_connections"],
            Path(arguments["served"]["http"]),
        ) as stub,
        ftp_stand_in(arguments["ftp_connections"], Path(arguments["served"]["ftp"])),
        elasticsearch_stand_in(arguments["elasticsearch_connections"]),
        model_stand_in(arguments["model_connections"]) as model,
    ):
        awaited = arguments["s3_awaited"]
        files = arguments["files_awaited"]
        _capture_errors(dag, errors, s3, objects, awaited, model, requests, files, stub, calls)
        run = dag.test(
            logical_date=datetime.fromisoformat(arguments["logical_date"]),
            mark_success_pattern=arguments["mark_success"] or None,
        )
    states: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    for ti in run.get_task_instances():
        states.setdefault(ti.task_id, []).append(str(ti.state))
        if ti.task_id in arguments["values"] and str(ti.state) == "success":
            values[ti.task_id] = ti.xcom_pull(task_ids=ti.task_id)
    tasks = {  # a branch's skip of its other paths is raised, but is no error
        task_id: {
            "state": _worst(found),
            "error": errors.get(task_id) if _worst(found) == "failed" else None,
            "objects": objects.get(task_id, {}),
            "model_requests": requests.get(task_id, 0),
            "http_requests": calls.get(task_id, []),
        }
        for task_id, found in states.items()
    }
    succeeded = [
        item for item in arguments["rerun"] if tasks.get(item["task"], {}).get("state") == "success"
    ]
    return {
        "state": str(run.state),
        "tasks": tasks,
        "values": values,
        "reruns": _rerun(arguments["warehouse"], succeeded),
        "unit_tests": _unit_tests(arguments["unit_tests"]),
    }


def _rerun(warehouse: str, items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Row counts of each task's tables before and after running its SQL once more."""
    import duckdb

    counts: dict[str, dict[str, Any]] = {}
    with duckdb.connect(warehouse) as connection:
        for item in items:

            def count(table: str) -> int:
                found = connection.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
                return int(found[0]) if found else 0

            before = {table: count(table) for table in item["tables"]}
            try:
                connection.execute(Path(item["file"]).read_text())
            except duckdb.Error as error:
                counts[item["task"]] = {"error": str(error).splitlines()[0]}
                continue
            counts[item["task"]] = {
                table: [before[table], count(table)] for table in item["tables"]
            }
    return counts


def _unit_tests(run: dict[str, Any]) -> dict[str, list[str]]:
    """The unit tests of ``tasks.yml`` on the bundle's resources: failures by task."""
    if not run:
        return {}
    from airflow_llm.bundle.render import parse_tasks_document
    from airflow_llm.validate.unit_tests import suite_test_findings, unit_test_findings

    document = parse_tasks_document(Path(run["tasks_yml"]).read_text())
    failures: dict[str, list[str]] = {}
    for task in document.tasks:
        if not task.tests:
            continue
        relations = document.relations(task.name)
        path = Path(run["resources"]) / run["files"][task.name]
        content = path.read_text()
        if task.kind == "sql":
            found = unit_test_findings(
                content, path.name, task, relations, document.dialect, run["params"]
            )
        else:
            found = suite_test_findings(
                json.loads(content), path.name, task, relations, document.dialect, run["params"]
            )
        if found:
            failures[task.name] = [finding.message for finding in found]
    return failures
