"""A table to a file (``table_to_file``): the rows of a warehouse table (all, or the
logical date's) read through the environment's SQL connection (a DB-API hook's
``get_records``), written by DuckDB in memory as one CSV, JSON, JSON-lines or Parquet
file at the path the words state (or ``config.yml`` gives); the task returns the path,
for the file steps after it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

import sqlglot.expressions as exp
from pydantic import BaseModel, Field, field_validator

from airflow_llm.patterns.base import StrictParameters, enum, obj
from airflow_llm.patterns.common import none_as_null, relation_named, require, table_options
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.file_loads import LoadedColumn, column_use
from airflow_llm.patterns.file_operations import COPY_OPTIONS
from airflow_llm.patterns.file_steps import FS_HOOK, FileFacts, FileInput, FilePattern, check_path
from airflow_llm.patterns.file_words import FileFormat
from airflow_llm.patterns.files import PATH
from airflow_llm.patterns.operators import Setting, lead
from airflow_llm.patterns.transfers import check_date_column, date_column_choice, table_query
from airflow_llm.patterns.writes import create_target
from airflow_llm.spec import TABLE_PATTERN, Column, PipelineSpec, TaskSpec
from airflow_llm.sql_types import parse_type

ROWS = "exported_rows"
"""The in-memory DuckDB table the rows pass through."""


_EXTRACTS = re.compile(
    r"\b(?:extract\w*|quer(?:y|ies|ied|ying)|select\w*|pull\w*|fetch\w*|read(?:s|ing)?)\b", re.I
)


def hands_on_rows(ctx: TaskContext, facts: FileFacts) -> bool:
    """Whether the step extracts rows of a table its words name for the steps after it
    ("Extract the day's orders from the orders table"): a title or objective that
    extracts, queries or reads, a readable table named, steps after it, no load."""
    named = any(
        re.search(rf"(?<![\w.]){re.escape(relation.short_name)}(?![\w])", facts.own_words, re.I)
        for relation in ctx.relations
    )
    extracts = bool(_EXTRACTS.search(lead(facts.own_words)))
    return named and extracts and bool(ctx.downstream) and not facts.loads_a_table


class TableToFileParameters(StrictParameters):
    """Write ``columns`` of ``table`` (the logical date's rows by ``date_column``, or
    all) to ``output`` (None: ``config.yml``'s) as ``output_format``."""

    table: str = Field(pattern=TABLE_PATTERN)
    columns: list[LoadedColumn] = Field(min_length=1, max_length=200)
    date_column: str | None = None
    output: str | None = Field(default=None, pattern=PATH)
    output_format: FileFormat

    _nulls = field_validator("date_column", "output", mode="before")(none_as_null)


class TableToFile(FilePattern[TableToFileParameters]):
    """A table's rows to one file (DB-API hook, DuckDB in memory)."""

    name: ClassVar[str] = "table_to_file"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "python"
    summary: ClassVar[str] = (
        "write a table's rows (all, or the logical date's) to one CSV, JSON or Parquet file "
        "on the filesystem"
    )
    cues: ClassVar[tuple[str, ...]] = (
        "export", "exported", "dump", "save", "saved", "write", "snapshot", "file", "csv",
        "json", "parquet",
    )  # fmt: skip
    parameters: ClassVar[type[BaseModel]] = TableToFileParameters
    table_parameters: ClassVar[tuple[str, ...]] = ("table",)
    imports: ClassVar[tuple[str, ...]] = (FS_HOOK, "from airflow.sdk import BaseHook, task")

    def applies(self, ctx: TaskContext) -> bool:
        """A table to read, and words that write a file (one they name, a format they
        write) or extract a table they name for the steps after it, and read no file."""
        facts = FileFacts(ctx)
        writes = bool(facts.outputs or facts.formats.get("output")) or hands_on_rows(ctx, facts)
        reads_a_file = bool(facts.upstream or facts.inputs or facts.formats.get("input"))
        return bool(ctx.relations) and facts.usable and writes and not reads_a_file

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """The table to write."""
        return obj({"table": enum(table_options(ctx))})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Which rows (every one unless the words speak of a date), and the file the
        words name (else the environment's config)."""
        facts = FileFacts(ctx)
        table = str(inputs.get("table"))
        return obj(
            {
                "date_column": date_column_choice(ctx, table),
                "output": self.output_schema(ctx, facts),
            }
        )

    def complete(self, answer: Mapping[str, Any], ctx: TaskContext) -> dict[str, Any]:
        """The table's columns, and the format of the output path or the words."""
        facts = FileFacts(ctx)
        relation = ctx.relation(str(answer.get("table")))
        columns = [
            {"name": c.name, "type": c.type, "use": column_use(c.type, ctx.dialect)}
            for c in (relation.columns if relation else ())
        ]
        output = answer.get("output")
        written = facts.output_format(None if output in (None, "none") else str(output), "csv")
        return {**answer, "columns": columns, "output_format": written}

    def check(self, params: TableToFileParameters, ctx: TaskContext) -> Relation | None:
        """A readable table with these columns, a date column of it, a path in its
        folder; the file written, with the table's columns."""
        check_date_column(ctx, params.table, params.date_column)
        check_path(params.output)
        relation = relation_named(ctx, params.table)
        names = [column.name for column in params.columns]
        require(names == relation.column_names, f"the columns of {relation.name} differ")
        columns = tuple(Column(name=c.name, type=c.type) for c in params.columns)
        return Relation(ctx.task.name, columns, ctx.task.name, params.output_format)

    def file_inputs(self, params: TableToFileParameters) -> list[FileInput]:
        """It reads no file."""
        return []

    def reads(self, params: TableToFileParameters) -> dict[str, Any]:
        """It reads no file's columns."""
        return {}

    def output_format(self, params: TableToFileParameters) -> str | None:
        """The format it writes."""
        return params.output_format

    def settings(self, params: TableToFileParameters, task: TaskSpec) -> list[Setting]:
        """The SQL connection it reads through, the filesystem connection and the path."""
        written = Setting(
            "output", "path", f"{params.output_format} file {task.name} writes", params.output
        )
        reads = Setting("sql_conn_id", "sql_conn_id", f"SQL connection {task.name} reads from")
        return [reads, *self.path_settings(task, []), written]

    def arguments(
        self, params: TableToFileParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """The query (the spec's dialect: the table's columns are every column), the
        in-memory table's DDL, insert and copy to the file (DuckDB)."""
        query = table_query(exp.Star(), params.table, params.date_column, spec)
        duckdb_columns = [
            Column(name=c.name, type=parse_type(c.type, spec.dialect).sql("duckdb"))
            for c in params.columns
        ]
        create = create_target(exp.to_table(ROWS), duckdb_columns, "duckdb")
        marks = ", ".join("?" for _ in params.columns)
        insert = f"INSERT INTO {ROWS} VALUES ({marks})"  # noqa: S608 - a constant, placeholders
        return {
            "query": query,
            "create": create.sql(dialect="duckdb"),
            "insert": insert,
            "copy_rows": f"COPY {ROWS} TO $output ({COPY_OPTIONS[params.output_format]})",
        }
