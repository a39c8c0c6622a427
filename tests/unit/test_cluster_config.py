"""The local cluster's settings: one environment for every process, CeleryExecutor on
PostgreSQL and Redis, the project's DAGs beside the S3 bundle prefix, queues per worker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_llm.cluster.config import ClusterConfig, cluster_environment
from airflow_llm.cluster.processes import Cluster

REPO_ROOT = Path(__file__).resolve().parents[2]
SETTINGS = REPO_ROOT / "airflow_settings.yaml"
DAGS = REPO_ROOT / "dags"


def test_defaults_keep_the_cluster_apart_from_make_up(tmp_path: Path) -> None:
    config = ClusterConfig.from_env({})
    assert config.state_dir == Path(".cluster").resolve()
    assert (config.services.s3_port, config.services.model_port) == (9341, 9091)
    assert (config.postgres_port, config.redis_port) == (15432, 16379)
    assert config.api_url == "http://127.0.0.1:18090"
    moved = ClusterConfig.from_env(
        {"AIRFLOW_LLM_STATE_DIR": str(tmp_path), "AIRFLOW_LLM_POSTGRES_PORT": "25432"}
    )
    assert (moved.state_dir, moved.postgres_port) == (tmp_path, 25432)


def test_every_process_shares_celery_postgres_bundles_and_queues(tmp_path: Path) -> None:
    config = ClusterConfig.from_env(
        {"AIRFLOW_LLM_STATE_DIR": str(tmp_path), "AIRFLOW_LLM_QUEUE_GATES": "cpu"}
    )
    environment = cluster_environment(config, SETTINGS, DAGS)
    assert environment["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert environment["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == (
        "postgresql+psycopg2://airflow@127.0.0.1:15432/airflow"
    )
    assert environment["AIRFLOW__CELERY__BROKER_URL"] == "redis://127.0.0.1:16379/0"
    assert environment["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == (
        "http://127.0.0.1:18090/execution/"
    )
    assert (environment["AIRFLOW_LLM_QUEUE_LLM"], environment["AIRFLOW_LLM_QUEUE_GATES"]) == (
        "llm",
        "cpu",
    )
    assert environment["AIRFLOW__OPERATORS__DEFAULT_QUEUE"] == "default"
    assert [worker.queues for worker in config.workers()] == [("default", "llm"), ("cpu",)]
    assert [worker.concurrency for worker in config.workers()] == [4, 2], "pool's 2 + 2"
    local, s3 = json.loads(environment["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"])
    assert local["kwargs"] == {"path": str(DAGS)}
    assert s3["classpath"] == "airflow.providers.amazon.aws.bundles.s3.S3DagBundle"
    assert s3["kwargs"] | {"refresh_interval": 0} == {
        "bucket_name": "airflow-llm",
        "prefix": "bundles/dev/",
        "aws_conn_id": "airflow_llm_s3",
        "refresh_interval": 0,
    }
    # the connections of airflow_settings.yaml on the cluster's S3 port, and the warehouse
    s3_conn = json.loads(environment["AIRFLOW_CONN_AIRFLOW_LLM_S3"])
    assert s3_conn["extra"]["endpoint_url"] == "http://127.0.0.1:9341"
    assert environment["AIRFLOW_CONN_WAREHOUSE_DEV"] == (
        "postgresql://airflow@127.0.0.1:15432/warehouse"
    )


def test_secrets_are_made_once_and_shared(tmp_path: Path) -> None:
    config = ClusterConfig.from_env({"AIRFLOW_LLM_STATE_DIR": str(tmp_path)})
    first = cluster_environment(config, SETTINGS, DAGS)
    second = cluster_environment(config, SETTINGS, DAGS)
    keys = ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET")
    assert [first[key] for key in keys] == [second[key] for key in keys]
    assert all(first[key] for key in keys)
    assert (tmp_path / "secrets.json").stat().st_mode & 0o077 == 0


def test_the_callers_airflow_settings_never_reach_the_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
    monkeypatch.setenv("AIRFLOW_CONN_STRAY", "postgres://elsewhere")
    config = ClusterConfig.from_env({"AIRFLOW_LLM_STATE_DIR": str(tmp_path)})
    extra = ClusterConfig(config.services, extra_env={"AIRFLOW_LLM_SPECS_QUEUE_URL": "http://q"})
    environment = Cluster(extra, SETTINGS, DAGS).environment
    assert "AIRFLOW__CORE__UNIT_TEST_MODE" not in environment
    assert "AIRFLOW_CONN_STRAY" not in environment
    assert environment["AIRFLOW_HOME"] == str(tmp_path / "airflow")
    assert environment["AIRFLOW_LLM_SPECS_QUEUE_URL"] == "http://q"
