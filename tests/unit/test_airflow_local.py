"""`make up` reads airflow_settings.yaml and points its connections at the embedded services."""

from __future__ import annotations

import json
from pathlib import Path

from airflow_llm.embedded.airflow_local import local_environment
from airflow_llm.embedded.config import EmbeddedConfig

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_settings_file_connections_use_loopback_and_configured_ports(tmp_path: Path) -> None:
    config = EmbeddedConfig(state_dir=tmp_path, s3_port=19333, model_port=19091, airflow_port=18080)
    environment = local_environment(REPO_ROOT / "airflow_settings.yaml", config, REPO_ROOT / "dags")
    s3 = json.loads(environment["AIRFLOW_CONN_AIRFLOW_LLM_S3"])
    model = json.loads(environment["AIRFLOW_CONN_AIRFLOW_LLM_MODEL"])
    assert s3["extra"]["endpoint_url"] == "http://127.0.0.1:19333"
    assert (s3["conn_type"], s3["login"]) == ("aws", "airflow-llm-dev")
    assert model["host"] == "http://127.0.0.1:19091/v1"
    assert (
        json.loads(environment["AIRFLOW_CONN_AIRFLOW_LLM_MODEL_PYDANTICAI"])["conn_type"]
        == "pydanticai"
    )
    assert (
        json.loads(environment["AIRFLOW_VAR_AIRFLOW_LLM_MODEL_ROUTES"])["default"]
        == "airflow_llm_model"
    )
    assert environment["AIRFLOW__API__PORT"] == "18080"
    assert environment["AIRFLOW__CORE__PLUGINS_FOLDER"] == str(REPO_ROOT / "plugins")
    assert "host.docker.internal" not in json.dumps(environment)
