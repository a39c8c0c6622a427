"""Schema linking and clause reading on plain English, table by table.

Each table below is the input a description gives and what linking should read from it
(sqlfluff-fixture style: one row per case, with a readable id). The descriptions are
written for these tests (shop, logistics, HR, IoT, clinics...), not copied from
``specs/``, so they test the reading rather than the examples. Rows marked ``bug`` are
known defects of ``include/``: strict xfails that turn red once the defect is fixed.
"""

from __future__ import annotations

from typing import Any

import pytest

from airflow_llm.patterns.clauses import clauses, stated_filters
from airflow_llm.patterns.context import context_for
from airflow_llm.patterns.linking import (
    Text,
    aggregations,
    day_counts,
    grouping_phrases,
    link,
    target_table,
    windowed_aggregations,
)
from airflow_llm.patterns.predicates import Predicate
from airflow_llm.patterns.quality import Expectation, stated_checks
from airflow_llm.spec import PipelineSpec


def case(case_id: str, *values: Any, bug: str | None = None, raises: type | None = None) -> Any:
    """One row of a table; ``bug`` marks a known defect (strict xfail)."""
    marks = [pytest.mark.xfail(strict=True, reason=bug, raises=raises)] if bug else []
    return pytest.param(*values, id=case_id, marks=marks)


# -- aggregates: the function and the words naming its column ---------------------------

AGGREGATIONS = [
    case("sum-of-phrase", "Sum the parcel weights per depot.", [("sum", "parcel weights")]),
    case(
        "total-and-average",
        "Total revenue and average basket size per region.",
        [("sum", "revenue"), ("avg", "basket size")],
    ),
    case(
        "number-of",
        "Compute the number of parcels for each warehouse.",
        [("count", "parcels")],
    ),
    case(
        "highest-and-lowest",
        "Find the highest salary and the lowest bonus grouped by department.",
        [("max", "salary"), ("min", "bonus")],
    ),
    case("mean", "Mean temperature of each sensor.", [("avg", "temperature")]),
    case("how-many", "How many trips per driver?", [("count", "trips")]),
    case("most-recent", "The most recent login per user.", [("max", "login")]),
    case("earliest", "The earliest shift start per nurse.", [("min", "shift start")]),
    case("distinct-alone", "Distinct devices per household.", [("count_distinct", "devices")]),
    case("copy-states-none", "Copy the shipments as they are into shipments_copy.", []),
    case("masking-states-none", "Mask the email column of patients.", []),
    case(
        "count-distinct",
        "Count distinct visitors per page.",
        [("count_distinct", "visitors")],
    ),
    case(
        "number-of-distinct",
        "The number of distinct customers per store.",
        [("count_distinct", "customers")],
    ),
]


@pytest.mark.parametrize(("text", "expected"), AGGREGATIONS)
def test_aggregations(text: str, expected: list[tuple[str, str]]) -> None:
    assert [(a.function, a.phrase) for a in aggregations(text)] == expected


# -- aggregates over the days ending on the logical date ---------------------------------

WINDOWED = [
    case(
        "count-over-several-windows",
        "Per member: logins in the last 7, 28 and 90 days.",
        [("count", "logins", 7), ("count", "logins", 28), ("count", "logins", 90)],
    ),
    case(
        "distinct-in-days",
        "Distinct devices in 30 days per household.",
        [("count_distinct", "devices", 30)],
    ),
    case(
        "days-since-last",
        "Per driver: days since the last trip, into driver_recency.",
        [("days_since_latest", "trip", None)],
    ),
    case(
        "sum-over-the-past",
        "Total revenue over the past 28 days per store, and the number of orders in the "
        "last 7 days.",
        [("sum", "revenue", 28), ("count", "orders", 7)],
    ),
    case("one-day-filter-is-no-window", "Copy the day's shipments into shipments_daily.", []),
    case("plain-total-is-no-window", "Total revenue per store.", []),
]


@pytest.mark.parametrize(("text", "expected"), WINDOWED)
def test_windowed_aggregations(text: str, expected: list[tuple[str, str, int | None]]) -> None:
    found = windowed_aggregations(text)
    assert [(a.function, a.phrase, a.within_days) for a in found] == expected


DAY_COUNTS = [
    case("in-days", "Per member: tenure in days, tier and region.", ["tenure"]),
    case("days-since-a-column", "Each patient's days since admission.", ["admission"]),
    case("days-since-the-last-is-an-aggregate", "Days since last login per user.", []),
    case("none", "Per store: region and manager.", []),
]


@pytest.mark.parametrize(("text", "expected"), DAY_COUNTS)
def test_day_counts(text: str, expected: list[str]) -> None:
    assert day_counts(text) == expected


# -- grouping: what rows are grouped by -------------------------------------------------

GROUPINGS = [
    case("per", "Sum sales per customer.", ["customer"]),
    case("for-each", "Count tickets for each agent into agent_tickets.", ["agent"]),
    case(
        "grouped-by-list",
        "Total hours grouped by employee_id and project.",
        ["employee_id", "project"],
    ),
    case(
        "broken-down-by",
        "Revenue broken down by region, device and week.",
        ["region", "device", "week"],
    ),
    case("stops-at-during", "Average wait per clinic during the day.", ["clinic"]),
    case("by-the", "Count parcels by the depot.", ["depot"]),
    case("none-stated", "Copy all rows.", []),
    case("none-in-masking", "Mask emails in customers_clean.", []),
    case(
        "ordered-by-is-no-key",
        "Keep the latest row per order_id, ordered by updated_at.",
        ["order_id"],
    ),
    case(
        "sorted-by-is-no-key",
        "List shipments sorted by weight.",
        [],
    ),
]


@pytest.mark.parametrize(("text", "expected"), GROUPINGS)
def test_grouping_phrases(text: str, expected: list[str]) -> None:
    assert grouping_phrases(text) == expected


# -- link: the column a short phrase means ----------------------------------------------

LINKS = [
    case("head-noun", "order amounts", ["order_id", "amount", "customer_id"], "amount"),
    case("head-noun-2", "employee salary", ["employee_id", "salary"], "salary"),
    case("head-noun-plural", "sensor readings", ["sensor_id", "reading_value"], "reading_value"),
    case("head-noun-prefix", "shipped weight", ["shipment_id", "weight_kg"], "weight_kg"),
    case("fewest-words-win", "customer", ["customer_name", "customer_id"], "customer_id"),
    case("article-ignored", "the warehouse", ["warehouse_name", "warehouse_id"], "warehouse_id"),
    case("exact-name", "region", ["region_code", "region"], "region"),
    case("exact-any-case", "Temperature", ["temperature"], "temperature"),
    case("two-word-name", "device type", ["device_id", "device_type"], "device_type"),
    case(
        "most-shared-words",
        "shipping cost estimate",
        ["order_id", "shipping_cost"],
        "shipping_cost",
    ),
    case("no-shared-word", "department", ["dept_id", "salary"], None),
    case("empty-phrase", "", ["anything"], None),
]


@pytest.mark.parametrize(("phrase", "names", "expected"), LINKS)
def test_link(phrase: str, names: list[str], expected: str | None) -> None:
    assert link(phrase, names) == expected


# -- target_table: the table a task writes ----------------------------------------------

TARGETS = [
    case("into", "Sum amounts per customer into sales_by_customer.", (), "sales_by_customer"),
    case(
        "replace-in",
        "Replace the day's rows in fleet_daily with fresh counts.",
        (),
        "fleet_daily",
    ),
    case("qualified", "Write the KPIs into analytics.kpi_daily.", (), "analytics.kpi_daily"),
    case(
        "into-the-table",
        "Clean raw_events into the events_clean table.",
        ("raw_events",),
        "events_clean",
    ),
    case(
        "into-beats-to",
        "Write totals to daily_totals, then load into monthly_totals.",
        (),
        "monthly_totals",
    ),
    case("no-target-fallback", "Aggregate shipments by depot.", (), "fallback_task"),
    case("plain-word-no-table", "Count tickets in each region.", (), "fallback_task"),
    case("source-is-no-target", "Load rows into raw.orders.", ("raw.orders",), "fallback_task"),
    case(
        "source-short-name-is-no-target",
        "Keep the newest rows in order_lines.",
        ("raw.order_lines",),
        "fallback_task",
    ),
    case(
        "source-skipped-next-taken",
        "Copy rows from staging.trips in trip_log into trip_archive.",
        ("staging.trips", "trip_log"),
        "trip_archive",
    ),
]


@pytest.mark.parametrize(("description", "reads", "expected"), TARGETS)
def test_target_table(description: str, reads: tuple[str, ...], expected: str) -> None:
    assert target_table(description, "fallback_task", reads) == expected


# -- Text.mentions: written-out name > last part of a qualified name > all words > some --

MENTIONED_IN = "Join customer_orders to the store of each order line."
MENTIONS = [
    case("written-out", "customer_orders", 3.0),
    case("qualified-last-part", "sales.customer_orders", pytest.approx(2.5 + 0.4 * 2 / 3)),
    case("all-words", "store_id", 2.0),
    case("all-words-plural-folded", "order_lines", 2.0),
    case("some-words", "store_region", 0.5),
    case("no-words", "warehouse", 0.0),
]


@pytest.mark.parametrize(("name", "score"), MENTIONS)
def test_mentions(name: str, score: float) -> None:
    assert Text(MENTIONED_IN).mentions(name) == score


def test_rank_names_orders_by_mention_strength() -> None:
    names = ["warehouse", "store_region", "store_id", "sales.customer_orders", "customer_orders"]
    assert Text(MENTIONED_IN).rank_names(names) == [
        "customer_orders",
        "sales.customer_orders",
        "store_id",
        "store_region",
        "warehouse",
    ]


# -- values: numbers, quoted values, codes, identifiers ---------------------------------

NUMBERS = [
    case("n-day", "A 28-day rolling average of sales.", [28]),
    case("number-word", "currency is a three-letter code", [3]),
    case("range", "amount between 0 and 100000", [0, 100000]),
    case("negative-and-decimal", "refunds below -5.5 or above 100", [-5.5, 100]),
    case("word-twelve", "within twelve hours", [12]),
    case("template-and-names-ignored", "render {{ ds }} for the x2 partition", []),
    case("none", "no digits here", []),
    case(
        "decimal-glued-to-unit",
        "parcels over 2.5kg",
        [2.5],
    ),
    case(
        "hyphenated-number-word",
        "within twenty-four hours",
        [24],
    ),
]


@pytest.mark.parametrize(("text", "expected"), NUMBERS)
def test_numbers(text: str, expected: list[float]) -> None:
    assert Text(text).numbers == expected


QUOTED_AND_CODES = [
    case(
        "single-and-double-quotes",
        "orders with status 'completed' or \"shipped\"",
        ["completed", "shipped"],
        [],
    ),
    case("backticks-deduplicated", "tag `beta` and again `beta`", ["beta"], []),
    case("codes", "customers in US, EMEA or APAC", [], ["US", "EMEA", "APAC"]),
    case("formats-are-no-codes", "a SQL query of US sales to CSV via the API", [], ["US"]),
    case("nothing", "nothing quoted here", [], []),
    case(
        "apostrophe-is-no-quote",
        "the customer's tier 'gold'",
        ["gold"],
        [],
    ),
    case(
        "settings-are-no-values",
        "orders via 'pg_main' connection (conn_id='dwh', task_id: 'load') with status 'open'",
        ["open"],
        [],
    ),
]


@pytest.mark.parametrize(("text", "quoted", "codes"), QUOTED_AND_CODES)
def test_quoted_values_and_codes(text: str, quoted: list[str], codes: list[str]) -> None:
    assert (Text(text).quoted, Text(text).codes) == (quoted, codes)


IDENTIFIERS = [
    case(
        "a-x-column-and-snake-case",
        "Add a region column and a total_spend per customer.",
        "",
        ["region", "total_spend"],
    ),
    case("the-x-column-lowered", "Add the Channel column.", "", ["channel"]),
    case("from-context", "Count rows.", "The next task reads order_count.", ["order_count"]),
    case("none", "Copy rows.", "", []),
]


@pytest.mark.parametrize(("text", "context", "expected"), IDENTIFIERS)
def test_identifiers(text: str, context: str, expected: list[str]) -> None:
    assert Text(text, context).identifiers() == expected


# -- clauses and the filters they state -------------------------------------------------

FAMILIES = {
    "status": "text",
    "email": "text",
    "country_code": "text",
    "is_test": "boolean",
    "flag": "boolean",
    "amount": "decimal",
    "weight_kg": "decimal",
    "quantity": "integer",
}


CLAUSES = [
    case(
        "column-carried-to-next-clause",
        "Orders with status 'paid' or 'refunded', and amount above 10",
        [
            ("Orders with status 'paid' or 'refunded'", "status"),
            ("amount above 10", "amount"),
        ],
    ),
    case(
        "between-kept-whole",
        "amount between 0 and 100, flag is true",
        [("amount between 0 and 100", "amount"), ("flag is true", "flag")],
    ),
    case("no-column", "Copy everything.", [("Copy everything", None)]),
    case(
        "between-decimal-kept-whole",
        "Orders with amount between 10.5 and 30; flag is true",
        [("Orders with amount between 10.5 and 30", "amount"), ("flag is true", "flag")],
    ),
]


@pytest.mark.parametrize(("description", "expected"), CLAUSES)
def test_clauses(description: str, expected: list[tuple[str, str | None]]) -> None:
    found = clauses(description, list(FAMILIES))
    assert [(clause.text, clause.column) for clause in found] == expected


FILTERS = [
    case("quoted-after-column", "Keep orders with status 'completed'.", ["status = 'completed'"]),
    case("negated-value", "Exclude orders with status 'cancelled'.", ["status != 'cancelled'"]),
    case("drop-where-true", "Drop rows where flag is true.", ["flag is not true"]),
    case("keep-where-false", "Keep only rows where is_test is false.", ["is_test is not true"]),
    case("skip-missing", "Skip rows with a missing email.", ["email is not null"]),
    case("only-missing", "Only customers whose email is missing.", ["email is null"]),
    case("not-null", "Keep rows where email is not null.", ["email is not null"]),
    case("above", "Orders with an amount above 100.", ["amount > 100"]),
    case(
        "at-least-and-at-most",
        "Orders with quantity at least 3 and amount at most 500.",
        ["quantity >= 3", "amount <= 500"],
    ),
    case("excluded-comparison-flips", "Exclude orders with amount over 1000.", ["amount <= 1000"]),
    case("code-after-column", "Customers with country_code DE.", ["country_code = 'DE'"]),
    case("aggregate-states-none", "Sum amounts per customer.", []),
    case("copy-states-none", "Copy the day's rows into staging_orders.", []),
    case(
        "decimal-comparison",
        "Shipments with weight_kg under 2.5.",
        ["weight_kg < 2.5"],
    ),
    case(
        "symbol-comparison",
        "Orders with amount > 100.",
        ["amount > 100"],
    ),
    case(
        "either-value",
        "Keep orders whose status is 'shipped' or 'delivered'.",
        ["status in ('shipped', 'delivered')"],
    ),
    case(
        "excluded-either-value",
        "Exclude orders with status 'test' or 'void'.",
        ["status not in ('test', 'void')"],
    ),
    case(
        "quoted-code",
        "Customers with country_code 'DE'.",
        ["country_code = 'DE'"],
        raises=TypeError,
    ),
    case(
        "possessive",
        "Keep the customer's orders with status 'gold'.",
        ["status = 'gold'"],
    ),
]


@pytest.mark.parametrize(("description", "expected"), FILTERS)
def test_stated_filters(description: str, expected: list[str]) -> None:
    found = stated_filters(description, list(FAMILIES), FAMILIES.__getitem__)
    assert [str(predicate) for predicate in found] == expected


PREDICATE_TEXTS = [
    case(
        "equals-text",
        "status = 'completed'",
        {"column": "status", "operator": "=", "value": "completed"},
    ),
    case("unary", "flag is not true", {"column": "flag", "operator": "is not true", "value": None}),
    case("number", "amount >= 10.5", {"column": "amount", "operator": ">=", "value": 10.5}),
    case(
        "quote-escaped",
        "name = 'O''Brien'",
        {"column": "name", "operator": "=", "value": "O'Brien"},
    ),
    case(
        "list", "code in ('US', 'CA')", {"column": "code", "operator": "in", "value": ["US", "CA"]}
    ),
]


@pytest.mark.parametrize(("text", "fields"), PREDICATE_TEXTS)
def test_predicate_text_form_round_trips(text: str, fields: dict[str, Any]) -> None:
    predicate = Predicate.model_validate(text)
    assert predicate.model_dump() == fields
    assert str(predicate) == text


def test_filters_and_checks_with_value_lists_are_told_apart() -> None:
    listed = {
        str(Predicate.model_validate("code in ('US', 'CA')")),
        str(Expectation.model_validate("in_set(status, values=open|closed)")),
    }
    assert listed == {"code in ('US', 'CA')", "in_set(status, values=open|closed)"}


# -- checks a quality task's description states -----------------------------------------

CHECKED = {
    "order_id": "BIGINT",
    "amount": "DECIMAL(12,2)",
    "currency": "VARCHAR",
    "status": "VARCHAR",
    "loaded_at": "TIMESTAMP",
    "qty": "INTEGER",
    "order_date": "DATE",
}


def checks(description: str) -> list[str]:
    spec = PipelineSpec.model_validate(
        {
            "name": "shop_checks",
            "description": "Checks of shop orders.",
            "dialect": "postgres",
            "sources": [{"name": "shop.orders", "columns": CHECKED}],
            "tasks": [{"name": "check_orders", "kind": "quality", "description": description}],
        }
    )
    ctx = context_for(spec, (spec.tasks or [])[0], {})
    return [str(check) for check in stated_checks(ctx, ctx.relations[0])]


CHECKS = [
    case(
        "unique-and-not-null",
        "order_id is unique and not null.",
        ["unique(order_id)", "not_null(order_id)"],
    ),
    case(
        "two-columns",
        "order_id is unique, amount is never null.",
        ["unique(order_id)", "not_null(amount)"],
    ),
    case("no-duplicates", "No duplicate order_id.", ["unique(order_id)"]),
    case("no-missing", "amount has no missing values.", ["not_null(amount)"]),
    case(
        "between",
        "amount is between 0 and 100000.",
        ["between(amount, min=0.0, max=100000.0)"],
    ),
    case("no-negative", "No negative amount.", ["between(amount, min=0.0)"]),
    case("at-least", "qty is at least 1.", ["between(qty, min=1.0)"]),
    case("at-most", "qty is at most 50.", ["between(qty, max=50.0)"]),
    case("at-least-one-row", "The table has at least one row.", ["row_count_between(min=1.0)"]),
    case("at-least-n-rows", "At least 100 rows.", ["row_count_between(min=100.0)"]),
    case("n-letter-code", "currency is a three-letter code.", ["length(currency, length=3)"]),
    case("digit-letter-code", "currency is a 3-letter code.", ["length(currency, length=3)"]),
    case("within-hours", "loaded_at is within 6 hours.", ["freshness(loaded_at, max_age_hours=6)"]),
    case(
        "recent-defaults-to-a-day",
        "loaded_at is recent.",
        ["freshness(loaded_at, max_age_hours=24)"],
    ),
    case("increasing", "order_date is increasing.", ["increasing(order_date)"]),
    case("nothing-stated", "Looks fine.", []),
    case("table-named-only", "Check the orders table.", []),
    case(
        "decimal-bounds",
        "amount is between 0.5 and 99.5.",
        ["between(amount, min=0.5, max=99.5)"],
    ),
    case(
        "hours-in-words",
        "loaded_at is within twenty-four hours.",
        ["freshness(loaded_at, max_age_hours=24)"],
    ),
    case(
        "allowed-values",
        "status is one of 'open' or 'closed'.",
        ["in_set(status, values=open|closed)"],
    ),
    case(
        "a-share-of-nulls",
        "amount has fewer than 5% nulls.",
        ["not_null(amount, mostly=0.95)"],
    ),
    case(
        "every-column-is-a-group-not-the-last-column",
        "qty is at least 1, and no nulls in every column.",
        ["between(qty, min=1.0)", *[f"not_null({name})" for name in CHECKED]],
    ),
]


@pytest.mark.parametrize(("description", "expected"), CHECKS)
def test_stated_checks(description: str, expected: list[str]) -> None:
    assert checks(description) == expected


EXPECTATION_TEXTS = [
    case(
        "between",
        "between(amount, min=0.0, max=100000.0)",
        {"check": "between", "column": "amount", "min": 0.0, "max": 100000.0},
    ),
    case("unique", "unique(order_id)", {"check": "unique", "column": "order_id"}),
    case("row-count", "row_count_between(min=1.0)", {"check": "row_count_between", "min": 1.0}),
    case(
        "freshness",
        "freshness(loaded_at, max_age_hours=6)",
        {"check": "freshness", "column": "loaded_at", "max_age_hours": 6},
    ),
    case(
        "length",
        "length(currency, length=3)",
        {"check": "length", "column": "currency", "length": 3},
    ),
    case(
        "in-set",
        "in_set(status, values=open|closed)",
        {"check": "in_set", "column": "status", "values": ["open", "closed"]},
    ),
]


@pytest.mark.parametrize(("text", "fields"), EXPECTATION_TEXTS)
def test_expectation_text_form_round_trips(text: str, fields: dict[str, Any]) -> None:
    expectation = Expectation.model_validate(text)
    assert expectation.model_dump(exclude_none=True) == fields
    assert str(expectation) == text


def test_back_quoted_names_are_not_values() -> None:
    text = Text("read `support.tickets` into `ticket_counts` where status is `open` or 'closed'")
    assert text.quoted == ["open", "closed"]
