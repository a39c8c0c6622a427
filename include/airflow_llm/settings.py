"""Knobs of a generation run."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Strategy = Literal["free", "hybrid", "auto"]
STRATEGIES: tuple[str, ...] = ("free", "hybrid", "auto")


def parse_strategy(value: str) -> Strategy:
    """``value`` (a Variable, a flag) as a strategy; ``ValueError`` naming the choices for
    anything else (a typo must not silently change how code is written)."""
    choice = value.strip().lower()
    if choice == "free":
        return "free"
    if choice == "hybrid":
        return "hybrid"
    if choice == "auto":
        return "auto"
    raise ValueError(f"strategy {value!r}: use one of {', '.join(STRATEGIES)}")


def _default_work_dir() -> Path:
    return Path(os.environ.get("AIRFLOW_LLM_WORK_DIR", Path.home() / ".cache" / "airflow-llm"))


@dataclass(frozen=True)
class GenerationSettings:
    """How hard to try and how much room the model has."""

    max_attempts: int = 3
    """Model answers per artifact (and per plan): the first plus up to two repairs."""
    context_tokens: int = 4096
    """The endpoint's context window per request (llama.cpp: n_ctx / parallel slots)."""
    max_tokens: dict[str, int] = field(
        default_factory=lambda: {"plan": 600, "sql": 500, "python": 500, "quality": 300}
    )
    """Answer budget per request role."""
    work_dir: Path = field(default_factory=_default_work_dir)
    """Persistent working state: the mypy cache lives here."""
    smoke_run: bool = True
    """Run the generated DAG on sample data before a bundle counts as valid. Off only for
    development and tests of other things (``--no-smoke-run``, the Airflow Variable
    ``airflow_llm_smoke_run``)."""
    smoke_timeout: float = 300.0
    """Seconds the smoke-run gate gives the generated DAG to run end to end."""
    strategy: Strategy = "auto"
    """How artifacts are written: ``hybrid`` (the model fills a pattern's parameters, the
    project renders), ``free`` (the model writes code), or ``auto``: hybrid where a
    pattern fits, free-form where the model answers ``custom`` or none serves the kind,
    and hybrid for free-form that fails all its repairs."""

    @contextmanager
    def scratch_dir(self, name: str) -> Iterator[Path]:
        """An emptied folder at a stable path under ``work_dir``, this process's alone
        until exit (a file lock: tasks of one worker may want the same folder).

        mypy's cache remembers files by path: checking generated code at stable paths
        keeps the cache warm and its reports pointing at the files just written.
        """
        scratch = self.work_dir / "scratch"
        scratch.mkdir(parents=True, exist_ok=True)
        with (scratch / f"{name}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            folder = scratch / name
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            yield folder

    def prompt_budget(self, role: str) -> int:
        """Tokens the prompt may use so that the answer still fits the context."""
        return self.context_tokens - self.max_tokens[role]
