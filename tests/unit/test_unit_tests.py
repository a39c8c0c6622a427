"""The spec unit-test runner: given rows in, expected rows (or a verdict) out, on DuckDB.

A table of SQL scripts and tests with the finding each must give (``None``: the test
passes), then the quality-suite verdicts. The tables are a small logistics pipeline:
``raw.shipments`` (a schema-qualified source) and ``depot_daily`` (what an upstream task
writes, in the environment's schema).
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_llm.patterns.context import Relation
from airflow_llm.spec import Column, TaskSpec
from airflow_llm.validate.unit_tests import suite_test_findings, unit_test_findings

PARAMS = {"schema": "analytics"}
SHIPMENTS = Relation(
    "raw.shipments",
    (
        Column(name="shipment_id", type="BIGINT"),
        Column(name="depot", type="VARCHAR"),
        Column(name="weight_kg", type="DOUBLE"),
        Column(name="shipped_on", type="DATE"),
        Column(name="scanned_at", type="TIMESTAMP"),
        Column(name="note", type="VARCHAR"),
    ),
)
DEPOT_DAILY = Relation(
    "depot_daily",
    (
        Column(name="depot", type="VARCHAR"),
        Column(name="shipped_on", type="DATE"),
        Column(name="total_kg", type="DECIMAL(12,2)"),
        Column(name="parcels", type="BIGINT"),
    ),
    produced_by="build_depot_daily",
)
RELATIONS = [SHIPMENTS, DEPOT_DAILY]

DEPOT_DAILY_SQL = """
CREATE TABLE IF NOT EXISTS {{ params.schema }}.depot_daily (
    depot VARCHAR, shipped_on DATE, total_kg DECIMAL(12, 2), parcels BIGINT
);
DELETE FROM {{ params.schema }}.depot_daily WHERE shipped_on = '{{ ds }}';
INSERT INTO {{ params.schema }}.depot_daily (depot, shipped_on, total_kg, parcels)
SELECT depot, shipped_on, SUM(weight_kg), COUNT(*)
FROM raw.shipments
WHERE shipped_on = '{{ ds }}'
GROUP BY depot, shipped_on;
"""
"""Idempotent: the logical date's rows are deleted before they are inserted again."""

APPEND_ONLY_SQL = """
CREATE TABLE IF NOT EXISTS {{ params.schema }}.depot_daily (
    depot VARCHAR, shipped_on DATE, total_kg DECIMAL(12, 2), parcels BIGINT
);
INSERT INTO {{ params.schema }}.depot_daily (depot, shipped_on, total_kg, parcels)
SELECT depot, shipped_on, SUM(weight_kg), COUNT(*)
FROM raw.shipments
WHERE shipped_on = '{{ ds }}'
GROUP BY depot, shipped_on;
"""
"""Not idempotent: a rerun for the same date appends the day's rows again."""

DEPOT_WEEKLY_SQL = """
CREATE TABLE IF NOT EXISTS {{ params.schema }}.depot_weekly (depot VARCHAR, week_kg DOUBLE);
DELETE FROM {{ params.schema }}.depot_weekly;
INSERT INTO {{ params.schema }}.depot_weekly (depot, week_kg)
SELECT depot, SUM(total_kg) FROM {{ params.schema }}.depot_daily GROUP BY depot;
"""
"""Reads an upstream task's output in the pipeline's schema."""

LAST_SCAN_SQL = """
CREATE TABLE IF NOT EXISTS last_scan (
    depot VARCHAR, shipped_on DATE, last_scanned_at TIMESTAMP, mean_kg DOUBLE
);
DELETE FROM last_scan WHERE shipped_on = '{{ ds }}';
INSERT INTO last_scan (depot, shipped_on, last_scanned_at, mean_kg)
SELECT depot, MAX(shipped_on), MAX(scanned_at), AVG(weight_kg)
FROM raw.shipments GROUP BY depot;
"""

NOTE_AS_NUMBER_SQL = """
CREATE TABLE IF NOT EXISTS note_numbers (n INTEGER);
DELETE FROM note_numbers;
INSERT INTO note_numbers (n) SELECT CAST(note AS INTEGER) FROM raw.shipments;
"""

DAY = "2024-01-31"
TWO_DEPOTS = {
    "raw.shipments": [
        {"shipment_id": 1, "depot": "north", "weight_kg": 2.5, "shipped_on": DAY},
        {"shipment_id": 2, "depot": "north", "weight_kg": 4.0, "shipped_on": DAY},
        {"shipment_id": 3, "depot": "south", "weight_kg": 1.0, "shipped_on": DAY},
        {"shipment_id": 4, "depot": "south", "weight_kg": 9.0, "shipped_on": "2024-01-30"},
    ]
}
SCANS = {
    "shipments": [  # the source's short name works as well
        {
            "depot": "north",
            "weight_kg": 0.1,
            "shipped_on": DAY,
            "scanned_at": "2024-01-31T08:00:00",
        },
        {
            "depot": "north",
            "weight_kg": 0.2,
            "shipped_on": DAY,
            "scanned_at": "2024-01-31 10:30:00",
        },
        {
            "depot": "north",
            "weight_kg": 1 / 3,
            "shipped_on": DAY,
            "scanned_at": "2024-01-31 09:15:00",
        },
    ]
}
SCAN_ROW = {"depot": "north", "shipped_on": DAY, "last_scanned_at": "2024-01-31 10:30:00"}


def sql_task(given: dict[str, Any], expect: list[dict[str, Any]]) -> TaskSpec:
    return TaskSpec.model_validate(
        {
            "name": "build_depot_daily",
            "kind": "sql",
            "description": "Weight and parcels per depot for the day into depot_daily.",
            "tests": [{"name": "the_day", "given": given, "expect": expect}],
        }
    )


def case(case_id: str, sql: str, given: Any, expect: Any, finding: str | None) -> Any:
    return pytest.param(sql, given, expect, finding, id=case_id)


SQL_CASES = [
    case(
        "passes",
        DEPOT_DAILY_SQL,
        TWO_DEPOTS,
        [
            {"depot": "north", "total_kg": 6.5, "parcels": 2},
            {"depot": "south", "total_kg": 1.0, "parcels": 1},
        ],
        None,
    ),
    case(
        "rows-compared-as-a-multiset",
        DEPOT_DAILY_SQL,
        TWO_DEPOTS,
        [{"parcels": 1}, {"parcels": 2}],
        None,
    ),
    case(
        "mismatch-shows-expected-and-actual",
        DEPOT_DAILY_SQL,
        TWO_DEPOTS,
        [{"depot": "north", "total_kg": 15.5}],
        "unit test 'the_day': expected 1 rows of (depot, total_kg): [[\"north\", 15.5]]; "
        'got 2: [["north", 6.5], ["south", 1.0]]',
    ),
    case(
        "missing-output-column",
        DEPOT_DAILY_SQL,
        TWO_DEPOTS,
        [{"depot": "north", "weight": 6.5}],
        "unit test 'the_day': analytics.depot_daily has no column weight "
        "(it has depot, shipped_on, total_kg, parcels)",
    ),
    case(
        "not-idempotent",
        APPEND_ONLY_SQL,
        TWO_DEPOTS,
        [{"depot": "north"}, {"depot": "south"}],
        "unit test 'the_day': not idempotent: a second run for the same logical date "
        "leaves 4 rows in analytics.depot_daily, the first left 2",
    ),
    case("expects-no-rows", DEPOT_DAILY_SQL, {}, [], None),
    case(
        "expected-no-rows-got-some",
        DEPOT_DAILY_SQL,
        TWO_DEPOTS,
        [],
        "unit test 'the_day': expected no rows in analytics.depot_daily, got 2",
    ),
    case(
        "reads-an-upstream-output",
        DEPOT_WEEKLY_SQL,
        {
            "depot_daily": [
                {"depot": "north", "shipped_on": "2024-01-30", "total_kg": 1.25},
                {"depot": "north", "shipped_on": DAY, "total_kg": 2.5},
            ]
        },
        [{"depot": "north", "week_kg": 3.75}],
        None,
    ),
    case(
        "dates-and-timestamps-as-iso-text",
        LAST_SCAN_SQL,
        SCANS,
        [SCAN_ROW],
        None,
    ),
    case(
        "yaml-dates-and-t-separated-timestamps",
        LAST_SCAN_SQL,
        SCANS,
        [
            {
                "depot": "north",
                "shipped_on": datetime.date(2024, 1, 31),
                "last_scanned_at": "2024-01-31T10:30:00",
            }
        ],
        None,
    ),
    case(
        "numbers-rounded-to-two-decimals",
        LAST_SCAN_SQL,
        SCANS,
        [{**SCAN_ROW, "mean_kg": 0.21}],
        None,
    ),
    case(
        "a-third-decimal-is-not-compared",
        LAST_SCAN_SQL,
        SCANS,
        [{**SCAN_ROW, "mean_kg": 0.211}],
        None,
    ),
    case(
        "two-decimals-differ",
        LAST_SCAN_SQL,
        SCANS,
        [{"depot": "north", "mean_kg": 0.22}],
        "unit test 'the_day': expected 1 rows of (depot, mean_kg): [[\"north\", 0.22]]; "
        'got 1: [["north", 0.21]]',
    ),
    case(
        "fails-on-the-given-rows",
        NOTE_AS_NUMBER_SQL,
        {"raw.shipments": [{"note": "fragile"}]},
        [{"n": 1}],
        "unit test 'the_day': the SQL fails on the given rows: Conversion Error",
    ),
]


@pytest.mark.parametrize(("sql", "given", "expect", "finding"), SQL_CASES)
def test_sql_unit_tests(
    sql: str, given: dict[str, Any], expect: list[dict[str, Any]], finding: str | None
) -> None:
    found = unit_test_findings(
        sql, "build_depot_daily.sql", sql_task(given, expect), RELATIONS, "postgres", PARAMS
    )
    if finding is None:
        assert found == []
    else:
        assert [f.rule for f in found] == ["test.failed"]
        assert found[0].message.startswith(finding), found[0].message


def test_sql_that_writes_no_table_cannot_be_tested() -> None:
    task = sql_task(TWO_DEPOTS, [{"depot": "north"}])
    found = unit_test_findings(
        "SELECT depot FROM raw.shipments", "t.sql", task, RELATIONS, "postgres", PARAMS
    )
    assert [(f.rule, f.message) for f in found] == [
        ("test.target", "the SQL writes no table to test")
    ]


def test_a_task_without_tests_runs_nothing() -> None:
    task = TaskSpec(name="build_depot_daily", kind="sql", description="Depot totals.")
    assert unit_test_findings("not even sql", "t.sql", task, RELATIONS, "postgres", PARAMS) == []


# -- quality suites: pass or fail on the given rows -------------------------------------

SUITE = {
    "name": "logistics.check_depot_daily",
    "table": "depot_daily",
    "expectations": [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "depot"}},
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "total_kg", "min_value": 0},
        },
    ],
}
FRESHNESS = {
    "name": "logistics.check_scans",
    "table": "raw.shipments",
    "expectations": [
        {
            "type": "expect_column_max_to_be_between",
            "kwargs": {
                "column": "scanned_at",
                "min_value": {"$PARAMETER": "freshness_min_scanned_at"},
            },
            "meta": {"max_age_hours": 6},
        }
    ],
}
GOOD_ROWS = {"depot_daily": [{"depot": "north", "total_kg": 3}, {"depot": "south", "total_kg": 0}]}
BAD_ROWS = {"depot_daily": [{"depot": None, "total_kg": -1}]}


def quality_case(case_id: str, suite: Any, given: Any, expect: str, finding: str | None) -> Any:
    return pytest.param(suite, given, expect, finding, id=case_id)


QUALITY_CASES = [
    quality_case("passes-as-expected", SUITE, GOOD_ROWS, "pass", None),
    quality_case("fails-as-expected", SUITE, BAD_ROWS, "fail", None),
    quality_case(
        "passes-but-should-fail",
        SUITE,
        GOOD_ROWS,
        "fail",
        "unit test 'the_rows': expected the suite to fail on the given rows of depot_daily, "
        "it did pass (every expectation passed)",
    ),
    quality_case(
        "fails-but-should-pass",
        SUITE,
        BAD_ROWS,
        "pass",
        "unit test 'the_rows': expected the suite to pass on the given rows of depot_daily, "
        "it did fail (expect_column_values_to_not_be_null, "
        "expect_column_values_to_be_between failed)",
    ),
    quality_case(
        "fresh-within-hours-of-the-interval-end",
        FRESHNESS,
        {"raw.shipments": [{"scanned_at": "2024-01-31 22:00:00"}]},
        "pass",
        None,
    ),
    quality_case(
        "stale",
        FRESHNESS,
        {"raw.shipments": [{"scanned_at": "2024-01-31 12:00:00"}]},
        "fail",
        None,
    ),
    quality_case(
        "checks-a-table-it-cannot-read",
        {**SUITE, "table": "depot_monthly"},
        GOOD_ROWS,
        "pass",
        "unit test 'the_rows': the suite checks depot_monthly, which is not a table the "
        "task can read",
    ),
]


@pytest.mark.parametrize(("suite", "given", "expect", "finding"), QUALITY_CASES)
def test_quality_unit_tests(
    suite: dict[str, Any], given: dict[str, Any], expect: str, finding: str | None
) -> None:
    task = TaskSpec.model_validate(
        {
            "name": "check_depot_daily",
            "kind": "quality",
            "description": "Depots are named and weights are never negative.",
            "tests": [{"name": "the_rows", "given": given, "expect": expect}],
        }
    )
    found = suite_test_findings(suite, "suite.json", task, RELATIONS, "postgres", PARAMS)
    assert [f.message for f in found] == ([] if finding is None else [finding])


# -- time zones -------------------------------------------------------------------------

EVENTS = Relation(
    "app.logins",
    (
        Column(name="user_id", type="BIGINT"),
        Column(name="seen_at", type="TIMESTAMP WITH TIME ZONE"),
    ),
)
LAST_SEEN_SQL = """
CREATE TABLE IF NOT EXISTS last_seen (user_id BIGINT, last_seen_at TIMESTAMP WITH TIME ZONE);
DELETE FROM last_seen;
INSERT INTO last_seen (user_id, last_seen_at)
SELECT user_id, MAX(seen_at) FROM app.logins GROUP BY user_id;
"""


@pytest.fixture
def host_in_new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone is not UTC (DuckDB takes it for new connections)."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("host_in_new_york")
def test_timestamps_with_time_zone_compare_the_same_on_any_host() -> None:
    task = TaskSpec.model_validate(
        {
            "name": "build_last_seen",
            "kind": "sql",
            "description": "Last login per user into last_seen.",
            "tests": [
                {
                    "name": "utc",
                    "given": {
                        "app.logins": [{"user_id": 1, "seen_at": "2024-01-31 10:30:00+00:00"}]
                    },
                    "expect": [{"user_id": 1, "last_seen_at": "2024-01-31 10:30:00+00:00"}],
                }
            ],
        }
    )
    assert unit_test_findings(LAST_SEEN_SQL, "t.sql", task, [EVENTS], "postgres", {}) == []
