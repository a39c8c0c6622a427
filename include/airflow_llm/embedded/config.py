"""Where the embedded services listen and keep their state, read from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_S3_PORT = 8333
DEFAULT_MODEL_PORT = 8091
DEFAULT_BUCKET = "airflow-llm"
DEFAULT_MODEL_ALIAS = "smollm2-135m-instruct"
# Credentials of the local development server only; real deployments use Airflow connections.
DEV_ACCESS_KEY = "airflow-llm-dev"
DEV_SECRET_KEY = "airflow-llm-dev-secret"  # noqa: S105


def default_model_threads() -> int:
    """Decode threads for the embedded model: every core, at most four."""
    return max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True)
class EmbeddedConfig:
    """Settings of the embedded S3 and model servers.

    Each comes from an ``AIRFLOW_LLM_*`` variable so two checkouts can run side by
    side on other ports and state folders.
    """

    state_dir: Path
    host: str = "127.0.0.1"
    s3_port: int = DEFAULT_S3_PORT
    model_port: int = DEFAULT_MODEL_PORT
    bucket: str = DEFAULT_BUCKET
    access_key: str = DEV_ACCESS_KEY
    secret_key: str = DEV_SECRET_KEY
    model_alias: str = DEFAULT_MODEL_ALIAS
    # llama.cpp decodes about 1.8x faster on two threads than on one on a 2-core machine.
    model_threads: int = field(default_factory=default_model_threads)
    # Four slots of 4096 tokens: one per prompt role keeps each role's shared prefix
    # (instructions and few-shot turns) in llama.cpp's prompt cache.
    model_ctx_size: int = 16384
    model_parallel: int = 4
    airflow_port: int = 8080

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> EmbeddedConfig:
        """Read ``AIRFLOW_LLM_*`` variables; unset ones keep their defaults."""
        return cls(
            state_dir=Path(environ.get("AIRFLOW_LLM_STATE_DIR", ".services")).resolve(),
            s3_port=int(environ.get("AIRFLOW_LLM_S3_PORT", DEFAULT_S3_PORT)),
            model_port=int(environ.get("AIRFLOW_LLM_MODEL_PORT", DEFAULT_MODEL_PORT)),
            bucket=environ.get("AIRFLOW_LLM_BUCKET", DEFAULT_BUCKET),
            access_key=environ.get("AIRFLOW_LLM_S3_ACCESS_KEY", DEV_ACCESS_KEY),
            secret_key=environ.get("AIRFLOW_LLM_S3_SECRET_KEY", DEV_SECRET_KEY),
            model_alias=environ.get("AIRFLOW_LLM_MODEL_ALIAS", DEFAULT_MODEL_ALIAS),
            model_threads=int(environ.get("AIRFLOW_LLM_MODEL_THREADS", default_model_threads())),
            model_ctx_size=int(environ.get("AIRFLOW_LLM_MODEL_CTX_SIZE", 16384)),
            model_parallel=int(environ.get("AIRFLOW_LLM_MODEL_PARALLEL", 4)),
            airflow_port=int(environ.get("AIRFLOW_LLM_AIRFLOW_PORT", 8080)),
        )

    @property
    def s3_endpoint(self) -> str:
        """Endpoint URL of the S3 API."""
        return f"http://{self.host}:{self.s3_port}"

    @property
    def model_base_url(self) -> str:
        """Base URL of the OpenAI-compatible API (ends in ``/v1``)."""
        return f"http://{self.host}:{self.model_port}/v1"
