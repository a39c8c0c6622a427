"""The validate_file pattern: a step that checks an incoming file's columns (and types,
and rows) becomes a TaskFlow task that fails naming what is wrong and passes the file
on; which steps it serves (and leaves to the file and quality patterns), its questions,
what it refuses, and the generated check run on files with and without the columns."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_llm.patterns import ParameterError, Relation, context_for
from airflow_llm.patterns.file_checks import ValidateFile, stated_types
from airflow_llm.spec import PipelineSpec
from tests.integration.test_file_check_gates import SPEC as INTAKE
from tests.integration.test_file_gates import first_answer, rendered_bundle
from tests.unit.test_pattern_applies import ranked

VALIDATE_FILE = ValidateFile()


@pytest.mark.parametrize(
    ("text", "names", "types"),
    [
        (
            "Validates order_id, placed_on, total columns with string, date, decimal types",
            ["order_id", "placed_on", "total"],
            {"order_id": "text", "placed_on": "date", "total": "number"},
        ),
        (
            "The file must have order_id (integer), placed_at: timestamp and a note column.",
            ["order_id", "placed_at", "note"],
            {"order_id": "number", "placed_at": "timestamp"},
        ),
        ("Check order_id, total columns with string types", ["order_id", "total"], {}),
    ],
)
def test_the_types_the_words_give_the_columns(
    text: str, names: list[str], types: dict[str, str]
) -> None:
    assert stated_types(text, names) == types


@pytest.mark.parametrize(
    ("description", "served"),
    [
        ("Validate the schema of orders.csv: order_id, sku and total columns.", True),
        ("Check that the incoming returns.json has the return_id and sku fields.", True),
        ("Verify that the partner file is not empty.", True),
        ("Load the validated orders.csv (order_id, total columns) into the orders table.", False),
        ("Upper-case the sku column of the checked file orders.csv.", False),
        ("Validate that the staging table has order_id and total columns.", False),
        ("Validate the schema of s3://drops/orders.csv: order_id and total columns.", False),
        ("Validate the incoming orders.csv.", False),
        ("Normalize the sku column of orders.csv, validate dates, filter bad rows.", False),
    ],
)
def test_validate_file_serves_steps_that_check_a_file(description: str, served: bool) -> None:
    assert ("validate_file" in ranked(description)) is served


def intake_context(name: str, outputs: dict[str, Relation] | None = None) -> Any:
    task = next(task for task in INTAKE.tasks or [] if task.name == name)
    return context_for(INTAKE, task, outputs or {})


def test_it_checks_the_file_the_sensor_waits_for_with_the_stated_columns() -> None:
    ctx = intake_context("check_payments")
    inputs = first_answer(VALIDATE_FILE.input_schema(ctx))
    assert inputs == {"source": "/drops/payments/payments_{{ ds_nodash }}.csv"}
    schema = VALIDATE_FILE.parameter_schema(ctx, inputs)["properties"]
    assert schema["columns"]["items"] == {
        "enum": ["payment_id", "payer_id", "paid_amount", "paid_on"]
    }
    assert schema["columns"]["minItems"] == 4
    assert schema["require_rows"] == {"enum": [True]}
    answer = {**inputs, "columns": ["payment_id", "paid_amount", "paid_on"], "require_rows": True}
    assert VALIDATE_FILE.complete(answer, ctx)["columns"] == [
        {"name": "payment_id", "type": "text"},
        {"name": "paid_amount", "type": "number"},
        {"name": "paid_on", "type": "date"},
    ]


def test_the_steps_after_it_load_and_clean_the_file_it_passes_on() -> None:
    """Its planned file (the stated columns, typed) is what the load and the transform
    after it read: they get their file patterns."""
    planned = VALIDATE_FILE.planned_output(intake_context("check_payments"))
    assert planned is not None
    assert (planned.name, planned.file_format) == ("check_payments", "csv")
    assert [(c.name, c.type) for c in planned.columns] == [
        ("payment_id", "VARCHAR"),
        ("payer_id", "VARCHAR"),
        ("paid_amount", "DOUBLE"),
        ("paid_on", "DATE"),
    ]
    outputs = {"check_payments": planned}
    assert ranked_for("load_payments", outputs) == ["file_to_table"]
    assert ranked_for("tidy_payments", outputs) == ["file_transform"]


def ranked_for(name: str, outputs: dict[str, Relation]) -> list[str]:
    from airflow_llm.patterns import ranked_pattern_names

    return ranked_pattern_names(intake_context(name, outputs))


CHECKED = {
    "source": "orders.csv",
    "input_format": "csv",
    "columns": [{"name": "order_id", "type": None}, {"name": "total", "type": "number"}],
    "require_rows": True,
}


def orders_context(**task: Any) -> Any:
    description = "Validate the schema of orders.csv: order_id, sku and total columns."
    step = {"name": "check_orders", "kind": "python", "description": description, **task}
    spec = PipelineSpec.model_validate({"name": "p", "description": "d", "tasks": [step]})
    return context_for(spec, (spec.tasks or [])[0], {})


@pytest.mark.parametrize(
    ("changed", "problem"),
    [
        ({"columns": [{"name": "shipped_on", "type": "date"}]}, "no column 'shipped_on'"),
        ({"columns": [{"name": "total"}, {"name": "total"}]}, "columns repeat"),
        ({"columns": [], "require_rows": False}, "nothing to check"),
        ({"source": "../orders.csv"}, "no '..' in a path"),
        ({"source": "clean_orders"}, "no upstream task writes a file 'clean_orders'"),
    ],
)
def test_parameters_it_refuses(changed: dict[str, Any], problem: str) -> None:
    params = VALIDATE_FILE.parse({**CHECKED, **changed})
    with pytest.raises(ParameterError, match=problem):
        VALIDATE_FILE.render(params, orders_context())


# -- the generated check, run --------------------------------------------------------------

RECEIVED = PipelineSpec.model_validate(
    {
        "name": "received_orders",
        "description": "Receive the partner's orders and check them.",
        "environments": {"dev": {"conn_id": "warehouse_dev"}},
        "tasks": [
            {
                "name": "receive_orders",
                "kind": "python",
                "description": "Read partner_orders.csv, trim the sku column and write "
                "received.csv.",
            },
            {
                "name": "check_orders",
                "kind": "python",
                "depends_on": ["receive_orders"],
                "description": "Validate the received file: order_id, sku, total and "
                "placed_on columns with string, string, decimal, date types, not empty.",
            },
        ],
    }
)


def generated_check(tmp_path: Path) -> Callable[..., str]:
    """check_orders' callable from the rendered DAG file, imported from disk."""
    chosen = {"receive_orders": "file_transform", "check_orders": "validate_file"}
    for relative, content in rendered_bundle(RECEIVED, chosen).items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(content)
    dag_file = tmp_path / "dags/received_orders.py"
    found = importlib.util.spec_from_file_location("received_orders", dag_file)
    assert found is not None
    assert found.loader is not None
    module = importlib.util.module_from_spec(found)
    found.loader.exec_module(module)
    return module.dag.get_task("check_orders").python_callable  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def check(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., str]:
    return generated_check(tmp_path_factory.mktemp("bundle"))


def test_the_check_passes_a_good_file_on(check: Callable[..., str], tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("order_id,sku,total,placed_on\nA1,x,9.5,2024-01-31\nA2,,12,\n")
    assert check(receive_orders_path=str(good)) == str(good)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("order_id,sku,placed_on\nA1,x,2024-01-31\n", "lacks the columns total"),
        (
            "order_id,sku,total,placed_on\nA1,x,9.5,2024-01-31\nA2,y,n/a,31/01/2024\n",
            "1 value\\(s\\) of total not a number; 1 value\\(s\\) of placed_on not a date",
        ),
        ("order_id,sku,total,placed_on\n", "has no rows"),
    ],
)
def test_the_check_fails_naming_what_is_wrong(
    check: Callable[..., str], tmp_path: Path, content: str, problem: str
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(content)
    with pytest.raises(ValueError, match=problem) as failed:
        check(receive_orders_path=str(bad))
    assert str(bad) in str(failed.value)
