"""Faults on the local cluster (``make cluster-test``): a Celery worker SIGKILLed in the
middle of ``generate``, in the middle of ``publish`` and after ``publish`` made the
bundle current, and Redis restarted during a run.

The cluster runs a second worker on the ``default`` and ``llm`` queues (``worker-llm-2``)
so that killing the one running ``generate`` leaves another; tasks get the cluster's
Airflow retries (``[core] default_task_retries``, 2, 20 s apart) and the scheduler declares a killed worker's task
instance failed after 30 s without a heartbeat (``[scheduler]
task_instance_heartbeat_timeout``, 300 s by default). Each run must end in success with
the bundle published once and whole, and no model answer paid for before the kill
asked again (the client writes every answer the model gives to the response cache,
``cache/responses/`` in the bucket, so one asked again would be written again).
Recovery times and attempts are printed for docs/reliability.md (no assertion on them).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airflow_llm.cluster.config import ClusterConfig, Worker
from airflow_llm.cluster.processes import Cluster
from airflow_llm.cluster.rest import ClusterApi, wait_for
from airflow_llm.embedded.config import EmbeddedConfig, free_port_block
from airflow_llm.embedded.process import ManagedProcess, descendants
from airflow_llm.embedded.s3_server import s3_client
from airflow_llm.promotion import load_version
from airflow_llm.publish import MANIFEST, manifest_sha256

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(2400)]
REPO_ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "airflow_llm_generate"
SPECS = REPO_ROOT / "specs"
GENERATE_KILLED = "daily_revenue_rollup"
"""Five SQL tasks: generate runs long enough to be killed in the middle."""
PUBLISH_KILLED = "daily_customer_totals"
"""A pipeline not yet published when its publish is killed."""
STALE_OBJECTS = 400
GENERATE = "batch.generate"
PUBLISH = "batch.publish"
"""The generate and publish tasks of the flow's per-batch task group."""
CACHE_PREFIX = "cache/responses/"
HEARTBEAT_TIMEOUT = 30


@dataclass
class Faults:
    """The cluster under test with its second LLM worker, its API and the bucket."""

    cluster: Cluster
    api: ClusterApi
    workers: list[ManagedProcess]
    """The two workers on the ``llm`` queue."""
    s3: Any

    @property
    def bucket(self) -> str:
        """The bucket of specs, bundles, reports and the response cache."""
        return self.cluster.config.services.bucket

    def keys(self, prefix: str) -> list[str]:
        """Every object key under ``prefix``."""
        return list(self.written(prefix))

    def written(self, prefix: str) -> dict[str, Any]:
        """Every object key under ``prefix`` and when it was last written."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return {
            item["Key"]: item["LastModified"] for page in pages for item in page.get("Contents", [])
        }

    def trigger(self, pipeline: str) -> str:
        """A forced run of the generation DAG for one spec."""
        uri = f"s3://{self.bucket}/specs/{pipeline}.yml"
        return self.api.trigger(DAG_ID, {"spec_uris": [uri], "force": True})

    def task(self, run_id: str, task_id: str) -> Any | None:
        """The run's (first) instance of ``task_id``, or None before it exists."""
        found = [ti for ti in self.api.tasks(DAG_ID, run_id) if ti.task_id == task_id]
        return found[0] if found else None


@pytest.fixture(scope="module")
def faults() -> Iterator[Faults]:
    base = free_port_block(15)
    state = Path(tempfile.mkdtemp(prefix="airflow-llm-faults-"))
    state.chmod(0o755)  # PostgreSQL runs as its own account when the tests run as root
    config = ClusterConfig(
        services=EmbeddedConfig(
            state_dir=state, airflow_port=base, model_port=base + 4, s3_port=base + 10
        ),
        postgres_port=base + 5,
        redis_port=base + 6,
        worker_concurrency=1,
        llm_worker_concurrency=1,
        extra_env={
            "AIRFLOW_LLM_POLL_SCHEDULE": "0 0 1 1 *",  # runs come from the tests
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT),
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
        },
    )
    cluster = Cluster(config, REPO_ROOT / "airflow_settings.yaml", REPO_ROOT / "dags")
    queues = (config.default_queue, config.llm_queue)
    second = cluster.worker(Worker("worker-llm-2", queues, 1, base + 7))
    try:
        cluster.up()
        second.start()
        api = ClusterApi(config)
        api.wait_for_dag(DAG_ID, 600)
        api.wait_until_idle(DAG_ID, 600)
        s3 = s3_client(config.services)
        for pipeline in (GENERATE_KILLED, PUBLISH_KILLED):
            spec = (SPECS / f"{pipeline}.yml").read_bytes()
            s3.put_object(Bucket=config.services.bucket, Key=f"specs/{pipeline}.yml", Body=spec)
        first = next(p for p in cluster.airflow() if p.name == "worker-llm")
        yield Faults(cluster, api, [first, second], s3)
    finally:
        second.stop()
        cluster.down()
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(autouse=True)
def both_workers(faults: Faults) -> None:
    """Every test starts with both workers of the default and llm queues: the worker an
    earlier test killed is started again, so a kill always leaves one for the retry."""
    for worker in faults.workers:
        if worker.running_pid() is None:
            worker.start()


def _running_worker(faults: Faults, ti: Any) -> ManagedProcess | None:
    """The worker whose process tree runs the task instance (both share a hostname)."""
    for worker in faults.workers:
        pid = worker.running_pid()
        if pid is not None and ti.pid in descendants(pid):
            return worker
    return None


def _sigkill(worker: ManagedProcess) -> None:
    """SIGKILL the worker, its process group and every descendant (its task runners)."""
    pid = worker.running_pid()
    assert pid is not None
    victims = [pid, *descendants(pid)]
    os.killpg(pid, signal.SIGKILL)
    for victim in victims:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)
    wait_for(f"{worker.name} gone", lambda: worker.running_pid() is None or None, 60)


def _published_once_and_whole(
    faults: Faults, run_id: str, pipeline: str, statuses: tuple[str, ...] = ("published",)
) -> dict[str, Any]:
    """The run's summary row, checked: its status one of ``statuses``, one version of
    the pipeline in the bucket, every file of it matching the current manifest's sha256s."""
    rows = faults.api.xcom(DAG_ID, run_id, "summarize")
    assert [row["pipeline"] for row in rows] == [pipeline]
    assert rows[0]["status"] in statuses, rows
    current = faults.s3.get_object(Bucket=faults.bucket, Key=f"bundles/dev/{pipeline}/{MANIFEST}")
    sha256 = manifest_sha256(current["Body"].read().decode())
    versions = {key.split("/")[3] for key in faults.keys(f"bundle-versions/dev/{pipeline}/")}
    assert versions == {sha256[:16]}, "published once"
    load_version(faults.s3, faults.bucket, "dev", pipeline, sha256[:16], sha256)
    row: dict[str, Any] = rows[0]
    return row


def _report(faults: Faults, uri: str) -> dict[str, Any]:
    """A run's JSON report from the bucket (``s3://bucket/key``)."""
    key = uri.split("/", 3)[3]
    report: dict[str, Any] = json.loads(
        faults.s3.get_object(Bucket=faults.bucket, Key=key)["Body"].read()
    )
    return report


def _running(faults: Faults, run_id: str, task_id: str) -> Any | None:
    ti = faults.task(run_id, task_id)
    return (
        ti
        if ti is not None and ti.state is not None and ti.state.value == "running" and ti.pid
        else None
    )


def _new_answers(faults: Faults, before: int) -> int | None:
    return (len(faults.keys(CACHE_PREFIX)) - before) or None


def _any_running(faults: Faults, run_id: str) -> bool | None:
    states = [ti.state.value for ti in faults.api.tasks(DAG_ID, run_id) if ti.state is not None]
    return "running" in states or None


def test_a_worker_killed_mid_generate_the_retry_on_the_other_worker_publishes_once(
    faults: Faults,
) -> None:
    assert not faults.keys(CACHE_PREFIX), "the response cache starts empty"
    run_id = faults.trigger(GENERATE_KILLED)
    generate = wait_for("generate running", lambda: _running(faults, run_id, GENERATE), 900, 0.5)
    cached_before = len(faults.keys(CACHE_PREFIX))  # the plan's answers
    wait_for("a generate answer", lambda: _new_answers(faults, cached_before), 600, 0.5)
    victim = _running_worker(faults, generate)
    assert victim is not None, "the generate task runs on one of the two LLM workers"
    still = faults.task(run_id, GENERATE)
    assert still is not None
    assert still.state.value == "running", "killed while it ran"
    paid_for = faults.written(CACHE_PREFIX)
    paid = len(paid_for) - cached_before
    killed = time.monotonic()
    _sigkill(victim)
    finished = faults.api.wait_for_run(DAG_ID, run_id, 1800)
    recovered = time.monotonic() - killed
    retried = faults.task(run_id, GENERATE)
    print(
        f"\nkilled {victim.name} mid-generate after {paid} paid answers; run "
        f"{finished.state.value} {recovered:.0f} s later; generate try {retried.try_number}"
    )
    assert finished.state.value == "success"
    assert retried.try_number >= 2, "generate ran again"
    survivor = next(w for w in faults.workers if w is not victim)
    assert survivor.running_pid() is not None
    report = _report(
        faults, _published_once_and_whole(faults, run_id, GENERATE_KILLED)["report_uri"]
    )
    print(f"report totals: {report['totals']}")
    # the client stores every answer the model gives: one asked again is written again
    after = faults.written(CACHE_PREFIX)
    asked_again = [key for key, written in paid_for.items() if after[key] != written]
    assert asked_again == [], "answers paid for before the kill were asked again"
    print(f"answers in the cache: {len(paid_for)} at the kill, {len(after)} after the run")


def test_redis_restarted_during_a_run_the_run_finishes(faults: Faults) -> None:
    run_id = faults.trigger(GENERATE_KILLED)
    wait_for("a task of the run running", lambda: _any_running(faults, run_id), 600)
    redis = faults.cluster.redis()
    stopped = time.monotonic()
    assert redis.stop()
    time.sleep(10)
    assert redis.start()
    down = time.monotonic() - stopped
    finished = faults.api.wait_for_run(DAG_ID, run_id, 1800)
    tries = {ti.task_id: ti.try_number for ti in faults.api.tasks(DAG_ID, run_id)}
    print(
        f"\nredis down {down:.0f} s; run {finished.state.value} "
        f"{time.monotonic() - stopped:.0f} s after the stop; tries {tries}"
    )
    assert finished.state.value == "success"


def test_a_worker_killed_mid_publish_the_retry_publishes_the_bundle_once_and_whole(
    faults: Faults,
) -> None:
    run_id = faults.trigger(PUBLISH_KILLED)
    publish = wait_for("publish running", lambda: _running(faults, run_id, PUBLISH), 900, 0.2)
    victim = _running_worker(faults, publish)
    assert victim is not None, "publish runs on one of the two workers of the default queue"
    version = f"bundle-versions/dev/{PUBLISH_KILLED}/"
    wait_for("publish writing", lambda: faults.keys(version) or None, 60, 0.05)
    killed = time.monotonic()
    _sigkill(victim)
    at_kill = faults.keys(version) + faults.keys(f"bundles/dev/{PUBLISH_KILLED}/")
    finished = faults.api.wait_for_run(DAG_ID, run_id, 1800)
    retried = faults.task(run_id, PUBLISH)
    assert retried is not None
    row = _published_once_and_whole(faults, run_id, PUBLISH_KILLED, ("published", "unchanged"))
    print(
        f"\nkilled {victim.name} mid-publish with {len(at_kill)} of the bundle's objects "
        f"written; run {finished.state.value} {time.monotonic() - killed:.0f} s later; "
        f"publish try {retried.try_number}: {row['status']}"
    )
    assert finished.state.value == "success"
    assert retried.try_number >= 2, "publish ran again"


def test_a_worker_killed_after_publish_made_the_bundle_current_the_retry_announces_it(
    faults: Faults,
) -> None:
    # the pipeline's current bundle gives way to objects the publish deletes one by one
    # after its manifest write: the window in which the worker is killed
    current = f"bundles/dev/{PUBLISH_KILLED}/"
    for key in faults.keys(current):
        faults.s3.delete_object(Bucket=faults.bucket, Key=key)
    for number in range(STALE_OBJECTS):
        faults.s3.put_object(Bucket=faults.bucket, Key=f"{current}stale/{number}.py", Body=b"#")
    run_id = faults.trigger(PUBLISH_KILLED)
    publish = wait_for("publish running", lambda: _running(faults, run_id, PUBLISH), 900, 0.2)
    victim = _running_worker(faults, publish)
    assert victim is not None, "publish runs on one of the two workers of the default queue"
    manifest = current + MANIFEST
    wait_for("manifest written", lambda: manifest in faults.keys(current) or None, 120, 0.05)
    killed = time.monotonic()
    _sigkill(victim)
    stale_at_kill = len(faults.keys(f"{current}stale/"))
    finished = faults.api.wait_for_run(DAG_ID, run_id, 1800)
    retried = faults.task(run_id, PUBLISH)
    assert retried is not None
    events = faults.api.asset_events(DAG_ID, run_id)
    print(
        f"\nkilled {victim.name} after the manifest write, {stale_at_kill} stale objects "
        f"left; run {finished.state.value} {time.monotonic() - killed:.0f} s later; "
        f"publish try {retried.try_number}; {len(events)} Asset event(s)"
    )
    assert finished.state.value == "success"
    assert stale_at_kill > 0, "killed before the publish had deleted the stale files"
    assert retried.try_number >= 2, "publish ran again"
    _published_once_and_whole(faults, run_id, PUBLISH_KILLED)  # not "unchanged"
    assert faults.keys(f"{current}stale/") == [], "the retry deleted the stale files"
    assert faults.keys(f"leases/dev/{PUBLISH_KILLED}") == [], "and released the lease"
    body = faults.s3.get_object(Bucket=faults.bucket, Key=manifest)["Body"]
    sha256 = manifest_sha256(body.read().decode())
    assert [(event.extra or {}).get("sha256") for event in events] == [sha256], "announced"
