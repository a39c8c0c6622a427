"""The cluster's processes in start order, and ``up`` / ``down`` / ``status``.

Each process is a :class:`~airflow_llm.embedded.process.ManagedProcess` with a pid file
in the state folder, so ``down`` stops exactly what ``up`` started (process groups,
descendants included). A process counts as started once it answers: PostgreSQL and
Redis their own protocol, the API server its health endpoint, the scheduler,
dag-processor and triggerer their heartbeat in that endpoint, a Celery worker a ping.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import httpx

from airflow_llm.cluster.broker import redis_argv, redis_ready
from airflow_llm.cluster.config import (
    METADATA_DB,
    PROJECT_BUNDLE,
    WAREHOUSE_DB,
    ClusterConfig,
    Worker,
    cluster_environment,
)
from airflow_llm.cluster.postgres import ensure_database, init_data_dir, postgres_ready, server_argv
from airflow_llm.embedded.airflow_local import migrate_and_create_pools
from airflow_llm.embedded.process import ManagedProcess, ServiceError
from airflow_llm.embedded.services import EmbeddedServices

AIRFLOW = str(Path(sys.executable).parent / "airflow")
INHERITED_AIRFLOW_SETTINGS = ("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_", "AIRFLOW_HOME")
"""Settings of the calling shell that never reach the cluster: its own are complete."""


def celery_worker_ready(broker: str, hostname: str) -> bool:
    """True once the Celery worker ``hostname`` answers a ping through ``broker``."""
    from celery import Celery  # the cluster's commands only
    from kombu.exceptions import OperationalError
    from redis.exceptions import ConnectionError as RedisConnectionError

    app = Celery(broker=broker)
    try:
        return bool(app.control.ping(destination=[hostname], timeout=1.0))
    except (OSError, OperationalError, RedisConnectionError):  # the broker refused or closed it
        return False
    finally:
        app.close()


@dataclass(frozen=True)
class Cluster:
    """The processes of one cluster: its config, the settings file it loads
    (connections, variables, pools) and the project's DAG folder."""

    config: ClusterConfig
    settings_file: Path
    dags_dir: Path

    @cached_property
    def environment(self) -> dict[str, str]:
        """The environment of every Airflow process (the caller's, less its Airflow
        settings, plus the cluster's)."""
        inherited = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(INHERITED_AIRFLOW_SETTINGS)
        }
        return {**inherited, **cluster_environment(self.config, self.settings_file, self.dags_dir)}

    def postgres(self) -> ManagedProcess:
        """The metadata database server (and the local warehouse's)."""
        config = self.config
        return ManagedProcess(
            name="postgres",
            argv=server_argv(config.state_dir / "postgres", config.host, config.postgres_port),
            is_ready=lambda: postgres_ready(config.host, config.postgres_port),
            state_dir=config.state_dir,
            stop_timeout=60,
        )

    def redis(self) -> ManagedProcess:
        """The Celery broker."""
        config = self.config
        return ManagedProcess(
            name="redis",
            argv=redis_argv(config.host, config.redis_port, config.state_dir / "redis"),
            is_ready=lambda: redis_ready(config.broker_url),
            state_dir=config.state_dir,
        )

    def embedded(self) -> list[ManagedProcess]:
        """The embedded S3 and model servers the cluster runs (each can be left out)."""
        services = EmbeddedServices(self.config.services)
        return [
            *([services.s3()] if self.config.with_s3 else []),
            *([services.model()] if self.config.with_model else []),
        ]

    def airflow(self) -> list[ManagedProcess]:
        """API server, scheduler, dag-processor, triggerer, then the workers."""
        port = str(self.config.services.airflow_port)
        api = ["api-server", "-H", self.config.host, "-p", port, "-w", "1"]
        return [
            self._airflow("api-server", api, self._healthy("metadatabase")),
            self._airflow("scheduler", ["scheduler"], self._healthy("scheduler")),
            self._airflow("dag-processor", ["dag-processor"], self._healthy("dag_processor")),
            self._airflow("triggerer", ["triggerer"], self._healthy("triggerer")),
            *(self.worker(worker) for worker in self.config.workers()),
        ]

    def all(self) -> list[ManagedProcess]:
        """Every process, in start order."""
        return [self.postgres(), self.redis(), *self.embedded(), *self.airflow()]

    def up(self, report: Callable[[str], None] = print) -> None:
        """Start whatever is not running yet, in order, each once it is ready; on a
        failure, stop what this call started and raise."""
        config = self.config
        started: list[ManagedProcess] = []

        def start(process: ManagedProcess) -> None:
            if process.start():
                started.append(process)
                report(f"{process.name}: started")
            else:
                report(f"{process.name}: already running")

        try:
            if init_data_dir(config.state_dir / "postgres"):
                report(f"postgres: new database cluster in {config.state_dir / 'postgres'}")
            for process in [self.postgres(), self.redis(), *self.embedded()]:
                start(process)
            for database in (METADATA_DB, WAREHOUSE_DB):
                ensure_database(config.host, config.postgres_port, database)
            self._migrate()
            report("metadata database migrated; pools created")
            for process in self.airflow():
                start(process)
            for dag_id in self._unpause_generator():
                report(f"{dag_id}: unpaused")
        except BaseException:
            for process in reversed(started):
                process.stop()
            raise

    def down(self) -> list[tuple[str, bool]]:
        """Stop every process this cluster started, workers first; (name, was running)."""
        return [(process.name, process.stop()) for process in reversed(self.all())]

    def status(self) -> list[tuple[str, int | None]]:
        """Each process and its pid, or None when it is not running."""
        return [(process.name, process.running_pid()) for process in self.all()]

    def _migrate(self) -> None:
        """Migrate, create the pools, and write the project's DAGs to the database (so
        they exist before the dag-processor's first pass)."""
        try:
            migrate_and_create_pools(self.settings_file, self.environment)
            reserialize = [AIRFLOW, "dags", "reserialize", "-B", PROJECT_BUNDLE]
            subprocess.run(reserialize, env=self.environment, check=True, capture_output=True)
        except subprocess.CalledProcessError as error:
            output = (error.stderr or b"").decode(errors="replace")[-3000:]
            raise ServiceError(f"{' '.join(error.cmd[1:])} failed:\n{output}") from None

    def _unpause_generator(self) -> list[str]:
        """Unpause the generator's own DAGs the first time the cluster comes up (every
        DAG is paused at creation; later, a person's pause stands)."""
        marker = self.config.state_dir / "generator-unpaused"
        if marker.exists():
            return []
        from airflow_llm.cluster.rest import ClusterApi

        api = ClusterApi(self.config)
        paused = [dag.dag_id for dag in api.bundle_dags(PROJECT_BUNDLE) if dag.is_paused]
        for dag_id in paused:
            api.unpause(dag_id)
        marker.touch()
        return paused

    def _airflow(
        self,
        name: str,
        args: list[str],
        ready: Callable[[], bool],
        extra: dict[str, str] | None = None,
    ) -> ManagedProcess:
        return ManagedProcess(
            name=name,
            argv=[AIRFLOW, *args],
            is_ready=ready,
            state_dir=self.config.state_dir,
            env={**self.environment, **(extra or {})},
            startup_timeout=300,
            stop_timeout=90,
        )

    def worker(self, worker: Worker) -> ManagedProcess:
        """A Celery worker of this cluster (``up`` starts those of the config; a test
        starts another one on the same queues)."""
        hostname = f"{worker.name}@{socket.gethostname()}"
        args = ["celery", "worker", "-H", hostname, "-q", ",".join(worker.queues)]
        args += ["-c", str(worker.concurrency), "--without-gossip", "--without-mingle"]
        broker = self.config.broker_url
        return self._airflow(
            worker.name,
            args,
            lambda: celery_worker_ready(broker, hostname),
            {"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(worker.log_port)},
        )

    def _healthy(self, component: str) -> Callable[[], bool]:
        """Ready once the API server's health endpoint calls ``component`` healthy."""
        url = f"{self.config.api_url}/api/v2/monitor/health"

        def ready() -> bool:
            try:
                health = httpx.get(url, timeout=2).json()
            except (httpx.HTTPError, ValueError):
                return False
            return bool(health.get(component, {}).get("status") == "healthy")

        return ready
