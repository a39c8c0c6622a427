"""The file_to_tables pattern: a step that loads a file into several tables whose
columns its words state (a dimension and a fact table), or upserts it into one table,
becomes one TaskFlow task; which steps it serves (one table replaced stays
file_to_table's), its questions, what it refuses, the keys a kept or updated row is known
by, and the generated load run twice against a real DuckDB warehouse: keeping the rows
the tables hold, updating them by key, or replacing them."""

from __future__ import annotations

import importlib.util
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import pytest

from airflow_llm.patterns import (
    ParameterError,
    context_for,
    pattern_menu,
    pattern_named,
    ranked_pattern_names,
)
from airflow_llm.patterns.context import Relation
from airflow_llm.patterns.file_table_loads import FileToTables, row_keys
from airflow_llm.patterns.reads import Read
from airflow_llm.spec import Column, PipelineSpec
from tests.integration.test_file_gates import first_answer, rendered_bundle

FILE_TO_TABLES = FileToTables()
STAR = (
    "Load visits.csv into the dim_patient table (patient_id, patient_name) and the "
    "fact_visit table (patient_id, visited_on, cost)"
)


MERGE = (
    "Merge the visits of visits.csv (patient_id, visited_on, cost columns) with the clinic "
    "records system to update each patient's last visit. Join on patient_id."
)
"""A merge that updates a table the words name only as a system, keyed on a column."""


def spec_of(description: str, dialect: str = "ansi") -> PipelineSpec:
    return PipelineSpec.model_validate(
        {
            "name": "clinic_visits",
            "description": "Load the clinic's visits.",
            "dialect": dialect,
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
            "Upsert visits.csv (patient_id, cost columns) into the fact_visit table keyed "
            "on patient_id.",
            ["file_to_tables"],
        ),
        (MERGE, ["file_to_tables"]),
        (
            "Load visits.csv (patient_id, cost columns) into the fact_visit table; updated "
            "metrics.",
            ["file_to_table"],
        ),
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
    ("words", "rows", "fact_keys"),
    [
        (", with ON CONFLICT DO NOTHING", "keep", ["patient_id", "visited_on", "cost"]),
        ("; skip existing rows", "keep", ["patient_id", "visited_on", "cost"]),
        ("; upsert the rows keyed by visited_on", "update", ["visited_on"]),
        ("", "replace", ["patient_id", "visited_on", "cost"]),
    ],
)
def test_it_loads_every_stated_table_keeping_updating_or_replacing_rows_as_the_words_say(
    words: str, rows: str, fact_keys: list[str]
) -> None:
    ctx = context(f"{STAR}{words}.")
    inputs = first_answer(FILE_TO_TABLES.input_schema(ctx))
    assert inputs == {"source": "visits.csv"}
    answer = {**inputs, **first_answer(FILE_TO_TABLES.parameter_schema(ctx, inputs))}
    assert answer["tables"] == ["dim_patient", "fact_visit"]
    assert answer["existing_rows"] == rows
    completed = FILE_TO_TABLES.complete(answer, ctx)
    assert [(t["table"], t["keys"]) for t in completed["tables"]] == [
        ("dim_patient", ["patient_id"]),
        ("fact_visit", fact_keys),
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
    "existing_rows": "keep",
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
        ({"tables": GOOD["tables"][1:], "existing_rows": "replace"}, "one table replaced"),
        ({"source": "../visits.csv"}, "no '..' in a path"),
    ],
)
def test_parameters_it_refuses(changed: dict[str, Any], problem: str) -> None:
    params = FILE_TO_TABLES.parse({**GOOD, **changed})
    with pytest.raises(ParameterError, match=problem):
        FILE_TO_TABLES.render(params, context(f"{STAR}."))


# -- the generated load, run ---------------------------------------------------------------


def generated_task(description: str, home: Path, dialect: str = "ansi") -> Any:
    """load_visits' task from the rendered DAG file, imported from disk."""
    spec = spec_of(description, dialect)
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


@pytest.mark.parametrize("dialect", ["ansi", "postgres"])
def test_an_upsert_run_twice_updates_rows_by_key_and_inserts_new_ones(
    warehouse: Path, tmp_path: Path, dialect: str
) -> None:
    """Each key once, with the file's last row for it (102's duplicate row counts once);
    a second file updates 101, leaves 102 and adds 103. The smoke run's DuckDB stands in
    for a PostgreSQL warehouse, as in a gate."""
    task = generated_task(MERGE, tmp_path / "bundle", dialect)
    assert task.python_callable(templates_dict=task.templates_dict) == {"clinic": 2}
    assert table_rows(warehouse, "clinic") == [
        (101, date(2024, 1, 9), Decimal("55.00")),
        (102, date(2024, 1, 3), Decimal("20.00")),
    ]
    (tmp_path / "data" / "visits.csv").write_text(
        "patient_id,patient_name,visited_on,cost\n101,Ada,2024-02-01,70\n103,Cy,2024-02-02,15\n"
    )
    assert task.python_callable(templates_dict=task.templates_dict) == {"clinic": 2}
    assert table_rows(warehouse, "clinic") == [
        (101, date(2024, 2, 1), Decimal("70.00")),
        (102, date(2024, 1, 3), Decimal("20.00")),
        (103, date(2024, 2, 2), Decimal("15.00")),
    ]


CLEANSED = (
    Column(name="patient_id", type="BIGINT"),
    Column(name="visited_on", type="DATE"),
    Column(name="cost", type="DECIMAL(18, 2)"),
)
"""The columns of the file an upstream step writes."""


def merge_after_a_file_step(words: str) -> Any:
    """The context of a step that reads the file ``clean_visits`` writes."""
    spec = PipelineSpec.model_validate(
        {
            "name": "clinic_visits",
            "description": "Cleanse the clinic's visits and merge them.",
            "environments": {"dev": {"conn_id": "warehouse"}},
            "tasks": [
                {"name": "clean_visits", "kind": "python", "description": "Cleanse visits."},
                {
                    "name": "merge_visits",
                    "kind": "python",
                    "depends_on": ["clean_visits"],
                    "description": words,
                },
            ],
        }
    )
    written = Relation("clean_visits", CLEANSED, produced_by="clean_visits", file_format="csv")
    return context_for(spec, (spec.tasks or [])[1], {"clean_visits": written})


@pytest.mark.parametrize(
    ("words", "table", "keys"),
    [
        (
            "Merge the cleansed visits from the previous task with the clinic records "
            "system to update each patient's last visit. Key Parameters: join operation on "
            "patient_id column.",
            "clinic",
            ["patient_id"],
        ),
        (
            "Upsert the cleansed visits into the visit_log table, ON CONFLICT (patient_id, "
            "visited_on) DO UPDATE.",
            "visit_log",
            ["patient_id", "visited_on"],
        ),
        ("Insert or update the cleansed visits.", "merge_visits", [c.name for c in CLEANSED]),
    ],
)
def test_an_upsert_of_an_upstream_file_loads_its_columns_into_the_table_by_the_key_stated(
    words: str, table: str, keys: list[str]
) -> None:
    """The table: the one the words name, else their merge's target, else the task's
    own; the key: the one they give, else a dimension's id. It reads the upstream file
    and writes the table."""
    ctx = merge_after_a_file_step(words)
    assert pattern_menu(ctx) == ["file_to_tables"]
    inputs = first_answer(FILE_TO_TABLES.input_schema(ctx))
    answer = {**inputs, **first_answer(FILE_TO_TABLES.parameter_schema(ctx, inputs))}
    assert answer == {"source": "clean_visits", "tables": [table], "existing_rows": "update"}
    params = FILE_TO_TABLES.parse(FILE_TO_TABLES.complete(answer, ctx))
    assert [(t.table, [c.name for c in t.columns], t.keys) for t in params.tables] == [
        (table, ["patient_id", "visited_on", "cost"], keys)
    ]
    output = FILE_TO_TABLES.render(params, ctx).output
    assert output is not None
    assert (output.name, output.columns) == (table, CLEANSED)
    assert FILE_TO_TABLES.data_reads(params, ctx.task) == [
        Read.of_task("file", "clean_visits", "clean_visits")
    ]
    assert FILE_TO_TABLES.data_writes(params, ctx.task) == [Read("table", table)]


def test_a_merge_of_several_files_without_update_is_not_an_upsert() -> None:
    """``merge_files``' business: nothing says the rows of a table are updated."""
    ctx = merge_after_a_file_step("Merge the cleansed visits into one unified dataset.")
    assert "file_to_tables" not in ranked_pattern_names(ctx)
