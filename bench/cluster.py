"""Bulk runs of the generation DAG on a local cluster (``make bench-cluster``, and the
last part of ``make bench`` when PostgreSQL and Redis are installed).

A cluster of its own (:class:`~airflow_llm.cluster.processes.Cluster` on free ports, in a
temporary state folder, without the model server) runs ``airflow_llm_generate`` through
its scheduler and Celery workers over the 20 bench specs, with the real gates, and
``bench_generate_gates_stubbed`` (the same graph, gates stubbed) beside it, at endpoint
concurrency 4 and 16, then over 100 specs at 16 (:data:`CASES`). Each run gets a fresh
benchmark endpoint in a process of its own (a model name of its own, so no answer comes
from the response cache); the llm worker restarts with the model connection and the
flow's Variables pointed at it; batch size, pool and worker slots are the deployment's
(batches of 100 tasks, 2 ``llm_endpoint`` slots, 4 + 2 worker slots).
The figures come from the run's task instances as the REST API returns them
(:mod:`bench.cluster_figures`). The cluster stops, whatever the outcome.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow_llm.cluster.config import PROJECT_BUNDLE, ClusterConfig, dag_bundles
from airflow_llm.cluster.postgres import postgres_bin
from airflow_llm.cluster.processes import Cluster
from airflow_llm.cluster.rest import ClusterApi
from airflow_llm.embedded.airflow_local import settings_pools
from airflow_llm.embedded.config import EmbeddedConfig, free_port_block
from airflow_llm.embedded.s3_server import s3_client
from bench.airflow_runs import LLM_POOL, REPO_ROOT, flow_variables_env, model_connection_env
from bench.bulk import IN_FLIGHT_PER_SLOT
from bench.cluster_figures import (
    POOLED_TASKS,
    TaskRecord,
    gate_figures,
    overhead_summary,
    overheads,
    phases,
    ratio,
    run_limit,
    startup_seconds,
    times,
    upstream_of,
)
from bench.endpoint import Books, serve_in_own_process
from bench.workload import SPEC_COUNT, upload_bench_specs

MOST_SPECS = 100
"""The specs the bench cluster's bucket holds; each case runs the first ones."""
GATED_DAG = "airflow_llm_generate"
STUBBED_DAG = "bench_generate_gates_stubbed"
LLM_WORKER = "worker-llm"
PARSE_TIMEOUT = 600.0
RUN_TIMEOUT = 1800.0
NEVER = "0 0 1 1 *"
"""The generator's poll schedule here: runs come from the bench."""


@dataclass(frozen=True)
class ClusterCase:
    """Endpoint concurrency, and whether the bundles go through the real gates."""

    concurrency: int
    gates: bool
    specs: int = SPEC_COUNT

    @property
    def dag_id(self) -> str:
        """The DAG the case triggers."""
        return GATED_DAG if self.gates else STUBBED_DAG

    @property
    def name(self) -> str:
        """A short label, also the endpoint's model name."""
        gates = "gates" if self.gates else "stubbed"
        return f"cluster-c{self.concurrency}-{gates}-{self.specs}-specs"


CASES = (
    *(ClusterCase(concurrency, gates) for concurrency in (4, 16) for gates in (False, True)),
    ClusterCase(16, False, MOST_SPECS),
    ClusterCase(16, True, MOST_SPECS),
)
"""The 20 bench specs at C=4 and C=16, with and without the gates; then a bulk run of 100
at C=16, where the per-run hand-offs weigh less against generation."""


def missing_prerequisites() -> list[str]:
    """The cluster's programs this machine lacks (``make cluster-prerequisites``)."""
    missing = [] if shutil.which("redis-server") else ["redis-server"]
    try:
        postgres_bin("postgres")
    except FileNotFoundError:
        missing.append("postgresql")
    return missing


@dataclass(frozen=True)
class BenchCluster:
    """A running bench cluster, its API and the URIs of the specs in its bucket."""

    cluster: Cluster
    api: ClusterApi
    spec_uris: list[str]

    def serve(self, base_url: str, model: str, case: ClusterCase) -> None:
        """Restart the llm worker pointed at the endpoint ``base_url`` serving ``model``,
        with the deployment's batch size and the case's requests in flight."""
        from airflow_llm.stages import BATCH_SIZE

        run_env = {
            **model_connection_env(base_url, model),
            **flow_variables_env(BATCH_SIZE, IN_FLIGHT_PER_SLOT * case.concurrency, "free"),
        }
        config = self.cluster.config
        pointed = replace(
            self.cluster, config=replace(config, extra_env={**config.extra_env, **run_env})
        )
        worker = next(w for w in config.workers() if w.name == LLM_WORKER)
        process = pointed.worker(worker)
        process.stop()
        process.start()


def bench_config(state_dir: Path) -> ClusterConfig:
    """A cluster on free ports in ``state_dir``, without the model server; its
    dag-processor reads the project's DAGs and ``bench/dags`` (not the published
    bundles: the bench measures the generator)."""
    base = free_port_block(15)
    config = ClusterConfig(
        services=EmbeddedConfig(
            state_dir=state_dir, airflow_port=base, model_port=base + 4, s3_port=base + 10
        ),
        postgres_port=base + 5,
        redis_port=base + 6,
        with_model=False,
    )
    bench_bundle = {
        "name": "bench",
        "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
        "kwargs": {"path": str(REPO_ROOT / "bench" / "dags")},
    }
    project_bundle = dag_bundles(config, REPO_ROOT / "dags")[0]
    extra_env = {
        "AIRFLOW_LLM_POLL_SCHEDULE": NEVER,
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(
            [project_bundle, bench_bundle]
        ),
        "AIRFLOW_LLM_WORK_DIR": str(state_dir / "work"),
        "TMPDIR": str(state_dir / "tmp"),
        # bench/dags imports bench.gate_stub; the library is this tree's, also in a clone
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "include"), str(REPO_ROOT)]),
    }
    (state_dir / "tmp").mkdir(parents=True, exist_ok=True)
    return replace(config, extra_env=extra_env)


@contextmanager
def bench_cluster() -> Iterator[BenchCluster]:
    """A bench cluster, up with both DAGs parsed, the generator's other DAGs paused and
    the specs in its bucket; stopped and its state folder removed on exit."""
    # SIGTERM (a `kill`, a CI timeout) stops the cluster too, as Ctrl-C does
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    state = Path(tempfile.mkdtemp(prefix="airflow-llm-bench-cluster-"))
    state.chmod(0o755)  # PostgreSQL runs as its own account when the bench runs as root
    cluster = Cluster(bench_config(state), REPO_ROOT / "airflow_settings.yaml", REPO_ROOT / "dags")
    try:
        cluster.up(report=lambda line: print(f"  cluster: {line}", flush=True))
        api = ClusterApi(cluster.config)
        for dag_id in (GATED_DAG, STUBBED_DAG):
            api.wait_for_dag(dag_id, PARSE_TIMEOUT)
        api.unpause(STUBBED_DAG)
        for dag in api.bundle_dags(PROJECT_BUNDLE):  # promote would re-gate each bundle
            if dag.dag_id != GATED_DAG:
                api.pause(dag.dag_id)
        api.wait_until_idle(GATED_DAG, RUN_TIMEOUT)  # the run of the first unpause
        config = cluster.config
        uris = upload_bench_specs(s3_client(config.services), config.services.bucket, MOST_SPECS)
        yield BenchCluster(cluster, api, uris)
    finally:
        cluster.down()
        stop_sandboxes(state / "tmp")
        shutil.rmtree(state, ignore_errors=True)


def stop_sandboxes(tmp: Path) -> None:
    """Stop the gates' sandbox zygotes the workers started under ``tmp`` (their
    ``TMPDIR``): one outlives its worker until 5 minutes after its last run."""
    from airflow_llm.validate.sandbox import Zygote

    for folder in tmp.glob("airflow-llm-sandbox-*/*"):
        if folder.is_dir():
            Zygote(folder).stop()


def cluster_run(
    bench: BenchCluster, case: ClusterCase, seconds_per_token: float, work: Path
) -> dict[str, Any]:
    """One run of ``case`` on the bench cluster with a fresh endpoint; its figures."""
    model = f"bench-{case.name}"
    with serve_in_own_process(case.concurrency, seconds_per_token, model, work) as endpoint:
        bench.serve(endpoint.base_url, model, case)
        load = os.getloadavg()[0]
        specs = bench.spec_uris[: case.specs]
        conf = {"spec_uris": specs, "environment": "dev", "force": True}
        run_id = bench.api.trigger(case.dag_id, conf)
        run = bench.api.wait_for_run(case.dag_id, run_id, RUN_TIMEOUT)
        books = endpoint.books()
    if run.start_date is None or run.end_date is None:
        raise RuntimeError(f"run {run_id} of {case.dag_id} finished without start or end")
    instances = bench.api.tasks(case.dag_id, run_id)
    rows = bench.api.xcom(case.dag_id, run_id, "summarize") or []
    timed = records(instances, run.start_date)
    upstream = upstream_of(bench.api.downstream(case.dag_id))
    figures = case_figures(
        case,
        bench.cluster.config,
        books,
        timed,
        (run.end_date - run.start_date).total_seconds(),
        upstream,
        len(rows),
        gate_seconds(s3_client(bench.cluster.config.services), rows),
    )
    return {
        **figures,
        "run_id": run_id,
        "state": run.state.value,
        "statuses": dict(Counter(str(row["status"]) for row in rows)),
        "tries_beyond_first": sum(max(0, ti.try_number - 1) for ti in instances),
        "load_average_at_start": round(load, 2),
        "task_instances": [asdict(record) for record in timed],
        "upstream": {task: sorted(tasks) for task, tasks in upstream.items()},
    }


def llm_pool_slots(settings_file: Path) -> int:
    """The ``llm_endpoint`` pool's slots, as the settings file creates it."""
    pools = settings_pools(settings_file)
    return int(next(pool["pool_slot"] for pool in pools if pool["pool_name"] == LLM_POOL))


def records(instances: list[Any], origin: datetime) -> list[TaskRecord]:
    """The task instances that ran, as records timed from ``origin``."""

    def since(moment: datetime | None) -> float | None:
        return None if moment is None else (moment - origin).total_seconds()

    return [
        TaskRecord(
            ti.task_id,
            ti.map_index,
            ti.queue or "",
            since(ti.queued_when),
            (ti.start_date - origin).total_seconds(),
            (ti.end_date - origin).total_seconds(),
        )
        for ti in instances
        if ti.start_date is not None and ti.end_date is not None
    ]


def gate_seconds(client: Any, rows: list[dict[str, Any]]) -> list[float]:
    """The gates' own wall seconds of each summarized bundle, from its report."""
    found = []
    for row in rows:
        if not row.get("report_uri"):
            continue
        bucket, key = str(row["report_uri"]).removeprefix("s3://").split("/", 1)
        report = json.loads(client.get_object(Bucket=bucket, Key=key)["Body"].read())
        if report.get("gate_seconds") is not None:
            found.append(float(report["gate_seconds"]))
    return found


def case_figures(
    case: ClusterCase,
    config: ClusterConfig,
    books: Books,
    timed: list[TaskRecord],
    run_seconds: float,
    upstream: dict[str, set[str]],
    specs: int,
    gate_work: list[float],
) -> dict[str, Any]:
    """Whole run / ideal and / packed floor, where the time beyond the floor went,
    scheduler overhead per task instance and, with gates, their throughput (``specs``:
    the bundles summarized; ``gate_work``: the gates' own seconds per bundle, from the
    reports)."""
    ideal, packed = books.ideal_seconds(case.concurrency), books.packed_seconds(case.concurrency)
    pool = llm_pool_slots(REPO_ROOT / "airflow_settings.yaml")
    split = phases(timed, run_seconds, packed)
    workers = config.workers()
    worker_of = {queue: worker.name for worker in workers for queue in worker.queues}
    slots = {worker.name: worker.concurrency for worker in workers}
    figures: dict[str, Any] = {
        "case": case.name,
        "dag_id": case.dag_id,
        "endpoint_concurrency": case.concurrency,
        "gates": case.gates,
        "specs": specs,
        "endpoint": books.snapshot(),
        "ideal_seconds": round(ideal, 2),
        "packed_seconds": round(packed, 2),
        "run_seconds": round(run_seconds, 2),
        "run_ratio": ratio(run_seconds, ideal),
        "run_packed_ratio": ratio(run_seconds, packed),
        "phases": split,
        "limit": run_limit(split),
        "scheduler_overhead": overhead_summary(
            overheads(timed, upstream, worker_of, slots, {t: pool for t in POOLED_TASKS}),
            startup_seconds(timed),
        ),
    }
    if case.gates:
        gates_worker = next(w for w in workers if config.gates_queue in w.queues)
        cores = min(os.cpu_count() or 1, gates_worker.concurrency)
        generated = specs / split["generation_seconds"] if split["generation_seconds"] else 0.0
        figures["gate_throughput"] = gate_figures(
            timed, specs, gate_work, gates_worker.concurrency, cores, generated
        )
    return figures


def cluster_bench(seconds_per_token: float, work: Path) -> dict[str, Any]:
    """Every case on one bench cluster: the machine, the cluster's sizes, each run
    (``work`` keeps the endpoints' books)."""
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "load_average_before": [round(load, 2) for load in os.getloadavg()],
        "runs": [],
    }
    started = time.monotonic()
    with bench_cluster() as bench:
        config = bench.cluster.config
        results["cluster_up_seconds"] = round(time.monotonic() - started, 1)
        results["parallelism"] = config.parallelism
        results["workers"] = {
            worker.name: {"queues": list(worker.queues), "slots": worker.concurrency}
            for worker in config.workers()
        }
        for case in CASES:
            print(f"  cluster: {case.name} ...", flush=True)
            results["runs"].append(cluster_run(bench, case, seconds_per_token, work))
    results["load_average_after"] = [round(load, 2) for load in os.getloadavg()]
    return results


def cluster_rows(cluster: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The table's rows for the cluster part: figure, measured, target."""
    if "skipped" in cluster:
        return [("cluster runs", "skipped", cluster["skipped"])]
    rows: list[tuple[str, str, str]] = []
    for run in cluster["runs"]:
        gated = "gates" if run["gates"] else "gates stubbed"
        label = f"cluster C={run['endpoint_concurrency']}, {run['specs']} specs, {gated}"
        target = "<= 1.15" if run["endpoint_concurrency"] == 16 and not run["gates"] else "-"
        overhead = run["scheduler_overhead"]
        rows += [
            (
                f"{label}: whole run / ideal, / packed",
                f"{times(run['run_ratio'])}, {times(run['run_packed_ratio'])}",
                f"/ packed {target}",
            ),
            (
                f"{label}: ideal, packed, run s ({run['state']})",
                f"{run['ideal_seconds']}, {run['packed_seconds']}, {run['run_seconds']}",
                "-",
            ),
            (f"{label}: run limited by", run["limit"], "-"),
            (
                f"{label}: overhead s per task instance: to queued + to running + start-up",
                f"{overhead['per_task_instance_seconds']} = {overhead['mean_to_queued_seconds']}"
                f" + {overhead['mean_to_running_seconds']} + {overhead['task_startup_seconds']}",
                "-",
            ),
            (f"{label}: overhead limited by", overhead["limit"], "-"),
        ]
        gates = run.get("gate_throughput")
        if gates and "bundles_per_second" in gates:
            rows += [
                (
                    f"{label}: bundles gated per s per core; pace vs generation",
                    f"{gates['bundles_per_second_per_core']}; {gates['pace']}",
                    "pace >= 1",
                ),
                (
                    f"{label}: gates' own s per bundle; share of a gate instance's time",
                    f"{gates['work_mean_seconds']}; {gates['work_share']}",
                    "-",
                ),
                (f"{label}: gates limited by", gates["limit"], "-"),
            ]
    return rows
