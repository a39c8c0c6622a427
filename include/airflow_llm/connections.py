"""Ids of the Airflow connections the product uses, and their embedded-service values.

Deployments define these connections in ``airflow_settings.yaml``, a secrets backend
or ``AIRFLOW_CONN_*`` variables; the CLI and tests point them at the embedded servers.
"""

from __future__ import annotations

import json

from airflow_llm.embedded.config import EmbeddedConfig

S3_CONN_ID = "airflow_llm_s3"
"""Object storage holding specs, work files, reports and bundles (conn type ``aws``)."""

MODEL_CONN_ID = "airflow_llm_model"
"""The default model endpoint (conn type ``openai``: host = base URL, password = API key)."""


def conn_env_var(conn_id: str) -> str:
    """The environment variable Airflow reads connection ``conn_id`` from."""
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def embedded_connections(config: EmbeddedConfig) -> dict[str, str]:
    """``AIRFLOW_CONN_*`` variables (JSON form) for the embedded S3 and model servers."""
    s3 = {
        "conn_type": "aws",
        "login": config.access_key,
        "password": config.secret_key,
        "extra": {"endpoint_url": config.s3_endpoint, "region_name": "us-east-1"},
    }
    model = {
        "conn_type": "openai",
        "host": config.model_base_url,
        "password": "not-needed",
        # a small model on a few CPU cores: an answer can take minutes when slots are busy
        "extra": {"model": config.model_alias, "timeout": 600},
    }
    return {
        conn_env_var(S3_CONN_ID): json.dumps(s3),
        conn_env_var(MODEL_CONN_ID): json.dumps(model),
    }
