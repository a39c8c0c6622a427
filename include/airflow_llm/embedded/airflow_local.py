"""``make up``: ``airflow standalone`` on this machine, wired to the embedded services.

Connections, variables and pools come from ``airflow_settings.yaml`` (the file
``astro dev start`` loads), with the Docker host name replaced by the embedded
services' loopback addresses. Airflow runs as a managed background process, so
``make down`` stops exactly what ``make up`` started.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import yaml

from airflow_llm.embedded.config import DEFAULT_MODEL_PORT, DEFAULT_S3_PORT, EmbeddedConfig
from airflow_llm.embedded.process import ManagedProcess

DOCKER_HOST = "host.docker.internal"


def local_environment(
    settings_file: Path, config: EmbeddedConfig, dags_dir: Path
) -> dict[str, str]:
    """``AIRFLOW_*`` variables for a local Airflow: settings file values, loopback hosts,
    and the project's ``plugins/`` beside ``dags_dir`` (as in the Astro image)."""
    settings = yaml.safe_load(settings_file.read_text())["airflow"]
    environment = {
        "AIRFLOW_HOME": str((config.state_dir / "airflow").resolve()),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_dir.resolve()),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(dags_dir.resolve().parent / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__API__PORT": str(config.airflow_port),
        "AIRFLOW_LLM_BUCKET": config.bucket,
        "AIRFLOW_LLM_POLL_SCHEDULE": "*/2 * * * *",
    }
    for connection in settings.get("connections", []):
        environment[f"AIRFLOW_CONN_{connection['conn_id'].upper()}"] = json.dumps(
            _loopback(_connection(connection), config)
        )
    for variable in settings.get("variables", []):
        environment[f"AIRFLOW_VAR_{variable['variable_name'].upper()}"] = str(
            variable["variable_value"]
        )
    return environment


def _connection(entry: dict[str, Any]) -> dict[str, Any]:
    fields = {"conn_type": entry["conn_type"]}
    for key in ("host", "login", "password", "port", "schema"):
        if entry.get(f"conn_{key}") is not None:
            fields[key] = entry[f"conn_{key}"]
    if entry.get("conn_extra"):
        fields["extra"] = entry["conn_extra"]
    return fields


def _loopback(connection: dict[str, Any], config: EmbeddedConfig) -> dict[str, Any]:
    text = json.dumps(connection)
    text = text.replace(f"{DOCKER_HOST}:{DEFAULT_S3_PORT}", f"{config.host}:{config.s3_port}")
    text = text.replace(f"{DOCKER_HOST}:{DEFAULT_MODEL_PORT}", f"{config.host}:{config.model_port}")
    loopback: dict[str, Any] = json.loads(text.replace(DOCKER_HOST, config.host))
    return loopback


def airflow_process(settings_file: Path, config: EmbeddedConfig, dags_dir: Path) -> ManagedProcess:
    """``airflow standalone`` as a managed background process."""
    environment = {**os.environ, **local_environment(settings_file, config, dags_dir)}
    bin_dir = str(Path(sys.executable).parent)  # standalone starts `airflow ...` children
    environment["PATH"] = os.pathsep.join([bin_dir, environment.get("PATH", "")])
    airflow = str(Path(bin_dir) / "airflow")
    url = f"http://{config.host}:{config.airflow_port}/api/v2/monitor/health"

    def ready() -> bool:
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    return ManagedProcess(
        name="airflow",
        argv=[airflow, "standalone"],
        is_ready=ready,
        state_dir=config.state_dir,
        env=environment,
        startup_timeout=240,
        stop_timeout=60,
    )


def prepare_metadata(settings_file: Path, config: EmbeddedConfig, dags_dir: Path) -> None:
    """Migrate the metadata database and create the pools of the settings file."""
    environment = {**os.environ, **local_environment(settings_file, config, dags_dir)}
    migrate_and_create_pools(settings_file, environment)


def settings_pools(settings_file: Path) -> list[dict[str, Any]]:
    """The pools the settings file creates (``pool_name``, ``pool_slot``, description)."""
    pools: list[dict[str, Any]] = yaml.safe_load(settings_file.read_text())["airflow"].get(
        "pools", []
    )
    return pools


def migrate_and_create_pools(settings_file: Path, environment: Mapping[str, str]) -> None:
    """``airflow db migrate`` and the pools of the settings file, for the Airflow that
    ``environment`` configures."""
    airflow = str(Path(sys.executable).parent / "airflow")
    subprocess.run([airflow, "db", "migrate"], env=environment, check=True, capture_output=True)
    for pool in settings_pools(settings_file):
        command = [airflow, "pools", "set", pool["pool_name"], str(pool["pool_slot"])]
        command.append(pool.get("pool_description", ""))
        subprocess.run(command, env=environment, check=True, capture_output=True)
