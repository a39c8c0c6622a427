"""Fan-out and LLM patterns: ``query_batches`` (a table's rows of the interval in batches
for ``.expand()``) and ``llm_over_rows`` (``@task.llm`` over each batch with an answer
model read from the task's words, the answers written to a table): their questions,
the parameters they refuse, what they render, and the model endpoint's stand-in."""

from __future__ import annotations

import ast
import io
import json
import tokenize
from pathlib import Path
from typing import Any

import pytest

from airflow_llm.bundle.render import python_string, sorted_imports
from airflow_llm.gates import structure_findings
from airflow_llm.hybrid import forced_properties
from airflow_llm.patterns import ParameterError, context_for
from airflow_llm.patterns.batches import DEFAULT_BATCH_SIZE, QueryBatches, batch_query
from airflow_llm.patterns.llm_rows import (
    STAMP,
    AnswerField,
    LlmOverRows,
    answer_fields,
    system_prompt,
)
from airflow_llm.spec import PipelineSpec, TaskSpec
from airflow_llm.spec_loading import load_spec
from airflow_llm.validate.model_stand_in import answer_for, completion

REPO_ROOT = Path(__file__).resolve().parents[2]
REVIEWS = load_spec(REPO_ROOT / "specs" / "review_sentiment_llm.yml")
TASKS = {task.name: task for task in REVIEWS.tasks or []}
BATCHES, LLM = QueryBatches(), LlmOverRows()


def answered(pattern: Any, task: TaskSpec, spec: PipelineSpec = REVIEWS) -> dict[str, Any]:
    """The parameters when every question has one possible answer (nothing to ask)."""
    ctx = context_for(spec, task, {})
    inputs = forced_properties(pattern.input_schema(ctx))
    schema = pattern.parameter_schema(ctx, inputs)
    forced = forced_properties(schema)
    assert set(forced) == set(schema["properties"]), "the words leave a question open"
    return pattern.complete({**inputs, **forced}, ctx)


def test_batches_read_the_named_columns_of_the_interval_ordered_by_the_key() -> None:
    parameters = answered(BATCHES, TASKS["fetch_review_batches"])
    assert parameters == {
        "table": "reviews",
        "columns": ["review_id", "review_text"],
        "date_column": "submitted_at",
        "date_type": "TIMESTAMP",
        "order_by": "review_id",
        "batch_size": DEFAULT_BATCH_SIZE,
    }
    params = BATCHES.parse(parameters)
    assert batch_query(params, REVIEWS) == (
        "SELECT review_id, review_text FROM reviews WHERE submitted_at >= "
        "CAST('{{ data_interval_start }}' AS TIMESTAMP) AND submitted_at < "
        "CAST('{{ data_interval_end }}' AS TIMESTAMP) ORDER BY review_id"
    )


def test_batches_take_the_stated_size_and_print_the_query_in_the_spec_dialect() -> None:
    task = TASKS["fetch_review_batches"].model_copy(
        update={"description": "Read the reviews in batches of 25 review_id and review_text."}
    )
    spec = REVIEWS.model_copy(update={"dialect": "bigquery"})
    parameters = answered(BATCHES, task, spec)
    assert parameters["batch_size"] == 25
    assert parameters["date_column"] is None or parameters["date_column"] == "none"
    query = batch_query(BATCHES.parse(parameters), spec)
    assert query == "SELECT review_id, review_text FROM reviews ORDER BY review_id"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"columns": ["review_id", "rating"]}, "no column 'rating' in reviews"),
        ({"date_column": "review_text"}, "review_text"),
        ({"columns": ["review_id", "review_id"]}, "columns repeat"),
        ({"table": "orders"}, "no table 'orders'"),
    ],
)
def test_batches_refuse_parameters_the_table_cannot_serve(
    change: dict[str, Any], problem: str
) -> None:
    task = TASKS["fetch_review_batches"]
    parameters = {**answered(BATCHES, task), **change}
    with pytest.raises(ParameterError, match=problem):
        BATCHES.render(BATCHES.parse(parameters), context_for(REVIEWS, task, {}))


def test_batches_refuse_a_batch_size_below_one() -> None:
    parameters = {**answered(BATCHES, TASKS["fetch_review_batches"]), "batch_size": 0}
    with pytest.raises(ParameterError, match="batch_size"):
        BATCHES.parse(parameters)


@pytest.mark.parametrize(
    ("description", "keys", "fields"),
    [
        (
            TASKS["classify_reviews"].description,
            ["review_id"],
            [
                AnswerField(
                    name="sentiment", type="label", values=["positive", "neutral", "negative"]
                ),
                AnswerField(name="aspects", type="texts"),
            ],
        ),
        (
            "For each ticket, return ticket_id, a priority score, whether it is urgent and "
            "the language of the text.",
            ["ticket_id"],
            [
                AnswerField(name="score", type="number"),
                AnswerField(name="is_urgent", type="boolean"),
                AnswerField(name="language", type="text"),
            ],
        ),
        ("Summarise the batch.", [], []),
    ],
)
def test_answer_fields_come_from_the_words_after_return(
    description: str, keys: list[str], fields: list[AnswerField]
) -> None:
    assert answer_fields(description, ["review_id", "ticket_id", "review_text"]) == (keys, fields)


def test_llm_over_rows_answers_typed_fields_into_a_table_named_after_the_task() -> None:
    task = TASKS["classify_reviews"]
    parameters = answered(LLM, task)
    assert parameters["key"] == "review_id"
    assert (parameters["key_type"], parameters["key_sql_type"]) == ("int", "BIGINT")
    params = LLM.parse(parameters)
    output = LLM.render(params, context_for(REVIEWS, task, {})).output
    assert output is not None
    assert output.name == "classify_reviews"
    assert [(c.name, c.type) for c in output.columns] == [
        (STAMP, "TIMESTAMP"),
        ("review_id", "BIGINT"),
        ("sentiment", "VARCHAR"),
        ("aspects", "VARCHAR"),
    ]
    arguments = LLM.arguments(params, REVIEWS, task)
    assert arguments["model_fields"] == [
        ("review_id", "int"),
        ("sentiment", "Literal['positive', 'neutral', 'negative']"),
        ("aspects", "list[str]"),
    ]
    assert arguments["statements"] == [
        "CREATE TABLE IF NOT EXISTS classify_reviews (data_interval_start TIMESTAMP, "
        "review_id BIGINT, sentiment TEXT, aspects TEXT)",
        "DELETE FROM classify_reviews WHERE data_interval_start = "
        "CAST('{{ data_interval_start }}' AS TIMESTAMP)",
    ]
    assert "sentiment (one of: positive, neutral, negative)" in system_prompt(params, task)


def test_llm_over_rows_serves_only_mapped_tasks_whose_words_list_answers() -> None:
    task = TASKS["classify_reviews"]
    assert LLM.applies(context_for(REVIEWS, task, {}))
    unmapped = task.model_copy(update={"map_over": None})
    assert not LLM.applies(context_for(REVIEWS, unmapped, {}))
    vague = task.model_copy(update={"description": "Ask the model about the batch."})
    assert not LLM.applies(context_for(REVIEWS, vague, {}))


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"key": "order_id"}, "no input column 'order_id'"),
        ({"fields": [{"name": "sentiment", "type": "label", "values": ["good"]}]}, "2\\+ values"),
        ({"fields": [{"name": "review_id", "type": "text"}]}, "repeat a name"),
        ({"fields": [{"name": STAMP, "type": "text"}]}, "repeat a name"),
        ({"fields": [{"name": "note", "type": "text", "values": ["a", "b"]}]}, "need a label"),
    ],
)
def test_llm_over_rows_refuses_answers_it_cannot_write(
    change: dict[str, Any], problem: str
) -> None:
    task = TASKS["classify_reviews"]
    parameters = {**answered(LLM, task), **change}
    with pytest.raises(ParameterError, match=problem):
        LLM.render(LLM.parse(parameters), context_for(REVIEWS, task, {}))


def test_the_model_stand_in_answers_one_valid_object_per_row() -> None:
    schema = {
        "$defs": {
            "Answer": {
                "type": "object",
                "properties": {
                    "review_id": {"type": "integer"},
                    "sentiment": {"enum": ["positive", "neutral", "negative"]},
                    "aspects": {"type": "array", "items": {"type": "string"}},
                },
            }
        },
        "type": "object",
        "properties": {"answers": {"type": "array", "items": {"$ref": "#/$defs/Answer"}}},
    }
    rows = [{"review_id": 7, "review_text": "good"}, {"review_id": 9, "review_text": "bad"}]
    assert answer_for(schema, rows) == {
        "answers": [
            {"review_id": 7, "sentiment": "positive", "aspects": ["sample 0"]},
            {"review_id": 9, "sentiment": "neutral", "aspects": ["sample 1"]},
        ]
    }
    request = {
        "model": "smoke",
        "messages": [{"role": "user", "content": json.dumps(rows)}],
        "response_format": {"type": "json_schema", "json_schema": {"schema": schema}},
    }
    content = completion(request)["choices"][0]["message"]["content"]
    assert json.loads(content) == answer_for(schema, rows)


def test_imports_are_merged_per_module_and_ordered_as_isort_writes_them() -> None:
    standard, third_party = sorted_imports(
        [
            "from typing import Any",
            "import json",
            "from typing import Literal",
            "from airflow.sdk import DAG",
            "from airflow.sdk import BaseHook, task",
            "from airflow.sdk import get_current_context",
            "import yaml",
        ]
    )
    assert standard == ["import json", "from typing import Any, Literal"]
    assert third_party == [
        "import yaml",
        "from airflow.sdk import DAG, BaseHook, get_current_context, task",
    ]


def test_a_long_string_breaks_before_a_macro_never_inside_or_past_the_width() -> None:
    text = (
        "DELETE FROM classify_reviews WHERE data_interval_start = "
        "CAST('{{ data_interval_start }}' AS TIMESTAMP)"
    )
    literal = python_string(text)
    tokens = tokenize.generate_tokens(io.StringIO(literal).readline)
    pieces = [ast.literal_eval(t.string) for t in tokens if t.type == tokenize.STRING]
    assert "".join(pieces) == text
    assert all(len(repr(piece)) <= 72 for piece in pieces)
    assert pieces[-1] == "CAST('{{ data_interval_start }}' AS TIMESTAMP)"


def test_the_structure_gate_expects_a_patterns_followers_after_its_task() -> None:
    tasks = list(REVIEWS.tasks or [])
    followers = {"classify_reviews": ["write_classify_reviews"]}
    dag = {
        "tasks": sorted([*TASKS, "write_classify_reviews"]),
        "edges": [
            ["classify_reviews", "write_classify_reviews"],
            ["fetch_review_batches", "classify_reviews"],
            ["write_classify_reviews", "store_review_sentiment"],
        ],
    }
    assert structure_findings("dag.py", dag, tasks, followers) == []
    rules = [finding.rule for finding in structure_findings("dag.py", dag, tasks)]
    assert rules == ["structure.tasks", "structure.edges"]
