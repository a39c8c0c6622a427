"""Prompt templates: chat structure, versions, budgets."""

from __future__ import annotations

import pytest

from airflow_llm.prompts import (
    TEMPLATES,
    PromptBudgetError,
    budgeted_prompt,
    prompt_version,
    prompt_versions,
    render_prompt,
)
from airflow_llm.spec import PipelineSpec

SPEC = PipelineSpec.model_validate(
    {
        "name": "orders",
        "description": "Load orders and check them.",
        "dialect": "postgres",
        "sources": [
            {"name": "raw.orders", "description": "every order " * 50, "columns": {"id": "BIGINT"}},
            {"name": "raw.customers", "columns": {f"c{i}": "TEXT" for i in range(60)}},
        ],
        "tasks": [{"name": "load_orders", "kind": "sql", "description": "Copy raw.orders."}],
    }
)
TASK = SPEC.tasks[0]  # type: ignore[index]


def test_few_shot_examples_are_chat_turns_before_the_task() -> None:
    prompt = render_prompt(
        "sql", spec=SPEC, sources=SPEC.sources, compact=False, task=TASK, upstream=[]
    )
    assert [m["role"] for m in prompt.messages] == ["system", "user", "assistant", "user"]
    assert prompt.messages[2]["content"].startswith("```sql\nINSERT INTO")
    assert "{{ ds }}" in prompt.messages[2]["content"], "Airflow macros reach the model verbatim"
    assert prompt.messages[-1]["content"].endswith("Write the SQL for: Copy raw.orders.")


def test_stable_prefix_does_not_depend_on_the_task() -> None:
    other = TASK.model_copy(update={"name": "other", "description": "Something else."})
    first = render_prompt("sql", spec=SPEC, sources=[], compact=True, task=TASK, upstream=[])
    second = render_prompt("sql", spec=SPEC, sources=[], compact=True, task=other, upstream=[])
    assert first.messages[:3] == second.messages[:3]


def test_versions_name_every_template_by_content_hash() -> None:
    versions = prompt_versions()
    assert set(versions) == set(TEMPLATES)
    assert all(
        v.startswith(f"{name}-") and len(v) == len(name) + 13 for name, v in versions.items()
    )
    assert prompt_version("sql") == versions["sql"]


def test_budget_trims_schema_context_before_failing() -> None:
    full = budgeted_prompt("sql", SPEC, 10_000, task=TASK, upstream=[])
    assert "every order" in full.messages[-1]["content"]
    trimmed = budgeted_prompt("sql", SPEC, 560, task=TASK, upstream=[])
    text = trimmed.messages[-1]["content"]
    assert "raw.orders(id BIGINT)" in text, "the table the task mentions stays"
    assert "raw.customers" not in text
    assert "Copy raw.orders." in text, "the task itself is never cut"
    with pytest.raises(PromptBudgetError, match="shorten the description"):
        budgeted_prompt("sql", SPEC, 50, task=TASK, upstream=[])
