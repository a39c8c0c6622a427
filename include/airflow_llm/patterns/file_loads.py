"""A file into a warehouse table (``file_to_table``): DuckDB reads the file in memory
(an upstream task's, by the path it returns, or one at a path ``config.yml`` gives),
the environment's SQL connection (``BaseHook.get_connection(conn_id).get_hook()``, a
DB-API hook) creates the table if needed, deletes the rows it loads again (the logical
date's, or all) and inserts the file's rows with ``insert_rows``."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import sqlglot.expressions as exp
from pydantic import BaseModel, Field, field_validator

from airflow_llm.patterns.base import Params, StrictParameters, choices, enum, narrowed, obj
from airflow_llm.patterns.common import NONE, mentions_interval, none_as_null, require
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.file_operations import (
    Name,
    Use,
    identifier,
    reader,
)
from airflow_llm.patterns.file_steps import (
    FS_HOOK,
    SOURCE,
    FileFacts,
    FileInput,
    FilePattern,
    check_loaded_columns,
    file_inputs,
    source_choice,
)
from airflow_llm.patterns.file_words import FileFormat
from airflow_llm.patterns.operators import Setting
from airflow_llm.patterns.transfers import pipeline_table
from airflow_llm.patterns.upsert_words import updates_existing
from airflow_llm.patterns.writes import create_target, delete_where, logical_date, one_line
from airflow_llm.spec import TABLE_PATTERN, Column, PipelineSpec, TaskSpec
from airflow_llm.sql_types import family, parse_type
from airflow_llm.table_words import NamedTable, named_tables

_TABLE = r"`?([A-Za-z_][\w$]*(?:\.[A-Za-z_][\w$]*)?)`?"
_STATED_TABLES = [
    re.compile(rf"\btable\s+{_TABLE}", re.IGNORECASE),
    re.compile(rf"{_TABLE}\s+table\b", re.IGNORECASE),
    re.compile(rf"\binto\s+(?:the\s+)?{_TABLE}", re.IGNORECASE),
]
_KEEPS_EXISTING = re.compile(
    r"\bon\s+conflict\s+do\s+nothing\b|\b(?:ignor|skipp?)\w*\s+(?:the\s+)?(?:duplicate|existing"
    r"|conflict)\w*|\binsert\w*\s+only\s+(?:the\s+)?new\b|\bif\s+not\s+already\s+(?:present|there)",
    re.IGNORECASE,
)
"""Words that keep the rows a table already has (a conflicting row is not inserted)."""
_USES: dict[str, Use] = {"date": "date", "timestamp": "timestamp", "integer": "number"}
_USES["decimal"] = "number"


def written_tables(text: str) -> list[str]:
    """The tables the words load: the ones they name with an underscore or a schema
    (:func:`stated_tables`), then the ones :mod:`airflow_llm.table_words` reads as
    written (``inserted into PostgreSQL users table``)."""
    written = [t.name for t in named_tables(text.splitlines()) if t.role == "written"]
    return list(dict.fromkeys([*stated_tables(text), *written]))


def keeps_existing(text: str) -> bool:
    """Whether the words keep the rows a table already has (``ON CONFLICT DO NOTHING``,
    "skip existing"): ``file_to_tables`` loads then, not a replacing load."""
    return bool(_KEEPS_EXISTING.search(text))


def loaded_tables(ctx: TaskContext) -> list[NamedTable]:
    """The tables the task's words load with the columns they state (no source)."""
    sources = {source.name for source in ctx.spec.sources}
    return [
        table
        for table in named_tables(ctx.task.description.splitlines())
        if table.role == "written" and not table.guessed and table.name not in sources
    ]


def stated_tables(text: str) -> list[str]:
    """The tables the words name (``table public.transactions``, ``inventory_shipments
    table``, ``into daily_sales``): names with an underscore or a schema."""
    found = [m.group(1) for pattern in _STATED_TABLES for m in pattern.finditer(text)]
    return [name for name in dict.fromkeys(found) if "_" in name or "." in name]


class LoadedColumn(StrictParameters):
    """A column loaded: its name, its type in the spec's dialect, what it holds."""

    name: Name
    type: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_ (),]{0,59}$")
    use: Use = "text"


class FileToTableParameters(StrictParameters):
    """Load ``columns`` of ``source`` (an upstream task's file, a path, None:
    ``config.yml``'s) into ``table``, replacing the logical date's rows by
    ``date_column`` (None: all rows)."""

    source: str | None = Field(default=None, pattern=SOURCE)
    input_format: FileFormat
    columns: list[LoadedColumn] = Field(min_length=1, max_length=64)
    table: str = Field(pattern=TABLE_PATTERN)
    date_column: str | None = None

    _nulls = field_validator("source", "date_column", mode="before")(none_as_null)


class FileLoadPattern(FilePattern[Params]):
    """A file pattern that loads the rows it reads into warehouse tables."""

    def settings(self, params: Params, task: TaskSpec) -> list[Setting]:
        """The filesystem connection and path (unless an upstream task gives the file)
        and the SQL connection it loads through."""
        reads = self.path_settings(task, self.file_inputs(params))
        loads = Setting("sql_conn_id", "sql_conn_id", f"SQL connection {task.name} loads into")
        return [*reads, loads]


class FileToTable(FileLoadPattern[FileToTableParameters]):
    """A file's rows into a table through the environment's SQL connection."""

    name: ClassVar[str] = "file_to_table"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "python"
    summary: ClassVar[str] = (
        "load a CSV, JSON or Parquet file's rows into a database table through the "
        "environment's SQL connection (replacing the logical date's rows, or all)"
    )
    cues: ClassVar[tuple[str, ...]] = (
        "load", "loaded", "insert", "persist", "store", "table", "database", "db",
        "warehouse", "postgres", "postgresql",
    )  # fmt: skip
    parameters: ClassVar[type[BaseModel]] = FileToTableParameters
    writes_table: ClassVar[str | None] = "table"
    imports: ClassVar[tuple[str, ...]] = (FS_HOOK, "from airflow.sdk import BaseHook, task")
    writes_file: ClassVar[bool] = False

    def applies(self, ctx: TaskContext) -> bool:
        """Words that load a file (an upstream task's, one they name, a format they
        read) into a table or database, with columns to load (an upstream file task
        knows its own), into one table whose rows it replaces (several with their columns,
        or rows kept or updated by key: ``file_to_tables``)."""
        facts = FileFacts(ctx)
        readable = bool(facts.upstream or facts.inputs or facts.formats.get("input"))
        single = len(facts.upstream) <= 1 and len(facts.inputs) <= 1
        columns = facts.upstream or facts.candidates([facts.first_source()]).all
        words = ctx.task.description
        held = keeps_existing(words) or updates_existing(words)
        one = len(loaded_tables(ctx)) < 2 and not held
        return (
            facts.usable and facts.loads_a_table and readable and single and bool(columns) and one
        )

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """What it loads: the nearest upstream file, else the file the words name, else
        the environment's config."""
        options = FileFacts(ctx).source_options()
        return obj({"source": enum(narrowed(ctx, options[:1] or [NONE], [*options, NONE]))})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The columns (every known column of the file, else every one the words name,
        on a first answer), the table the words load, and which rows it replaces."""
        facts = FileFacts(ctx)
        source = source_choice(inputs.get("source"))
        candidates = facts.candidates([source])
        sure = list(candidates.known or candidates.named) or candidates.all
        offered = narrowed(ctx, sure, candidates.all)
        least = 1 if ctx.repairing else len(offered)
        tables = [t for t in written_tables(facts.own_words) if t not in _sources(ctx)]
        known = facts.known_columns([source])
        dates = [name for name in offered if _temporal(name, known, ctx.dialect)]
        interval = mentions_interval(ctx.text) and dates
        return obj(
            {
                "columns": choices(offered, least, len(offered)),
                "table": enum(narrowed(ctx, tables, [*tables, ctx.target])),
                "date_column": enum([*dates, NONE] if interval else narrowed(ctx, [NONE], dates)),
            }
        )

    def complete(self, answer: Mapping[str, Any], ctx: TaskContext) -> dict[str, Any]:
        """The input's format and each column's type (a known column's, else text)."""
        facts = FileFacts(ctx)
        source = source_choice(answer.get("source"))
        known = {column.name: column for column in facts.known_columns([source])}
        columns = []
        for name in answer.get("columns", []):
            column = known.get(str(name))
            declared = column.type if column else "VARCHAR"
            columns.append(
                {"name": name, "type": declared, "use": column_use(declared, ctx.dialect)}
            )
        return {**answer, "input_format": facts.input_format(source), "columns": columns}

    def check(self, params: FileToTableParameters, ctx: TaskContext) -> Relation | None:
        """A source an upstream task writes or a path; columns known or named by the
        words, once each, typed in the spec's dialect; a table that is no declared
        source; a date column among the columns. The table it writes."""
        facts = FileFacts(ctx)
        names = [column.name for column in params.columns]
        check_loaded_columns(facts, params.source, names)
        require(params.table not in _sources(ctx), f"{params.table} is a source: read-only")
        require(params.date_column is None or params.date_column in names, "no such date column")
        columns = tuple(Column(name=c.name, type=c.type) for c in params.columns)
        return Relation(params.table, columns, produced_by=ctx.task.name)

    def file_inputs(self, params: FileToTableParameters) -> list[FileInput]:
        """The file it loads."""
        return file_inputs([params.source], [params.input_format])

    def reads(self, params: FileToTableParameters) -> dict[str, Use]:
        """The columns it loads."""
        return {column.name: column.use for column in params.columns}

    def arguments(
        self, params: FileToTableParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """The query reading the file (DuckDB), the table's statements (the spec's
        dialect), the columns inserted."""
        target = pipeline_table(params.table, spec)
        columns = [Column(name=c.name, type=c.type) for c in params.columns]
        clear = exp.Delete(this=target.copy())
        if params.date_column is not None:
            day = exp.Cast(this=exp.column(params.date_column), to=exp.DataType.build("DATE"))
            clear = delete_where(target, exp.EQ(this=day, expression=logical_date()))
        statements = [create_target(target, columns, spec.dialect), clear]
        inputs = self.file_inputs(params)
        return {
            "query": read_query(params.columns, params.input_format, spec.dialect),
            "statements": [one_line(statement, spec.dialect) for statement in statements],
            "table": one_line(target, spec.dialect),
            "names": [column.name for column in params.columns],
            "upstream": [i for i in inputs if i.upstream],
            "setting": next((i.setting for i in inputs if i.setting), None),
        }


def read_query(columns: Sequence[LoadedColumn], file_format: str, dialect: str) -> str:
    """``SELECT TRY_CAST("c" AS <type>) AS "c", ... FROM <reader>($input_1)``: the
    file's columns as the table types them (NULL where a value does not convert)."""
    selected = []
    for column in columns:
        duckdb_type = parse_type(column.type, dialect).copy()
        value = exp.TryCast(this=exp.Column(this=identifier(column.name)), to=duckdb_type)
        selected.append(exp.alias_(value, identifier(column.name)))
    return exp.select(*selected).from_(reader(file_format, 1)).sql(dialect="duckdb")


def column_use(declared: str, dialect: str) -> Use:
    """What a column of a declared type holds (for the smoke run's sample files)."""
    return _USES.get(family(declared, dialect), "text")


def _temporal(name: str, known: Sequence[Column], dialect: str) -> bool:
    """Whether a known column is a date or timestamp."""
    found = next((column for column in known if column.name == name), None)
    return found is not None and column_use(found.type, dialect) in ("date", "timestamp")


def _sources(ctx: TaskContext) -> set[str]:
    return {source.name for source in ctx.spec.sources}
