"""The cluster bench's figures over task-instance records (bench/cluster_figures.py)."""

from __future__ import annotations

import pytest

from bench.cluster_figures import (
    TaskRecord,
    busy_seconds,
    gate_figures,
    idle_seconds,
    overhead_summary,
    overheads,
    phases,
    ratio,
    run_limit,
    slot_free_at,
    startup_seconds,
    upstream_of,
)

WORKER_OF = {"default": "worker-llm", "llm": "worker-llm", "gates": "worker-gates"}


def record(
    task: str, start: float, end: float, queue: str = "default", queued: float | None = None
) -> TaskRecord:
    return TaskRecord(task, -1, queue, queued, start, end)


def test_upstream_of_inverts_the_downstream_lists() -> None:
    downstream = {"prepare": ["plan"], "plan": ["generate", "assemble"], "generate": ["assemble"]}
    assert upstream_of(downstream) == {
        "prepare": set(),
        "plan": {"prepare"},
        "generate": {"plan"},
        "assemble": {"plan", "generate"},
    }


def test_an_instance_is_ready_when_its_upstream_ended_and_waits_are_split_at_queued() -> None:
    records = [
        record("prepare", 1.0, 3.0, queued=0.5),
        record("plan", 5.0, 6.0, queue="llm", queued=4.0),
    ]
    found = overheads(records, {"plan": {"prepare"}}, WORKER_OF, {"worker-llm": 2})
    prepare, plan = found
    assert (prepare.to_queued, prepare.to_running) == (0.5, 0.5)  # from the run's start
    assert (plan.to_queued, plan.to_running) == (1.0, 1.0)
    assert plan.seconds == 2.0


def test_in_a_mapped_group_an_instance_waits_for_the_same_index_upstream_only() -> None:
    records = [
        TaskRecord("batch.gate", 0, "gates", 0.0, 0.0, 1.0),
        TaskRecord("batch.gate", 1, "gates", 0.0, 0.0, 9.0),
        TaskRecord("batch.publish", 0, "default", 1.5, 2.0, 3.0),
        TaskRecord("summarize", -1, "default", 9.5, 10.0, 11.0),
    ]
    upstream = {"batch.publish": {"batch.gate"}, "summarize": {"batch.gate"}}
    found = overheads(records, upstream, WORKER_OF, {"worker-llm": 2, "worker-gates": 2})
    assert found[2].seconds == 1.0, "publish[0] was ready when gate[0] ended"
    assert found[3].seconds == 1.0, "outside the group: ready when every instance ended"


def test_waiting_for_a_full_worker_is_not_overhead() -> None:
    # two gates hold both slots of worker-gates until 10 and 12; the third starts at 10.5
    gates = [
        TaskRecord("batch.gate", 0, "gates", 0.0, 1.0, 10.0),
        TaskRecord("batch.gate", 1, "gates", 0.0, 1.0, 12.0),
        TaskRecord("batch.gate", 2, "gates", 0.5, 10.5, 11.0),
    ]
    assert slot_free_at(gates[2], gates, 2, 0.0) == 10.0
    third = overheads(gates, {}, WORKER_OF, {"worker-gates": 2})[2]
    assert third.seconds == 0.5
    assert (third.to_queued, third.to_running) == (0.0, 0.5)  # queued before the slot freed


def test_waiting_for_a_pool_slot_is_not_overhead() -> None:
    # a pool of 2 slots: the third generate waits for the first to end, on a worker of 4
    generates = [
        TaskRecord("batch.generate", index, "llm", 0.5, start, end)
        for index, (start, end) in enumerate([(1.0, 50.0), (1.0, 60.0), (50.5, 90.0)])
    ]
    pooled = {"batch.generate": 2}
    third = overheads(generates, {}, WORKER_OF, {"worker-llm": 4}, pooled)[2]
    assert third.seconds == 0.5
    assert overheads(generates, {}, WORKER_OF, {"worker-llm": 4})[2].seconds == 50.5


def test_instances_of_another_worker_do_not_take_a_slot() -> None:
    records = [
        record("generate", 0.0, 50.0, queue="llm"),
        record("publish", 0.0, 50.0, queue="default"),
        TaskRecord("batch.gate", 0, "gates", None, 2.0, 3.0),
    ]
    gate = overheads(records, {}, WORKER_OF, {"worker-llm": 2, "worker-gates": 1})[2]
    assert gate.seconds == 2.0
    assert gate.to_queued == 2.0, "no queued time: the whole wait counts before queued"


def test_the_overhead_summary_adds_the_start_up_and_names_the_largest_part() -> None:
    records = [record("a", 3.0, 4.0, queued=2.5), record("b", 6.0, 7.0, queued=5.5)]
    found = overheads(records, {"b": {"a"}}, WORKER_OF, {"worker-llm": 2})
    summary = overhead_summary(found, startup=1.0)
    assert summary["task_instances"] == 2
    assert summary["mean_to_queued_seconds"] == 2.0
    assert summary["mean_to_running_seconds"] == 0.5
    assert summary["per_task_instance_seconds"] == 3.5
    assert summary["max_wait_task"] == "a"
    assert summary["limit"].startswith("the scheduler's loop")
    assert overhead_summary(found, startup=9.0)["limit"].startswith("a task process starting")
    assert overhead_summary(found, startup=None)["per_task_instance_seconds"] == 2.5
    assert overhead_summary([], 1.0) == {"task_instances": 0}


def test_start_up_is_the_median_duration_of_the_bookkeeping_tasks() -> None:
    records = [
        record("prepare", 0.0, 9.0),
        record("plan", 10.0, 11.0, queue="llm"),
        record("batch.generate", 20.0, 80.0, queue="llm"),
    ]
    assert startup_seconds(records) == 1.0
    assert startup_seconds(records[2:]) is None


def test_busy_and_idle_seconds_count_overlaps_once() -> None:
    records = [record("a", 0.0, 4.0), record("b", 2.0, 6.0), record("c", 8.0, 9.0)]
    assert busy_seconds(records) == 7.0
    assert idle_seconds(records, 10.0) == 3.0


def test_phases_split_the_run_around_generation() -> None:
    records = [
        record("prepare", 1.0, 2.0),
        TaskRecord("batch.generate", 0, "llm", None, 5.0, 45.0),
        TaskRecord("batch.generate", 1, "llm", None, 6.0, 47.0),
        TaskRecord("batch.publish", 0, "default", None, 55.0, 56.0),
    ]
    split = phases(records, 60.0, packed=30.0)
    assert split == {
        "before_generation_seconds": 5.0,
        "generation_seconds": 42.0,
        "generation_beyond_packed_seconds": 12.0,
        "after_generation_seconds": 13.0,
        "idle_seconds": 60.0 - 44.0,
    }
    assert run_limit(split).startswith("the work after the last batch was generated")
    assert run_limit({**split, "generation_beyond_packed_seconds": 20.0}).startswith(
        "generation itself"
    )


def test_gate_figures_per_core_and_pace() -> None:
    gates = [
        TaskRecord("batch.gate", i, "gates", None, 10.0 + 2 * (i // 2), 12.0 + 2 * (i // 2))
        for i in range(4)
    ]
    publish = record("publish", 20.0, 21.0)
    # four batch instances of two bundles each
    figures = gate_figures([publish, *gates], 8, [0.75] * 8, 2, 2, generated_per_second=1.0)
    assert figures["bundles"] == 8
    assert figures["instances"] == 4
    assert figures["busy_seconds"] == 4.0
    assert figures["in_parallel"] == 2.0
    assert figures["mean_seconds"] == 1.0
    assert figures["bundles_per_second"] == 2.0
    assert figures["bundles_per_second_per_core"] == 1.0
    assert figures["pace"] == 2.0
    assert figures["work_share"] == 0.75
    assert "slots" in figures["limit"]
    sparse = gate_figures(gates[::2], 4, [], 2, 2, generated_per_second=0.0)
    assert sparse["pace"] is None
    assert sparse["work_share"] is None
    assert "reaching the gates" in sparse["limit"]
    assert gate_figures([], 0, [], 2, 2, 1.0) == {"bundles": 0}


def test_gates_whose_own_work_is_a_small_share_are_limited_by_the_instances() -> None:
    gates = [TaskRecord("batch.gate", i, "gates", None, 0.0, 10.0) for i in range(2)]
    figures = gate_figures(gates, 2, [2.0, 2.0], 2, 2, generated_per_second=1.0)
    assert figures["work_share"] == 0.2
    assert figures["limit"].startswith("task instances' own cost: the gates' work is 20%")


@pytest.mark.parametrize(("value", "floor", "expected"), [(23.0, 20.0, 1.15), (1.0, 0.0, None)])
def test_ratio(value: float, floor: float, expected: float | None) -> None:
    assert ratio(value, floor) == expected


def test_the_table_says_when_the_cluster_runs_were_skipped() -> None:
    from bench.cluster import cluster_rows

    reason = "redis-server missing: `make cluster-prerequisites` (as root)"
    assert cluster_rows({"skipped": reason}) == [("cluster runs", "skipped", reason)]
