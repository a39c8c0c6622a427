"""The reference structure a description states: real Prompt2DAG files and small texts."""

from __future__ import annotations

from itertools import pairwise

import pytest

from airflow_llm.evaluation.reference import extract_reference
from tests.unit.test_eval_corpus import EVAL_DIR, require_corpus


def prompt2dag(name: str) -> str:
    path = EVAL_DIR / name
    require_corpus(path)
    return path.read_text()


def test_a_stated_linear_pipeline_chains_its_numbered_steps() -> None:
    text = prompt2dag(
        "synthetic-generator-v2__synthetic_linear_01_report_generation.py_description.txt"
    )
    reference = extract_reference(text)
    assert reference is not None
    tasks = ("query_sales_data", "transform_to_csv", "generate_pdf_chart", "email_sales_report")
    assert reference.tasks == tasks
    assert reference.edges == set(pairwise(tasks))
    assert reference.note == "steps in order (stated linear)"


def test_branches_and_their_merge_come_from_inputs_and_outputs() -> None:
    text = prompt2dag(
        "synthetic-generator-v2__synthetic_branch_merge_01_fraud_detection_triage.py_description.txt"
    )
    reference = extract_reference(text)
    assert reference is not None
    assert reference.edges == {
        ("analyze_transactions", "route_transaction"),
        ("route_transaction", "route_to_manual_review"),
        ("route_transaction", "route_to_auto_approve"),
        # "Completion signals from both manual_review and auto_approve tasks"
        ("route_to_manual_review", "send_notification"),
        ("route_to_auto_approve", "send_notification"),
    }


def test_an_arrow_list_fans_out() -> None:
    text = prompt2dag(
        "synthetic-generator-v2__synthetic_fan_out_only_01_data_replication_to_environments"
        ".py_description.txt"
    )
    reference = extract_reference(text)
    assert reference is not None
    assert reference.tasks == ("dump_prod_csv", "copy_dev", "copy_staging", "copy_qa")
    assert reference.edges == {("dump_prod_csv", c) for c in reference.tasks[1:]}


def test_titled_steps_are_snake_cased_and_linked_by_the_files_they_pass() -> None:
    reference = extract_reference(prompt2dag("Procurement_Supplier_Validation.txt"))
    assert reference is not None
    assert reference.tasks == ("load_modify_data", "entity_reconciliation", "save_final_data")
    assert reference.edges == {
        ("load_modify_data", "entity_reconciliation"),
        ("entity_reconciliation", "save_final_data"),
    }


def test_listed_segment_members_are_tasks_and_unstated_edges_leave_edges_unknown() -> None:
    reference = extract_reference(prompt2dag("bcgov__medis-scheduler__PCD-ETL.py_description.txt"))
    assert reference is not None
    assert len(reference.tasks) == 24
    assert {"financial_expense", "status_tracker", "nppcc_budget"} <= set(reference.tasks)
    assert "parallel_http_api_extraction_segment" not in reference.tasks
    assert reference.edges is None
    assert reference.note == "edges not stated for: ETL_Notification"


def test_taskgroup_sub_steps_replace_their_group() -> None:
    text = prompt2dag(
        "synthetic-generator-v2__synthetic_staged_etl_01_supply_chain_etl.py_description.txt"
    )
    reference = extract_reference(text)
    assert reference is not None
    assert reference.tasks == (
        "ingest_vendor_a",
        "ingest_vendor_b",
        "ingest_vendor_c",
        "cleanse_data",
        "load_to_db",
        "send_summary_email",
    )


@pytest.mark.parametrize(
    ("text", "tasks", "edges"),
    [
        pytest.param(
            "Pipeline Steps:\n1. extract\n2. notify_a\n3. notify_b\n\nextract >> [notify_a, notify_b]\n",
            ("extract", "notify_a", "notify_b"),
            {("extract", "notify_a"), ("extract", "notify_b")},
            id="arrow-with-list",
        ),
        pytest.param(
            "Pipeline Steps:\n1. get_a & get_b\n2. Merge Both (final)\n"
            "  - Input: get_a, get_b\n",
            ("get_a", "get_b", "merge_both"),
            {("get_a", "merge_both"), ("get_b", "merge_both")},
            id="ampersand-and-inputs",
        ),
        pytest.param(
            "Pipeline Steps:\n1. grouped TaskGroup\n2. first\n3. second\n"
            "This runs as a strictly sequential pipeline.\n",
            ("first", "second"),
            {("first", "second")},
            id="empty-group-dropped",
        ),
        pytest.param("Pipeline Steps:\n1. only_step\n", ("only_step",), set(), id="one-step"),
        pytest.param(
            "Pipeline Steps:\n1. a_step\n2. b_step\n", ("a_step", "b_step"), None, id="no-edges"
        ),
    ],
)
def test_small_descriptions(text: str, tasks: tuple[str, ...], edges: set[str] | None) -> None:
    reference = extract_reference(text)
    assert reference is not None
    assert reference.tasks == tasks
    assert reference.edges == edges


@pytest.mark.parametrize(
    "text",
    [
        "Every day copy the orders into a table and check them.",
        "1. not a pipeline step list\n2. because there is no heading\n",
        "Pipeline Steps:\n\nOrchestration & Scheduling:\n1. daily\n",
    ],
)
def test_no_reference_without_numbered_pipeline_steps(text: str) -> None:
    assert extract_reference(text) is None
