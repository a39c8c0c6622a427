"""The control-flow and file patterns: which tasks they serve (a marker never serves a
task that does work), the questions they ask (the downstream task ids and the date
conditions as enums, the path and timings the words state), what they refuse, and the
operators they render; the smoke run's stand-ins for a file sensor."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_llm.bundle.render import after_a_branch, bound_operators
from airflow_llm.patterns import ParameterError, context_for, pattern_menu, pattern_named
from airflow_llm.patterns.control import HOLDS, TESTS, is_marker, stated_conditions
from airflow_llm.patterns.files import POKE_INTERVAL, TIMEOUT, stated_paths, stated_seconds
from airflow_llm.spec import PipelineSpec
from airflow_llm.validate.smoke_run import _stand_ins
from airflow_llm.validate.stand_ins import hold_file
from tests.integration.test_control_gates import BRANCH, DROP, SPEC, bundle

TASKS = {task.name: task for task in SPEC.tasks or []}
MARKER, BRANCH_ON_DATE, FILE_SENSOR = (
    pattern_named(name) for name in ("marker", "branch_on_date", "file_sensor")
)


def ctx(name: str, spec: PipelineSpec = SPEC) -> Any:
    task = next(task for task in spec.tasks or [] if task.name == name)
    return context_for(spec, task, {})


@pytest.mark.parametrize(
    "text",
    [
        "Marks the start of the run.",
        "1. start • Objective: Initialize the workflow as a starting point • Output: Triggers "
        "check_orders • Operator or Mechanism: EmptyOperator",
        "Synchronization point after the folder checks • Input: Check_Folder completion • "
        "Integrations: None (coordination only)",
        "Final step: marks the end of the pipeline.",
        "Join point of both branches; does nothing.",
        "end • Objective: Pipeline completion marker • Operator or Mechanism: DummyOperator",
    ],
)
def test_markers_are_tasks_whose_words_say_they_do_nothing(text: str) -> None:
    assert is_marker(text)


@pytest.mark.parametrize(
    "text",
    [
        "Perform a complete database backup.",
        "Start the export of orders to S3 and finish by emailing the team.",
        "Merge point of both branches: verify the backup • Operator or Mechanism: BashOperator",
        "Send a Slack notification upon pipeline completion • Operator or Mechanism: "
        "EmptyOperator",
        "Convert the currency data to USD (no-op for USD regions).",
        "Marks the end of the run by triggering the reporting DAG.",
        "Join the orders with the customers.",
        "start",
    ],
)
def test_a_task_that_does_work_is_never_a_marker(text: str) -> None:
    assert not is_marker(text)


def test_a_marker_is_offered_alone_and_asks_nothing() -> None:
    for name in ("start", "closed"):
        assert pattern_menu(ctx(name)) == ["marker"]
        assert MARKER.input_schema(ctx(name)) == MARKER.parameter_schema(ctx(name), {})
        assert MARKER.parameter_schema(ctx(name), {})["properties"] == {}
    for name in ("close_month", "close_day"):
        assert pattern_menu(ctx(name)) == []


def test_a_join_after_a_branch_runs_when_one_path_was_skipped() -> None:
    dag = bundle(DROP, BRANCH)["dags/orders_closing.py"]
    assert "from airflow.providers.standard.operators.empty import EmptyOperator" in dag
    start = dag[dag.index("start = EmptyOperator(") :].split(")\n", 1)[0]
    closed = dag[dag.index("closed = EmptyOperator(") :].split(")\n", 1)[0]
    assert "trigger_rule" not in start
    assert 'trigger_rule="none_failed_min_one_success"' in closed


def test_conditions_are_read_from_the_words() -> None:
    assert stated_conditions("Full backup on Saturdays, incremental on weekdays.") == [
        "saturday",
        "weekday",
    ]
    assert stated_conditions("At month end close the books; on weekends nothing.") == [
        "last_day_of_month",
        "weekend",
    ]
    assert stated_conditions("Route by risk score.") == []


def test_the_date_tests_of_the_dag_file_are_the_patterns() -> None:
    days = [date(2024, 1, 1) + timedelta(days=n) for n in range(400)]
    for condition, test in TESTS.items():
        scope = {"timedelta": timedelta}
        rendered = [eval(test, scope, {"day": day}) for day in days]  # noqa: S307
        assert rendered == [HOLDS[condition](day) for day in days], condition


def test_the_branch_asks_for_a_condition_and_the_downstream_tasks_it_runs() -> None:
    assert pattern_menu(ctx("pick_closing")) == ["branch_on_date"]
    schema = BRANCH_ON_DATE.parameter_schema(ctx("pick_closing"), {})
    assert schema["properties"] == {
        "condition": {"enum": ["last_day_of_month"]},
        "when_true": {
            "type": "array",
            "items": {"enum": ["close_month", "close_day"]},
            "minItems": 1,
            "maxItems": 1,
            "uniqueItems": True,
        },
    }
    completed = BRANCH_ON_DATE.complete(BRANCH, ctx("pick_closing"))
    assert completed["otherwise"] == ["close_day"]


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ({"when_true": ["closed"], "otherwise": ["close_day"]}, "not downstream"),
        ({"when_true": ["close_month"], "otherwise": ["close_month"]}, "never chosen"),
        ({"condition": "weekday"}, "close_month runs on saturday by its words"),
    ],
)
def test_a_branch_that_cannot_be_is_refused(answer: dict[str, Any], problem: str) -> None:
    spec = SPEC.model_copy(deep=True)
    tasks = spec.tasks or []
    tasks[3] = tasks[3].model_copy(update={"description": "Count the orders, on Saturdays only."})
    parameters = {**BRANCH, "otherwise": ["close_day"], **answer}
    with pytest.raises(ParameterError, match=problem):
        BRANCH_ON_DATE.render(BRANCH_ON_DATE.parse(parameters), ctx("pick_closing", spec))


def test_the_branch_returns_the_tasks_its_condition_selects() -> None:
    files = bundle(DROP, BRANCH)
    dag = files["dags/orders_closing.py"]
    assert '@task.branch(\n        task_id="pick_closing",' in dag
    assert 'return ["close_month"] if (day + timedelta(days=1)).day == 1 else ["close_day"]' in dag
    artifact = json.loads(files["dags/resources/orders_closing/pick_closing_operator.json"])
    assert artifact["parameters"]["otherwise"] == ["close_day"]


def test_paths_and_timings_are_read_from_the_words() -> None:
    text = (
        "Watch /data/incoming/ for transactions_YYYYMMDD.csv: filepath: "
        "/data/incoming/transactions_{{ds_nodash}}.csv, not s3://bucket/data/x.csv or "
        "https://example.com/a/b. poke_interval: 30 seconds, timeout: 86400 seconds (24 hours),"
        " polling every 5 minutes"
    )
    assert stated_paths(text) == [
        "/data/incoming/transactions_{{ ds_nodash }}.csv",
        "/data/incoming/",
    ]
    assert stated_seconds(text, POKE_INTERVAL) == [30, 300]
    assert stated_seconds(text, TIMEOUT) == [86400]


def test_the_file_sensor_serves_filesystem_words_only() -> None:
    assert pattern_menu(ctx("wait_for_drop")) == ["file_sensor"]
    spec = SPEC.model_copy(deep=True)
    tasks = spec.tasks or []
    for words in ("Wait for the file s3://drops/x.csv.", "Wait until the profile path is set."):
        tasks[1] = tasks[1].model_copy(update={"description": words})
        assert "file_sensor" not in pattern_menu(ctx("wait_for_drop", spec))
    schema = FILE_SENSOR.parameter_schema(ctx("wait_for_drop"), {})
    assert schema["properties"] == {
        "path": {"enum": ["/data/incoming/orders_{{ ds_nodash }}.csv"]},
        "poke_interval": {"enum": [30]},
        "timeout": {"enum": ["none"]},
        "mode": {"enum": ["reschedule"]},
    }


def test_the_file_sensor_waits_for_the_configured_path() -> None:
    files = bundle(DROP, BRANCH)
    dag = files["dags/orders_closing.py"]
    assert "from airflow.providers.standard.sensors.filesystem import FileSensor" in dag
    assert 'filepath=OPERATORS["wait_for_drop"]["path"]' in dag
    assert "poke_interval=30,\n        timeout=3600," in dag
    assert "deferrable=True" in dag
    config = yaml.safe_load(files["dags/resources/orders_closing/config.yml"])
    assert config["dev"]["operators"]["wait_for_drop"] == {
        "fs_conn_id": "<fill in: filesystem connection wait_for_drop reads>",
        "path": "/data/incoming/orders_{{ ds_nodash }}.csv",
    }
    with pytest.raises(ParameterError, match=r"no '\.\.'"):
        FILE_SENSOR.render(FILE_SENSOR.parse({"path": "/data/../etc/x"}), ctx("wait_for_drop"))


def test_the_smoke_run_holds_the_file_under_its_stand_in_folder() -> None:
    files = bundle(DROP, BRANCH)
    configs = yaml.safe_load(files["dags/resources/orders_closing/config.yml"])
    records = yaml.safe_load(files["dags/resources/orders_closing/tasks.yml"])["tasks"]
    artifacts = {
        task.name: files.get(f"dags/resources/orders_closing/{task.name}_operator.json", "")
        for task in SPEC.tasks or []
    }
    operators = bound_operators(list(SPEC.tasks or []), artifacts, {r["name"]: r for r in records})
    connections, buckets = _stand_ins(operators, configs, "dev")
    assert (connections, buckets) == ({"fs_default": "fs"}, [])
    assert configs["dev"]["operators"]["wait_for_drop"] == {
        "fs_conn_id": "fs_default",
        "path": "data/incoming/orders_{{ ds_nodash }}.csv",
    }


def test_the_held_file_is_the_path_or_one_in_the_folder_it_names(tmp_path: Path) -> None:
    hold_file(str(tmp_path), "data/incoming/orders_20240131.csv")
    hold_file(str(tmp_path), "drops/")
    held = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert held == ["data/incoming/orders_20240131.csv", "drops/held"]


JOIN = ["full", "incremental"]


def test_every_task_after_a_branch_joins_on_none_failed_min_one_success() -> None:
    tasks = PipelineSpec.model_validate(
        {
            "name": "backup",
            "description": "d",
            "tasks": [
                {"name": "start", "kind": "python", "description": "d"},
                {"name": "pick", "kind": "branch", "description": "d", "depends_on": "start"},
                {"name": "full", "kind": "sql", "description": "d", "depends_on": "pick"},
                {"name": "incremental", "kind": "sql", "description": "d", "depends_on": "pick"},
                {"name": "verify", "kind": "quality", "description": "d", "depends_on": JOIN},
            ],
        }
    ).tasks
    assert tasks is not None
    assert after_a_branch(tasks) == {"full", "incremental", "verify"}
