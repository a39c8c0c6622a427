"""Hybrid planning: the description's steps become tasks; the model answers only what the
text leaves open, under a schema of the options left."""

from __future__ import annotations

import json

import pytest

from airflow_llm.llm.client import ModelClient
from airflow_llm.llm.endpoints import Endpoint, ModelRouter
from airflow_llm.plan import plan_tasks
from airflow_llm.plan_hybrid import cued_kinds, linked_upstream, unique_names
from airflow_llm.plan_steps import StepCandidate, extract_steps
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec
from tests.scripted_endpoint import ScriptedModel

SENSOR_GATED = """\
Pipeline Steps:

1. wait_for_file
  • Objective: Monitor for arrival of the daily file.
  • Operator or Mechanism: FileSensor

2. validate_schema
  • Objective: Validate the file's columns and types.
    - Input: File detected by wait_for_file sensor

3. load_db
  • Objective: Load the validated rows from the file into the transactions table.
"""


def client(script: ScriptedModel) -> ModelClient:
    router = ModelRouter(default=Endpoint(model="m", base_url="http://m.test/v1"))
    return ModelClient(router, http_client=script.transport(), sleep=lambda s: None)


def spec(description: str) -> PipelineSpec:
    return PipelineSpec.model_validate({"name": "p", "description": description})


def step(index: int, title: str, text: str = "", group: str | None = None) -> StepCandidate:
    return StepCandidate(index, title, text or title, index + 1, "numbered item", group)


@pytest.mark.parametrize(
    ("title", "text", "kinds"),
    [
        ("wait_for_file", "Operator or Mechanism: FileSensor", ["sensor"]),
        ("route_transaction", "BranchPythonOperator routes to review", ["branch"]),
        ("check_orders", "check that order_id is unique and not null", ["quality"]),
        ("rollup", "aggregate revenue per day into the daily table with SQL", ["sql"]),
        ("classify_reviews", "ask the language model for the sentiment", ["llm"]),
        ("send_report", "email the PDF to the team", ["python"]),
        ("reconcile", "reconciles what arrived", []),
        ("run_cleanup", "Operator or Mechanism: TriggerDagRunOperator", ["python"]),
        (
            "run_cleanup",
            "- Input: ExternalTaskSensor completion - Output: starts the cleanup DAG"
            " • Operator or Mechanism: TriggerDagRunOperator",
            ["python"],
        ),
        ("make_id", "- Input: Triggered by SqlSensor completion • PythonOperator", ["python"]),
    ],
)
def test_kinds_are_cued_by_the_words(title: str, text: str, kinds: list[str]) -> None:
    assert list(cued_kinds(step(0, title, f"{title} {text}"))) == kinds


def test_close_cues_are_left_to_the_model() -> None:
    both = step(0, "load_db", "load_db: load the file into the table")
    assert set(cued_kinds(both)) == {"sql", "python"}


def test_upstream_comes_from_names_in_the_text_else_the_order() -> None:
    steps = [
        step(0, "start"),
        step(1, "extract_a", "extract_a: triggers merge_all"),
        step(2, "load_b", "load_b: Input: after start"),  # one-word names do not link
        step(3, "merge_all", "merge_all: Input: load_b output. Runs in parallel with extract_c"),
        step(4, "extract_c", "extract_c: reads totals.csv"),
        step(5, "publish_totals", "publish_totals: Input: totals.csv"),
    ]
    upstream = linked_upstream(steps, [s.title for s in steps])
    assert upstream == [[], [0], [1], [1, 2], [3], [4]]


def test_siblings_by_name_share_their_upstream() -> None:
    steps = [step(0, "start"), step(1, "ingest_eu"), step(2, "ingest_us"), step(3, "report")]
    assert linked_upstream(steps, [s.title for s in steps]) == [[], [0], [0], [1, 2]]


def test_group_members_run_side_by_side_and_the_next_step_waits_for_all() -> None:
    steps = [
        step(0, "start"),
        step(1, "ingest_a", group="ingest"),
        step(2, "ingest_b", group="ingest"),
        step(3, "combine"),
    ]
    assert linked_upstream(steps, [s.title for s in steps]) == [[], [0], [0], [1, 2]]


def test_names_are_unique_valid_and_never_reserved() -> None:
    steps = [step(0, "copy data"), step(1, "Copy data"), step(2, "filter"), step(3, "...")]
    assert unique_names(steps) == ["copy_data", "copy_data_2", "filter_task", "step_4"]


def test_a_step_list_plans_without_the_model_where_the_text_decides() -> None:
    script = ScriptedModel({"plan_step": ['{"kind": "sql"}']})
    result = plan_tasks(spec(SENSOR_GATED), client(script), GenerationSettings(strategy="hybrid"))
    assert [(t.name, t.kind, t.depends_on) for t in result.tasks] == [
        ("wait_for_file", "sensor", []),
        ("validate_schema", "quality", ["wait_for_file"]),
        ("load_db", "sql", ["validate_schema"]),
    ]
    assert "Load the validated rows" in result.tasks[2].description
    attempt = result.attempts[-1]
    assert attempt.method == "hybrid"
    assert attempt.origins["wait_for_file"] == ("description line 3 (numbered item): wait_for_file")
    record = json.loads(attempt.answer)
    decided = {task["name"]: task["decided_by"] for task in record["tasks"]}
    assert decided == {"wait_for_file": "text", "validate_schema": "text", "load_db": "model"}


def test_the_model_chooses_only_among_the_cued_kinds() -> None:
    script = ScriptedModel({"plan_step": ['{"kind": "python"}']})
    result = plan_tasks(spec(SENSOR_GATED), client(script), GenerationSettings(strategy="auto"))
    assert script.roles() == ["plan_step"]
    schema = script.requests[0]["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["kind"] == {"enum": ["sql", "python"]}
    assert "3 of 3: load_db" in script.requests[0]["messages"][-1]["content"]
    assert result.tasks[2].kind == "python"


def test_the_free_strategy_and_prose_without_steps_use_the_free_planner() -> None:
    plan = json.dumps(
        {"tasks": [{"name": "load", "kind": "sql", "description": "d", "depends_on": []}]}
    )
    for description, strategy in [(SENSOR_GATED, "free"), ("Revenue for finance.", "hybrid")]:
        script = ScriptedModel({"plan": [plan]})
        settings = GenerationSettings(strategy=strategy)  # type: ignore[arg-type]
        result = plan_tasks(spec(description), client(script), settings)
        assert script.roles() == ["plan"]
        assert [t.name for t in result.tasks] == ["load"]


def test_every_step_of_a_prose_description_is_a_task() -> None:
    text = (
        "Every morning, collect the tickets from `support.tickets`, count them per priority, "
        "then store the counts in the `ticket_counts` table."
    )
    assert [s.name for s in extract_steps(text)] == [
        "collect_tickets",
        "count_them_per_priority",
        "store_counts",
    ]
    script = ScriptedModel({"plan_step": ['{"kind": "sql"}']})
    result = plan_tasks(spec(text), client(script), GenerationSettings(strategy="hybrid"))
    assert [t.depends_on for t in result.tasks] == [
        [],
        ["collect_tickets"],
        ["count_them_per_priority"],
    ]


def test_start_and_end_markers_are_python_tasks() -> None:
    for title, text in [("start_pipeline", "Operator or Mechanism: EmptyOperator"),
                        ("end", "Marks the end of the run (DummyOperator)")]:  # fmt: skip
        assert list(cued_kinds(step(0, title, f"{title}: {text}"))) == ["python"]


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        (
            "save_members • Objective: Write the parsed members into the members table "
            "• Input: XCom values from parse_members (name, email) • Operator: PostgresOperator",
            ["python"],
        ),
        (
            "save_members • Objective: Copy the staged members into the members table "
            "• Input: staging.members table • Operator: PostgresOperator",
            ["sql"],
        ),
    ],
)
def test_a_sql_operator_taking_another_step_s_xcom_values_is_a_python_load(
    text: str, kinds: list[str]
) -> None:
    """A SQL task reads tables only: values another step passes on are a Python load's."""
    assert list(cued_kinds(step(0, "save_members", text))) == kinds
