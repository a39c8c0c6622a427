"""Work items in batches: whole specs when they fit, suites after their spec's SQL."""

from __future__ import annotations

from airflow_llm.stages import batches

PLANNED = [
    {"environment": "dev", "pipeline": "a", "tasks": {"check": "quality", "load": "sql"}},
    {"environment": "dev", "pipeline": "b", "tasks": {"load": "sql", "count": "python"}},
    {"environment": "dev", "pipeline": "c", "tasks": {}},
    {"environment": "prod", "pipeline": "a", "tasks": {"check": "quality", "load": "sql"}},
]


def names(groups: list[list[dict[str, str]]]) -> list[list[str]]:
    return [
        [f"{item['environment']}.{item['pipeline']}.{item['task']}" for item in g] for g in groups
    ]


def test_specs_that_fit_stay_whole_with_their_suites_last() -> None:
    first, later = batches(PLANNED, size=4)
    assert names(first) == [
        ["dev.a.load", "dev.a.check", "dev.b.load", "dev.b.count"],
        ["prod.a.load", "prod.a.check"],
    ]
    assert later == [[]], "one empty batch, not none: a mapped task over nothing is skipped"


def test_larger_specs_split_and_their_suites_wait_for_a_second_round() -> None:
    first, later = batches(PLANNED, size=1)
    assert names(first) == [["dev.a.load"], ["dev.b.load"], ["dev.b.count"], ["prod.a.load"]]
    assert names(later) == [["dev.a.check"], ["prod.a.check"]]
    assert batches([], size=32) == ([[]], [[]])
