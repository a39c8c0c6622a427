"""``validate_file`` through generation and every bundle gate: a file sensor waits for
the day's payments file, a step checks its columns, types and rows, and the steps
after it load the checked file into a table and clean it into another file. A scripted
model takes the first option of every question (what linking and rendering do alone);
the smoke run runs every step for real on the sample file the filesystem stand-in
holds where the sensor waits."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_llm.spec import PipelineSpec
from tests.pattern_bundles import smoke_run_of

pytestmark = pytest.mark.integration

SPEC = PipelineSpec.model_validate(
    {
        "name": "payments_intake",
        "description": "Wait for the partner's payments file, check it and load it.",
        "dialect": "postgres",
        "environments": {"dev": {"conn_id": "warehouse_dev", "schema": "analytics"}},
        "tasks": [
            {
                "name": "wait_for_payments",
                "kind": "sensor",
                "description": "Wait for the partner's payments file "
                "/drops/payments/payments_{{ ds_nodash }}.csv on the local filesystem.",
            },
            {
                "name": "check_payments",
                "kind": "python",
                "depends_on": ["wait_for_payments"],
                "description": "Validate the structure of the incoming payments file: it "
                "must hold payment_id, payer_id, paid_amount and paid_on columns with text, "
                "text, numeric, date types, and must not be empty.",
            },
            {
                "name": "load_payments",
                "kind": "python",
                "depends_on": ["check_payments"],
                "description": "Load the checked payments file into the payments_loaded table.",
            },
            {
                "name": "tidy_payments",
                "kind": "python",
                "depends_on": ["check_payments"],
                "description": "Upper-case the payer_id column of the checked file and write "
                "payments_clean.parquet.",
            },
        ],
    }
)
PATTERNS = {
    "wait_for_payments": "file_sensor",
    "check_payments": "validate_file",
    "load_payments": "file_to_table",
    "tidy_payments": "file_transform",
}


def test_a_checked_file_is_loaded_and_cleaned_in_the_smoke_run(tmp_path: Path) -> None:
    _, smoke = smoke_run_of(SPEC, PATTERNS, tmp_path)
    # the sample file's twelve rows pass the check and reach the table and the file
    assert smoke["load_payments"]["rows"] == {"analytics.payments_loaded": 12}
    assert smoke["tidy_payments"]["rows"] == {"files/payments_clean.parquet": 12}
