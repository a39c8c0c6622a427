"""The embedded S3 and model servers as a pair: start, check, stop."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from airflow_llm.embedded.config import EmbeddedConfig
from airflow_llm.embedded.model_server import model_ready
from airflow_llm.embedded.process import ManagedProcess
from airflow_llm.embedded.s3_server import s3_ready, weed_argv


@dataclass(frozen=True)
class EmbeddedServices:
    """The two background servers of one checkout (ports and state from ``config``)."""

    config: EmbeddedConfig

    def s3(self) -> ManagedProcess:
        """The SeaweedFS S3 server."""
        return ManagedProcess(
            name="seaweedfs",
            argv=weed_argv(self.config),
            is_ready=lambda: s3_ready(self.config),
            state_dir=self.config.state_dir,
        )

    def model(self) -> ManagedProcess:
        """The llama.cpp model server (``airflow-llm serve-model``)."""
        config = self.config
        argv = [
            sys.executable,
            "-m",
            "airflow_llm",
            "serve-model",
            f"--host={config.host}",
            f"--port={config.model_port}",
            f"--threads={config.model_threads}",
            f"--ctx-size={config.model_ctx_size}",
            f"--parallel={config.model_parallel}",
            f"--alias={config.model_alias}",
        ]
        return ManagedProcess(
            name="model-server",
            argv=argv,
            is_ready=lambda: model_ready(config.model_base_url, config.model_alias),
            state_dir=config.state_dir,
        )

    def all(self, with_model: bool = True) -> list[ManagedProcess]:
        """The servers to manage, S3 first."""
        return [self.s3(), self.model()] if with_model else [self.s3()]


@contextmanager
def running(processes: Sequence[ManagedProcess]) -> Iterator[None]:
    """Start whichever of ``processes`` are not running; stop only those on exit."""
    started: list[ManagedProcess] = []
    try:
        for process in processes:
            if process.start():
                started.append(process)
        yield
    finally:
        for process in reversed(started):
            process.stop()


@contextmanager
def running_services(config: EmbeddedConfig, with_model: bool = True) -> Iterator[EmbeddedConfig]:
    """Start whichever embedded servers are not running; stop only those on exit."""
    with running(EmbeddedServices(config).all(with_model)):
        yield config
