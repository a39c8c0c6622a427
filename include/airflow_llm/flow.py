"""The spec -> bundle task graph, shared by the generation and the bulk regeneration DAGs.

Wiring only: each task calls one stage of :mod:`airflow_llm.stages`. Model-bound tasks
(plan, generate, generate_quality) go to the LLM queue, the gates to the gates queue
(:mod:`airflow_llm.queues`). Each spec's bundle then moves through the mapped task group
``bundle`` (gate: render and gate; publish) on its own: its publish starts when its gate
ends, not when every spec's has. The model-bound ones run in the ``llm_endpoint`` pool and
keep up to ``airflow_llm_batch_concurrency`` requests in flight each: pool slots x that
concurrency = about twice the endpoint's concurrency keeps the endpoint busy. Tasks that return a
dict say ``multiple_outputs=False``: TaskFlow would also push each key as an XCom of its
own, one API call each.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import get_current_context, task, task_group

from airflow_llm.connections import S3_CONN_ID
from airflow_llm.deployment import BUNDLES_ALIAS, GATES_QUEUE, LLM_QUEUE, bundle_asset

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


@task
def prepare(spec_uris: Any, environments: Any) -> list[dict[str, Any]]:
    """Parse and validate every spec for every environment; return the ones to generate.

    The others (unchanged, or rejected with a report) go to ``summarize`` under the XCom
    key ``skipped``, so a run over unchanged specs maps nothing.
    """
    from airflow_llm.stages import prepare as run

    ready, skipped = run(list(spec_uris), list(environments), _ctx())
    get_current_context()["ti"].xcom_push(key="skipped", value=skipped)
    return ready


@task(pool=LLM_POOL, queue=LLM_QUEUE)
def plan(prepared: Any) -> list[dict[str, Any]]:
    """Give every ready spec its tasks (the planner for description-only specs)."""
    from airflow_llm.stages import plan as run

    return run(list(prepared), _ctx())


@task
def batches(planned: Any) -> list[list[dict[str, str]]]:
    """Every planned spec's tasks in batches; a spec that fits in one stays whole."""
    from airflow_llm.stages import batches as run

    return run(list(planned), _ctx().batch_size)[0]


@task
def split_suites(planned: Any) -> list[list[dict[str, str]]]:
    """The quality suites of specs larger than a batch, for a second round."""
    from airflow_llm.stages import batches as run

    return run(list(planned), _ctx().batch_size)[1]


@task(pool=LLM_POOL, queue=LLM_QUEUE, map_index_template="{{ label }}")
def generate(batch: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Answer, validate and repair one batch of tasks' artifacts."""
    from airflow_llm.stages import generate as run

    first = batch[0] if batch else {"pipeline": "-", "task": "-"}
    more = f" +{len(batch) - 1}" if len(batch) > 1 else ""
    _label(f"{first['pipeline']}.{first['task']}{more}")
    return run(batch, _ctx())


generate_quality = generate.override(task_id="generate_quality", trigger_rule="all_done")
"""The second round: suites of split specs, once every batch is done (whatever became of
it: one failed batch does not stop the other specs' suites)."""


@task(
    queue=GATES_QUEUE,
    trigger_rule="all_done",
    map_index_template="{{ label }}",
    multiple_outputs=False,
)
def gate(planned: dict[str, Any]) -> dict[str, Any]:
    """Render one spec's bundle and gate it: types, sandboxed import, structure, smoke
    run on sample data (or write its report when a task stayed invalid or a gate failed).
    One task, not two: rendering takes a second, and a task instance of its own cost as
    much again on the cluster."""
    from airflow_llm.stages import build as run

    _label(f"{planned['environment']}: {planned['pipeline']}")
    return run(planned, _ctx())


@task(outlets=[BUNDLES_ALIAS], map_index_template="{{ label }}", multiple_outputs=False)
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


@task_group
def bundle(planned: dict[str, Any]) -> Any:
    """One spec's bundle: rendered and gated, then published, apart from the other specs'."""
    gated: Any = gate(planned)
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
    """A mapped task's results as a list: Airflow reads them all in one request, gives the
    value itself when there is one, and none when every instance failed."""
    if values is None:
        return []
    return [values] if isinstance(values, dict) else list(values)


def unfinished(planned: list[dict[str, Any]], finished: list[dict[str, Any]]) -> list[str]:
    """The specs (``environment/pipeline``) of ``planned`` that no result in ``finished``
    is about."""

    def key(item: dict[str, Any]) -> str:
        return f"{item.get('environment')}/{item.get('pipeline')}"

    done = {key(result) for result in finished}
    return [key(item) for item in planned if item.get("status") != "idle" and key(item) not in done]


def generation_flow(spec_uris: Any, environments: Any) -> Any:
    """Wire the flow for every spec in ``spec_uris`` times every environment."""
    prepared: Any = prepare(spec_uris, environments)  # also pushes "skipped"
    planned = plan(prepared)
    first = generate.expand(batch=batches(planned))
    suites = generate_quality.expand(batch=split_suites(planned))
    first >> suites
    published: Any = bundle.expand(planned=planned)  # the output of the group's publish
    suites >> published.operator.task_group
    return summarize(prepared["skipped"], published, planned)
