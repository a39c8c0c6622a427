"""Candidate steps from a description's Markdown structure (data-driven cases)."""

from __future__ import annotations

import pytest

from airflow_llm.plan_steps import extract_steps, step_name

NUMBERED_WITH_DETAILS = """\
Opening Summary:
A file gates the load.

Pipeline Steps:

1. wait_for_file
  • Objective: wait for the daily file
    - Output: unlocks validate_schema

2. Validate_Schema
  • Objective: check the columns

Orchestration:
- Schedule: daily
"""

INTERRUPTED = """\
Pipeline Steps:

1. extract_orders
  • Objective: pull orders

Parallel Segment (width: 2):
2. load_eu
3. load_us
"""

GROUPS = """\
1. stage_1_extract TaskGroup
  • Objective: extract from vendors

1.1 ingest_vendor_a
  • Input: a.csv

1.2 ingest_vendor_b
  • Input: b.csv

2. Parallel API calls (2 tasks):
  - Financial_Expense: POST to the expense endpoint
  - HR_Records: POST to the HR endpoint

3. get_json & get_data
  • Objective: download then parse
"""

REFERENCE_AFTER_STEPS = """\
Pipeline Steps:

1. extract_orders
  • Objective: pull orders

2. notify_team
  • Objective: email the team when a task fails

Infrastructure & Dependencies:
• External Triggers:
  - refresh_reports: the reporting DAG
  - rebuild_cache: the cache warm-up DAG
"""

HEADINGS = """\
# Review pipeline

## Pipeline Steps

### 1. Load & Modify Data
- **Input**: reviews.csv

### 2. Sentiment Analysis
- **Output**: sentiment.json
"""

BULLETS = """\
Nightly job:

- Extract orders from the shop database
- Aggregate revenue per day
- Publish the totals to the dashboard table
"""

PROSE = """\
Every weekday morning, collect the tickets opened in the previous 24 hours from the
`support.tickets` table (ticket_id, customer_id, priority). Count tickets per priority
and flag customers with more than three tickets, then store the counts in the
`ticket_counts` table.
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            NUMBERED_WITH_DETAILS,
            [("wait_for_file", 6, "numbered item", None), ("validate_schema", 10, "numbered item", None)],
            id="numbered items, details inside",
        ),
        pytest.param(
            INTERRUPTED,
            [("extract_orders", 3, "numbered item", None), ("load_eu", 7, "numbered item", None),
             ("load_us", 8, "numbered item", None)],
            id="numbering continued after a paragraph",
        ),
        pytest.param(
            GROUPS,
            [("ingest_vendor_a", 4, "group member", "stage_1_extract TaskGroup"),
             ("ingest_vendor_b", 7, "group member", "stage_1_extract TaskGroup"),
             ("financial_expense", 11, "group member", "Parallel API calls (2 tasks):"),
             ("hr_records", 12, "group member", "Parallel API calls (2 tasks):"),
             ("get_json", 14, "numbered item", None), ("get_data", 14, "numbered item", None)],
            id="groups stand for their members; joined names split",
        ),
        pytest.param(
            REFERENCE_AFTER_STEPS,
            [("extract_orders", 3, "numbered item", None), ("notify_team", 6, "numbered item", None)],
            id="task-named bullets of a later section are not the last step's members",
        ),
        pytest.param(
            HEADINGS,
            [("load_modify_data", 5, "heading", None), ("sentiment_analysis", 8, "heading", None)],
            id="numbered headings",
        ),
        pytest.param(
            BULLETS,
            [("extract_orders", 3, "bullet", None), ("aggregate_revenue_per_day", 4, "bullet", None),
             ("publish_totals", 5, "bullet", None)],
            id="bullets that start with verbs",
        ),
        pytest.param(
            PROSE,
            [("collect_tickets_opened", 1, "clause", None),
             ("count_tickets_per_priority", 2, "clause", None), ("flag_customers", 3, "clause", None),
             ("store_counts", 3, "clause", None)],
            id="verb-led clauses of prose",
        ),
    ],
)  # fmt: skip
def test_steps_come_from_the_structure(
    text: str, expected: list[tuple[str, int, str, str | None]]
) -> None:
    steps = extract_steps(text)
    assert [(s.name, s.line, s.source, s.group) for s in steps] == expected
    assert [s.index for s in steps] == list(range(len(expected)))


def test_a_step_keeps_its_whole_text() -> None:
    first = extract_steps(NUMBERED_WITH_DETAILS)[0]
    assert first.title == "wait_for_file"
    assert "Output: unlocks validate_schema" in first.text
    assert "check the columns" not in first.text


@pytest.mark.parametrize(
    "text",
    [
        "A dashboard of revenue for the finance team.",
        "- revenue\n- margin\n",  # bullets that are not steps
        "Load the orders.",  # one clause is not a list of steps
    ],
)
def test_text_without_steps_gives_none(text: str) -> None:
    assert extract_steps(text) == []


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("wait_for_file", "wait_for_file"),
        ("Check_PCD_SFTP_Folder", "check_pcd_sftp_folder"),
        ("runCTAS (iterative for each table)", "run_ctas"),
        ("Load and Modify Data", "load_modify_data"),
        ("check that every ticket of the day was counted", "check_ticket"),
        ("Every night, summarise the most common subjects into a digest", "summarise_most_common_subjects"),
    ],
)  # fmt: skip
def test_step_names_come_from_the_words(title: str, name: str) -> None:
    assert step_name(title) == name


def test_the_list_a_steps_heading_introduces_wins_over_a_longer_one() -> None:
    text = (
        "Requirements:\n\n1. runs daily\n2. is idempotent\n3. alerts on failure\n\n"
        "Pipeline steps:\n\n1. extract_orders\n2. load_orders\n"
    )
    assert [step.name for step in extract_steps(text)] == ["extract_orders", "load_orders"]
