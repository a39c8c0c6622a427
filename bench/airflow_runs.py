"""Airflow for the bench: a private home and S3 server, and timed ``dag.test()`` runs.

:func:`bench_airflow` must run before anything imports Airflow (it sets the home,
the DAG folder and the connections in the environment Airflow reads at import).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow_llm.demo import airflow_cli, isolate_airflow
from airflow_llm.embedded.config import EmbeddedConfig
from airflow_llm.embedded.services import EmbeddedServices, running

REPO_ROOT = Path(__file__).resolve().parent.parent
LLM_POOL = "llm_endpoint"


@contextmanager
def bench_airflow(work_dir: Path) -> Iterator[EmbeddedConfig]:
    """A migrated Airflow home and a SeaweedFS server on free ports under ``work_dir``,
    one environment (``dev``); the server stops on exit.

    The DAG folder holds the project's DAGs and ``bench_empty``: ``dag.test()`` parses
    the folder each time, so the empty DAG's run pays what the others pay.
    """
    config = EmbeddedConfig.on_free_ports(work_dir / "services")
    dags = work_dir / "dags"
    dags.mkdir(parents=True)
    for path in [
        *(REPO_ROOT / "dags").glob("*.py"),
        Path(__file__).parent / "dags" / "bench_empty.py",
    ]:
        shutil.copy(path, dags / path.name)
    isolate_airflow(work_dir / "airflow_home", dags, config)
    os.environ["AIRFLOW_LLM_ENVIRONMENTS"] = "dev"
    os.environ["TMPDIR"] = str(work_dir / "tmp")  # the flow's scratch and mypy cache
    (work_dir / "tmp").mkdir(parents=True, exist_ok=True)
    with running([EmbeddedServices(config).s3()]):
        airflow_cli("db", "migrate")
        yield config


def set_pool(slots: int) -> None:
    """Size the model endpoint pool (``dag.test()`` ignores pools; a deployment does not)."""
    from airflow.models.pool import Pool

    Pool.create_or_update_pool(LLM_POOL, slots, "model endpoint", include_deferred=False)


@dataclass(frozen=True)
class TaskTiming:
    """One task instance's span, in seconds from the start of its run."""

    task_id: str
    map_index: int
    start: float
    end: float


@dataclass(frozen=True)
class TimedRun:
    """A ``dag.test()`` run: its state, wall time, task spans and summary rows."""

    state: str
    seconds: float
    tasks: list[TaskTiming]
    rows: list[dict[str, Any]]

    def until_end_of(self, *task_ids: str) -> float:
        """Seconds from the start of the run to the end of the last of ``task_ids``."""
        return max((t.end for t in self.tasks if t.task_id in task_ids), default=0.0)

    def busy_seconds(self, *task_ids: str) -> float:
        """Sum of the durations of the instances of ``task_ids``."""
        return sum(t.end - t.start for t in self.tasks if t.task_id in task_ids)

    def instances(self, task_id: str) -> int:
        """How many instances of ``task_id`` ran."""
        return sum(1 for t in self.tasks if t.task_id == task_id)


def run_dag(dag: Any, conf: Mapping[str, Any] | None = None) -> TimedRun:
    """``dag.test()`` with its wall time, task spans and (if it has one) summary."""
    started = time.monotonic()
    run = dag.test(run_conf=dict(conf or {}))
    seconds = time.monotonic() - started
    instances = run.get_task_instances()
    origin = min((ti.start_date for ti in instances if ti.start_date), default=None)
    tasks = [
        TaskTiming(
            ti.task_id, ti.map_index, _since(origin, ti.start_date), _since(origin, ti.end_date)
        )
        for ti in instances
        if ti.start_date and ti.end_date
    ]
    summary = next((ti for ti in instances if ti.task_id == "summarize"), None)
    rows = (summary.xcom_pull(task_ids="summarize") or []) if summary else []
    return TimedRun(str(run.state), seconds, tasks, list(rows))


def _since(origin: datetime | None, moment: datetime) -> float:
    return (moment - origin).total_seconds() if origin else 0.0


def load_dag(dag_id: str) -> Any:
    """A DAG of the bench's DAG folder."""
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"]).get_dag(dag_id)
    if dag is None:
        raise RuntimeError(f"{dag_id} did not load")
    return dag


def empty_dag() -> Any:
    """``bench/dags/bench_empty.py``: one task that does nothing."""
    return load_dag("bench_empty")


def model_connection_env(base_url: str, model: str) -> dict[str, str]:
    """The default model connection pointed at ``base_url`` serving ``model``, as the
    environment variable Airflow reads."""
    import json

    from airflow_llm.connections import MODEL_CONN_ID, conn_env_var

    connection = {"conn_type": "openai", "host": base_url, "extra": {"model": model}}
    return {conn_env_var(MODEL_CONN_ID): json.dumps(connection)}


def model_connection(base_url: str, model: str) -> None:
    """Point the default model connection at ``base_url`` serving ``model``."""
    os.environ.update(model_connection_env(base_url, model))


def flow_variables_env(batch_size: int, concurrency: int, strategy: str) -> dict[str, str]:
    """The flow's batch size, in-instance concurrency and strategy, as the environment
    variables of the Airflow Variables."""
    return {
        "AIRFLOW_VAR_AIRFLOW_LLM_STRATEGY": strategy,
        "AIRFLOW_VAR_AIRFLOW_LLM_BATCH_SIZE": str(batch_size),
        "AIRFLOW_VAR_AIRFLOW_LLM_BATCH_CONCURRENCY": str(concurrency),
    }


def flow_variables(batch_size: int, concurrency: int, strategy: str) -> None:
    """The flow's batch size, in-instance concurrency and strategy (Airflow Variables by
    env)."""
    os.environ.update(flow_variables_env(batch_size, concurrency, strategy))
