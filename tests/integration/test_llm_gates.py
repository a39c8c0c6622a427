"""``@task.llm`` over batches through the bundle gates: in the smoke run the batches task
reads the DuckDB warehouse's sample reviews, the mapped LLM task sends real HTTP requests
to the model endpoint's stand-in on the sandboxed child's loopback, its answers reach
the answers table and the SQL task after it upserts them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airflow_llm.engine import MANIFEST
from airflow_llm.gates import gate_bundle
from airflow_llm.settings import GenerationSettings
from airflow_llm.validate.findings import errors
from tests.unit.test_render_golden import golden_files

pytestmark = pytest.mark.integration
PIPELINE = "review_sentiment_batch"


def smoke_tasks(work: Path) -> dict[str, dict[str, Any]]:
    """The golden bundle's smoke report, by task; the gates must pass."""
    files = {path: text for path, text in golden_files(PIPELINE).items() if path != MANIFEST}
    result = gate_bundle(PIPELINE, files, GenerationSettings(work_dir=work))
    assert errors(result.findings) == [], result.findings
    assert result.smoke is not None
    return {task["name"]: task for task in result.smoke["tasks"]}


def test_the_llm_task_really_runs_against_the_model_stand_in(tmp_path: Path) -> None:
    tasks = smoke_tasks(tmp_path)
    assert tasks["fetch_review_batches"]["state"] == "success"
    classify = tasks["classify_reviews"]
    assert classify["state"] == "success", classify  # not "not run: external"
    assert classify["model_requests"] >= 1, "the LLM task never reached the model's stand-in"
    answers = classify["rows"]["main.classify_reviews"]
    assert answers >= 1, "no answer reached the answers table"
    store = tasks["store_review_sentiment"]
    assert store["state"] == "success"
    assert store["rows"] == {"main.review_sentiment": answers}
    assert store["rerun_rows"] == {"review_sentiment": answers}
