"""Where the cluster listens and keeps its state, and the Airflow settings that every one
of its processes shares (one environment, so scheduler, workers and API server agree)."""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet

from airflow_llm.cluster.broker import broker_url
from airflow_llm.cluster.postgres import database_url
from airflow_llm.connections import S3_CONN_ID, conn_env_var
from airflow_llm.embedded.airflow_local import local_environment
from airflow_llm.embedded.config import EmbeddedConfig
from airflow_llm.queues import GATES_QUEUE_VARIABLE, LLM_QUEUE_VARIABLE

CLUSTER_DEFAULTS = {
    "AIRFLOW_LLM_STATE_DIR": ".cluster",
    "AIRFLOW_LLM_S3_PORT": "9341",
    "AIRFLOW_LLM_MODEL_PORT": "9091",
    "AIRFLOW_LLM_AIRFLOW_PORT": "18090",
}
"""Defaults of the embedded settings for a cluster: its own state folder and ports, so
it runs beside ``make up`` and ``make services-up``."""
METADATA_DB = "airflow"
WAREHOUSE_DB = "warehouse"
PROJECT_BUNDLE = "dags-folder"
"""The dag bundle of the project's ``dags/``: the generator's own DAGs."""
"""The cluster's local warehouse: a database of its PostgreSQL server."""


@dataclass(frozen=True)
class Worker:
    """One Celery worker: the queues it consumes, its slots, its log server's port."""

    name: str
    queues: tuple[str, ...]
    concurrency: int
    log_port: int


@dataclass(frozen=True)
class ClusterConfig:
    """Ports, sizes and queues of the cluster; each has an ``AIRFLOW_LLM_*`` variable."""

    services: EmbeddedConfig
    """The embedded S3 and model servers; their state folder is the cluster's, their
    ``airflow_port`` the API server's port."""
    postgres_port: int = 15432
    redis_port: int = 16379
    worker_concurrency: int = 2
    """Slots of the gates worker (two workers on a 2-core machine)."""
    llm_worker_concurrency: int = 4
    """Slots of the worker for generation and the light tasks: the ``llm_endpoint`` pool's
    2 generate instances, and 2 for ``default`` (publish, summarize, the next run's
    prepare), which otherwise waited behind generation while later batches took every
    slot (``make bench-cluster``)."""
    parallelism: int = 32
    """Task instances the scheduler hands to Celery at once (``[core] parallelism``,
    Airflow's default). Beyond the workers' slots they wait in their queue in Redis. Set
    to the slots (4), queued light tasks held every one and the idle gates worker got
    nothing until they ran."""
    llm_queue: str = "llm"
    gates_queue: str = "gates"
    default_queue: str = "default"
    environment: str = "dev"
    """The bundle environment whose prefix the dag-processor reads with S3DagBundle."""
    warehouse_conn_id: str = "warehouse_dev"
    """The connection the generated DAGs of ``environment`` use, pointed at the local
    warehouse database."""
    bundle_refresh_seconds: int = 30
    with_s3: bool = True
    with_model: bool = True
    extra_env: Mapping[str, str] = field(default_factory=dict)
    """Settings laid over the cluster's own (another S3 endpoint, a specs queue URL)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> ClusterConfig:
        """Read ``AIRFLOW_LLM_*`` variables; unset ones keep the cluster's defaults."""
        return cls(
            services=EmbeddedConfig.from_env({**CLUSTER_DEFAULTS, **environ}),
            postgres_port=int(environ.get("AIRFLOW_LLM_POSTGRES_PORT", 15432)),
            redis_port=int(environ.get("AIRFLOW_LLM_REDIS_PORT", 16379)),
            worker_concurrency=int(environ.get("AIRFLOW_LLM_WORKER_CONCURRENCY", 2)),
            llm_worker_concurrency=int(environ.get("AIRFLOW_LLM_LLM_WORKER_CONCURRENCY", 4)),
            parallelism=int(environ.get("AIRFLOW_LLM_PARALLELISM", 32)),
            llm_queue=environ.get(LLM_QUEUE_VARIABLE, "llm"),
            gates_queue=environ.get(GATES_QUEUE_VARIABLE, "gates"),
        )

    @property
    def state_dir(self) -> Path:
        """Data, logs and pid files of every process of the cluster."""
        return self.services.state_dir

    @property
    def host(self) -> str:
        """The loopback address every process binds."""
        return self.services.host

    @property
    def api_url(self) -> str:
        """Base URL of the API server (UI, REST API v2, execution API)."""
        return f"http://{self.host}:{self.services.airflow_port}"

    @property
    def broker_url(self) -> str:
        """The Redis URL Celery uses."""
        return broker_url(self.host, self.redis_port)

    def database_url(self, database: str, scheme: str = "postgresql") -> str:
        """A database of the cluster's PostgreSQL server."""
        return database_url(self.host, self.postgres_port, database, scheme)

    def workers(self) -> list[Worker]:
        """One worker for generation and the light tasks, one for the CPU-bound gates."""
        port = self.services.airflow_port
        return [
            Worker(
                "worker-llm",
                (self.default_queue, self.llm_queue),
                self.llm_worker_concurrency,
                port + 2,
            ),
            Worker("worker-gates", (self.gates_queue,), self.worker_concurrency, port + 3),
        ]


def cluster_secrets(state_dir: Path) -> dict[str, str]:
    """The Fernet key, JWT secret and session key every process shares, made once and kept
    in the state folder (readable by its owner only)."""
    path = state_dir / "secrets.json"
    if path.is_file():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    values = {
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
    }
    state_dir.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps(values, indent=2))
    return values


def dag_bundles(config: ClusterConfig, dags_dir: Path) -> list[dict[str, object]]:
    """The project's ``dags/`` and the published bundles of one environment, read from
    the bucket by the amazon provider's S3DagBundle."""
    return [
        {
            "name": PROJECT_BUNDLE,
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": str(dags_dir.resolve())},
        },
        {
            "name": f"airflow_llm_{config.environment}",
            "classpath": "airflow.providers.amazon.aws.bundles.s3.S3DagBundle",
            "kwargs": {
                "bucket_name": config.services.bucket,
                "prefix": f"bundles/{config.environment}/",
                "aws_conn_id": S3_CONN_ID,
                "refresh_interval": config.bundle_refresh_seconds,
            },
        },
    ]


def cluster_environment(
    config: ClusterConfig, settings_file: Path, dags_dir: Path
) -> dict[str, str]:
    """The ``AIRFLOW_*`` and ``AIRFLOW_LLM_*`` settings of every cluster process: the
    settings file's connections, variables and plugins as ``make up`` has them, then
    CeleryExecutor on PostgreSQL and Redis, the dag bundles, the queues, the warehouse
    connection, the shared secrets, and ``extra_env`` last."""
    metadata = config.database_url(METADATA_DB, "postgresql+psycopg2")
    warehouse = config.database_url(WAREHOUSE_DB)
    bin_dir = str(Path(sys.executable).parent)
    return {
        **local_environment(settings_file, config.services, dags_dir),
        **cluster_secrets(config.state_dir),
        "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")]),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__PARALLELISM": str(config.parallelism),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{config.api_url}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata,
        "AIRFLOW__CELERY__BROKER_URL": config.broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + config.database_url(METADATA_DB),
        # workers import the library once, not once per task process
        "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "airflow_llm.celery_config.CELERY_CONFIG",
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": config.default_queue,
        # a task lost with its worker, or failed while Redis restarts, runs again
        # (docs/reliability.md, tests/cluster/test_faults_on_cluster.py)
        "AIRFLOW__CORE__DEFAULT_TASK_RETRIES": "2",
        "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": "20",
        # generated DAGs arrive paused; `up` unpauses the generator's own DAGs once
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        LLM_QUEUE_VARIABLE: config.llm_queue,
        GATES_QUEUE_VARIABLE: config.gates_queue,
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(dag_bundles(config, dags_dir)),
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH": str(config.state_dir / "dag_bundles"),
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(config.services.airflow_port + 1),
        "AIRFLOW_LLM_POLL_SCHEDULE": os.environ.get("AIRFLOW_LLM_POLL_SCHEDULE", "*/10 * * * *"),
        "AIRFLOW_LLM_ENVIRONMENT": config.environment,
        conn_env_var(config.warehouse_conn_id): warehouse,
        **config.extra_env,
    }
