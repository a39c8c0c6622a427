"""A Markdown description that names its tables but declares none, through every gate:
the table it reads becomes an inferred source (the smoke run's sample warehouse fills
it), a ``SqlSensor`` waits for its rows of the day, ``create_table`` creates the table
a step states the columns of, and ``table_to_file`` exports the day's rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_llm.report import report_markdown
from airflow_llm.spec import TaskSpec
from airflow_llm.spec_loading import parse_spec
from tests.pattern_bundles import smoke_run_of

pytestmark = pytest.mark.integration

DESCRIPTION = """\
---
name: parcel_scans_daily
dialect: postgres
environments:
  dev: {conn_id: warehouse_dev, schema: logistics}
tasks:
  - name: wait_for_scans
    kind: sensor
    description: "Wait until the parcel_scans table has rows where scanned_on = '{{ ds }}'."
  - name: make_depot_status
    kind: sql
    depends_on: [wait_for_scans]
    description: "Create the table 'depot_status' with columns depot_code, checked_on, lanes."
  - name: export_scans
    kind: python
    depends_on: [make_depot_status]
    description: "Input: parcel_scans table, the day's rows. Output: /tmp/scans/scans_{{ ds }}.csv"
---
# Parcel scans

Every day, wait until the parcel_scans table holds the day's rows (scanned_on = '{{ ds }}').
Then create the depot_status table and export the day's scans to a CSV file.
"""
PATTERNS = {
    "wait_for_scans": "sql_sensor",
    "make_depot_status": "create_table",
    "export_scans": "table_to_file",
}


def test_a_description_without_sources_runs_on_the_table_it_names(tmp_path: Path) -> None:
    spec = parse_spec(DESCRIPTION.encode(), "parcel_scans.md")
    assert [(s.name, [c.name for c in s.columns]) for s in spec.sources] == [
        ("parcel_scans", ["scanned_on"])
    ]
    assert spec.sources[0].description.startswith("inferred from description line 21 ")
    result, smoke = smoke_run_of(spec, PATTERNS, tmp_path)
    line = "- `parcel_scans`: inferred from description line 21 (columns as stated): scanned_on"
    assert line in report_markdown(result.report).splitlines()
    assert smoke["make_depot_status"]["rows"] == {"logistics.depot_status": 0}
    (written,) = smoke["export_scans"]["rows"].items()
    assert written[0] == "files/tmp/scans/scans_2024-01-31.csv"
    assert written[1] > 0


ELT = """\
# Visit summary ELT

1. rebuild_visit_summary
   - Objective: Rebuild the visit summary with CTAS and swap it in atomically
   - Input: raw tables (raw.page_visits)
   - Notes: fails on zero rows in the temporary table (PythonOperator)

- Source tables: raw.page_visits
- Tables processed: visit_summary
"""


def test_a_ctas_step_rebuilds_the_table_the_description_names_from_its_source(
    tmp_path: Path,
) -> None:
    spec = parse_spec(ELT.encode(), "visit_summary.md")
    assert [s.name for s in spec.sources] == ["raw.page_visits"]
    task = {
        "name": "rebuild_visit_summary",
        "kind": "python",
        "description": ELT.split("\n\n")[1],
    }
    spec = spec.model_copy(update={"tasks": [TaskSpec.model_validate(task)]})
    _, smoke = smoke_run_of(spec, {"rebuild_visit_summary": "rebuild_table"}, tmp_path)
    assert smoke["rebuild_visit_summary"]["rows"] == {"main.visit_summary": 12}
