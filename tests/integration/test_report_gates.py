"""Reports through generation and the bundle gates: a scripted model that takes the first
option of every question writes a pipeline that cleans a CSV, then writes a PDF bar
chart of it, an XML feed, an HTML page and PDF table pages, and emails the chart as an
attachment; the smoke run runs each step for real on the sample file (matplotlib in
the sandbox, the email through the mail sink, which reads the attached file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_llm.spec import PipelineSpec
from tests.pattern_bundles import smoke_run_of

pytestmark = pytest.mark.integration

SPEC = PipelineSpec.model_validate(
    {
        "name": "parcel_reports",
        "description": "Reports of the day's parcel deliveries.",
        "dialect": "postgres",
        "environments": {"dev": {"conn_id": "warehouse_dev", "schema": "logistics"}},
        "tasks": [
            {
                "name": "clean_parcels",
                "kind": "python",
                "description": "Read parcels.csv with columns parcel_id, depot, weight_kg; "
                "drop rows with nulls in weight_kg. Output: clean_parcels.csv",
            },
            {
                "name": "weight_chart",
                "kind": "python",
                "depends_on": ["clean_parcels"],
                "description": "Plot a PDF bar chart of weight_kg by depot. "
                "Output: charts/weights.pdf",
            },
            {
                "name": "customs_feed",
                "kind": "python",
                "depends_on": ["clean_parcels"],
                "description": "Produce the customs XML report of the parcels, one <parcel> "
                "element per row. Output: XML report",
            },
            {
                "name": "parcel_page",
                "kind": "python",
                "depends_on": ["clean_parcels"],
                "description": "Publish the parcels as an HTML page. Output: parcels.html",
            },
            {
                "name": "depot_summary",
                "kind": "python",
                "depends_on": ["clean_parcels"],
                "description": "Create the closing depot summary report. "
                "Output: depot_summary.pdf",
            },
            {
                "name": "mail_chart",
                "kind": "python",
                "depends_on": ["weight_chart"],
                "description": "Email the weight chart to depots@parcels.example with the "
                "PDF attached.",
            },
        ],
    }
)
PATTERNS = {
    "clean_parcels": "file_transform",
    "weight_chart": "file_report",
    "customs_feed": "file_report",
    "parcel_page": "file_report",
    "depot_summary": "file_report",
    "mail_chart": "notify_email",
}


def test_reports_are_written_in_the_smoke_run_and_the_chart_is_mailed(tmp_path: Path) -> None:
    result, smoke = smoke_run_of(SPEC, PATTERNS, tmp_path)
    reports = {name: task["reports"] for name, task in smoke.items() if task["reports"]}
    assert {name: list(found) for name, found in reports.items()} == {
        "weight_chart": ["files/charts/weights.pdf"],
        "customs_feed": ["files/reports/customs_feed_20240131.xml"],
        "parcel_page": ["files/parcels.html"],
        "depot_summary": ["files/depot_summary.pdf"],
    }
    assert all(size > 0 for found in reports.values() for size in found.values())
    attempts = {task["name"]: task["attempts"][-1] for task in result.report["tasks"]}
    assert attempts["weight_chart"]["parameters"]["x"] == "depot"
    assert attempts["mail_chart"]["parameters"]["attachments"] == ["weight_chart"]
