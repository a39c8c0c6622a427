"""Promote published bundles: the same bytes (same sha256) from dev to staging, then prod.

Runs when the first environment's bundle Asset gets an event (a bundle was published
there). For each published version, and for each next environment in turn, the
version's files are read back and checked against its manifest (every sha256, no file
missing or added), every validator and gate of the first publish runs again on those
bytes (:mod:`airflow_llm.promotion`), an optional human approval step
(``AIRFLOW_LLM_REQUIRE_APPROVAL=true``, Airflow's HITL ApprovalOperator) waits for a
person, and the exact files are published there with an Asset event.
"""

from __future__ import annotations

import os
from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import dag, get_current_context, task

from airflow_llm.deployment import BUNDLES_ALIAS, ENVIRONMENTS, GATES_QUEUE, bundle_asset

REQUIRE_APPROVAL = os.environ.get("AIRFLOW_LLM_REQUIRE_APPROVAL", "false").lower() == "true"
SOURCE = ENVIRONMENTS[0]


@task
def published_versions() -> list[dict[str, Any]]:
    """The versions the triggering Asset events announce; for a manual run, every
    current bundle of the first environment."""
    context = get_current_context()
    events = context["triggering_asset_events"].get(bundle_asset(SOURCE), [])
    keys = ("pipeline", "version", "sha256")
    announced = [{key: e.extra[key] for key in keys} for e in events if "version" in e.extra]
    if announced or events:
        return announced
    from airflow_llm.promotion import current_versions
    from airflow_llm.stages import context_for_run

    ctx = context_for_run({}, context["run_id"])
    return current_versions(ctx.s3(), ctx.bucket, SOURCE)


def promote_to(target: str) -> Any:
    """A task promoting one version into ``target`` (mapped over the versions)."""

    @task(
        task_id=f"promote_to_{target}",
        outlets=[BUNDLES_ALIAS],
        queue=GATES_QUEUE,
        multiple_outputs=False,
    )
    def promote(item: dict[str, Any]) -> dict[str, Any]:
        from airflow_llm.promotion import promote as run
        from airflow_llm.stages import context_for_run

        context = get_current_context()
        ctx = context_for_run({}, context["run_id"])
        result = run(
            ctx.s3(),
            ctx.bucket,
            SOURCE,
            target,
            item["pipeline"],
            item["version"],
            item["sha256"],
            ctx.settings(),
            replaces=ctx.replaces(target, item["pipeline"]),
        )
        if result.published:
            extra = {**item, "environment": target, "bundle_uri": result.uri}
            context["outlet_events"][BUNDLES_ALIAS].add(bundle_asset(target), extra=extra)
        return item

    return promote


@dag(
    schedule=[bundle_asset(SOURCE)],
    catchup=False,
    max_active_runs=1,
    tags=["airflow-llm"],
    doc_md=__doc__,
)
def airflow_llm_promote() -> None:
    versions: Any = published_versions()
    for target in ENVIRONMENTS[1:]:
        if REQUIRE_APPROVAL:
            approval = ApprovalOperator(
                task_id=f"approve_{target}",
                subject=f"Promote the new airflow-llm bundles to {target}?",
                body=(
                    "Each version passed every check when it was published; its bytes"
                    " are checked again before they are written."
                ),
            )
            versions >> approval
            promoted = promote_to(target).expand(item=versions)
            approval >> promoted
        else:
            promoted = promote_to(target).expand(item=versions)
        versions = promoted


airflow_llm_promote()
