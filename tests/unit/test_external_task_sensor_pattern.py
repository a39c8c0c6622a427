"""The external_task_sensor pattern: a sensor step whose words name
``ExternalTaskSensor`` or wait until another DAG's (or the previous day's) run has
completed becomes a deferrable ``ExternalTaskSensor`` with the DAG id, task id, shift
back in time, poke interval and timeout the words state; the DAG id is a ``config.yml``
placeholder when unstated, and the smoke run leaves it to the deployment."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from airflow_llm.engine import build_bundle
from airflow_llm.patterns import (
    ParameterError,
    pattern_named,
)
from airflow_llm.patterns.base import Rendered
from airflow_llm.patterns.dag_runs import (
    stated_dag_ids,
    stated_delta,
    stated_task_ids,
    timedelta_source,
)
from airflow_llm.plan_hybrid import cued_kinds
from airflow_llm.plan_steps import extract_steps
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec
from tests.scripted_endpoint import ScriptedModel
from tests.unit.test_engine import client
from tests.unit.test_pattern_applies import ranked, step_context

DESCRIPTION = """\
Publish the day's orders once their inputs are complete.

1. Wait_For_Ingest: Wait for the orders_ingest DAG to complete
2. Wait_For_Yesterday: Ensure the previous day's run of this DAG completed
  • Key Parameters: external_task_id='end', poke_interval=120, timeout=3600
3. Wait_For_Partner: Gate on the partner feed • Operator or Mechanism: ExternalTaskSensor
4. end
  • Objective: Mark the end of the pipeline
  • Operator or Mechanism: EmptyOperator
"""
SPEC = PipelineSpec.model_validate({"name": "orders_publish", "description": DESCRIPTION})


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("Wait until the upstream billing DAG has finished", True),
        ("Wait for DAG 'WF_MAIN' to succeed", True),
        ("Ensure the previous day's run completed successfully", True),
        ("Gate the load • Operator: ExternalTaskSensor", True),
        (
            "Gate pipeline execution until previous day's L1 to L2 load completes • "
            "Operator or Mechanism: SqlSensor",
            False,
        ),
        ("Wait for the upstream pipeline to deliver /data/in/orders.csv", False),
        (
            "Clean up sessions • Input: ExternalTaskSensor completion • Operator or "
            "Mechanism: TriggerDagRunOperator",
            False,
        ),
        ("Wait for the _SUCCESS marker in s3://drops/orders/", False),
    ],
)
def test_it_serves_steps_that_wait_for_a_dag_run(description: str, expected: bool) -> None:
    assert ("external_task_sensor" in ranked(description, "sensor")) is expected


@pytest.mark.parametrize(
    ("text", "dags", "tasks"),
    [
        (
            "Key Parameters: external_dag_id='WF_MAIN', external_task_id='end'",
            ["WF_MAIN"],
            ["end"],
        ),
        ("Integrations: External DAG 'WF_MAIN_LOAD' end task", ["WF_MAIN_LOAD"], ["end"]),
        ("Wait for the orders_ingest DAG's task 'publish'", ["orders_ingest"], ["publish"]),
        ("Wait for the upstream DAG", [], []),
    ],
)
def test_stated_ids(text: str, dags: list[str], tasks: list[str]) -> None:
    assert (stated_dag_ids(text), stated_task_ids(text)) == (dags, tasks)


@pytest.mark.parametrize(
    ("text", "seconds", "source"),
    [
        ("execution_delta=timedelta(days=1)", [86400], "timedelta(days=1)"),
        ("execution_delta=timedelta(hours=1, minutes=30)", [5400], "timedelta(minutes=90)"),
        ("the previous day's completion", [86400], "timedelta(days=1)"),
        (
            "yesterday's run; execution_delta=timedelta(weeks=1)",
            [604800, 86400],
            "timedelta(weeks=1)",
        ),
    ],
)
def test_stated_delta(text: str, seconds: list[int], source: str) -> None:
    assert stated_delta(text) == seconds
    assert timedelta_source(seconds[0]) == source


def test_waiting_steps_are_sensor_tasks() -> None:
    kinds = [cued_kinds(step) for step in extract_steps(DESCRIPTION)]
    assert kinds[:3] == [["sensor"]] * 3


def test_a_dag_waiting_for_its_own_run_looks_back() -> None:
    ctx = step_context("Wait for this DAG's previous day's run", "sensor")
    pattern = pattern_named("external_task_sensor")
    schema = pattern.parameter_schema(ctx, {})["properties"]
    assert (schema["external_dag_id"], schema["execution_delta"]) == (
        {"enum": ["p"]},
        {"enum": [86400]},
    )
    with pytest.raises(ParameterError, match="its own run"):
        pattern.render(pattern.parse({"external_dag_id": "p"}), ctx)
    earlier = {"external_dag_id": "p", "execution_delta": 86400}
    assert isinstance(pattern.render(pattern.parse(earlier), ctx), Rendered)
    with pytest.raises(ParameterError, match="no task 'load'"):
        pattern.render(pattern.parse({**earlier, "external_task_id": "load"}), ctx)
    assert isinstance(
        pattern.render(pattern.parse({**earlier, "external_task_id": "step"}), ctx), Rendered
    )


def test_the_bundle_waits_with_stated_ids_and_leaves_the_runs_to_the_deployment(
    tmp_path: Path,
) -> None:
    settings = GenerationSettings(work_dir=tmp_path / "work", strategy="hybrid")
    script = ScriptedModel({})
    result = build_bundle(SPEC, client(script), settings)
    assert script.requests == [], "ids and intervals are the words': nothing to ask"
    assert result.valid, result.reason
    dag = result.files["dags/orders_publish.py"]
    assert dag.count("ExternalTaskSensor(") == 3
    assert "execution_delta=timedelta(days=1)," in dag
    assert 'external_task_id="end",' in dag
    assert "poke_interval=120," in dag
    assert "deferrable=True" in dag
    config = yaml.safe_load(result.files["dags/resources/orders_publish/config.yml"])
    operators = config["dev"]["operators"]
    assert operators["wait_for_ingest"] == {"external_dag_id": "orders_ingest"}
    assert operators["wait_for_yesterday"] == {"external_dag_id": "orders_publish"}
    placeholder = "<fill in: DAG id whose run wait_for_partner waits for>"
    assert operators["wait_for_partner"] == {"external_dag_id": placeholder}
    states = {task["name"]: task["state"] for task in result.report["smoke_run"]["tasks"]}
    reason = "not run: external: waits for a DAG run of the deployment (another DAG's, or an earlier one)"
    assert states == {
        "wait_for_ingest": reason,
        "wait_for_yesterday": reason,
        "wait_for_partner": reason,
        "end": "success",
    }
