"""The task-failure listener: an incident for every failed try of a generated DAG's task.

Registered by ``plugins/healing_listener.py``. Runs where Airflow calls task listeners
(the task's own process on a worker; the API server when a person marks a task failed).
It records only tasks of DAGs that carry this project's bundle manifest, and never
raises into Airflow: whatever goes wrong is logged and the task's failure stands as is.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from airflow.listeners import hookimpl

log = logging.getLogger(__name__)
UP_FOR_RETRY = "up_for_retry"


@hookimpl
def on_task_instance_failed(previous_state: Any, task_instance: Any, error: Any) -> None:
    """Record an incident for ``task_instance`` if its DAG is a generated bundle's."""
    try:
        record_failure(task_instance, error)
    except Exception:  # never into Airflow: the failure is the task's, not ours
        log.exception("airflow-llm: could not record the incident of a failed task")


def record_failure(task_instance: Any, error: BaseException | str | None) -> str | None:
    """Store the incident of ``task_instance``'s failed try and announce it; its URI, or
    None when the DAG is not a generated bundle's or the task will be retried (Airflow
    calls this listener for a try that fails with retries left too)."""
    from airflow_llm.healing.incidents import bundle_of

    if getattr(task_instance, "state", None) == UP_FOR_RETRY:  # a str enum
        return None

    dag_id = task_instance.dag_id
    task = getattr(task_instance, "task", None)
    dag = getattr(task, "dag", None)
    bundle = bundle_of(getattr(dag, "fileloc", None), dag_id)
    if bundle is None:
        return None
    from airflow_llm.connections import S3_CONN_ID
    from airflow_llm.deployment import BUCKET
    from airflow_llm.healing.announce import announce
    from airflow_llm.healing.incidents import incident_for, store_incident

    incident = incident_for(
        bundle,
        dag_id,
        task_instance.task_id,
        task_instance.run_id,
        _int(getattr(task_instance, "map_index", None), -1),
        _int(getattr(task_instance, "try_number", None), 1),
        error,
        os.environ.get("AIRFLOW_LLM_ENVIRONMENT"),
    )
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    uri = store_incident(S3Hook(aws_conn_id=S3_CONN_ID).get_conn(), BUCKET, incident)
    log.info("airflow-llm: incident %s recorded at %s", incident.incident_id, uri)
    announce(incident, uri)
    return uri


def _int(value: Any, default: int) -> int:
    return default if value is None else int(value)
