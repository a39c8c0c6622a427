"""The file_to_tables pattern: a step that loads a file into several tables whose
columns its words state (a dimension and a fact table) becomes one TaskFlow task; which
steps it serves (one table stays file_to_table's), its questions, what it refuses, the
keys a kept row is known by, and the generated load run twice against a real DuckDB
warehouse: keeping the rows the tables hold, or replacing them."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import pytest

from airflow_llm.patterns import ParameterError, context_for, pattern_named, ranked_pattern_names
from airflow_llm.patterns.file_table_loads import FileToTables, row_keys
from airflow_llm.spec import PipelineSpec
from tests.integration.test_file_gates import first_answer, rendered_bundle

FILE_TO_TABLES = FileToTables()
STAR = (
    "Load visits.csv into the dim_patient table (patient_id, patient_name) and the "
    "fact_visit table (patient_id, visited_on, cost)"
)


def spec_of(description: str) -> PipelineSpec:
    return PipelineSpec.model_validate(
        {
            "name": "clinic_visits",
            "description": "Load the clinic's visits.",
            "environments": {"dev": {"conn_id": "warehouse", "vars": {"fs_conn_id": "data"}}},
            "tasks": [{"name": "load_visits", "kind": "python", "description": description}],
        }
    )


def context(description: str) -> Any:
    spec = spec_of(description)
    return context_for(spec, (spec.tasks or [])[0], {})


@pytest.mark.parametrize(
    ("columns", "keys"),
    [
        ([("patient_id", "text"), ("patient_name", "text")], ["patient_id"]),
        ([("patient_id", "text"), ("visited_on", "date"), ("cost", "number")], None),
        ([("patient_name", "text"), ("patient_id", "text")], None),
        ([("patient_id", "text"), ("clinic_id", "text"), ("note", "text")], None),
    ],
)
def test_a_dimension_is_known_by_its_id_any_other_table_by_its_whole_row(
    columns: list[tuple[str, Any]], keys: list[str] | None
) -> None:
    assert row_keys(columns) == (keys or [name for name, _ in columns])


@pytest.mark.parametrize(
    ("description", "patterns"),
    [
        (f"{STAR}.", ["file_to_tables"]),
        (f"{STAR}, with ON CONFLICT DO NOTHING.", ["file_to_tables"]),
        (
            "Load visits.csv (patient_id, cost columns) into the fact_visit table.",
            ["file_to_table"],
        ),
        ("Load visits.csv into the dim_patient and fact_visit tables.", ["file_to_table"]),
        (
            "Load visits.csv (patient_id, cost columns) into the fact_visit table, "
            "skipping existing rows.",
            ["file_to_tables"],
        ),
    ],
)
def test_loads_into_several_tables_with_stated_columns_get_file_to_tables(
    description: str, patterns: list[str]
) -> None:
    ranked = ranked_pattern_names(context(description))
    assert [name for name in ranked if name.startswith("file_to_table")] == patterns


def test_a_load_into_a_table_named_without_underscore_writes_that_table() -> None:
    """``PostgreSQL members table`` names the table (file_to_table's question offers it
    before the task's own name)."""
    ctx = context("Insert the rows of visits.csv (patient_id, cost columns) into the "
                  "PostgreSQL visits table.")  # fmt: skip
    pattern = pattern_named("file_to_table")
    inputs = first_answer(pattern.input_schema(ctx))
    assert pattern.parameter_schema(ctx, inputs)["properties"]["table"] == {"enum": ["visits"]}


@pytest.mark.parametrize(
    ("words", "keep"),
    [
        (", with ON CONFLICT DO NOTHING", True),
        ("; skip existing rows", True),
        ("", False),
    ],
)
def test_it_loads_every_stated_table_keeping_existing_rows_as_the_words_say(
    words: str, keep: bool
) -> None:
    ctx = context(f"{STAR}{words}.")
    inputs = first_answer(FILE_TO_TABLES.input_schema(ctx))
    assert inputs == {"source": "visits.csv"}
    answer = {**inputs, **first_answer(FILE_TO_TABLES.parameter_schema(ctx, inputs))}
    assert answer["tables"] == ["dim_patient", "fact_visit"]
    assert answer["keep_existing"] is keep
    completed = FILE_TO_TABLES.complete(answer, ctx)
    assert [(t["table"], t["keys"]) for t in completed["tables"]] == [
        ("dim_patient", ["patient_id"]),
        ("fact_visit", ["patient_id", "visited_on", "cost"]),
    ]
    output = FILE_TO_TABLES.render(FILE_TO_TABLES.parse(completed), ctx).output
    assert output is not None
    assert (output.name, output.column_names) == (
        "fact_visit",
        ["patient_id", "visited_on", "cost"],
    )


def loaded(table: str, columns: list[str], keys: list[str] | None = None) -> dict[str, Any]:
    return {
        "table": table,
        "columns": [{"name": name, "type": "VARCHAR"} for name in columns],
        "keys": keys or columns,
    }


GOOD = {
    "source": "visits.csv",
    "input_format": "csv",
    "keep_existing": True,
    "tables": [
        loaded("dim_patient", ["patient_id", "patient_name"], ["patient_id"]),
        loaded("fact_visit", ["patient_id", "visited_on", "cost"]),
    ],
}


@pytest.mark.parametrize(
    ("changed", "problem"),
    [
        (
            {"tables": [loaded("dim_clinic", ["clinic_id"]), GOOD["tables"][1]]},
            "no table 'dim_clinic'",
        ),
        (
            {"tables": [loaded("dim_patient", ["patient_id", "cost"]), GOOD["tables"][1]]},
            "dim_patient: no column 'cost'",
        ),
        (
            {
                "tables": [
                    loaded("dim_patient", ["patient_id"], ["patient_name"]),
                    GOOD["tables"][1],
                ]
            },
            "keys must be its columns",
        ),
        ({"tables": [GOOD["tables"][1], GOOD["tables"][1]]}, "tables repeat"),
        ({"tables": GOOD["tables"][1:], "keep_existing": False}, "one table replaced"),
        ({"source": "../visits.csv"}, "no '..' in a path"),
    ],
)
def test_parameters_it_refuses(changed: dict[str, Any], problem: str) -> None:
    params = FILE_TO_TABLES.parse({**GOOD, **changed})
    with pytest.raises(ParameterError, match=problem):
        FILE_TO_TABLES.render(params, context(f"{STAR}."))


# -- the generated load, run ---------------------------------------------------------------


def generated_task(description: str, home: Path) -> Any:
    """load_visits' task from the rendered DAG file, imported from disk."""
    spec = spec_of(description)
    for relative, content in rendered_bundle(spec, {"load_visits": "file_to_tables"}).items():
        (home / relative).parent.mkdir(parents=True, exist_ok=True)
        (home / relative).write_text(content)
    found = importlib.util.spec_from_file_location(spec.name, home / f"dags/{spec.name}.py")
    assert found is not None
    assert found.loader is not None
    module: ModuleType = importlib.util.module_from_spec(found)
    found.loader.exec_module(module)
    return module.dag.get_task("load_visits")


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A DuckDB warehouse (connection ``warehouse``) and a data folder holding visits.csv
    (connection ``data``)."""
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "visits.csv").write_text(
        "patient_id,patient_name,visited_on,cost\n"
        "101,Ada,2024-01-02,40\n101,Ada,2024-01-09,55\n102,Bo,2024-01-03,20\n102,Bo,2024-01-03,20\n"
    )
    path = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv(
        "AIRFLOW_CONN_WAREHOUSE", json.dumps({"conn_type": "duckdb", "host": str(path)})
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_DATA", json.dumps({"conn_type": "fs", "extra": {"path": str(folder)}})
    )
    return path


def table_rows(warehouse: Path, table: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()  # noqa: S608


@pytest.mark.parametrize("words", [", with ON CONFLICT DO NOTHING", ""])
def test_the_load_run_twice_leaves_each_table_s_rows_once(
    warehouse: Path, tmp_path: Path, words: str
) -> None:
    task = generated_task(f"{STAR}{words}.", tmp_path / "bundle")
    first = task.python_callable(templates_dict=task.templates_dict)
    assert first == {"dim_patient": 2, "fact_visit": 3}
    again = task.python_callable(templates_dict=task.templates_dict)
    assert again == ({"dim_patient": 0, "fact_visit": 0} if words else first)
    assert table_rows(warehouse, "dim_patient") == [(101, "Ada"), (102, "Bo")]
    assert [row[0] for row in table_rows(warehouse, "fact_visit")] == [101, 101, 102]


def test_one_table_keeping_its_rows_gets_each_new_row_once(warehouse: Path, tmp_path: Path) -> None:
    description = (
        "Append the rows of visits.csv (patient_id, visited_on, cost columns) to the "
        "visit_log table, with ON CONFLICT DO NOTHING."
    )
    task = generated_task(description, tmp_path / "bundle")
    assert task.python_callable(templates_dict=task.templates_dict) == {"visit_log": 3}
    assert task.python_callable(templates_dict=task.templates_dict) == {"visit_log": 0}
    assert len(table_rows(warehouse, "visit_log")) == 3
