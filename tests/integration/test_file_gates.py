"""File patterns through generation and the bundle gates: a scripted model that takes the
first option of every question (what linking and rendering do alone) writes a small
pipeline of file steps (clean a CSV, convert a column, aggregate, stack two files, load
the result into a table, export a table to a file), and the smoke run runs every one of
them for real: the files
no task writes are created in the filesystem stand-in's folder with sample rows of the
columns the tasks read, each later step reads the file the step before it wrote, and the
load's rows reach the warehouse."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airflow_llm.bundle.render import render_bundle
from airflow_llm.patterns import Relation, context_for, pattern_named
from airflow_llm.spec import PipelineSpec
from tests.pattern_bundles import smoke_run_of
from tests.scripted_endpoint import first_choices

pytestmark = pytest.mark.integration

SPEC = PipelineSpec.model_validate(
    {
        "name": "shop_files",
        "description": "Clean the shop's order and return files, combine them and load them.",
        "dialect": "postgres",
        "environments": {"dev": {"conn_id": "warehouse_dev", "schema": "analytics"}},
        "sources": [
            {
                "name": "shop.stores",
                "columns": {"store_id": "BIGINT", "city": "VARCHAR(40)", "opened_on": "DATE"},
            }
        ],
        "tasks": [
            {
                "name": "clean_orders",
                "kind": "python",
                "description": "Ingest the orders.csv file: parse order_date, upper-case the "
                "`sku` column, drop rows with nulls in order_id and drop duplicate rows. "
                "Output: clean_orders.parquet",
            },
            {
                "name": "convert_amounts",
                "kind": "python",
                "depends_on": ["clean_orders"],
                "description": "Convert the `amount` column to EUR with the rate 0.92, and "
                "keep only rows where amount > 10. Write the result as JSON.",
            },
            {
                "name": "total_per_sku",
                "kind": "python",
                "depends_on": ["convert_amounts"],
                "description": "Sum amount_eur per sku and write sku_totals.csv.",
            },
            {
                "name": "clean_returns",
                "kind": "python",
                "description": "Read returns.csv, parse returned_on as a date, write "
                "returns.parquet.",
            },
            {
                "name": "combine_files",
                "kind": "python",
                "depends_on": ["convert_amounts", "clean_returns"],
                "description": "Combine the converted orders and the returns into one file, "
                "all_orders.csv.",
            },
            {
                "name": "load_orders",
                "kind": "python",
                "depends_on": ["combine_files"],
                "description": "Load the combined file into the orders_loaded table.",
            },
            {
                "name": "export_stores",
                "kind": "python",
                "description": "Export the shop.stores table to stores.json.",
            },
        ],
    }
)
PATTERNS = {
    "clean_orders": "file_transform",
    "convert_amounts": "file_transform",
    "total_per_sku": "file_transform",
    "clean_returns": "file_transform",
    "combine_files": "merge_files",
    "load_orders": "file_to_table",
    "export_stores": "table_to_file",
}


def first_answer(schema: dict[str, Any]) -> dict[str, Any]:
    """What ``first_choices`` answers a question's schema."""
    answer = json.loads(first_choices({"response_format": {"json_schema": {"schema": schema}}}))
    assert isinstance(answer, dict)
    return answer


def rendered_bundle(
    spec: PipelineSpec = SPEC, patterns: dict[str, str] = PATTERNS
) -> dict[str, str]:
    """The bundle with every task written by its pattern in ``patterns``, answered with
    the first option of every question (as the scripted model does), upstream tasks
    first."""
    outputs: dict[str, Relation] = {}
    artifacts, records = {}, {}
    for task in spec.tasks or []:
        pattern, ctx = pattern_named(patterns[task.name]), context_for(spec, task, outputs)
        inputs = first_answer(pattern.input_schema(ctx))
        answer = {**inputs, **first_answer(pattern.parameter_schema(ctx, inputs))}
        params = pattern.parse(pattern.complete(answer, ctx))
        done = pattern.render(params, ctx)
        artifacts[task.name] = done.content
        if done.output is not None:
            outputs[task.name] = done.output
        parameters = params.model_dump(mode="json")
        record = {"name": pattern.name, "version": 1, "parameters": parameters}
        records[task.name] = {"strategy": "hybrid", "pattern": record}
    return render_bundle(spec, list(spec.tasks or []), artifacts, records)


def test_file_steps_are_generated_by_their_patterns_and_run_in_the_smoke_run(
    tmp_path: Path,
) -> None:
    _, smoke = smoke_run_of(SPEC, PATTERNS, tmp_path)
    rows = {name: task["rows"] for name, task in smoke.items()}
    assert rows["clean_orders"] == {"files/clean_orders.parquet": 11}  # 12 less the duplicate
    assert rows["clean_returns"] == {"files/returns.parquet": 12}
    assert list(rows["total_per_sku"]) == ["files/sku_totals.csv"]
    assert rows["combine_files"]["files/all_orders.csv"] == (
        next(iter(rows["convert_amounts"].values())) + 12
    )
    assert rows["export_stores"] == {"files/stores.json": 12}
    assert rows["load_orders"] == {
        "analytics.orders_loaded": rows["combine_files"]["files/all_orders.csv"]
    }
