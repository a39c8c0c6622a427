"""Self-healing of generated DAGs: each incident of a failed task, diagnosed and, where
regenerating its artifact can fix it, healed as a new bundle version in dev.

Runs when the incidents Asset gets an event (the task listener posts one through the
REST API when the deployment gives it the ``airflow_llm_api`` connection) and polls the
bucket's ``incidents/`` (``AIRFLOW_LLM_HEAL_POLL_SCHEDULE``, default every 10 minutes)
for the incidents recorded without one. A SQL or Python error in a generated artifact is
repaired by the model with the error and the failing code, through every validator and
gate of generation, and published in the first environment with an Asset event (so
promotion, with its approval, takes it further); a missing module gets a proposed
``requirements.txt`` line; transient faults and failed expectations get advice. What was
done is stored beside each incident (``analysis.json``).
"""

from __future__ import annotations

import os
from typing import Any

from airflow.sdk import dag, get_current_context, task
from airflow.timetables.assets import AssetOrTimeSchedule
from airflow.timetables.trigger import CronTriggerTimetable

from airflow_llm.deployment import (
    BUNDLES_ALIAS,
    ENVIRONMENTS,
    LLM_QUEUE,
    bundle_asset,
    incidents_asset,
)

POLL = os.environ.get("AIRFLOW_LLM_HEAL_POLL_SCHEDULE", "*/10 * * * *")
TARGET = ENVIRONMENTS[0]


@task
def incidents() -> list[str]:
    """The open incidents, one per failing task of a bundle version."""
    from airflow_llm.healing.incidents import pending
    from airflow_llm.stages import context_for_run

    ctx = context_for_run({}, get_current_context()["run_id"])
    return pending(ctx.s3(), ctx.bucket)


@task(
    outlets=[BUNDLES_ALIAS],
    queue=LLM_QUEUE,
    map_index_template="{{ label }}",
    multiple_outputs=False,
)
def heal(incident_uri: str) -> dict[str, Any]:
    """Diagnose one incident and apply its fix; announce a healed version."""
    from airflow_llm.healing.agent import heal_incident
    from airflow_llm.stages import context_for_run

    context = get_current_context()
    context["label"] = incident_uri.rsplit("/", 3)[-3]  # type: ignore[typeddict-unknown-key]
    result = heal_incident(context_for_run({}, context["run_id"]), TARGET, incident_uri)
    if result.published:
        keys = ("pipeline", "environment", "version", "sha256", "report_uri")
        extra = {key: result.result[key] for key in keys} | {"uri": result.result["bundle_uri"]}
        context["outlet_events"][BUNDLES_ALIAS].add(bundle_asset(TARGET), extra=extra)
    return result.to_dict()


@dag(
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable(POLL, timezone="UTC"), assets=incidents_asset()
    ),
    catchup=False,
    max_active_runs=1,
    tags=["airflow-llm"],
    doc_md=__doc__,
)
def airflow_llm_heal() -> None:
    heal.expand(incident_uri=incidents())


airflow_llm_heal()
