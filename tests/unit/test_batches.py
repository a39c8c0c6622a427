"""Specs in batches: whole, about ``size`` tasks each, suites after their spec's code."""

from __future__ import annotations

from typing import Any

from airflow_llm.stages import IDLE, batches, work_items

PLANNED = [
    {"environment": "dev", "pipeline": "a", "tasks": {"check": "quality", "load": "sql"}},
    {"environment": "dev", "pipeline": "b", "tasks": {"load": "sql", "count": "python"}},
    {"environment": "dev", "pipeline": "c", "tasks": {}},
    {"environment": "prod", "pipeline": "a", "tasks": {"check": "quality", "load": "sql"}},
]


def specs(groups: list[list[dict[str, Any]]]) -> list[list[str]]:
    return [[f"{spec['environment']}.{spec['pipeline']}" for spec in group] for group in groups]


def test_specs_stay_whole_in_batches_of_about_size_tasks() -> None:
    assert specs(batches(PLANNED, size=4)) == [["dev.a", "dev.b", "dev.c"], ["prod.a"]]
    assert specs(batches(PLANNED, size=6)) == [["dev.a", "dev.b", "dev.c", "prod.a"]]


def test_a_spec_larger_than_a_batch_is_a_batch_of_its_own_and_one_without_tasks_joins_any() -> None:
    assert specs(batches(PLANNED, size=1)) == [["dev.a"], ["dev.b", "dev.c"], ["prod.a"]]


def test_nothing_planned_is_one_idle_batch_not_none() -> None:
    assert batches([], size=32) == [[IDLE]], "a mapped group over nothing is skipped"


def test_work_items_put_each_specs_suites_after_its_code() -> None:
    items = work_items(PLANNED[:2])
    assert [f"{item['pipeline']}.{item['task']}" for item in items] == [
        "a.load",
        "a.check",
        "b.load",
        "b.count",
    ]
    assert items[0] == {"environment": "dev", "pipeline": "a", "task": "load", "kind": "sql"}
