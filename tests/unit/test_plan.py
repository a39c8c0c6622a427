"""The planner with a scripted model: skip, accept, repair, reject."""

from __future__ import annotations

import json

import pytest

from airflow_llm.llm.client import ModelClient
from airflow_llm.llm.endpoints import Endpoint, ModelRouter
from airflow_llm.plan import PLAN_SCHEMA, PlanningError, plan_tasks
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec
from tests.scripted_endpoint import ScriptedModel

SETTINGS = GenerationSettings(max_attempts=3, strategy="free")  # the free planner
SPEC = PipelineSpec.model_validate({"name": "orders", "description": "Load orders, check them."})


def plan(*tasks: dict[str, object]) -> str:
    return json.dumps({"tasks": list(tasks)})


def task(name: str, kind: str = "sql", depends_on: list[str] | None = None) -> dict[str, object]:
    return {"name": name, "kind": kind, "description": f"do {name}", "depends_on": depends_on or []}


def client(script: ScriptedModel) -> ModelClient:
    router = ModelRouter(default=Endpoint(model="m", base_url="http://m.test/v1"))
    return ModelClient(router, http_client=script.transport(), sleep=lambda s: None)


def test_explicit_tasks_skip_the_model() -> None:
    script = ScriptedModel()
    spec = SPEC.model_copy(
        update={
            "tasks": PipelineSpec.model_validate(
                {"name": "x", "description": "d", "tasks": [task("load")]}
            ).tasks
        }
    )
    result = plan_tasks(spec, client(script), SETTINGS)
    assert (result.by_model, [t.name for t in result.tasks], script.requests) == (
        False,
        ["load"],
        [],
    )


def test_a_valid_plan_is_accepted_with_structured_output() -> None:
    script = ScriptedModel(
        {"plan": [plan(task("Load Orders"), task("check", "quality", ["load orders"]))]}
    )
    result = plan_tasks(SPEC, client(script), SETTINGS)
    assert [(t.name, t.kind, t.depends_on) for t in result.tasks] == [
        ("load_orders", "sql", []),
        ("check", "quality", ["load_orders"]),
    ]
    assert script.requests[0]["response_format"]["json_schema"]["schema"] == PLAN_SCHEMA


def test_errors_go_back_to_the_model() -> None:
    bad = plan(task("load"), task("check", "quality", ["lod"]))
    good = plan(task("load"), task("check", "quality", ["load"]))
    script = ScriptedModel({"plan": [bad], "repair": [good]})
    result = plan_tasks(SPEC, client(script), SETTINGS)
    assert script.roles() == ["plan", "repair"]
    assert "unknown task 'lod'" in script.requests[1]["messages"][-1]["content"]
    assert len(result.attempts) == 2
    assert result.attempts[0].findings[0].rule == "plan.unknown_task"


def test_forward_references_are_dropped_with_a_warning() -> None:
    script = ScriptedModel(
        {"plan": [plan(task("load", depends_on=["check"]), task("check", "quality", ["load"]))]}
    )
    result = plan_tasks(SPEC, client(script), SETTINGS)
    assert [t.depends_on for t in result.tasks] == [[], ["load"]]
    assert [f.severity for f in result.attempts[0].findings] == ["warning"]


def test_a_plan_still_invalid_after_the_attempts_is_rejected() -> None:
    script = ScriptedModel({"*": ["I would split it into three steps."]})
    with pytest.raises(PlanningError, match="no valid plan after 3 attempts") as caught:
        plan_tasks(SPEC, client(script), SETTINGS)
    assert len(caught.value.attempts) == 3
    assert caught.value.attempts[-1].findings[0].rule == "plan.json"
