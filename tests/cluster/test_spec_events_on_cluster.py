"""The S3 -> SQS event path on the local cluster, end to end (``make cluster-test``).

moto in server mode is the bucket and the queue (SeaweedFS sends no S3 event
notifications): the bucket notifies the queue of objects created under ``specs/``. The
cluster (PostgreSQL, Redis, API server, scheduler, dag-processor, triggerer, two Celery
workers, the embedded llama.cpp model) runs ``airflow_llm_generate`` with its specs
Asset watched on that queue. A malformed message, an ``s3:TestEvent`` and another
bucket's notification are dropped without a run and the triggerer lives on; a spec
dropped into ``specs/`` fires the watcher, the run generates and publishes the bundle,
and the dag-processor loads it back through ``S3DagBundle``. The drop-to-run-start
latency is printed (no assertion on it). The tests share one cluster and run in order.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from airflow_llm.cluster.config import ClusterConfig
from airflow_llm.cluster.processes import Cluster
from airflow_llm.cluster.rest import ClusterApi, wait_for
from airflow_llm.embedded.config import EmbeddedConfig, free_port_block
from tests.moto_notifications import BUCKET, NotifyingBucket, notifying_bucket

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(2400)]
REPO_ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "airflow_llm_generate"
SPEC = REPO_ROOT / "specs" / "daily_customer_totals.yml"


@dataclass
class Running:
    """The cluster under test, its API, and moto's S3 and SQS clients."""

    cluster: Cluster
    api: ClusterApi
    s3: Any
    sqs: Any
    queue_url: str
    triggerer_pid: int
    earlier_runs: set[str]
    """Runs before the tests: unpausing the DAG starts one for the last poll tick."""

    def new_runs(self) -> list[Any]:
        """Runs of the generation DAG since the tests began."""
        return [r for r in self.api.runs(DAG_ID) if r.dag_run_id not in self.earlier_runs]


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    base = free_port_block(9)
    state = Path(tempfile.mkdtemp(prefix="airflow-llm-cluster-"))
    state.chmod(0o755)  # PostgreSQL runs as its own account when the tests run as root
    try:
        with notifying_bucket(base + 8) as moto:
            config = ClusterConfig(
                services=EmbeddedConfig(state_dir=state, airflow_port=base, model_port=base + 4),
                postgres_port=base + 5,
                redis_port=base + 6,
                with_s3=False,
                extra_env={
                    "AIRFLOW_CONN_AIRFLOW_LLM_S3": json.dumps(moto.connection),
                    "AIRFLOW_LLM_SPECS_QUEUE_URL": moto.queue_url,
                    "AIRFLOW_LLM_POLL_SCHEDULE": "0 0 1 1 *",  # runs come from the watcher
                },
            )
            yield from _running(config, moto)
    finally:
        shutil.rmtree(state, ignore_errors=True)


def _running(config: ClusterConfig, moto: NotifyingBucket) -> Iterator[Running]:
    cluster = Cluster(config, REPO_ROOT / "airflow_settings.yaml", REPO_ROOT / "dags")
    try:
        cluster.up()
        api = ClusterApi(config)
        api.wait_for_dag(DAG_ID, 600)
        triggerer = next(p for p in cluster.airflow() if p.name == "triggerer").running_pid()
        assert triggerer is not None
        api.wait_until_idle(DAG_ID, 600)
        earlier = {run.dag_run_id for run in api.runs(DAG_ID)}
        yield Running(cluster, api, moto.s3, moto.sqs, moto.queue_url, triggerer, earlier)
    finally:
        cluster.down()


def _dropped_three(running: Running) -> bool | None:
    return _triggerer_log(running).count("dropping message") >= 3 or None


def _queue_empty(running: Running) -> bool | None:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    counts = running.sqs.get_queue_attributes(QueueUrl=running.queue_url, AttributeNames=names)
    return all(value == "0" for value in counts["Attributes"].values()) or None


def _triggerer_log(running: Running) -> str:
    return (running.cluster.config.state_dir / "triggerer.log").read_text(errors="replace")


def test_every_process_runs_and_reports_healthy(running: Running) -> None:
    status = dict(running.cluster.status())
    assert "seaweedfs" not in status
    assert all(pid is not None for pid in status.values()), status
    health = httpx.get(f"{running.cluster.config.api_url}/api/v2/monitor/health").json()
    assert {health[c]["status"] for c in ("scheduler", "triggerer", "dag_processor")} == {"healthy"}
    generate = running.api.dag(DAG_ID)
    assert generate is not None
    assert (generate.bundle_name, generate.is_paused) == ("dags-folder", False)


def test_malformed_and_foreign_messages_are_dropped_and_the_triggerer_lives_on(
    running: Running,
) -> None:
    running.sqs.send_message(QueueUrl=running.queue_url, MessageBody="not json {")
    foreign = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": "someone-else"}, "object": {"key": "specs/x.yml"}},
            }
        ]
    }
    running.sqs.send_message(QueueUrl=running.queue_url, MessageBody=json.dumps(foreign))
    wait_for("the watcher to read the queue empty", lambda: _queue_empty(running), 300)
    wait_for(
        "the test event, malformed and foreign messages dropped",
        partial(_dropped_three, running),
        60,
    )
    assert "not JSON" in _triggerer_log(running)
    # a fired watcher shows up as a run within seconds; after a minute there is none
    time.sleep(60)
    assert running.new_runs() == []
    triggerer = next(p for p in running.cluster.airflow() if p.name == "triggerer")
    assert triggerer.running_pid() == running.triggerer_pid


def test_a_spec_drop_fires_the_watcher_and_the_run_publishes(running: Running) -> None:
    dropped = dt.datetime.now(dt.UTC)
    running.s3.put_object(Bucket=BUCKET, Key=f"specs/{SPEC.name}", Body=SPEC.read_bytes())
    run = wait_for(
        "a run of airflow_llm_generate", lambda: next(iter(running.new_runs()), None), 600
    )
    assert run.run_type.value == "asset_triggered"
    started = wait_for(
        "the run to start",
        lambda: running.api.dag_runs.get_dag_run(DAG_ID, run.dag_run_id).start_date,
        600,
    )
    print(
        f"\nspec drop -> run created: {(run.queued_at - dropped).total_seconds():.1f} s; "
        f"-> run started: {(started - dropped).total_seconds():.1f} s"
    )
    finished = running.api.wait_for_run(DAG_ID, run.dag_run_id, 1800)
    rows = running.api.xcom(DAG_ID, run.dag_run_id, "summarize")
    print(
        f"run {finished.state.value} {(finished.end_date - dropped).total_seconds():.0f} s after the drop: {rows}"
    )
    assert finished.state.value == "success"
    assert [(row["pipeline"], row["status"]) for row in rows] == [
        ("daily_customer_totals", "published")
    ]
    manifest = running.s3.get_object(
        Bucket=BUCKET, Key="bundles/dev/daily_customer_totals/manifest.json"
    )
    assert json.loads(manifest["Body"].read())["pipeline"] == "daily_customer_totals"
    assert [r.dag_run_id for r in running.new_runs()] == [run.dag_run_id], "one drop, one run"


def test_the_dag_processor_loads_the_bundle_through_s3_dag_bundle(running: Running) -> None:
    dag = running.api.wait_for_dag("daily_customer_totals", 600)
    assert dag.bundle_name == "airflow_llm_dev"
    assert not dag.has_import_errors
    bundle_dir = running.cluster.config.state_dir / "dag_bundles" / "airflow_llm_dev"
    assert (bundle_dir / "daily_customer_totals" / "dags" / "daily_customer_totals.py").is_file()


def test_down_stops_exactly_what_up_started(running: Running) -> None:
    bystander = subprocess.Popen(["sleep", "120"], start_new_session=True)
    try:
        stopped = dict(running.cluster.down())
        assert all(stopped.values()), stopped
        assert all(pid is None for _, pid in running.cluster.status())
        assert bystander.poll() is None, "a process the cluster did not start lives on"
    finally:
        bystander.kill()
        bystander.wait()
