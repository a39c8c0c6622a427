"""Which operator patterns a task's words admit: a pattern serves the step whose point
is what its operator does (an email, another DAG's run), not one that only mentions the
word, and not one whose words name another operator that runs it."""

from __future__ import annotations

import pytest

from airflow_llm.patterns import TaskContext, context_for, ranked_pattern_names
from airflow_llm.patterns.operators import lead
from airflow_llm.spec import PipelineSpec


def step_context(description: str, kind: str = "python") -> TaskContext:
    """The context of a one-task pipeline ``p`` whose task ``step`` has these words."""
    task = {"name": "step", "kind": kind, "description": description}
    spec = PipelineSpec.model_validate({"name": "p", "description": description, "tasks": [task]})
    return context_for(spec, (spec.tasks or [])[0], {})


def ranked(description: str, kind: str = "python") -> list[str]:
    return ranked_pattern_names(step_context(description, kind))


@pytest.mark.parametrize(
    "description",
    [
        "Email finance@example.com that the day's orders are staged.",
        "2. send_email_campaign • Objective: Execute email marketing campaign",
        "Notify the data team by email when the load is done.",
        "Alert on-call by e-mail • Operator: EmailOperator",
    ],
)
def test_a_step_whose_point_is_an_email_gets_notify_email(description: str) -> None:
    assert "notify_email" in ranked(description)


@pytest.mark.parametrize(
    "description",
    [
        "1. create_customer • Objective: Create a customer account • Technical Details: "
        "- Input: hardcoded data (email jane@example.com, first name Jane)",
        "Load customer emails from the CRM export into the staging area.",
        "Extract user data • Technical Details: - Output: name, email and address columns",
    ],
)
def test_an_email_that_is_only_data_is_no_notification(description: str) -> None:
    assert "notify_email" not in ranked(description)


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("Trigger the orders_reporting DAG.", True),
        ("Kick off the downstream reporting pipeline.", True),
        ("Start reporting • Operator: TriggerDagRunOperator", True),
        ("validate_schema • Objective: Validate the file schema • Input: DAG trigger", False),
        ("Execute the Databricks notebook • Technical Details: - Input: trigger", False),
    ],
)
def test_trigger_dag_serves_steps_that_trigger_a_dag(description: str, expected: bool) -> None:
    assert ("trigger_dag" in ranked(description)) is expected


def test_words_naming_another_operator_rule_out_the_patterns_of_others() -> None:
    upload = (
        "Upload the extracted data to S3 through the API • Operator or Mechanism: "
        "KubernetesJobOperator"
    )
    assert ranked(upload) == ["kubernetes_job"]
    generic = "Upload the API's response to S3 • Operator or Mechanism: PythonOperator"
    assert "http_to_s3" in ranked(generic)


def test_lead_is_the_title_and_objective() -> None:
    text = "3. load • Objective: Load rows • Technical Details: - Input: email list"
    assert lead(text) == "3. load • Objective: Load rows • "
    assert lead("### 2. Geocode - **Objective**: Geocode - **Input**: a.json") == (
        "### 2. Geocode - **Objective**: Geocode - **"
    )


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("1. get_user • Objective: Fetch user data from the external API endpoint", True),
        ("Financial_Expense: POST to financial expense endpoint", True),
        ("Refresh the cache • Operator: SimpleHttpOperator", True),
        ("2. process_user • Objective: Extract and transform user data from API response", False),
    ],
)
def test_http_call_serves_steps_that_call_an_api(description: str, expected: bool) -> None:
    assert ("http_call" in ranked(description)) is expected
