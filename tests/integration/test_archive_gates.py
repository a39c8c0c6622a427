"""An archive through generation and the bundle gates: a scripted model that takes the
first option of every question writes a pipeline that cleans a CSV, branches on its
rows, writes an XML report on one path and a CSV on the other, then archives what the
paths wrote into a zip; another step tars the clean file with the files a glob the
words name matches. In the smoke run the branch takes one path and skips the other; the
archives are written for real, of the files that exist (their bytes are reported)."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_llm.spec import PipelineSpec
from tests.pattern_bundles import smoke_run_of

pytestmark = pytest.mark.integration

SPEC = PipelineSpec.model_validate(
    {
        "name": "claim_archive",
        "description": "Route the day's insurance claims by size and keep what each path "
        "wrote in one archive.",
        "dialect": "duckdb",
        "environments": {"dev": {"conn_id": "warehouse_dev"}},
        "tasks": [
            {
                "name": "read_claims",
                "kind": "python",
                "description": "Read claims.csv with columns claim_id, region, amount; drop "
                "duplicate rows; write claims_clean.csv.",
            },
            {
                "name": "check_size",
                "kind": "branch",
                "depends_on": ["read_claims"],
                "description": "If any claim has amount > 100, the large claims go to the "
                "regulator feed; else they all go to the ledger.",
            },
            {
                "name": "regulator_feed",
                "kind": "python",
                "depends_on": ["check_size"],
                "description": "Write the large claims for the regulator. Output: XML "
                "report, one <claim> element per row",
            },
            {
                "name": "ledger_rows",
                "kind": "python",
                "depends_on": ["check_size"],
                "description": "Keep the small claims and write ledger_claims.csv.",
            },
            {
                "name": "archive_outputs",
                "kind": "python",
                "depends_on": ["regulator_feed", "ledger_rows"],
                "description": "Merge and archive what both paths wrote for retention: "
                "compresses and stores the files.",
            },
            {
                "name": "keep_sources",
                "kind": "python",
                "depends_on": ["read_claims"],
                "description": "Pack the clean claims and the files from scans/*.csv into a "
                "tarball.",
            },
        ],
    }
)
PATTERNS = {
    "read_claims": "file_transform",
    "check_size": "branch_on_file",
    "regulator_feed": "file_report",
    "ledger_rows": "file_transform",
    "archive_outputs": "archive_files",
    "keep_sources": "archive_files",
}


def test_the_archive_holds_the_file_of_the_path_the_branch_took(tmp_path: Path) -> None:
    states = {
        "read_claims": "success",
        "check_size": "success",  # sample amounts reach 1000: some claim is > 100
        "regulator_feed": "success",
        "ledger_rows": "skipped",
        "archive_outputs": "success",
        "keep_sources": "success",
    }
    result, smoke = smoke_run_of(SPEC, PATTERNS, tmp_path, states)
    feed = smoke["regulator_feed"]["reports"]
    assert list(feed) == ["files/reports/regulator_feed_20240131.xml"]
    archive = smoke["archive_outputs"]["reports"]
    assert list(archive) == ["files/reports/archive_outputs_20240131.zip"]
    assert next(iter(archive.values())) > 0
    tarball = smoke["keep_sources"]["reports"]
    assert list(tarball) == ["files/reports/keep_sources_20240131.tar.gz"]
    assert next(iter(tarball.values())) > 0
    attempts = {task["name"]: task["attempts"][-1] for task in result.report["tasks"]}
    assert attempts["archive_outputs"]["parameters"]["sources"] == ["regulator_feed", "ledger_rows"]
    assert attempts["keep_sources"]["parameters"]["sources"] == ["read_claims", "scans/*.csv"]
