"""The notify_slack pattern: a step whose point is a Slack message (its title or
objective says to send, post or alert in Slack, or its words name a Slack operator,
notifier or callback) becomes a ``SlackWebhookOperator`` whose webhook connection
``config.yml`` gives; the smoke run posts to the child's HTTP stub, which answers as
Slack does, and reports the message it received."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from airflow_llm.engine import build_bundle
from airflow_llm.patterns import (
    ParameterError,
    pattern_named,
)
from airflow_llm.plan_hybrid import cued_kinds
from airflow_llm.plan_steps import extract_steps
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec
from airflow_llm.validate.sample_data import SAMPLE_DATE
from tests.scripted_endpoint import ScriptedModel
from tests.unit.test_engine import client
from tests.unit.test_pattern_applies import ranked, step_context

DESCRIPTION = """\
Tell the operations team about the nightly load.

1. Announce_Start: Send a Slack notification that the nightly load started
  • Key Parameters: slack_webhook_conn_id='slack_ops'
2. Tell_Team: Post the load's completion to #data-alerts on Slack
3. slack
  • Objective: Notify the pipeline's completion
  • Key Parameters: on_success_callback=Slack.notify_dag_completion
  • Operator or Mechanism: EmptyOperator
"""
SPEC = PipelineSpec.model_validate({"name": "nightly_load", "description": DESCRIPTION})


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("Alert the on-call channel in Slack when the load fails", True),
        ("Publish the summary • Operator: SlackWebhookOperator", True),
        ("Post the daily digest • Operator or Mechanism: SlackAPIPostOperator", True),
        (
            "runCTAS • Objective: Create analytics tables • Technical Details: - "
            "Integrations: Snowflake, Slack (failure notifications)",
            False,
        ),
        ("Summarize the Slack export file into a table", False),
        (
            "Load orders • Key Parameters: on_failure_callback=Slack.notify_task_failure • "
            "Operator or Mechanism: PythonOperator",
            False,
        ),
        ("Send a Slack message • Operator or Mechanism: KubernetesJobOperator", False),
    ],
)
def test_notify_slack_serves_steps_whose_point_is_a_slack_message(
    description: str, expected: bool
) -> None:
    assert ("notify_slack" in ranked(description)) is expected


def test_slack_steps_are_python_tasks() -> None:
    assert [cued_kinds(step) for step in extract_steps(DESCRIPTION)] == [["python"]] * 3


def test_the_channel_and_connection_are_the_words() -> None:
    pattern = pattern_named("notify_slack")
    schema = pattern.parameter_schema(step_context("Post to #data-alerts on Slack"), {})
    assert schema["properties"] == {
        "channel": {"enum": ["#data-alerts"]},
        "conn_id": {"enum": ["none"]},
    }
    with pytest.raises(ParameterError, match="channel"):
        pattern.parse({"channel": "data alerts", "conn_id": "none"})


def test_the_bundle_posts_to_slack_through_the_stub(tmp_path: Path) -> None:
    settings = GenerationSettings(work_dir=tmp_path / "work", strategy="hybrid")
    script = ScriptedModel({})
    result = build_bundle(SPEC, client(script), settings)
    assert script.requests == [], "channels and connections are the words': nothing to ask"
    assert result.valid, result.reason
    dag = result.files["dags/nightly_load.py"]
    assert dag.count("SlackWebhookOperator(") == 3
    assert 'channel="#data-alerts"' in dag or "channel='#data-alerts'" in dag
    config = yaml.safe_load(result.files["dags/resources/nightly_load/config.yml"])
    operators = config["dev"]["operators"]
    assert operators["announce_start"] == {"slack_webhook_conn_id": "slack_ops"}
    placeholder = "<fill in: Slack incoming webhook connection tell_team posts with>"
    assert operators["tell_team"] == {"slack_webhook_conn_id": placeholder}
    tasks = {task["name"]: task for task in result.report["smoke_run"]["tasks"]}
    assert {name: task["state"] for name, task in tasks.items()} == dict.fromkeys(
        ["announce_start", "tell_team", "slack"], "success"
    )
    (posted,) = tasks["announce_start"]["http_requests"]
    assert posted.startswith("POST /services/slack_ops: *nightly_load* (announce_start, ")
    assert SAMPLE_DATE.isoformat() in posted
    assert "the nightly load started" in posted
    assert tasks["tell_team"]["http_requests"][0].startswith(
        "POST /services/airflow_llm_smoke_slack: "
    )
