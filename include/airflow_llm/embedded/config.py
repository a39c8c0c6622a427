"""Where the embedded services listen and keep their state, read from the environment."""

from __future__ import annotations

import os
import random
import socket
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


def _ports_free(ports: list[int]) -> bool:
    for port in ports:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_port_block(size: int) -> int:
    """A base port such that base..base+size-1 and their +10000 gRPC twins are free.

    Ports come from below the kernel's ephemeral range (32768+), so the outgoing
    connections of the servers themselves can never take a port they are about to bind.
    """
    rng = random.SystemRandom()
    for _ in range(200):
        base = rng.randrange(10000, 22000)
        ports = [base + i for i in range(size)] + [base + i + 10000 for i in range(size)]
        if _ports_free(ports):
            return base
    raise RuntimeError("no free block of ports")


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

    @classmethod
    def on_free_ports(cls, state_dir: Path) -> EmbeddedConfig:
        """Settings on free ports (S3 and the four other weed servers, then the model
        server), keeping state in ``state_dir``: for tests and benchmarks."""
        base = free_port_block(6)
        return cls(state_dir=state_dir, s3_port=base, model_port=base + 5)

    @property
    def s3_endpoint(self) -> str:
        """Endpoint URL of the S3 API."""
        return f"http://{self.host}:{self.s3_port}"

    @property
    def model_base_url(self) -> str:
        """Base URL of the OpenAI-compatible API (ends in ``/v1``)."""
        return f"http://{self.host}:{self.model_port}/v1"
