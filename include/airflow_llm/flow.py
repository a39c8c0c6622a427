"""The spec -> bundle task graph, shared by the generation and the bulk regeneration DAGs.

Wiring only: each task calls one stage of :mod:`airflow_llm.stages`. Model-bound tasks
(plan, generate, repair) run in the ``llm_endpoint`` pool, sized to the endpoint's
concurrency.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import get_current_context, task

from airflow_llm.connections import S3_CONN_ID
from airflow_llm.deployment import BUNDLES_ALIAS, bundle_asset

LLM_POOL = "llm_endpoint"
SUMMARY_KEYS = ("uri", "environment", "pipeline", "status", "reason", "bundle_uri", "report_uri")


def _ctx() -> Any:
    from airflow_llm.stages import context_for_run

    context = get_current_context()
    return context_for_run(context["params"], context["run_id"])


def _label(value: str) -> None:
    get_current_context()["label"] = value  # type: ignore[typeddict-unknown-key]


@task
def discover(spec_uris: list[str], prefix_uri: str) -> list[str]:
    """The spec files to process: the given URIs, or every spec under the prefix."""
    from airflow_llm.intake import discover_spec_uris

    return list(spec_uris) or discover_spec_uris(prefix_uri, S3_CONN_ID)


@task(map_index_template="{{ label }}")
def prepare(uri: str, environment: str) -> dict[str, Any]:
    """Parse and validate one spec for one environment; skip it when unchanged."""
    from airflow_llm.stages import prepare as run

    _label(f"{environment}: {uri.rsplit('/', 1)[-1]}")
    return run(uri, environment, _ctx())


@task(pool=LLM_POOL, map_index_template="{{ label }}")
def plan(prepared: dict[str, Any]) -> dict[str, Any]:
    """Give the spec its tasks (planner for description-only specs)."""
    from airflow_llm.stages import plan as run

    _label(f"{prepared['environment']}: {prepared['pipeline']}")
    return run(prepared, _ctx())


@task
def flatten(plans: Any) -> list[dict[str, str]]:
    """One work item per task of every planned spec."""
    from airflow_llm.stages import flatten as run

    return run(list(plans))


@task(pool=LLM_POOL, map_index_template="{{ label }}")
def generate(item: dict[str, str]) -> dict[str, str]:
    """The first answer for one task."""
    from airflow_llm.stages import generate as run

    _label(f"{item['pipeline']}.{item['task']}")
    return run(item, _ctx())


@task(pool=LLM_POOL, map_index_template="{{ label }}")
def repair(item: dict[str, str]) -> dict[str, Any]:
    """Validate one task's artifact and repair it (bounded)."""
    from airflow_llm.stages import repair as run

    _label(f"{item['pipeline']}.{item['task']}")
    return run(item, _ctx())


@task(trigger_rule="all_done", map_index_template="{{ label }}")
def assemble(planned: dict[str, Any]) -> dict[str, Any]:
    """Render one spec's bundle (or write its report when a task stayed invalid)."""
    from airflow_llm.stages import assemble as run

    _label(f"{planned['environment']}: {planned['pipeline']}")
    return run(planned, _ctx())


@task(map_index_template="{{ label }}")
def gate(assembled: dict[str, Any]) -> dict[str, Any]:
    """Gate one bundle: types, sandboxed import, structure, smoke run on sample data."""
    from airflow_llm.stages import gate as run

    _label(f"{assembled['environment']}: {assembled['pipeline']}")
    return run(assembled, _ctx())


@task(outlets=[BUNDLES_ALIAS], map_index_template="{{ label }}")
def publish(gated: dict[str, Any]) -> dict[str, Any]:
    """Publish one bundle and add its environment's Asset event (only when it changed)."""
    from airflow_llm.stages import PUBLISHED
    from airflow_llm.stages import publish as run

    _label(f"{gated['environment']}: {gated['pipeline']}")
    result = run(gated, _ctx())
    if result["status"] == PUBLISHED:
        extra = {
            key: result[key]
            for key in ("pipeline", "environment", "version", "sha256", "uri", "report_uri")
        }
        get_current_context()["outlet_events"][BUNDLES_ALIAS].add(
            bundle_asset(result["environment"]), extra=extra
        )
    return result


@task(trigger_rule="all_done")
def summarize(results: Any) -> list[dict[str, Any]]:
    """One line per spec and environment: published, unchanged or rejected and why."""
    rows = [{key: result.get(key) for key in SUMMARY_KEYS} for result in results]
    for row in rows:
        reason = row.get("reason") or ""
        print(f"{row['status']:>10}  {row['environment']:<8} {row['pipeline']}  {reason}")
    return rows


def generation_flow(spec_uris: Any, environments: Any) -> Any:
    """Wire the flow for every spec in ``spec_uris`` times every environment."""
    prepared = prepare.expand(uri=spec_uris, environment=environments)
    planned = plan.expand(prepared=prepared)
    generated = generate.expand(item=flatten(planned))
    repaired = repair.expand(item=generated)
    assembled = assemble.expand(planned=planned)
    repaired >> assembled
    gated = gate.expand(assembled=assembled)
    return summarize(publish.expand(gated=gated))
