"""The http_call pattern: a step that calls an API endpoint (``POST to …``, or naming
``HttpOperator``) becomes an ``HttpOperator`` with the method its words write; the smoke
run calls the child's HTTP stub with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_llm.engine import build_bundle
from airflow_llm.patterns import context_for, pattern_named, ranked_pattern_names
from airflow_llm.patterns.http import stated_methods
from airflow_llm.plan_hybrid import cued_kinds
from airflow_llm.plan_steps import extract_steps
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec
from tests.scripted_endpoint import ScriptedModel
from tests.unit.test_engine import client

DESCRIPTION = """\
Extract the budgets from the health authority's APIs.

1. Parallel API extraction:
  - Budget_Totals: POST to the budget totals endpoint
  - Budget_Lines: POST to https://health.example.org/v2/budget/lines
2. Refresh_Status: GET the status endpoint /v2/status • Operator: HttpOperator
"""
SPEC = PipelineSpec.model_validate({"name": "budgets", "description": DESCRIPTION})


@pytest.mark.parametrize(
    ("text", "methods"),
    [
        ("POST to the budget endpoint", ["POST"]),
        ("Key Parameters: method='PUT', then GET /status", ["PUT", "GET"]),
        ("post the results and get going", []),
    ],
)
def test_stated_methods(text: str, methods: list[str]) -> None:
    assert stated_methods(text) == methods


def test_steps_that_post_to_endpoints_are_python_tasks() -> None:
    kinds = [cued_kinds(step) for step in extract_steps(DESCRIPTION)]
    assert kinds == [["python"], ["python"], ["python"]]


def test_an_api_call_that_writes_to_s3_is_http_to_s3s() -> None:
    words = "POST to the export endpoint and store the response in s3://drops/export.json"
    task = {"name": "export", "kind": "python", "description": words}
    spec = PipelineSpec.model_validate({"name": "p", "description": words, "tasks": [task]})
    assert ranked_pattern_names(context_for(spec, (spec.tasks or [])[0], {})) == ["http_to_s3"]


def test_the_calls_render_http_operators_and_reach_the_stub(tmp_path: Path) -> None:
    settings = GenerationSettings(work_dir=tmp_path / "work", strategy="hybrid")
    script = ScriptedModel({})
    result = build_bundle(SPEC, client(script), settings)
    assert script.requests == [], "methods and endpoints are the words': nothing to ask"
    assert result.valid, result.reason
    dag = result.files["dags/budgets.py"]
    assert dag.count("HttpOperator(") == 3
    assert 'method="POST",' in dag
    assert 'method="GET",' in dag
    config = result.files["dags/resources/budgets/config.yml"]
    assert "endpoint: /v2/budget/lines" in config
    assert "<fill in: endpoint budget_totals calls>" in config
    states = {task["name"]: task["state"] for task in result.report["smoke_run"]["tasks"]}
    assert states == dict.fromkeys(["budget_totals", "budget_lines", "refresh_status"], "success")
    assert pattern_named("http_call").version == 1
