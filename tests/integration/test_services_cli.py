"""`airflow-llm services up/status/down` (what `make services-up/-down` run), for real."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from airflow_llm.embedded.config import EmbeddedConfig

pytestmark = pytest.mark.integration


def _services(action: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "airflow_llm", "services", action],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return result.stdout


def test_up_status_down_manage_exactly_their_processes(
    tmp_path: Path, fresh_config: Callable[[Path], EmbeddedConfig]
) -> None:
    config = fresh_config(tmp_path)
    env = {
        **os.environ,
        "AIRFLOW_LLM_STATE_DIR": str(config.state_dir),
        "AIRFLOW_LLM_S3_PORT": str(config.s3_port),
        "AIRFLOW_LLM_MODEL_PORT": str(config.model_port),
    }
    try:
        started = _services("up", env)
        assert "seaweedfs: started" in started
        assert "model-server: started" in started
        status = _services("status", env)
        assert "seaweedfs: running (pid" in status
        assert "model-server: running (pid" in status
        again = _services("up", env)
        assert "seaweedfs: already running" in again
        assert "model-server: already running" in again
    finally:
        down = _services("down", env)
    assert "seaweedfs: stopped" in down
    assert "model-server: stopped" in down
    assert "stopping model server" in (tmp_path / "model-server.log").read_text()
    assert "not running" in _services("status", env)
