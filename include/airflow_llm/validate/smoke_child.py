"""The smoke run's child process: ``dag.test()`` of one generated DAG, inside the sandbox.

Started by :mod:`airflow_llm.validate.smoke_run` as ``python -m
airflow_llm.validate.smoke_child '<json>'`` with the DAG folder, the DAG id, the
logical date and the tasks to mark successful without running. Reports every task's
state, the error it failed with, and the return value of the tasks asked for.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

from airflow_llm.validate.sandbox import report_result

_STATE_RANK = ["success", "skipped", "None", "upstream_failed", "failed"]


def _capture_errors(dag: Any, errors: dict[str, str]) -> None:
    """Record the exception each failing task raises (dag.test() only logs it)."""
    for cls in {getattr(task, "operator_class", type(task)) for task in dag.tasks}:
        cls.execute = _recording(cls.execute, errors)


def _recording(execute: Callable[..., Any], errors: dict[str, str]) -> Callable[..., Any]:
    def wrapper(self: Any, context: Any) -> Any:
        try:
            return execute(self, context)
        except BaseException as error:
            errors[self.task_id] = f"{type(error).__name__}: {error}"[:2000]
            raise

    return wrapper


def _worst(states: list[str]) -> str:
    return max(states, key=lambda s: _STATE_RANK.index(s) if s in _STATE_RANK else 2)


def main(arguments: dict[str, Any]) -> dict[str, Any]:
    """Run the DAG once; the result maps task ids to state, error and value."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=arguments["dags"])
    dag = bag.dags.get(arguments["dag_id"])
    if dag is None:
        return {"error": f"DAG {arguments['dag_id']!r} did not load: {bag.import_errors}"}
    errors: dict[str, str] = {}
    _capture_errors(dag, errors)
    for task in dag.tasks:  # one try each: a retry would wait out its retry_delay
        task.retries = 0
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
    return {
        "state": str(run.state),
        "tasks": {
            task_id: {"state": _worst(found), "error": errors.get(task_id)}
            for task_id, found in states.items()
        },
        "values": values,
    }


if __name__ == "__main__":
    report_result(main(json.loads(sys.argv[1])))
