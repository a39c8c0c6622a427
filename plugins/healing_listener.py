"""Records an incident in the bucket for every failed task of a generated DAG (one that
carries this project's bundle manifest), for the heal DAG. The logic lives in
``airflow_llm.healing``."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from airflow_llm.healing import listener


class HealingListenerPlugin(AirflowPlugin):
    """Registers the task-failure listener."""

    name = "airflow_llm_healing"
    listeners = [listener]  # noqa: RUF012 - the base class declares it a plain attribute
