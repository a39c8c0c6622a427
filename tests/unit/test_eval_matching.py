"""Fuzzy task-name matching and structure precision/recall."""

from __future__ import annotations

import pytest

from airflow_llm.evaluation.matching import (
    DEFAULT_THRESHOLD,
    match_names,
    score_structure,
    similarity,
)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("send_notification", "send_notifications"),
        ("extractSalesData", "extract_sales_data"),
        ("Load Modify Data", "load_modify_data"),
        ("load_data", "load_modify_data"),
        ("wait_for_file", "wait_for_ftp_file"),
        ("transform", "transform_to_csv"),
        ("load_csv", "load_customer_segment_csv"),
    ],
)
def test_alike_names_match(left: str, right: str) -> None:
    assert similarity(left, right) >= DEFAULT_THRESHOLD


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("check_orders", "check_pcd_sftp_folder"),
        ("send_email", "send_sms_campaign"),
        ("load_orders", "load_data_airvisual_to_postgresql"),
        ("extract_sales", "query_sales_data"),
        ("task", "the_task"),  # filler words only
    ],
)
def test_different_names_do_not_match(left: str, right: str) -> None:
    assert similarity(left, right) < DEFAULT_THRESHOLD


def test_matching_is_one_to_one_and_prefers_the_closest_pair() -> None:
    planned = ["send_email", "send_email_campaign", "load_segments"]
    reference = ["send_email_campaign", "load_customer_segment_csv"]
    assert match_names(planned, reference) == {
        "send_email_campaign": "send_email_campaign",  # not send_email, a less similar name
        "load_segments": "load_customer_segment_csv",  # segment(s): a word and its prefix
    }


def test_precision_and_recall_of_tasks_and_edges() -> None:
    score = score_structure(
        planned_tasks=["extract_orders", "clean_orders", "load_orders", "notify_team"],
        planned_edges=[
            ("extract_orders", "clean_orders"),
            ("clean_orders", "load_orders"),
            ("extract_orders", "notify_team"),
        ],
        reference_tasks=["extract_orders", "cleanse_orders", "load_orders_to_db"],
        reference_edges=[
            ("extract_orders", "cleanse_orders"),
            ("cleanse_orders", "load_orders_to_db"),
        ],
    )
    assert score.matches == {
        "extract_orders": "extract_orders",
        "clean_orders": "cleanse_orders",
        "load_orders": "load_orders_to_db",
    }
    assert (score.task_precision, score.task_recall) == (3 / 4, 1.0)
    assert (score.edge_precision, score.edge_recall) == (2 / 3, 1.0)


X, Y = "extract", "load"


@pytest.mark.parametrize(
    ("planned", "planned_edges", "reference_edges", "expected"),
    [
        pytest.param([], [], [(X, Y)], (None, 0.0, None, 0.0), id="nothing-planned"),
        pytest.param([X, Y], [(X, Y)], None, (1.0, 1.0, None, None), id="edges-unknown"),
        pytest.param([Y, X], [(Y, X)], [(X, Y)], (1.0, 1.0, 0.0, 0.0), id="reversed"),
    ],
)
def test_undefined_and_zero_rates(
    planned: list[str],
    planned_edges: list[tuple[str, str]],
    reference_edges: list[tuple[str, str]] | None,
    expected: tuple[float | None, ...],
) -> None:
    score = score_structure(planned, planned_edges, [X, Y], reference_edges)
    rates = (score.task_precision, score.task_recall, score.edge_precision, score.edge_recall)
    assert rates == expected
