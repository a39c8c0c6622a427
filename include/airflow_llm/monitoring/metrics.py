"""A DAG's performance figures from plain data: success rate, mean and p95 run time,
cost per run. No I/O: :mod:`airflow_llm.monitoring.monitor` reads the data from
Airflow's REST API."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from airflow_llm.monitoring.slots import SlotCatalog

FINISHED = ("success", "failed")
"""Run states whose run time and cost are final."""


@dataclass(frozen=True)
class TaskTry:
    """One try of one task instance: how long it ran and on which slot."""

    task: str
    seconds: float
    queue: str | None
    executor: str | None


@dataclass(frozen=True)
class RunCost:
    """What one DAG run cost: executor slots plus model calls; None when unknown."""

    compute_usd: float | None
    model_usd: float | None
    unpriced: tuple[str, ...] = ()
    """Why a part is unknown (a queue no slot prices, a model without a price...)."""

    @property
    def total_usd(self) -> float | None:
        """Compute plus model cost, or None when either is unknown."""
        if self.compute_usd is None or self.model_usd is None:
            return None
        return round(self.compute_usd + self.model_usd, 6)


@dataclass(frozen=True)
class RunRecord:
    """One DAG run as the monitor sees it."""

    run_id: str
    state: str
    seconds: float | None
    """Wall-clock run time (end - start); None while it has not finished."""
    cost: RunCost

    @property
    def finished(self) -> bool:
        """Whether the run succeeded or failed (its time and cost are final)."""
        return self.state in FINISHED


@dataclass(frozen=True)
class DagMetrics:
    """A DAG's runs since a point in time, summarized."""

    dag_id: str
    since: datetime
    runs: int
    """Finished runs (succeeded or failed); the figures below are over these."""
    succeeded: int
    failed: int
    unfinished: int
    """Runs queued or running: counted, not measured."""
    success_rate: float | None
    mean_seconds: float | None
    p95_seconds: float | None
    cost_per_run_usd: float | None
    """Mean total cost over the priced runs; None when no run has a known cost."""
    compute_usd_per_run: float | None
    model_usd_per_run: float | None
    priced_runs: int
    unpriced: tuple[str, ...] = field(default=())
    """Why the other runs have no known cost."""


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least ``fraction`` of
    the values at or below it (``fraction`` 0.95: the p95); None for no values."""
    if not values:
        return None
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], not {fraction}")
    ordered = sorted(values)
    return ordered[math.ceil(fraction * len(ordered)) - 1]


def compute_cost(tries: Iterable[TaskTry], slots: SlotCatalog) -> tuple[float | None, list[str]]:
    """USD of the executor slots that ``tries`` used (run time x the slot's hourly
    price), and what had no price (then the cost is None)."""
    total, unpriced = 0.0, []
    for attempt in tries:
        slot = slots.slot_for(attempt.queue, attempt.executor)
        if slot is None:
            unpriced.append(
                f"no slot price for queue {attempt.queue!r}, executor {attempt.executor!r}"
            )
            continue
        total += attempt.seconds * slot.usd_per_hour / 3600
    unique = sorted(set(unpriced))
    return (None, unique) if unique else (round(total, 6), [])


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 6) if values else None


def dag_metrics(dag_id: str, since: datetime, records: Sequence[RunRecord]) -> DagMetrics:
    """Summarize ``records``, the runs of ``dag_id`` since ``since``."""
    finished = [record for record in records if record.finished]
    succeeded = sum(record.state == "success" for record in finished)
    seconds = [record.seconds for record in finished if record.seconds is not None]
    priced = [record.cost for record in finished if record.cost.total_usd is not None]
    unpriced = sorted({why for record in finished for why in record.cost.unpriced})
    p95 = percentile(seconds, 0.95)
    return DagMetrics(
        dag_id=dag_id,
        since=since,
        runs=len(finished),
        succeeded=succeeded,
        failed=len(finished) - succeeded,
        unfinished=len(records) - len(finished),
        success_rate=succeeded / len(finished) if finished else None,
        mean_seconds=_mean(seconds),
        p95_seconds=None if p95 is None else round(p95, 6),
        cost_per_run_usd=_mean([cost.total_usd for cost in priced if cost.total_usd is not None]),
        compute_usd_per_run=_mean([c.compute_usd for c in priced if c.compute_usd is not None]),
        model_usd_per_run=_mean([c.model_usd for c in priced if c.model_usd is not None]),
        priced_runs=len(priced),
        unpriced=tuple(unpriced),
    )
