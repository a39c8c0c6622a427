"""``make cluster-demo``: the product's loop on the local cluster.

Drops the example specs into the bucket, triggers ``airflow_llm_generate`` through the
REST API and follows it through the scheduler and the Celery workers (each finished task
with its queue), prints the summary table of ``make demo``, waits for the published
bundles under ``bundles/<env>/``, then for the dag-processor to load them through
``S3DagBundle`` beside the generator's own DAGs, and runs one generated DAG on the
cluster against the local warehouse: its source tables filled with its task's stated
test rows, its table afterwards compared with the test's expected rows.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_client.client.models.dag_run_response import DAGRunResponse

from airflow_llm.cluster.config import WAREHOUSE_DB, ClusterConfig
from airflow_llm.cluster.processes import Cluster
from airflow_llm.cluster.rest import ClusterApi, wait_for
from airflow_llm.connections import S3_CONN_ID
from airflow_llm.tables import format_table

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

EXIT_OK, EXIT_FAILED = 0, 1
DAG_ID = "airflow_llm_generate"
WAREHOUSE_PIPELINE = "daily_customer_totals"
"""The example spec whose dev connection is the cluster's warehouse and whose SQL task
states a test: the generated DAG the demo runs."""
GENERATION_TIMEOUT = 3600.0
PARSE_TIMEOUT = 600.0
RUN_TIMEOUT = 900.0
AVAILABLE = ("published", "unchanged")
"""Outcomes that leave a current bundle in the bucket."""


def run_cluster_demo(
    cluster: Cluster, specs_dir: Path, warehouse_pipeline: str = WAREHOUSE_PIPELINE
) -> int:
    """Run the demo on the running ``cluster``; 0 when the generated DAG's run on the
    warehouse matched its test."""
    config = cluster.config
    os.environ.update(cluster.environment)  # read the bucket as the cluster's tasks do
    from airflow_llm.demo import SUMMARY_HEADERS, summary_row
    from airflow_llm.storage import storage_path, upload_specs

    clock = _Clock()
    api = ClusterApi(config)
    api.wait_for_dag(DAG_ID, PARSE_TIMEOUT)
    # unpausing the DAG on the first `cluster up` starts a run for the last poll tick
    api.wait_until_idle(DAG_ID, GENERATION_TIMEOUT)
    bucket = config.services.bucket
    uploaded = upload_specs(specs_dir, storage_path(f"s3://{bucket}/specs/", S3_CONN_ID))
    clock.say(f"uploaded {len(uploaded)} specs from {specs_dir}/ to s3://{bucket}/specs/")
    run_id = api.trigger(DAG_ID, {"prefix": "specs/", "environment": config.environment})
    clock.say(f"triggered {DAG_ID} ({run_id}); each finished task with its queue:")
    run = api.wait_for_run(DAG_ID, run_id, GENERATION_TIMEOUT, _task_printer(api, clock))
    rows: list[dict[str, Any]] = api.xcom(DAG_ID, run_id, "summarize") or []
    clock.say(f"{DAG_ID} {run.state.value}")
    print(format_table(SUMMARY_HEADERS, [summary_row(row, config.services) for row in rows]))
    pipelines = sorted(str(row["pipeline"]) for row in rows if row["status"] in AVAILABLE)
    prefix = f"s3://{bucket}/bundles/{config.environment}"
    for pipeline in pipelines:
        manifest = storage_path(f"{prefix}/{pipeline}/manifest.json", S3_CONN_ID)
        wait_for(str(manifest), partial(_exists, manifest), PARSE_TIMEOUT)
    clock.say(f"{len(pipelines)} bundles under {prefix}/: {', '.join(pipelines)}")
    _print_bundle_dags(api, pipelines, clock)
    if warehouse_pipeline not in pipelines:
        print(f"{warehouse_pipeline} has no bundle in {prefix}/: no warehouse run")
        return EXIT_FAILED
    return _warehouse_run(api, config, warehouse_pipeline, clock)


def _exists(path: ObjectStoragePath) -> bool | None:
    return path.exists() or None


class _Clock:
    """Seconds since the demo started, before each line it prints."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def say(self, message: str) -> None:
        print(f"[{time.monotonic() - self.started:6.0f} s] {message}", flush=True)


def _task_printer(api: ClusterApi, clock: _Clock) -> Callable[[DAGRunResponse], None]:
    """A progress callback printing each task instance once it finished."""
    shown: set[tuple[str, int]] = set()

    def show(run: DAGRunResponse) -> None:
        for ti in api.tasks(run.dag_id, run.dag_run_id):
            state = ti.state.value if ti.state is not None else ""
            if state in ("success", "failed", "skipped", "upstream_failed") and (
                (ti.task_id, ti.map_index) not in shown
            ):
                shown.add((ti.task_id, ti.map_index))
                label = f"[{ti.rendered_map_index or ti.map_index}]" if ti.map_index >= 0 else ""
                took = f"{ti.duration:.0f} s" if ti.duration is not None else "-"
                clock.say(f"  {ti.task_id}{label}: {state}, queue {ti.queue}, {took}")

    return show


def _print_bundle_dags(api: ClusterApi, pipelines: list[str], clock: _Clock) -> None:
    """Wait for the dag-processor to load each bundle's DAG; list every DAG by bundle."""
    for pipeline in pipelines:
        api.wait_for_dag(pipeline, PARSE_TIMEOUT)
    clock.say("the dag-processor loaded them; every DAG of the cluster by bundle:")
    listing = api.dags.get_dags(limit=100).dags
    rows = sorted((dag.bundle_name or "-", dag.dag_id, dag.relative_fileloc) for dag in listing)
    print(format_table(("bundle", "DAG", "file"), rows))


def _warehouse_run(api: ClusterApi, config: ClusterConfig, pipeline: str, clock: _Clock) -> int:
    """Fill the warehouse from the pipeline's stated test, run its DAG for the tests'
    logical date, compare its table with the expected rows."""
    import yaml

    from airflow_llm.bundle.render import BundleLayout, parse_tasks_document
    from airflow_llm.cluster.warehouse import mismatch, seed
    from airflow_llm.storage import storage_path
    from airflow_llm.validate.sql import SAMPLE_LOGICAL_DATE

    layout = BundleLayout(pipeline)
    root = f"s3://{config.services.bucket}/bundles/{config.environment}/{pipeline}"

    def read(name: str) -> str:
        return str(storage_path(f"{root}/{layout.resource(name)}", S3_CONN_ID).read_text())

    document = parse_tasks_document(read("tasks.yml"))
    settings = yaml.safe_load(read("config.yml"))[config.environment]
    task = next(t for t in document.tasks if t.kind == "sql" and t.tests)
    test, schema = task.tests[0], str(settings["schema"])
    url = config.database_url(WAREHOUSE_DB)
    seed(url, document, task, test, schema)
    clock.say(
        f"warehouse {url}: {', '.join(s.name for s in document.sources)} filled with the "
        f"rows of {pipeline}.{task.name}'s test {test.name!r}; connection "
        f"{settings['conn_id']}"
    )
    run_id = api.trigger(pipeline, logical_date=SAMPLE_LOGICAL_DATE)
    api.unpause(pipeline)  # generated DAGs arrive paused
    run = api.wait_for_run(pipeline, run_id, RUN_TIMEOUT, _task_printer(api, clock))
    clock.say(f"{pipeline} {run_id}: {run.state.value}")
    if run.state.value != "success":
        return EXIT_FAILED
    problem = mismatch(url, document, task, test, schema)
    output = f"{schema}.{document.outputs[task.name].name}"
    print(f"{output} after the run: {problem or 'the rows the test expects'}")
    return EXIT_FAILED if problem else EXIT_OK
