"""Control-flow and file patterns through the bundle gates: in the smoke run the
``FileSensor`` pokes for the file the sandbox holds where its path points, the
``@task.branch`` takes the path its logical date selects and skips the other, and the
``EmptyOperator`` joining them runs although one path was skipped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airflow_llm.bundle.render import artifact_file, render_bundle
from airflow_llm.gates import gate_bundle
from airflow_llm.patterns import context_for, pattern_named
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec
from airflow_llm.validate.python_code import assemble_function
from tests.integration.test_gates import GOOD_FUNCTION

pytestmark = pytest.mark.integration

SPEC = PipelineSpec.model_validate(
    {
        "name": "orders_closing",
        "description": "Wait for the day's drop, then close the day or, at month end, the month.",
        "dialect": "duckdb",
        "environments": {"dev": {"conn_id": "warehouse_dev"}},
        "tasks": [
            {"name": "start", "kind": "python", "description": "Marks the start of the run."},
            {
                "name": "wait_for_drop",
                "kind": "sensor",
                "depends_on": ["start"],
                "description": "Wait for the file /data/incoming/orders_{{ ds_nodash }}.csv "
                "(FileSensor, poke_interval: 30, mode: reschedule).",
            },
            {
                "name": "pick_closing",
                "kind": "branch",
                "depends_on": ["wait_for_drop"],
                "description": "Close the month on the last day of the month, else the day.",
            },
            {
                "name": "close_month",
                "kind": "python",
                "depends_on": ["pick_closing"],
                "description": "Count the month's orders.",
            },
            {
                "name": "close_day",
                "kind": "python",
                "depends_on": ["pick_closing"],
                "description": "Count the day's orders.",
            },
            {
                "name": "closed",
                "kind": "python",
                "depends_on": ["close_month", "close_day"],
                "description": "Synchronization point: EmptyOperator after either closing.",
            },
        ],
    }
)
DROP = {"path": "/data/incoming/orders_{{ ds_nodash }}.csv", "poke_interval": 30}
BRANCH = {"condition": "last_day_of_month", "when_true": ["close_month"]}
"""The sample date, 2024-01-31, is the last day of its month."""


def bundle(drop: dict[str, Any], branch: dict[str, Any]) -> dict[str, str]:
    """The spec's bundle: its sensor, branch and markers written by their patterns with
    these parameters, the counting tasks free-form."""
    chosen = {
        "start": ("marker", {}),
        "wait_for_drop": ("file_sensor", {"timeout": "none", "mode": "reschedule", **drop}),
        "pick_closing": ("branch_on_date", branch),
        "closed": ("marker", {}),
    }
    artifacts, records = {}, {}
    for task in SPEC.tasks or []:
        if task.name not in chosen:
            file = artifact_file(task)
            function = assemble_function(GOOD_FUNCTION, file, "python", task.name, "")
            artifacts[task.name] = function.source
            continue
        name, answer = chosen[task.name]
        pattern, ctx = pattern_named(name), context_for(SPEC, task, {})
        params = pattern.parse(pattern.complete(answer, ctx))
        artifacts[task.name] = pattern.render(params, ctx).content
        parameters = params.model_dump(mode="json")
        records[task.name] = {
            "strategy": "hybrid",
            "pattern": {"name": name, "version": 1, "parameters": parameters},
        }
    return render_bundle(SPEC, list(SPEC.tasks or []), artifacts, records)


@pytest.fixture
def settings(tmp_path: Path) -> GenerationSettings:
    return GenerationSettings(work_dir=tmp_path / "work", smoke_timeout=180)


def states(smoke: dict[str, Any] | None) -> dict[str, str]:
    assert smoke is not None
    return {task["name"]: task["state"] for task in smoke["tasks"]}


def test_the_branch_takes_the_dates_path_and_the_join_runs(settings: GenerationSettings) -> None:
    result = gate_bundle(SPEC.name, bundle(DROP, BRANCH), settings)
    assert result.passed, result.findings
    assert states(result.smoke) == {
        "start": "success",
        "wait_for_drop": "success",
        "pick_closing": "success",
        "close_month": "success",
        "close_day": "skipped",
        "closed": "success",
    }
    assert result.smoke is not None
    assert [task["error"] for task in result.smoke["tasks"]] == [None] * 6


def test_another_date_condition_takes_the_other_path(settings: GenerationSettings) -> None:
    branch = {"condition": "first_day_of_month", "when_true": ["close_month"]}
    result = gate_bundle(SPEC.name, bundle(DROP, branch), settings)
    assert result.passed, result.findings
    found = states(result.smoke)
    assert (found["close_month"], found["close_day"], found["closed"]) == (
        "skipped",
        "success",
        "success",
    )


def test_a_file_sensor_whose_path_airflow_cannot_render_is_stopped(
    settings: GenerationSettings,
) -> None:
    drop = {**DROP, "path": "/data/incoming/orders_{{ next_ds_nodash }}.csv"}
    result = gate_bundle(SPEC.name, bundle(drop, BRANCH), settings)
    assert [finding.rule for finding in result.findings] == ["smoke.failed"]
    assert result.findings[0].file.endswith("wait_for_drop_operator.json")
    assert states(result.smoke)["pick_closing"] == "upstream_failed"
