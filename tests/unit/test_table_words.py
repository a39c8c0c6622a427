"""Tables a description names: names, roles, columns and lines (airflow_llm.table_words),
and the sources a Markdown spec without front matter gets from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_llm.local_run import spec_from_description
from airflow_llm.spec_loading import parse_spec
from airflow_llm.table_words import column_type, inferred_sources, named_tables

SHIPMENTS = """\
# Nightly shipments

1. wait_for_rows
   - Waits until the shipments table has rows for the day.
   - Notes: only rows where ship_date = '{{ ds }}' count; mode='reschedule'

2. export_day
   - Input: shipments table
   - Output: /tmp/shipments_{{ ds }}.csv

3. load_summary
   - Loads the day's totals into the shipment_totals table (target).
"""


def _tables(text: str) -> dict[str, tuple[str, int, list[tuple[str, str]]]]:
    return {
        table.name: (table.role, table.line, [(c.name, c.type) for c in table.columns])
        for table in named_tables(text.splitlines())
    }


def test_a_read_table_gets_the_filter_columns_of_its_paragraph_and_its_first_line() -> None:
    found = _tables(SHIPMENTS)
    assert found["shipments"] == ("read", 4, [("ship_date", "DATE")])
    assert found["shipment_totals"][0] == "written"


def test_only_tables_read_and_never_written_become_sources_saying_where_from() -> None:
    sources = inferred_sources(SHIPMENTS.splitlines(), first_line=10)
    assert [source.name for source in sources] == ["shipments"]
    assert sources[0].description == "inferred from description line 13 (columns as stated)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "- Source tables: crm.accounts, crm.contacts\n- Target: mart.account_summary\n",
            {"crm.accounts": "read", "crm.contacts": "read", "mart.account_summary": "written"},
        ),
        (
            "Join raw.clicks with the campaigns table into click_facts.",
            {"raw.clicks": "read", "campaigns": "read", "click_facts": "written"},
        ),
        (
            "Input: staged rows (`stg.visits`, `stg.pages`) from tables (stg.visits, stg.pages)",
            {"stg.visits": "read", "stg.pages": "read"},
        ),
        ('Output: rows appended to the "audit_log" table', {"audit_log": "written"}),
        (
            "Read the orders, refunds and customers tables; write into order_facts.",
            {"orders": "read", "refunds": "read", "customers": "read", "order_facts": "written"},
        ),
        (
            "3. store_levels\n - Objective: Load cleaned rows to the database\n"
            " - Integrations: PostgreSQL (pg_conn), stock_levels table\n",
            {"stock_levels": "written"},
        ),
    ],
)
def test_roles_come_from_the_nearest_cue_a_list_label_or_the_paragraph_lead(
    text: str, expected: dict[str, str]
) -> None:
    assert {name: role for name, (role, _, _) in _tables(text).items()} == expected


@pytest.mark.parametrize(
    "text",
    [
        "The job processes tables one by one and performs atomic table swaps.",
        "Each step waits for the previous table task; results feed into notify_task.",
        "A SqlSensor polls information_schema.partitions for Dev_DB.",
        "Writes the PostgreSQL table structure; reads from the source table.",
        "Input: output from clean_rows task, data in analytics tables",
        "Notes: fails on zero rows in the temporary table (PythonOperator)",
    ],
)
def test_words_about_kinds_of_tables_tasks_and_system_views_name_no_table(text: str) -> None:
    assert _tables(text) == {}


def test_stated_columns_keep_their_types_or_get_one_from_their_names() -> None:
    text = (
        "Create the table 'members' with columns member_id, joined_on, plan and fee.\n"
        "Read the regions table (region_code TEXT, opened DATE).\n"
    )
    found = _tables(text)
    assert found["members"] == (
        "written",
        1,
        [
            ("member_id", "BIGINT"),
            ("joined_on", "DATE"),
            ("plan", "VARCHAR"),
            ("fee", "DECIMAL(18, 2)"),
        ],
    )
    assert found["regions"] == ("read", 2, [("region_code", "TEXT"), ("opened", "DATE")])


def test_a_table_with_no_stated_columns_gets_its_paragraphs_column_words_else_an_id() -> None:
    text = "Query the payments table for the amount and status per date.\n\nRead the zones table."
    found = _tables(text)
    assert found["payments"][2] == [
        ("date", "DATE"),
        ("amount", "DECIMAL(18, 2)"),
        ("status", "VARCHAR"),
    ]
    assert found["zones"][2] == [("id", "BIGINT")]


@pytest.mark.parametrize(
    ("name", "sql_type"),
    [
        ("created_at", "TIMESTAMP"),
        ("order_date", "DATE"),
        ("customer_id", "BIGINT"),
        ("city", "VARCHAR"),
    ],
)
def test_column_types_follow_the_name(name: str, sql_type: str) -> None:
    assert column_type(name) == sql_type


def test_a_markdown_description_without_sources_gets_the_tables_it_reads(tmp_path: Path) -> None:
    text = "---\nschedule: '@daily'\n---\n" + SHIPMENTS
    spec = parse_spec(text.encode(), str(tmp_path / "shipments.md"))
    assert [(s.name, [c.name for c in s.columns]) for s in spec.sources] == [
        ("shipments", ["ship_date"])
    ]
    assert spec.sources[0].description.startswith("inferred from description line 7 ")


def test_sources_the_front_matter_declares_are_kept_as_they_are(tmp_path: Path) -> None:
    text = "---\nsources:\n  - {name: shipments, columns: {sku: VARCHAR}}\n---\n" + SHIPMENTS
    spec = parse_spec(text.encode(), str(tmp_path / "shipments.md"))
    assert [(s.name, [c.name for c in s.columns]) for s in spec.sources] == [("shipments", ["sku"])]


def test_a_spec_made_from_a_plain_description_gets_the_tables_it_reads() -> None:
    spec = spec_from_description("Export the rows of the `ledger` table to ledger.csv daily.")
    assert [(s.name, s.description) for s in spec.sources] == [
        ("ledger", "inferred from description line 1 (columns guessed from common words)")
    ]


def test_a_table_whose_words_aggregate_it_gets_its_groups_and_an_amount_to_sum() -> None:
    text = "1. sum_fares\n   - Input: the fares table\n   - Notes: totals fares by zone and hour, sorted"
    assert _tables(text)["fares"][2] == [
        ("zone", "VARCHAR"),
        ("hour", "VARCHAR"),
        ("amount", "DECIMAL(18, 2)"),
    ]
