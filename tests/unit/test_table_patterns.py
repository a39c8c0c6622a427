"""Steps on tables a description names: ``create_table`` (which steps it serves, the DDL
it renders, what it refuses), and the existing SQL-reading patterns serving steps on a
source inferred from the words (airflow_llm.table_words)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pytest

from airflow_llm.patterns import (
    ParameterError,
    Relation,
    context_for,
    pattern_menu,
    pattern_named,
)
from airflow_llm.patterns.common import table_options
from airflow_llm.plan_steps import extract_steps
from airflow_llm.spec import Column, PipelineSpec
from airflow_llm.spec_loading import parse_spec

CREATE_TABLE = pattern_named("create_table")


def spec_of(*tasks: dict[str, Any], sources: list[dict[str, Any]] | None = None) -> PipelineSpec:
    return PipelineSpec.model_validate(
        {"name": "tables", "description": "d", "sources": sources or [], "tasks": list(tasks)}
    )


def ctx_of(spec: PipelineSpec, name: str) -> Any:
    return context_for(spec, next(t for t in spec.tasks or [] if t.name == name), {})


CREATE = {
    "name": "make_members",
    "kind": "sql",
    "description": "Create the table 'members' with columns member_id, joined_on, plan",
}


def test_a_step_that_creates_a_table_with_stated_columns_gets_create_table_alone() -> None:
    ctx = ctx_of(spec_of(CREATE), "make_members")
    assert pattern_menu(ctx) == ["create_table"]
    assert CREATE_TABLE.input_schema(ctx)["properties"] == {"table": {"enum": ["members"]}}
    assert CREATE_TABLE.parameter_schema(ctx, {"table": "members"})["properties"] == {}


def test_the_ddl_creates_the_stated_columns_once_and_is_what_the_step_writes() -> None:
    ctx = ctx_of(spec_of(CREATE), "make_members")
    answer = CREATE_TABLE.complete({"table": "members"}, ctx)
    rendered = CREATE_TABLE.render(CREATE_TABLE.parse(answer), ctx)
    assert rendered.output is not None
    assert (rendered.output.name, rendered.output.produced_by) == ("members", "make_members")
    assert [(c.name, c.type) for c in rendered.output.columns] == [
        ("member_id", "BIGINT"),
        ("joined_on", "DATE"),
        ("plan", "VARCHAR"),
    ]
    database = duckdb.connect()
    for _ in range(2):  # idempotent: a second run changes nothing
        database.execute(rendered.content)
    columns = database.execute("DESCRIBE members").fetchall()
    assert [(name, sql_type) for name, sql_type, *_ in columns] == [
        ("member_id", "BIGINT"),
        ("joined_on", "DATE"),
        ("plan", "VARCHAR"),
    ]


@pytest.mark.parametrize(
    "description",
    [
        "Create the members table.",  # no columns stated
        "Insert the new rows into the members table (member_id, plan).",  # no creation
        "Create a report from the members table (member_id, plan).",  # it reads the table
    ],
)
def test_create_table_serves_only_steps_that_create_a_table_with_stated_columns(
    description: str,
) -> None:
    task = {"name": "step", "kind": "sql", "description": description}
    assert not CREATE_TABLE.applies(ctx_of(spec_of(task), "step"))


def test_a_source_is_never_created() -> None:
    source = {"name": "members", "columns": {"member_id": "BIGINT"}}
    ctx = ctx_of(spec_of(CREATE, sources=[source]), "make_members")
    assert not CREATE_TABLE.applies(ctx)
    params = CREATE_TABLE.parse({"table": "members", "columns": [{"name": "a", "type": "INT"}]})
    with pytest.raises(ParameterError, match="members is a source: read-only"):
        CREATE_TABLE.render(params, ctx)


DESCRIPTION = """\
# Parcel scans

1. wait_for_scans
   - Waits until the parcel_scans table has rows for the day (scanned_on = '{{ ds }}').

2. export_scans
   - Input: parcel_scans table
   - Output: /tmp/scans/parcel_scans_{{ ds }}.csv
"""


def test_steps_on_a_table_the_description_names_get_the_existing_patterns(
    tmp_path: Path,
) -> None:
    described = parse_spec(DESCRIPTION.encode(), str(tmp_path / "scans.md"))
    assert [s.name for s in described.sources] == ["parcel_scans"]
    wait, export = (step.text for step in extract_steps(described.description))
    tasks = [
        {"name": "wait_for_scans", "kind": "sensor", "description": wait},
        {
            "name": "export_scans",
            "kind": "python",
            "description": export,
            "depends_on": "wait_for_scans",
        },
    ]
    spec = PipelineSpec.model_validate(described.model_dump() | {"tasks": tasks})
    assert pattern_menu(ctx_of(spec, "wait_for_scans")) == ["sql_sensor"]
    assert pattern_menu(ctx_of(spec, "export_scans"))[0] == "table_to_file"


SHIPMENTS = {"name": "shipments", "columns": {"shipment_id": "BIGINT", "shipped_on": "DATE"}}
EXTRACT = {
    "name": "extract_day",
    "kind": "python",
    "description": "Extract the day's rows from the shipments table for processing",
}
CLEAN = {
    "name": "clean_day",
    "kind": "python",
    "description": "Drop rows with nulls in shipment_id",
    "depends_on": ["extract_day"],
}


def test_a_step_that_extracts_a_named_table_for_the_next_steps_exports_it_to_a_file() -> None:
    spec = spec_of(EXTRACT, CLEAN, sources=[SHIPMENTS])
    assert pattern_menu(ctx_of(spec, "extract_day"))[0] == "table_to_file"


@pytest.mark.parametrize(
    "tasks",
    [
        [EXTRACT],  # nothing after it takes the rows
        [EXTRACT | {"description": "Extract the day's rows for processing"}, CLEAN],  # no table
        [EXTRACT | {"description": "Load the shipments table into the warehouse"}, CLEAN],
    ],
)
def test_only_an_extract_of_a_named_table_with_steps_after_it_becomes_a_file(
    tasks: list[dict[str, Any]],
) -> None:
    spec = spec_of(*tasks, sources=[SHIPMENTS])
    assert not pattern_named("table_to_file").applies(ctx_of(spec, "extract_day"))


REBUILD = {
    "name": "rebuild_daily_visits",
    "kind": "python",
    "description": "Rebuild the daily_visits table with CTAS from the visits table and swap it "
    "in atomically; fail when the new table has zero rows.",
}
VISITS = {"name": "visits", "columns": {"visit_id": "BIGINT", "page": "VARCHAR"}}


def test_a_ctas_step_rebuilds_the_table_its_words_write_from_the_table_it_reads() -> None:
    ctx = ctx_of(spec_of(REBUILD, sources=[VISITS]), "rebuild_daily_visits")
    rebuild = pattern_named("rebuild_table")
    assert pattern_menu(ctx)[0] == "rebuild_table"
    assert rebuild.input_schema(ctx)["properties"]["source"]["enum"] == ["visits"]
    targets = rebuild.parameter_schema(ctx, {"source": "visits"})["properties"]["target"]["enum"]
    assert targets == ["daily_visits"]
    rendered = rebuild.render(rebuild.parse({"source": "visits", "target": "daily_visits"}), ctx)
    assert rendered.output is not None
    assert rendered.output.column_names == ["visit_id", "page"]
    with pytest.raises(ParameterError, match="visits is a source: read-only"):
        rebuild.render(rebuild.parse({"source": "visits", "target": "visits"}), ctx)


@pytest.mark.parametrize("dialect", ["postgres", "duckdb"])
def test_a_rebuild_replaces_every_row_and_an_empty_one_changes_nothing(dialect: str) -> None:
    spec = PipelineSpec.model_validate(
        spec_of(REBUILD, sources=[VISITS]).model_dump() | {"dialect": dialect}
    )
    task = (spec.tasks or [])[0]
    params = pattern_named("rebuild_table").parse({"source": "visits", "target": "daily_visits"})
    script = pattern_named("rebuild_table").arguments(params, spec, task)["sql"]

    def run(rows: str) -> tuple[list[tuple[Any, ...]], str]:
        database = duckdb.connect()
        database.execute(f"CREATE TABLE visits (visit_id BIGINT, page VARCHAR); {rows}")
        database.execute("CREATE TABLE daily_visits AS SELECT 9 AS visit_id, 'old' AS page")
        failure = ""
        for statement in script.split(";\n\n"):
            try:
                database.execute(statement)
            except duckdb.ConversionException as error:
                failure = str(error)
                break
        return database.execute("SELECT * FROM daily_visits ORDER BY 1").fetchall(), failure

    assert run("INSERT INTO visits VALUES (1, '/a'), (2, '/b')") == ([(1, "/a"), (2, "/b")], "")
    kept, failure = run("")
    assert kept == [(9, "old")]
    assert "no rows in daily_visits_rebuild: 0" in failure


def test_a_table_of_text_columns_only_offers_no_latest_row_per_key() -> None:
    """The table create_table writes from stated names may hold text only: nothing to
    order rows by, so latest_per_key is not offered (its question would have no options)."""
    ctx = ctx_of(
        spec_of(CREATE | {"description": "Keep the latest member per plan"}), "make_members"
    )
    text_only = Relation("members", (Column(name="plan", type="VARCHAR"),), "make")
    ctx = replace(ctx, relations=(text_only,))
    latest = pattern_named("latest_per_key")
    assert not latest.applies(ctx)
    with pytest.raises(ParameterError, match="members has no timestamp or number to order by"):
        latest.parameter_schema(ctx, {"source": "members"})


def test_of_tables_named_alike_the_one_an_upstream_task_writes_is_offered() -> None:
    """Data flows along the task graph: a step naming the source and the table its
    upstream step wrote from it as often is offered the upstream's table."""
    sales = {"name": "sales", "columns": {"sold_on": "DATE", "product": "VARCHAR"}}
    spec = spec_of(
        {"name": "sales_of_day", "kind": "sql", "description": "The day's sales rows."},
        {
            "name": "export_sales",
            "kind": "python",
            "depends_on": ["sales_of_day"],
            "description": "Write the sales results of sales_of_day to /tmp/sales.csv.",
        },
        sources=[sales],
    )
    written = Relation("sales_of_day", list(spec.sources[0].columns), "sales_of_day")
    task = (spec.tasks or [])[1]
    ctx = context_for(spec, task, {"sales_of_day": written})
    assert table_options(ctx) == ["sales_of_day"]
    assert table_options(replace(ctx, repairing=True)) == ["sales_of_day", "sales"]


def test_an_aggregate_its_words_do_not_link_is_offered_numbers_and_rows_first() -> None:
    """'aggregated by date and product' names no measure: a first answer may sum the
    amount or count rows, not sum a date (the model did, three times)."""
    sales = {
        "name": "sales",
        "columns": {"sold_on": "DATE", "product": "VARCHAR", "amount": "DECIMAL(12,2)"},
    }
    step = {
        "name": "sales_per_product",
        "kind": "sql",
        "description": "The day's sales aggregated by sold_on and product.",
    }
    ctx = ctx_of(spec_of(step, sources=[sales]), "sales_per_product")
    aggregate = pattern_named("aggregate")
    schema = aggregate.parameter_schema(ctx, {"source": "sales"})
    column = schema["properties"]["measures"]["items"]["properties"]["column"]
    assert column["enum"] == ["amount", "*"]
    repairing = aggregate.parameter_schema(replace(ctx, repairing=True), {"source": "sales"})
    again = repairing["properties"]["measures"]["items"]["properties"]["column"]
    assert set(again["enum"]) == {"amount", "*", "sold_on", "product"}
