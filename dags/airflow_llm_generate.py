"""Specs in the bucket -> validated DAG bundles, published as Assets.

Reads specs from ``s3://<bucket>/specs/``, validates each one, plans tasks for the ones
that only describe, generates and repairs one artifact per task (mapped, in the
``llm_endpoint`` pool), renders and gates one bundle per spec, and publishes it to
``s3://<bucket>/bundles/<env>/<pipeline>/`` with an Asset event for the environment.
Specs whose published bundle is up to date are skipped; invalid ones get a report
under ``reports/`` and never stop the others.

Triggers: a manual run (params: ``spec_uris`` or ``prefix``, ``environment``,
``force``), a change to the specs Asset (an S3 event notification of a spec created
under ``specs/``, through SQS, when ``AIRFLOW_LLM_SPECS_QUEUE_URL`` is set; other
messages are logged and dropped), and polling for stores without
notifications (``AIRFLOW_LLM_POLL_SCHEDULE``, default every 10 minutes), which only
processes new or changed specs.
"""

from __future__ import annotations

import os

from airflow.sdk import Asset, AssetWatcher, Param, dag
from airflow.timetables.assets import AssetOrTimeSchedule
from airflow.timetables.trigger import CronTriggerTimetable

from airflow_llm.connections import S3_CONN_ID
from airflow_llm.deployment import BUCKET, ENVIRONMENTS, SPECS_PREFIX, specs_uri
from airflow_llm.flow import generation_flow

QUEUE_URL = os.environ.get("AIRFLOW_LLM_SPECS_QUEUE_URL")
POLL = os.environ.get("AIRFLOW_LLM_POLL_SCHEDULE", "*/10 * * * *")


def _specs_asset() -> Asset:
    if not QUEUE_URL:
        return Asset(name="airflow_llm_specs", uri=specs_uri())
    from airflow_llm.spec_events import SpecDropTrigger

    trigger = SpecDropTrigger(
        sqs_queue=QUEUE_URL,
        aws_conn_id=S3_CONN_ID,
        bucket=BUCKET,
        prefix=SPECS_PREFIX,
        wait_time_seconds=20,  # long polling: a drop reaches the trigger when SQS has it
        waiter_delay=5,
    )
    watcher = AssetWatcher(name="airflow_llm_specs_sqs", trigger=trigger)
    return Asset(name="airflow_llm_specs", uri=specs_uri(), watchers=[watcher])


@dag(
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable(POLL, timezone="UTC"), assets=_specs_asset()
    ),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    tags=["airflow-llm"],
    params={
        "spec_uris": Param([], type="array", description="spec URIs; empty: all under prefix"),
        "prefix": Param("specs/", type="string", description="key prefix of the specs"),
        "environment": Param(ENVIRONMENTS[0], enum=ENVIRONMENTS),
        "force": Param(False, type="boolean", description="regenerate even if unchanged"),
    },
    doc_md=__doc__,
)
def airflow_llm_generate() -> None:
    generation_flow(
        "{{ params.spec_uris }}", specs_uri("{{ params.prefix }}"), ["{{ params.environment }}"]
    )


airflow_llm_generate()
