"""Figures of one generation run on the cluster, computed from its task instances'
timestamps (what the REST API returns): pure functions over :class:`TaskRecord` lists.

Times are seconds since the run started. A task instance is *ready* once every instance
of its upstream tasks ended (the run's start for the first task; in a mapped task group,
the upstream instance of the same index) and the worker serving its queue has a free
slot; what passes between ready and running is the scheduler's and the executor's
overhead: ready -> queued (the scheduler's loop) and queued -> running (Celery's
delivery and the task process starting).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from statistics import mean, median
from typing import Any

GENERATION_TASKS = ("batch.generate",)
GATE_TASK = "batch.gate"
"""Render and gate, in the mapped task group ``batch``: one instance per batch of specs."""
POOLED_TASKS = ("plan", *GENERATION_TASKS)
"""The tasks in the ``llm_endpoint`` pool."""
LIGHT_TASKS = ("plan",)
"""Bookkeeping tasks: the bench specs list their tasks, so ``plan`` only batches them."""


@dataclass(frozen=True)
class TaskRecord:
    """One task instance's queue and timestamps, in seconds from the run's start."""

    task_id: str
    map_index: int
    queue: str
    queued: float | None
    start: float
    end: float


@dataclass(frozen=True)
class Overhead:
    """How long one task instance waited once it was ready: to be queued, then to run."""

    task_id: str
    map_index: int
    to_queued: float
    to_running: float

    @property
    def seconds(self) -> float:
        """Ready -> running."""
        return self.to_queued + self.to_running


def upstream_of(downstream: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    """Each task's upstream tasks, from each task's downstream ones (the REST API's
    ``downstream_task_ids``)."""
    upstream: dict[str, set[str]] = {task: set() for task in downstream}
    for task, children in downstream.items():
        for child in children:
            upstream.setdefault(child, set()).add(task)
    return upstream


def slot_free_at(
    record: TaskRecord, others: Sequence[TaskRecord], slots: int, ready: float
) -> float:
    """When a slot of the worker was free for ``record`` from ``ready`` on: ``others``
    (the instances on the same worker) take the ``slots`` in the order they started, so
    the ones that started before ``record`` hold theirs until they end."""
    free = [float("-inf")] * slots
    for other in sorted(others, key=lambda item: item.start):
        if other is not record and other.start < record.start:
            heapq.heapreplace(free, other.end)
    return max(ready, free[0])


def overheads(
    records: Sequence[TaskRecord],
    upstream: Mapping[str, set[str]],
    worker_of: Mapping[str, str],
    slots: Mapping[str, int],
    pool_slots: Mapping[str, int] | None = None,
) -> list[Overhead]:
    """Every instance's wait beyond its upstream, a free slot on its worker
    (``worker_of`` maps a queue to its worker, ``slots`` a worker to its slots) and, for
    the tasks of ``pool_slots`` (task id -> the slots of the one pool they share), a free
    pool slot."""
    pooled = pool_slots or {}
    in_pool = [record for record in records if record.task_id in pooled]
    ends: dict[str, float] = {}
    for record in records:
        ends[record.task_id] = max(ends.get(record.task_id, 0.0), record.end)
    index_ends = {(record.task_id, record.map_index): record.end for record in records}

    def ended(task: str, record: TaskRecord) -> float:
        if _group(task) is not None and _group(task) == _group(record.task_id):
            return index_ends.get((task, record.map_index), ends.get(task, 0.0))
        return ends.get(task, 0.0)

    found = []
    for record in records:
        after = max((ended(task, record) for task in upstream.get(record.task_id, ())), default=0.0)
        worker = worker_of.get(record.queue, record.queue)
        same = [other for other in records if worker_of.get(other.queue, other.queue) == worker]
        ready = slot_free_at(record, same, slots.get(worker, 1), after)
        if record.task_id in pooled:
            ready = slot_free_at(record, in_pool, pooled[record.task_id], ready)
        waited = max(0.0, record.start - ready)
        queued = waited if record.queued is None else min(waited, max(0.0, record.queued - ready))
        found.append(Overhead(record.task_id, record.map_index, queued, waited - queued))
    return found


def _group(task_id: str) -> str | None:
    """The task group of a task id (``batch.gate``: ``batch``), None outside one."""
    return task_id.rpartition(".")[0] or None


def startup_seconds(records: Sequence[TaskRecord]) -> float | None:
    """The median duration of the bookkeeping tasks (:data:`LIGHT_TASKS`, whose own work
    takes a few hundredths of a second): what starting a task process costs once it
    runs."""
    light = [r.end - r.start for r in records if r.task_id in LIGHT_TASKS]
    return round(median(light), 2) if light else None


OVERHEAD_LIMITS = {
    "mean_to_queued_seconds": "the scheduler's loop (ready -> queued)",
    "mean_to_running_seconds": "Celery's delivery (queued -> running)",
    "task_startup_seconds": "a task process starting (imports, parsing the DAG file)",
}


def overhead_summary(found: Sequence[Overhead], startup: float | None) -> dict[str, Any]:
    """Mean and largest wait per instance, split into its parts, plus a task process's
    start-up (``startup``), and which part limits it."""
    if not found:
        return {"task_instances": 0}
    worst = max(found, key=lambda item: item.seconds)
    summary: dict[str, Any] = {
        "task_instances": len(found),
        "mean_to_queued_seconds": round(mean(item.to_queued for item in found), 2),
        "mean_to_running_seconds": round(mean(item.to_running for item in found), 2),
        "task_startup_seconds": startup,
        "max_wait_seconds": round(worst.seconds, 2),
        "max_wait_task": (
            f"{worst.task_id}[{worst.map_index}]" if worst.map_index >= 0 else worst.task_id
        ),
        "total_wait_seconds": round(sum(item.seconds for item in found), 2),
    }
    summary["per_task_instance_seconds"] = round(
        sum(summary[key] or 0.0 for key in OVERHEAD_LIMITS), 2
    )
    largest = max(OVERHEAD_LIMITS, key=lambda key: summary[key] or 0.0)
    summary["limit"] = f"{OVERHEAD_LIMITS[largest]}: {summary[largest]} s"
    return summary


def busy_seconds(records: Iterable[TaskRecord]) -> float:
    """Length of the union of the records' spans (time when at least one ran)."""
    total, reach = 0.0, float("-inf")
    for record in sorted(records, key=lambda item: item.start):
        if record.end > reach:
            total += record.end - max(record.start, reach)
            reach = record.end
    return total


def idle_seconds(records: Sequence[TaskRecord], run_seconds: float) -> float:
    """Seconds of the run during which no task instance ran."""
    return max(0.0, run_seconds - busy_seconds(records))


def generation_end(records: Sequence[TaskRecord]) -> float:
    """When the last generation instance ended."""
    return max((r.end for r in records if r.task_id in GENERATION_TASKS), default=0.0)


def phases(records: Sequence[TaskRecord], run_seconds: float, packed: float) -> dict[str, float]:
    """The run split where its time beyond the packed floor goes: before the first
    generation instance, generation beyond the floor, after the last one; and the idle
    seconds (no instance running) spread over all three."""
    generation = [r for r in records if r.task_id in GENERATION_TASKS]
    first = min((r.start for r in generation), default=0.0)
    last = generation_end(records)
    return {
        "before_generation_seconds": round(first, 2),
        "generation_seconds": round(last - first, 2),
        "generation_beyond_packed_seconds": round(last - first - packed, 2),
        "after_generation_seconds": round(run_seconds - last, 2),
        "idle_seconds": round(idle_seconds(records, run_seconds), 2),
    }


RUN_LIMITS = {
    "before_generation_seconds": "the hand-offs before generation (prepare, plan: one task "
    "each, scheduled one after the other)",
    "generation_beyond_packed_seconds": "generation itself beyond the endpoint's floor "
    "(answers validated on the llm worker's CPU between requests)",
    "after_generation_seconds": "the work after the last batch was generated (its gate and "
    "publish, the gates and publishes still queued, summarize)",
}


def run_limit(split: Mapping[str, float]) -> str:
    """The phase holding most of the run's time beyond the packed floor, in words."""
    largest = max(RUN_LIMITS, key=lambda key: split[key])
    return f"{RUN_LIMITS[largest]}: {split[largest]:.0f} s"


def gate_figures(
    records: Sequence[TaskRecord],
    bundles: int,
    work: Sequence[float],
    slots: int,
    cores: int,
    generated_per_second: float,
) -> dict[str, Any]:
    """Bundles gated per second while gate instances (one per batch) ran, per worker core,
    the mean number of instances running at once, the gates' pace against generation's
    (bundles/s each), and the share of the instances' time that is the gates' own work
    (``work``: the seconds each bundle's report gives the gates), with what limits the
    throughput."""
    gates = [r for r in records if r.task_id == GATE_TASK]
    busy = busy_seconds(gates)
    if not gates or busy <= 0 or not bundles:
        return {"bundles": bundles}
    per_second = bundles / busy
    spent = sum(r.end - r.start for r in gates)
    in_parallel = spent / busy
    share = sum(work) / spent if work else None
    figures: dict[str, Any] = {
        "bundles": bundles,
        "instances": len(gates),
        "busy_seconds": round(busy, 2),
        "mean_seconds": round(spent / bundles, 2),
        "in_parallel": round(in_parallel, 2),
        "bundles_per_second": round(per_second, 3),
        "bundles_per_second_per_core": round(per_second / cores, 3),
        "pace": round(per_second / generated_per_second, 2) if generated_per_second else None,
        "work_mean_seconds": round(mean(work), 2) if work else None,
        "work_share": round(share, 3) if share is not None else None,
    }
    if share is not None and share < 0.5:
        figures["limit"] = (
            f"task instances' own cost: the gates' work is {share:.0%} of the gate instances' "
            f"{figures['mean_seconds']} s a bundle ({figures['work_mean_seconds']} s of gates)"
        )
    elif in_parallel >= 0.9 * slots:
        figures["limit"] = (
            f"the gates worker's {slots} slots, full while gates ran "
            f"(CPU: {cores} cores shared)"
        )
    else:
        figures["limit"] = "bundles reaching the gates (the gate slots were not kept full)"
    return figures


def ratio(value: float, floor: float) -> float | None:
    """``value / floor`` to 3 places, None without a floor."""
    return round(value / floor, 3) if floor else None


def times(value: float | None) -> str:
    """A ratio as the tables print it."""
    return "-" if value is None else f"{value:.2f}"
