"""The file patterns (``file_transform``, ``merge_files``, ``file_to_table``): what the
words say about files and columns, the operations they ask for, the one DuckDB statement
the operations compile to (and what it does to rows), the parameters refused, which
tasks the patterns serve, the DAG snippets (goldens), and the smoke run's sample files.

After an intended change of a snippet, rewrite its golden with::

    AIRFLOW_LLM_UPDATE_GOLDENS=1 .venv/bin/pytest -n 0 tests/unit/test_file_patterns.py
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from airflow_llm.bundle.render import bound_operators
from airflow_llm.cli import _ways_of_writing
from airflow_llm.patterns import ParameterError, Relation, context_for, pattern_named
from airflow_llm.patterns.file_cues import Candidates, detected_aggregation, detected_operations
from airflow_llm.patterns.file_operations import (
    Aggregation,
    Measure,
    combined,
    copy_statement,
    transform_query,
)
from airflow_llm.patterns.file_words import FileMention, column_names, stated_files
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import Column, PipelineSpec
from airflow_llm.validate.sample_files import required_columns, seed_files
from tests.integration.test_file_gates import PATTERNS, SPEC, rendered_bundle

GOLDENS = Path(__file__).resolve().parents[1] / "fixtures" / "file_patterns"
UPDATE = os.environ.get("AIRFLOW_LLM_UPDATE_GOLDENS") == "1"
FILE_TRANSFORM, MERGE_FILES, FILE_TO_TABLE, TABLE_TO_FILE = (
    pattern_named(name)
    for name in ("file_transform", "merge_files", "file_to_table", "table_to_file")
)
CLEAN = {"name": "clean", "kind": "python"}


def spec_of(*tasks: dict[str, Any], sources: list[dict[str, Any]] | None = None) -> PipelineSpec:
    return PipelineSpec.model_validate(
        {
            "name": "files",
            "description": "d",
            "dialect": "postgres",
            "sources": sources or [],
            "tasks": list(tasks),
        }
    )


def ctx_of(spec: PipelineSpec, name: str, outputs: dict[str, Relation] | None = None) -> Any:
    task = next(task for task in spec.tasks or [] if task.name == name)
    return context_for(spec, task, outputs or {})


def upstream_file(task: str, *columns: str, file_format: str = "csv") -> Relation:
    typed = tuple(Column(name=name, type="VARCHAR") for name in columns)
    return Relation(task, typed, task, file_format)


# -- the words -----------------------------------------------------------------------------


def test_files_are_read_or_written_as_the_nearest_cue_says() -> None:
    text = (
        "Input: data/orders_YYYYMMDD.csv from the drop folder\n"
        "Output: clean/orders.parquet; also saved as /srv/out/orders.jsonl\n"
        "Templates table_{}.json and {region}.csv are no files; the chart goes to report.pdf."
    )
    assert stated_files(text) == [
        FileMention("data/orders_{{ ds_nodash }}.csv", "csv", "input"),
        FileMention("clean/orders.parquet", "parquet", "output"),
        FileMention("/srv/out/orders.jsonl", "jsonl", "output"),
        FileMention("report.pdf", "pdf", "output"),
    ]
    assert [m.format for m in stated_files(text)] == ["csv", "parquet", "jsonl", None]


def test_column_names_are_what_the_words_write_out_and_no_settings() -> None:
    text = (
        "Parse DATE_COLUMN=installation_date, upper-case the `sku` column and trim the "
        "store_name field. Key Parameters: python_callable=run, csv_file='x.csv', "
        "region='north' (load_stations function); warehouse (inventory_db)."
    )
    named, common = column_names(text, excluded=["load_stations"])
    assert named == ["installation_date", "store_name", "sku"]
    assert common == ["region"]


CANDIDATES = Candidates(
    named=["order_id", "order_date", "sku", "amount", "store_name"], common=["region"]
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Parse order_date and upper-case the sku column.",
            [
                {"op": "parse_date", "column": "order_date", "type": "date", "format": None},
                {"op": "clean_text", "column": "sku", "case": "upper"},
            ],
        ),
        (
            "Standardize SKU formats, trim store_name.",
            [
                {"op": "clean_text", "column": "sku", "case": "upper"},
                {"op": "clean_text", "column": "store_name", "case": "trim"},
            ],
        ),
        (
            "Parse order_date as DD/MM/YYYY timestamps.",
            [
                {
                    "op": "parse_date",
                    "column": "order_date",
                    "type": "timestamp",
                    "format": "%d/%m/%Y",
                }
            ],
        ),
        (
            "Drop rows with nulls in order_id and remove duplicates by order_id.",
            [
                {"op": "drop_nulls", "columns": ["order_id"]},
                {"op": "drop_duplicates", "keys": ["order_id"]},
            ],
        ),
        (
            "Keep only rows where amount >= 10 and store_name = 'Main'.",
            [
                {"op": "filter", "column": "amount", "comparison": ">=", "value": 10},
                {"op": "filter", "column": "store_name", "comparison": "=", "value": "Main"},
            ],
        ),
        (
            "Convert amount to USD at the rate 1.08.",
            [{"op": "multiply", "column": "amount", "factor": 1.08, "to": "amount_usd"}],
        ),
        (
            "Rename store_name to store and add a column channel with value 'web'.",
            [
                {"op": "rename", "column": "store_name", "to": "store"},
                {"op": "add_constant", "column": "channel", "value": "web"},
            ],
        ),
        (
            "Keep only the columns order_id, amount.",
            [{"op": "select", "columns": ["order_id", "amount"]}],
        ),
        ("Convert the file to JSON.", []),
    ],
)
def test_the_operations_the_words_ask_for(text: str, expected: list[dict[str, Any]]) -> None:
    found = detected_operations(text, CANDIDATES)
    assert [operation.model_dump() for operation in found.linked] == expected


def test_guesses_are_offered_only_when_repairing() -> None:
    candidates = Candidates(known=["order_date"])
    found = detected_operations("Validate dates. Key parameters: region='north'.", candidates)
    assert found.linked == []
    assert [op.model_dump() for op in found.other] == [
        {"op": "parse_date", "column": "order_date", "type": "date", "format": None},
        {"op": "add_constant", "column": "region", "value": "north"},
    ]


def test_an_aggregation_the_words_ask_for() -> None:
    found = detected_aggregation("Sum amount per store_name and count the rows.", CANDIDATES)
    assert found == Aggregation(
        group_by=["store_name"],
        measures=[Measure(function="sum", column="amount"), Measure(function="count")],
    )


# -- the statement ---------------------------------------------------------------------


OPERATIONS: list[dict[str, Any]] = [
    {"op": "clean_text", "column": "sku", "case": "upper"},
    {"op": "parse_date", "column": "day", "type": "date"},
    {"op": "drop_nulls", "columns": ["day"]},
    {"op": "drop_duplicates", "keys": []},
    {"op": "multiply", "column": "amount", "factor": 1.5, "to": "amount_x"},
    {"op": "filter", "column": "amount_x", "comparison": ">", "value": 2},
]


def transform(**changed: Any) -> Any:
    answer = {
        "source": "orders.csv",
        "input_format": "csv",
        "operations": OPERATIONS,
        "aggregation": "none",
        "output": "out.json",
        "output_format": "json",
        **changed,
    }
    return FILE_TRANSFORM.parse(answer)


def test_the_operations_compile_to_one_copy_statement() -> None:
    rows = FILE_TRANSFORM.rows(transform())  # type: ignore[attr-defined]
    assert rows.statement() == (
        "COPY (WITH step_1 AS (SELECT * FROM READ_CSV_AUTO($input_1)), "
        'step_2 AS (SELECT * REPLACE (UPPER(TRIM(CAST("sku" AS TEXT))) AS "sku") FROM step_1), '
        'step_3 AS (SELECT * REPLACE (TRY_CAST("day" AS DATE) AS "day") FROM step_2), '
        'step_4 AS (SELECT * FROM step_3 WHERE NOT "day" IS NULL), '
        "step_5 AS (SELECT DISTINCT * FROM step_4), "
        'step_6 AS (SELECT *, TRY_CAST("amount" AS DOUBLE) * 1.5 AS "amount_x" FROM step_5), '
        'step_7 AS (SELECT * FROM step_6 WHERE TRY_CAST("amount_x" AS DOUBLE) > 2) '
        "SELECT * FROM step_7) TO $output (FORMAT json, ARRAY true)"
    )


def test_the_statement_does_what_the_operations_say(tmp_path: Path) -> None:
    source = tmp_path / "orders.csv"
    source.write_text(
        "sku,day,amount\n ab ,2024-01-31,2\n ab ,2024-01-31,2\ncd,,5\nef,not a date,9\ngh,2024-01-30,1\n"
    )
    rows = FILE_TRANSFORM.rows(transform(output_format="csv"))  # type: ignore[attr-defined]
    with duckdb.connect() as connection:
        connection.execute(
            rows.statement(), {"input_1": str(source), "output": str(tmp_path / "o")}
        )
        written = connection.execute("SELECT * FROM read_csv_auto($p)", {"p": str(tmp_path / "o")})
        assert [(r[0], str(r[1]), r[3]) for r in written.fetchall()] == [("AB", "2024-01-31", 3.0)]


def test_files_are_stacked_by_column_name_or_joined_on_keys() -> None:
    union = transform_query(combined(["csv", "parquet"]), [], None)
    assert copy_statement(union, "parquet") == (
        "COPY (WITH step_1 AS (SELECT * FROM READ_CSV_AUTO($input_1) UNION ALL BY NAME "
        "SELECT * FROM READ_PARQUET($input_2)) SELECT * FROM step_1) TO $output (FORMAT parquet)"
    )
    aggregated = Aggregation(group_by=["sku"], measures=[Measure(function="sum", column="qty")])
    join = transform_query(combined(["json", "csv"], "left_join", ["sku"]), [], aggregated)
    assert copy_statement(join, "jsonl") == (
        "COPY (WITH step_1 AS (SELECT * FROM READ_JSON_AUTO($input_1) AS input_1 LEFT JOIN "
        'READ_CSV_AUTO($input_2) AS input_2 USING ("sku")), step_2 AS (SELECT "sku", '
        'SUM(TRY_CAST("qty" AS DOUBLE)) AS "sum_qty" FROM step_1 GROUP BY "sku") '
        "SELECT * FROM step_2) TO $output (FORMAT json)"
    )


# -- the parameters refused ------------------------------------------------------------------


ONE_FILE = spec_of(
    {**CLEAN, "description": "Clean orders.csv: parse the `day` column, write out.json."}
)


@pytest.mark.parametrize(
    ("changed", "problem"),
    [
        ({"operations": [{"op": "clean_text", "column": "ghost"}]}, "no column 'ghost'"),
        ({"output": "../etc/out.json"}, r"no '\.\.' in a path"),
        ({"output": "orders.csv"}, "is read and written"),
        ({"source": "clean_before"}, "no upstream task writes a file 'clean_before'"),
        (
            {"operations": [{"op": "add_constant", "column": "day", "value": 1}]},
            "'day' exists",
        ),
    ],
)
def test_parameters_the_file_transform_refuses(changed: dict[str, Any], problem: str) -> None:
    params = transform(**{"operations": [], **changed})
    with pytest.raises(ParameterError, match=problem):
        FILE_TRANSFORM.render(params, ctx_of(ONE_FILE, "clean"))


@pytest.mark.parametrize(
    "changed",
    [
        {"operations": [{"op": "clean_text", "column": "a; DROP TABLE x"}]},
        {"operations": [{"op": "explode", "column": "day"}]},
        {"source": "/etc/passwd'); --"},
        {"output_format": "xlsx"},
    ],
)
def test_answers_the_parameter_model_refuses(changed: dict[str, Any]) -> None:
    with pytest.raises(ParameterError):
        transform(**changed)


def test_merges_and_loads_the_patterns_refuse() -> None:
    spec = spec_of(
        {**CLEAN, "name": "a", "description": "Write a.csv."},
        {**CLEAN, "name": "b", "description": "Write b.csv."},
        {**CLEAN, "name": "both", "depends_on": ["a", "b"], "description": "Merge the files."},
        {**CLEAN, "name": "load", "depends_on": ["both"], "description": "Load into orders."},
        sources=[{"name": "orders", "columns": {"id": "BIGINT"}}],
    )
    outputs = {"a": upstream_file("a", "id"), "b": upstream_file("b", "id")}
    merge = {"sources": ["a", "b"], "input_formats": ["csv", "csv"], "output_format": "csv"}
    with pytest.raises(ParameterError, match="a union has no keys"):
        MERGE_FILES.render(
            MERGE_FILES.parse({**merge, "keys": ["id"]}), ctx_of(spec, "both", outputs)
        )
    with pytest.raises(ParameterError, match="a join needs key columns"):
        MERGE_FILES.render(
            MERGE_FILES.parse({**merge, "combine": "join"}), ctx_of(spec, "both", outputs)
        )
    outputs["both"] = upstream_file("both", "id")
    load = {"source": "both", "input_format": "csv", "columns": [{"name": "id", "type": "BIGINT"}]}
    with pytest.raises(ParameterError, match="orders is a source: read-only"):
        FILE_TO_TABLE.render(
            FILE_TO_TABLE.parse({**load, "table": "orders"}), ctx_of(spec, "load", outputs)
        )


@pytest.mark.parametrize(
    ("changed", "problem"),
    [
        ({"date_column": "city"}, "'city' is no date or timestamp column"),
        (
            {"columns": [{"name": "city", "type": "VARCHAR(40)"}]},
            "the columns of shop.stores differ",
        ),
        ({"output": "/srv/../etc/stores.json"}, r"no '\.\.' in a path"),
    ],
)
def test_exports_the_pattern_refuses(changed: dict[str, Any], problem: str) -> None:
    task = next(task for task in SPEC.tasks or [] if task.name == "export_stores")
    ctx = context_for(SPEC, task, {})
    answer = {"table": "shop.stores", "date_column": "none", "output": "stores.json"}
    params = TABLE_TO_FILE.parse({**TABLE_TO_FILE.complete(answer, ctx), **changed})
    with pytest.raises(ParameterError, match=problem):
        TABLE_TO_FILE.render(params, ctx)


# -- which tasks they serve ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "served"),
    [
        ("Ingest station CSV, parse installation_date, convert to JSON.", ["file_transform"]),
        ("Read stations.csv and write stations.parquet.", ["file_transform"]),
        ("Read a.csv and b.csv and combine them into all.csv.", ["merge_files"]),
        (
            "Load stations.csv (columns: station_id, name) into the stations_raw table.",
            ["file_to_table"],
        ),
        ("Read orders.csv and render the chart to chart.pdf.", []),
        ("Copy s3://drops/orders.csv to the archive bucket.", []),
        ("Download orders.csv from the FTP server.", []),
        ("Run the cleaning image on orders.csv. Docker Image: acme/clean:1.0", []),
        ("Send the weekly email to the team.", []),
        ("Input: the HTML page saved before. Output: data/aqi.json", []),
        ("Merge orders.csv with the internal inventory system on product_id.", []),
    ],
)
def test_the_file_patterns_serve_words_about_files(text: str, served: list[str]) -> None:
    ctx = ctx_of(spec_of({**CLEAN, "description": text}), "clean")
    file_patterns = (FILE_TRANSFORM, MERGE_FILES, FILE_TO_TABLE, TABLE_TO_FILE)
    assert [pattern.name for pattern in file_patterns if pattern.applies(ctx)] == served


@pytest.mark.parametrize(
    ("text", "combine", "keys"),
    [
        ("Combine the vendor files and enrich them with location data.", ["union"], []),
        ("Join the two files on product_id.", ["join", "left_join"], ["product_id"]),
    ],
)
def test_files_are_joined_only_on_keys_the_words_join_on(
    text: str, combine: list[str], keys: list[str]
) -> None:
    spec = spec_of(
        {**CLEAN, "name": "a", "description": "Write a.csv."},
        {**CLEAN, "name": "b", "description": "Write b.csv."},
        {**CLEAN, "name": "both", "depends_on": ["a", "b"], "description": text},
    )
    outputs = {name: upstream_file(name, "product_id", "qty") for name in ("a", "b")}
    ctx = ctx_of(spec, "both", outputs)
    assert MERGE_FILES.input_schema(ctx)["properties"]["sources"]["items"] == {"enum": ["a", "b"]}
    schema = MERGE_FILES.parameter_schema(ctx, {"sources": ["a", "b"]})["properties"]
    assert schema["combine"] == {"enum": combine}
    assert schema["keys"].get("items", {}).get("enum", []) == keys


def test_a_step_after_a_file_step_reads_its_file_and_its_columns() -> None:
    ctx = ctx_of(
        SPEC,
        "convert_amounts",
        {"clean_orders": upstream_file("clean_orders", "amount", file_format="parquet")},
    )
    assert FILE_TRANSFORM.input_schema(ctx)["properties"] == {"source": {"enum": ["clean_orders"]}}
    schema = FILE_TRANSFORM.parameter_schema(ctx, {"source": "clean_orders"})["properties"]
    assert schema["operations"]["items"]["enum"] == [
        {"op": "multiply", "column": "amount", "factor": 0.92, "to": "amount_eur"},
        {"op": "filter", "column": "amount", "comparison": ">", "value": 10},
    ]
    assert schema["output"] == {"enum": ["none"]}
    assert FILE_TRANSFORM.complete({"source": "clean_orders", "output": "none"}, ctx) == {
        "source": "clean_orders",
        "output": "none",
        "input_format": "parquet",
        "output_format": "json",
    }


def test_the_plan_shows_the_file_steps_that_read_earlier_file_steps() -> None:
    ways = _ways_of_writing(SPEC, list(SPEC.tasks or []), GenerationSettings(strategy="hybrid"))
    assert ways == PATTERNS


# -- the DAG and config.yml ------------------------------------------------------------------


def snippet(dag: str, task: str) -> str:
    """A task's lines of the DAG file: its comment to the call that makes it."""
    start = dag.index(f"    # {task} (python)")
    end = dag.index(")\n", dag.index(f"    {task} = _task_{task}(", start)) + 2
    return dag[start:end]


@pytest.mark.parametrize("task", list(PATTERNS))
def test_the_dag_snippets_match_their_goldens(task: str) -> None:
    dag = rendered_bundle()["dags/shop_files.py"]
    golden = GOLDENS / f"{task}.py.golden"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(snippet(dag, task))
    assert snippet(dag, task) == golden.read_text()


def test_config_names_every_path_and_connection() -> None:
    """(The DAG's import is a gate: tests/integration/test_file_gates.py runs it.)"""
    files = rendered_bundle()
    dag = files["dags/shop_files.py"]
    assert "from airflow.providers.standard.hooks.filesystem import FSHook" in dag
    config = yaml.safe_load(files["dags/resources/shop_files/config.yml"])["dev"]["operators"]
    folder = "<fill in: filesystem connection whose path is the data folder {} uses>"
    assert config["clean_orders"] == {
        "fs_conn_id": folder.format("clean_orders"),
        "input": "orders.csv",
        "output": "clean_orders.parquet",
    }
    assert config["convert_amounts"] == {
        "fs_conn_id": folder.format("convert_amounts"),
        "output": "<fill in: json file convert_amounts writes>",
    }
    assert config["load_orders"] == {"sql_conn_id": "warehouse_dev"}
    requirements = files["dags/resources/shop_files/requirements.txt"].splitlines()
    assert "duckdb==2.0.0" in requirements


# -- the smoke run's sample files ------------------------------------------------------------


def operators() -> dict[str, Any]:
    files = rendered_bundle()
    records = yaml.safe_load(files["dags/resources/shop_files/tasks.yml"])["tasks"]
    artifacts = {
        task.name: files[f"dags/resources/shop_files/{task.name}_operator.json"]
        for task in SPEC.tasks or []
    }
    return bound_operators(list(SPEC.tasks or []), artifacts, {r["name"]: r for r in records})


def test_the_columns_a_sample_file_needs_are_what_every_step_after_it_reads() -> None:
    needed = required_columns(operators())
    assert needed["total_per_sku"] == {"sku": "text", "amount_eur": "number"}
    assert needed["load_orders"] == {
        "order_date": "date",
        "sku": "text",
        "order_id": "text",
        "amount": "number",
        "amount_eur": "number",
        "returned_on": "date",
    }
    # what the load reads of the stacked file is required of every file stacked, but
    # what a step makes (amount_eur) is not required of its input
    assert needed["convert_amounts"] == {
        "amount": "number",
        "sku": "text",
        "order_date": "date",
        "order_id": "text",
        "returned_on": "date",
    }
    assert needed["clean_orders"] == {
        "order_date": "date",
        "sku": "text",
        "order_id": "text",
        "amount": "number",
        "returned_on": "date",
    }


def test_sample_files_are_written_where_the_tasks_read_them_typed_by_use(tmp_path: Path) -> None:
    bound = operators()
    values = {name: {"input": f"in/{name}.csv"} for name in ("clean_orders", "clean_returns")}
    values = {name: {**values.get(name, {}), "output": f"out/{name}"} for name in bound}
    assert seed_files(tmp_path, bound, values, [], "postgres") == [
        "in/clean_orders.csv",
        "in/clean_returns.csv",
    ]
    with duckdb.connect() as connection:
        found = connection.execute(
            "DESCRIBE SELECT * FROM read_csv_auto($p)", {"p": str(tmp_path / "in/clean_orders.csv")}
        )
        assert [(row[0], row[1]) for row in found.fetchall()] == [
            ("order_date", "DATE"),
            ("sku", "VARCHAR"),
            ("order_id", "VARCHAR"),
            ("amount", "DOUBLE"),
            ("returned_on", "DATE"),
        ]
