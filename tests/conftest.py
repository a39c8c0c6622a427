"""Test-wide set-up: an isolated Airflow home, and the embedded services as fixtures.

The integration fixtures start the real SeaweedFS and llama.cpp servers through the
same code as ``make services-up`` (``EmbeddedServices``), on free ports and in a
temporary state folder, so tests never touch a developer's running services.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

# Airflow reads its configuration at import time: isolate it before any test imports it.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="airflow-llm-test-home-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO_ROOT / "dags")
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"

from airflow_llm.connections import embedded_connections  # noqa: E402
from airflow_llm.embedded.config import EmbeddedConfig  # noqa: E402
from airflow_llm.embedded.process import ManagedProcess  # noqa: E402
from airflow_llm.embedded.services import EmbeddedServices  # noqa: E402


def config_on_free_ports(state_dir: Path) -> EmbeddedConfig:
    """Embedded-service settings on free ports, keeping state in ``state_dir``.

    The model server decodes on one thread: ``make test`` runs two test workers on two
    cores, and llama.cpp's threads spin-wait when they share a core with other work
    (the real-model tests took 6 times longer with two threads).
    """
    return replace(EmbeddedConfig.on_free_ports(state_dir), model_threads=1)


@pytest.fixture(scope="session")
def fresh_config() -> Callable[[Path], EmbeddedConfig]:
    """A factory of :func:`config_on_free_ports`, for tests that start their own services."""
    return config_on_free_ports


@pytest.fixture(scope="session")
def embedded_config(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedConfig:
    """Embedded-service settings shared by the session's S3 and model server fixtures."""
    return config_on_free_ports(tmp_path_factory.mktemp("services"))


@contextmanager
def _serving(process: ManagedProcess) -> Iterator[None]:
    process.start()
    try:
        yield
    finally:
        process.stop()


@pytest.fixture(scope="session")
def s3_server(embedded_config: EmbeddedConfig) -> Iterator[EmbeddedConfig]:
    """A running SeaweedFS S3 server with the bucket created; stopped after the session."""
    with _serving(EmbeddedServices(embedded_config).s3()):
        yield embedded_config


@pytest.fixture(scope="session")
def model_server(embedded_config: EmbeddedConfig) -> Iterator[EmbeddedConfig]:
    """A running llama.cpp server with SmolLM2-135M; stopped after the session."""
    with _serving(EmbeddedServices(embedded_config).model()):
        yield embedded_config


@pytest.fixture
def s3_connection(s3_server: EmbeddedConfig, monkeypatch: pytest.MonkeyPatch) -> EmbeddedConfig:
    """``AIRFLOW_CONN_*`` variables pointing at the test S3 server."""
    for name, value in embedded_connections(s3_server).items():
        monkeypatch.setenv(name, value)
    return s3_server


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated metadata database (SQLite) in the isolated Airflow home."""
    airflow = str(Path(sys.executable).parent / "airflow")
    subprocess.run([airflow, "db", "migrate"], check=True, capture_output=True)
    subprocess.run(
        [airflow, "pools", "set", "llm_endpoint", "2", "model endpoint concurrency"],
        check=True,
        capture_output=True,
    )
    return _AIRFLOW_HOME
