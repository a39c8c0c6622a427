"""The spec -> bundle task graph, shared by the generation and the bulk regeneration DAGs.

Wiring only: each task calls one stage of :mod:`airflow_llm.stages`. ``plan`` puts the
specs in batches; each batch then moves through the mapped task group ``batch`` on its
own (generate; gate: render and gate each spec's bundle; publish), so the first bundles
are gated and published while later batches are still generated. Model-bound tasks
(plan, generate) go to the LLM queue, the gates to the gates queue
(:mod:`airflow_llm.queues`). The model-bound ones run in the ``llm_endpoint`` pool and
keep up to ``airflow_llm_batch_concurrency`` requests in flight each: pool slots x that
concurrency = about twice the endpoint's concurrency keeps the endpoint busy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from airflow.sdk import get_current_context, task, task_group

from airflow_llm.connections import S3_CONN_ID
from airflow_llm.deployment import BUNDLES_ALIAS, GATES_QUEUE, LLM_QUEUE, bundle_asset

LLM_POOL = "llm_endpoint"
SUMMARY_KEYS = ("uri", "environment", "pipeline", "status", "reason", "bundle_uri", "report_uri")

PUBLISH_THREADS = 8
"""Bundles of a batch published at once: each is a few S3 round trips. Gates run one at a
time (each smoke run's child may take 4 GiB)."""

log = logging.getLogger(__name__)


def _ctx() -> Any:
    from airflow_llm.stages import context_for_run

    context = get_current_context()
    return context_for_run(context["params"], context["run_id"])


def _label(value: str) -> None:
    get_current_context()["label"] = value  # type: ignore[typeddict-unknown-key]


@task
def prepare(spec_uris: Any, prefix_uri: str, environments: Any) -> list[dict[str, Any]]:
    """Find the spec files (the given URIs, or every spec under the prefix), parse and
    validate every one for every environment; return the ones to generate.

    The others (unchanged, or rejected with a report) go to ``summarize`` under the XCom
    key ``skipped``, so a run over unchanged specs maps nothing.
    """
    from airflow_llm.intake import discover_spec_uris
    from airflow_llm.stages import prepare as run

    uris = list(spec_uris) or discover_spec_uris(prefix_uri, S3_CONN_ID)
    ready, skipped = run(uris, list(environments), _ctx())
    get_current_context()["ti"].xcom_push(key="skipped", value=skipped)
    return ready


@task(pool=LLM_POOL, queue=LLM_QUEUE)
def plan(prepared: Any) -> list[list[dict[str, Any]]]:
    """Give every ready spec its tasks (the planner for description-only specs) and put
    the specs in batches of about ``airflow_llm_batch_size`` tasks, one per instance of
    the group ``batch``."""
    from airflow_llm.stages import batches
    from airflow_llm.stages import plan as run

    ctx = _ctx()
    return batches(run(list(prepared), ctx), ctx.batch_size)


def _label_batch(specs: list[dict[str, Any]]) -> None:
    first = specs[0] if specs else {"environment": "-", "pipeline": "-"}
    more = f" +{len(specs) - 1}" if len(specs) > 1 else ""
    _label(f"{first['environment']}: {first['pipeline']}{more}")


@task(pool=LLM_POOL, queue=LLM_QUEUE, map_index_template="{{ label }}")
def generate(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Answer, validate and repair the artifacts of every task of a batch of specs."""
    from airflow_llm.stages import generate as run

    _label_batch(specs)
    return run(specs, _ctx())


@task(queue=GATES_QUEUE, trigger_rule="all_done", map_index_template="{{ label }}")
def gate(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Render each spec's bundle and gate it: types, sandboxed import, structure, smoke
    run on sample data (or write its report when a task stayed invalid or a gate failed).
    Runs whatever became of ``generate``: a spec without its artifacts gets its report."""
    from airflow_llm.stages import build as run

    _label_batch(specs)
    ctx = _ctx()
    return each_spec(specs, lambda planned: run(planned, ctx), _last_try())


@task(outlets=[BUNDLES_ALIAS], map_index_template="{{ label }}")
def publish(gated: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Publish each gated bundle and add its environment's Asset event (only when it
    changed)."""
    from airflow_llm.stages import PUBLISHED
    from airflow_llm.stages import publish as run

    _label_batch(gated)
    ctx = _ctx()
    results = each_spec(gated, lambda item: run(item, ctx), _last_try(), PUBLISH_THREADS)
    events = get_current_context()["outlet_events"][BUNDLES_ALIAS]
    for result in results:
        if result["status"] == PUBLISHED:
            extra = {
                key: result[key]
                for key in ("pipeline", "environment", "version", "sha256", "uri", "report_uri")
            }
            events.add(bundle_asset(result["environment"]), extra=extra)
    return results


def _last_try() -> bool:
    ti = get_current_context()["ti"]
    return bool(ti.try_number > ti.max_tries)


def each_spec(
    specs: list[dict[str, Any]],
    run: Callable[[dict[str, Any]], dict[str, Any]],
    last_try: bool,
    threads: int = 1,
) -> list[dict[str, Any]]:
    """``run`` on each spec of a batch, on up to ``threads`` at once. A spec that raises
    fails the task instance once every spec has run, so Airflow retries the batch; on the
    last try it is logged and left out instead, so the batch's other specs go on and
    ``summarize`` fails the run naming it."""
    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(specs)))) as pool:
        futures = [pool.submit(run, spec) for spec in specs]
    results = []
    for spec, future in zip(specs, futures, strict=True):
        error = future.exception()
        if error is None:
            results.append(future.result())
        elif not last_try:
            raise error
        else:
            name = f"{spec['environment']}/{spec['pipeline']}"
            log.error("%s failed on its last try", name, exc_info=error)
    return results


@task_group
def batch(specs: list[dict[str, Any]]) -> Any:
    """A batch of specs: generated, then each spec's bundle gated and published, apart from
    the other batches (the first bundles publish while later batches are generated)."""
    generated: Any = generate(specs)
    gated: Any = gate(specs)
    generated >> gated
    return publish(gated)


@task(trigger_rule="all_done")
def summarize(skipped: Any, results: Any, planned: Any) -> list[dict[str, Any]]:
    """One line per spec and environment: published, unchanged or rejected and why, with
    its model tokens and USD; the run's total goes to the XCom key ``usage``.

    A spec of ``planned`` whose bundle result never came (its gate or publish failed
    after its retries) fails the run once the others are summarized: the run is not
    green while a bundle it was asked for is missing. A spec the gates refused is a
    result ("rejected"), not a failure."""
    from airflow.sdk.bases.xcom import BaseXCom
    from airflow.sdk.exceptions import AirflowFailException

    from airflow_llm.report import cost_text
    from airflow_llm.usage import USAGE_KEY, item_usage, run_usage

    finished = _each(results)
    if not finished:  # the group always has an instance: an idle one when no spec is ready
        raise AirflowFailException("no bundle result reached the summary: see the failed tasks")
    done = [result for result in [*skipped, *finished] if result.get("status") != "idle"]
    rows = [{key: result.get(key) for key in SUMMARY_KEYS} | item_usage(result) for result in done]
    rows.sort(key=lambda row: (str(row["uri"]), str(row["environment"])))
    for row in rows:
        reason = row.get("reason") or ""
        print(
            f"{row['status']:>10}  {row['environment']:<8} {row['pipeline']}  "
            f"{cost_text(row)}  {reason}"
        )
    usage = run_usage(rows)
    ti = get_current_context()["ti"]
    ti.xcom_push(key=USAGE_KEY, value=usage)
    tokens = usage["prompt_tokens"] + usage["completion_tokens"]
    print(f"run: {len(rows)} bundles, {tokens} model tokens, cost {cost_text(usage)}")
    missing = unfinished(_each(planned), finished)
    if missing:
        ti.xcom_push(key=BaseXCom.XCOM_RETURN_KEY, value=rows)  # the summary stays readable
        raise AirflowFailException(
            f"{len(missing)} bundle(s) not finished, their gate or publish failed (see its "
            f"log): {', '.join(missing)}"
        )
    return rows


def _each(values: Any) -> list[dict[str, Any]]:
    """A mapped task's per-batch lists of results as one list: Airflow reads them all in
    one request, gives the value itself when there is one, and none when every instance
    failed."""
    if values is None:
        return []
    if isinstance(values, dict):
        return [values]
    flat: list[dict[str, Any]] = []
    for value in values:
        flat += [value] if isinstance(value, dict) else list(value or [])
    return flat


def unfinished(planned: list[dict[str, Any]], finished: list[dict[str, Any]]) -> list[str]:
    """The specs (``environment/pipeline``) of ``planned`` that no result in ``finished``
    is about."""

    def key(item: dict[str, Any]) -> str:
        return f"{item.get('environment')}/{item.get('pipeline')}"

    done = {key(result) for result in finished}
    return [key(item) for item in planned if item.get("status") != "idle" and key(item) not in done]


def generation_flow(spec_uris: Any, prefix_uri: str, environments: Any) -> Any:
    """Wire the flow for every spec in ``spec_uris`` (none: every spec under
    ``prefix_uri``) times every environment."""
    prepared: Any = prepare(spec_uris, prefix_uri, environments)  # also pushes "skipped"
    planned = plan(prepared)
    published: Any = batch.expand(specs=planned)  # the output of the group's publish
    return summarize(prepared["skipped"], published, planned)
