"""Work items in batches: quality suites apart, spec and task order kept, sizes bounded."""

from __future__ import annotations

from airflow_llm.stages import batches

PLANNED = [
    {"environment": "dev", "pipeline": "a", "tasks": {"load": "sql", "check": "quality"}},
    {"environment": "dev", "pipeline": "b", "tasks": {"load": "sql", "count": "python"}},
    {"environment": "dev", "pipeline": "c", "status": "rejected", "tasks": {}},
]


def names(groups: list[list[dict[str, str]]]) -> list[list[str]]:
    return [[f"{item['pipeline']}.{item['task']}" for item in group] for group in groups]


def test_code_and_quality_tasks_go_to_separate_batches_in_spec_order() -> None:
    assert names(batches(PLANNED, quality=False, size=2)) == [["a.load", "b.load"], ["b.count"]]
    assert names(batches(PLANNED, quality=True, size=2)) == [["a.check"]]


def test_batch_size_one_is_one_task_per_mapped_instance() -> None:
    assert names(batches(PLANNED, quality=False, size=1)) == [["a.load"], ["b.load"], ["b.count"]]
    assert batches([], quality=False, size=32) == []
