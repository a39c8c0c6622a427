"""Bulk runs of the real generation DAG against the benchmark endpoint, and the no-op rerun.

Each bulk run is one ``dag.test()`` of ``airflow_llm_generate`` over the bench specs on
the embedded SeaweedFS, with a fresh benchmark endpoint (its own model name, so its
responses are not cached yet). The bundle gates are stubbed in these runs: a gate
costs tens of seconds of CPU per bundle (see the gate figure) and would swamp what is
measured here, the generation fan-out; everything else is the product as deployed.
"""

from __future__ import annotations

import functools
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from airflow_llm.generate import ArtifactGenerator
from bench.airflow_runs import (
    TimedRun,
    empty_dag,
    flow_variables,
    load_dag,
    model_connection,
    run_dag,
    set_pool,
)
from bench.cluster_figures import GENERATION_TASKS
from bench.endpoint import EndpointProcess, serve_in_own_process
from bench.gate_stub import stubbed_gates

IN_FLIGHT_PER_SLOT = 2


@dataclass(frozen=True)
class BulkCase:
    """Endpoint concurrency, tasks per mapped instance, and how many specs."""

    concurrency: int
    batch_size: int
    specs: int

    @property
    def name(self) -> str:
        """A short label, also the endpoint's model name."""
        return f"c{self.concurrency}-b{self.batch_size}-s{self.specs}"


class ValidationClock:
    """Seconds spent in the generator's validators (each artifact's checks and mypy).

    Validators run one at a time inside a batch (see ``stages._with_model``), so the
    sum is wall time.
    """

    METHODS = ("_validate_content", "_add_mypy_findings")

    def __init__(self) -> None:
        self.seconds = 0.0

    def _timed(self, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.monotonic()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds += time.monotonic() - started

        return timed

    @contextmanager
    def measuring(self) -> Iterator[None]:
        """Count validation time inside."""
        with ExitStack() as stack:
            for name in self.METHODS:
                timed = self._timed(getattr(ArtifactGenerator, name))
                stack.enter_context(mock.patch.object(ArtifactGenerator, name, timed))
            yield


@contextmanager
def serving(case: BulkCase, seconds_per_token: float, work_dir: Path) -> Iterator[EndpointProcess]:
    """A fresh benchmark endpoint for ``case`` in its own process, set as the model
    connection, with the flow's batch size, the pool (the endpoint's concurrency) and
    twice that in flight per instance (the endpoint queues the rest, so it never waits
    for validation)."""
    model = f"bench-{case.name}"
    with serve_in_own_process(case.concurrency, seconds_per_token, model, work_dir) as endpoint:
        model_connection(endpoint.base_url, model)
        # the benchmark endpoint writes code: the flow runs free-form
        flow_variables(case.batch_size, IN_FLIGHT_PER_SLOT * case.concurrency, "free")
        set_pool(case.concurrency)
        yield endpoint


def bulk_run(case: BulkCase, spec_uris: list[str], endpoint: EndpointProcess) -> dict[str, Any]:
    """One bulk run of ``airflow_llm_generate``; its figures."""
    clock = ValidationClock()
    with stubbed_gates(), clock.measuring():
        run = run_dag(
            load_dag("airflow_llm_generate"),
            {"spec_uris": spec_uris[: case.specs], "environment": "dev"},
        )
    return _figures(case, run, endpoint, clock.seconds)


def _figures(
    case: BulkCase, run: TimedRun, endpoint: EndpointProcess, validation: float
) -> dict[str, Any]:
    books = endpoint.books()
    ideal, packed = books.ideal_seconds(case.concurrency), books.packed_seconds(case.concurrency)
    generation = run.until_end_of(*GENERATION_TASKS)
    return {
        "case": case.name,
        "endpoint_concurrency": case.concurrency,
        "in_flight_per_instance": IN_FLIGHT_PER_SLOT * case.concurrency,
        "batch_size": case.batch_size,
        "specs": case.specs,
        "state": run.state,
        "statuses": dict(Counter(row["status"] for row in run.rows)),
        "endpoint": books.snapshot(),
        "ideal_seconds": round(ideal, 2),
        "packed_seconds": round(packed, 2),
        "generation_seconds": round(generation, 2),
        "run_seconds": round(run.seconds, 2),
        "generation_ratio": round(generation / ideal, 3) if ideal else None,
        "generation_packed_ratio": round(generation / packed, 3) if packed else None,
        "run_ratio": round(run.seconds / ideal, 3) if ideal else None,
        "task_seconds": {
            task: {"instances": run.instances(task), "seconds": round(run.busy_seconds(task), 2)}
            for task in sorted({timing.task_id for timing in run.tasks})
        },
        "validation_seconds": round(validation, 2),
        "validation_share": round(validation / generation, 3) if generation else None,
        "after_generation_seconds": round(run.seconds - generation, 2),
    }


def noop_run(endpoint: EndpointProcess) -> dict[str, Any]:
    """``airflow_llm_regenerate`` right after a bulk run over the same, unchanged specs."""
    calls = endpoint.books().requests
    startup = run_dag(empty_dag())
    run = run_dag(load_dag("airflow_llm_regenerate"))
    return {
        "state": run.state,
        "statuses": dict(Counter(row["status"] for row in run.rows)),
        "model_calls": endpoint.books().requests - calls,
        "run_seconds": round(run.seconds, 2),
        "empty_dag_seconds": round(startup.seconds, 2),
        "beyond_startup_seconds": round(run.seconds - startup.seconds, 2),
        "task_instances": len(run.tasks),
    }
