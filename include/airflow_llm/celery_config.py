"""The Celery settings of the project's workers (``[celery] celery_config_options``):
Airflow's own, and the modules a worker imports once when it starts.

A Celery worker forks a process for every task instance (Airflow's supervisor, then the
task). Without a preload each of those processes imports the library and its linters
again (about 1.5 s of CPU for :mod:`airflow_llm.stages` on an idle core, several seconds
on a busy one) for tasks whose own work often takes less. Imported in the worker before
it forks, the modules are shared by every task process it starts. A worker so set up
runs the library as it was when the worker started: restart workers when it changes
(a new image does).
"""

from __future__ import annotations

from typing import Any

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

PRELOADED_MODULES = (
    "airflow.sdk.execution_time.task_runner",
    "airflow_llm.flow",
    "airflow_llm.stages",
)
"""What the generator's tasks import: the task runner, the DAG files' wiring, the stages
behind every task (with the model client, the validators and the bundle renderer)."""

CELERY_CONFIG: dict[str, Any] = {**DEFAULT_CELERY_CONFIG, "imports": PRELOADED_MODULES}
"""Airflow's Celery settings, with the modules the worker imports before forking:
``AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS=airflow_llm.celery_config.CELERY_CONFIG``."""
