"""A branch over a file through generation and the bundle gates: a scripted model that
takes the first option of every question (what linking and rendering decide alone)
writes a pipeline whose two branches decide on the rows of the file before them (a
column compared with a number; the values of a column), the paths filter the rows their
branch chose them for, a merge stacks the paths' files and an email closes the run.
In the smoke run each branch takes one path and skips the other, and the tasks after
the paths run: the merge without the skipped path's file, the email (which also depends
on the branch itself: the branch always chooses it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_llm.spec import PipelineSpec
from tests.pattern_bundles import smoke_run_of

pytestmark = pytest.mark.integration

SPEC = PipelineSpec.model_validate(
    {
        "name": "payment_review",
        "description": "Route the day's payments by size and by tier, then email finance.",
        "dialect": "duckdb",
        "environments": {"dev": {"conn_id": "warehouse_dev"}},
        "tasks": [
            {
                "name": "load_payments",
                "kind": "python",
                "description": "Read the payments.csv file with headers (payment_id, "
                "customer_tier, amount, currency), drop duplicate rows and write "
                "payments.parquet.",
            },
            {
                "name": "check_amounts",
                "kind": "branch",
                "depends_on": ["load_payments"],
                "description": "If any payment has amount > 100, the large payments go to "
                "review; else they all pass.",
            },
            {
                "name": "review_large",
                "kind": "python",
                "depends_on": ["check_amounts"],
                "description": "Review the large payments and write large_payments.json.",
            },
            {
                "name": "pass_small",
                "kind": "python",
                "depends_on": ["check_amounts"],
                "description": "Let the small payments pass and write small_payments.json.",
            },
            {
                "name": "merge_paths",
                "kind": "python",
                "depends_on": ["review_large", "pass_small"],
                "description": "Merge the reviewed and passed payments into checked.parquet.",
            },
            {
                "name": "check_tier",
                "kind": "branch",
                "depends_on": ["merge_paths"],
                "description": "Pick the path by customer tier (gold vs basic).",
            },
            {
                "name": "handle_gold",
                "kind": "python",
                "depends_on": ["check_tier"],
                "description": "Handle the gold customers' payments; write gold.csv.",
            },
            {
                "name": "handle_basic",
                "kind": "python",
                "depends_on": ["check_tier"],
                "description": "Handle the basic customers' payments; write basic.csv.",
            },
            {
                "name": "notify_finance",
                "kind": "python",
                "depends_on": ["check_tier", "handle_gold", "handle_basic"],
                "description": "Send an email notification to finance@example.com once the "
                "tier paths are complete.",
            },
        ],
    }
)
PATTERNS = {
    "load_payments": "file_transform",
    "check_amounts": "branch_on_file",
    "review_large": "file_transform",
    "pass_small": "file_transform",
    "merge_paths": "merge_files",
    "check_tier": "branch_on_file",
    "handle_gold": "file_transform",
    "handle_basic": "file_transform",
    "notify_finance": "notify_email",
}


def test_branches_over_files_take_one_path_and_the_tasks_after_them_run(
    tmp_path: Path,
) -> None:
    states = {
        "load_payments": "success",
        "check_amounts": "success",  # sample amounts reach 1000: some row is > 100
        "review_large": "success",
        "pass_small": "skipped",
        "merge_paths": "success",
        "check_tier": "success",  # no sample row is 'gold' or 'basic': the else path
        "handle_gold": "skipped",
        "handle_basic": "success",
        "notify_finance": "success",
    }
    _, smoke = smoke_run_of(SPEC, PATTERNS, tmp_path, states)
    rows = {name: task["rows"] for name, task in smoke.items()}
    large = rows["review_large"]["files/large_payments.json"]
    assert 0 < large < rows["load_payments"]["files/payments.parquet"]
    assert rows["merge_paths"] == {"files/checked.parquet": large}
    assert rows["handle_basic"] == {"files/basic.csv": 0}
