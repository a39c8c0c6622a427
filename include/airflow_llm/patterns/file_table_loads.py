"""A file into several tables, or into one keeping its rows (``file_to_tables``): the
words name the tables a step loads and the columns of each ("into the dim_station table
(station_id, station_name) and the fact_reading table (station_id, read_at, pm25)"), or
one table whose rows stay ("into the readings table, ON CONFLICT DO NOTHING"), loaded
with the file's columns. DuckDB reads each table's
distinct rows from the file (an upstream task's, by the path it returns, or one at a
path ``config.yml`` gives); the environment's SQL connection creates each table if
needed and inserts them with ``insert_rows``. Where the words keep the rows a table
already has ("ON CONFLICT DO NOTHING", "skip existing"), a row whose key the table holds
is left out, as ``ON CONFLICT DO NOTHING`` on that key does, in any dialect: a
dimension's id (its first column, its only id column, the others text), else the whole
row. Else each table's rows are replaced.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import sqlglot.expressions as exp
from pydantic import BaseModel, Field, field_validator

from airflow_llm.patterns.base import StrictParameters, choices, enum, narrowed, obj
from airflow_llm.patterns.common import NONE, none_as_null, require
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.file_loads import (
    FileLoadPattern,
    LoadedColumn,
    column_use,
    keeps_existing,
    loaded_tables,
    read_query,
    stated_tables,
)
from airflow_llm.patterns.file_operations import Name, Use, identifier
from airflow_llm.patterns.file_steps import (
    FS_HOOK,
    SOURCE,
    FileFacts,
    FileInput,
    check_source,
    file_inputs,
    source_choice,
)
from airflow_llm.patterns.file_words import FileFormat
from airflow_llm.patterns.reads import Read
from airflow_llm.patterns.transfers import pipeline_table
from airflow_llm.patterns.writes import create_target, one_line
from airflow_llm.spec import TABLE_PATTERN, Column, PipelineSpec, TaskSpec
from airflow_llm.table_words import column_type

_KEY = re.compile(r"^(?:id|.+_id|.+_key|.+_code)$", re.IGNORECASE)
"""A column name that identifies a row (``station_id``)."""


class TableRows(StrictParameters):
    """One table loaded: its columns, and the key a row it already holds is known by."""

    table: str = Field(pattern=TABLE_PATTERN)
    columns: list[LoadedColumn] = Field(min_length=1, max_length=64)
    keys: list[Name] = Field(min_length=1, max_length=64)


class FileToTablesParameters(StrictParameters):
    """Load ``source`` (an upstream task's file, a path, None: ``config.yml``'s) into each
    of ``tables``, keeping the rows they already have (``keep_existing``) or replacing
    them."""

    source: str | None = Field(default=None, pattern=SOURCE)
    input_format: FileFormat
    tables: list[TableRows] = Field(min_length=1, max_length=8)
    keep_existing: bool

    _nulls = field_validator("source", mode="before")(none_as_null)


def planned_tables(
    ctx: TaskContext, facts: FileFacts, source: str | None
) -> dict[str, list[Column]]:
    """The tables it loads and their columns: the tables the words load with columns
    they state (two or more: the file's known column where one is named alike), else
    the one table words that keep its rows load, with the file's known columns (else
    the ones the words name, typed by their names)."""
    known = {column.name: column for column in facts.known_columns([source])}
    stated = loaded_tables(ctx)
    if len(stated) >= 2:
        return {t.name: [known.get(c.name, c) for c in t.columns] for t in stated}
    if not keeps_existing(ctx.task.description):
        return {}
    sources = {relation.name for relation in ctx.spec.sources}
    named = [name for name in stated_tables(facts.own_words) if name not in sources]
    table = stated[0].name if stated else (named[0] if named else ctx.target)
    if stated:
        return {table: [known.get(c.name, c) for c in stated[0].columns]}
    candidates = facts.candidates([source])
    names = list(candidates.known or candidates.named)
    columns = [known.get(name, Column(name=name, type=column_type(name))) for name in names]
    return {table: columns} if columns else {}


def row_keys(columns: Sequence[tuple[str, Use]]) -> list[str]:
    """The columns a table's row is known by: a dimension's id (its first column, its
    only id column, the others text), else all of them (a row identical to one it
    holds)."""
    names = [name for name, _ in columns]
    ids = [name for name in names if _KEY.match(name)]
    attributes = all(use == "text" for _, use in columns[1:])
    return ids if ids == names[:1] and attributes else names


class FileToTables(FileLoadPattern[FileToTablesParameters]):
    """A file's rows into several tables, each with its stated columns."""

    name: ClassVar[str] = "file_to_tables"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "python"
    summary: ClassVar[str] = (
        "load a file's rows into several database tables (dimension and fact tables), "
        "each with the columns the words give it, keeping or replacing the rows they have"
    )
    cues: ClassVar[tuple[str, ...]] = (
        "load", "loaded", "insert", "tables", "dimension", "dimensions", "fact", "conflict",
        "database", "warehouse", "postgres", "postgresql",
    )  # fmt: skip
    parameters: ClassVar[type[BaseModel]] = FileToTablesParameters
    imports: ClassVar[tuple[str, ...]] = (FS_HOOK, "from airflow.sdk import BaseHook, task")
    writes_file: ClassVar[bool] = False

    def applies(self, ctx: TaskContext) -> bool:
        """Words that load one file (an upstream task's, one they name, a format they
        read) into two tables or more whose columns they state (columns the file has,
        where its columns are known), or into one table keeping the rows it has."""
        facts = FileFacts(ctx)
        readable = bool(facts.upstream or facts.inputs or facts.formats.get("input"))
        single = len(facts.upstream) <= 1 and len(facts.inputs) <= 1
        planned = planned_tables(ctx, facts, facts.first_source())
        known = {c.name for c in facts.known_columns([facts.first_source()])}
        stated = {c.name for columns in planned.values() for c in columns}
        fits = bool(stated) and (not known or stated <= known)
        return facts.usable and facts.loads_a_table and readable and single and fits

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """What it loads: the nearest upstream file, else the file the words name, else
        the environment's config."""
        options = FileFacts(ctx).source_options()
        return obj({"source": enum(narrowed(ctx, options[:1] or [NONE], [*options, NONE]))})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The tables (every one the words load, on a first answer) and whether the rows
        they already have stay (as the words say, on a first answer)."""
        facts = FileFacts(ctx)
        names = list(planned_tables(ctx, facts, source_choice(inputs.get("source"))))
        least = 1 if ctx.repairing else len(names)
        keep = keeps_existing(ctx.task.description)
        return obj(
            {
                "tables": choices(names, least, len(names)),
                "keep_existing": enum(narrowed(ctx, [keep], [keep, not keep])),
            }
        )

    def complete(self, answer: Mapping[str, Any], ctx: TaskContext) -> dict[str, Any]:
        """The input's format; each table's columns (typed as the file's known columns,
        else as the words say) and keys."""
        facts = FileFacts(ctx)
        source = source_choice(answer.get("source"))
        planned = planned_tables(ctx, facts, source)
        tables = []
        for name in answer.get("tables", []):
            columns = planned.get(str(name), [])
            uses = [(c.name, column_use(c.type, ctx.dialect)) for c in columns]
            loaded = [
                {"name": c.name, "type": c.type, "use": use}
                for c, (_, use) in zip(columns, uses, strict=True)
            ]
            tables.append({"table": name, "columns": loaded, "keys": row_keys(uses)})
        return {**answer, "input_format": facts.input_format(source), "tables": tables}

    def check(self, params: FileToTablesParameters, ctx: TaskContext) -> Relation | None:
        """A source an upstream task writes or a path; tables the words load, once each
        (several, unless the rows it has stay), none a declared source; the columns
        planned for each table (stated for it, else the file's), once each; keys among
        them. The last table (the fact table, as words list them)."""
        facts = FileFacts(ctx)
        check_source(facts, params.source)
        planned = {
            name: {c.name for c in columns}
            for name, columns in planned_tables(ctx, facts, params.source).items()
        }
        names = [rows.table for rows in params.tables]
        require(len(set(names)) == len(names), "tables repeat")
        require(len(names) > 1 or params.keep_existing, "one table replaced: file_to_table's")
        for rows in params.tables:
            require(rows.table in planned, f"the words load no table {rows.table!r}")
            columns = [column.name for column in rows.columns]
            unknown = [name for name in columns if name not in planned[rows.table]]
            require(not unknown, f"{rows.table}: no column {', '.join(map(repr, unknown))}")
            require(len(set(columns)) == len(columns), f"{rows.table}: columns repeat")
            require(set(rows.keys) <= set(columns), f"{rows.table}: keys must be its columns")
        last = params.tables[-1]
        written = tuple(Column(name=c.name, type=c.type) for c in last.columns)
        return Relation(last.table, written, produced_by=ctx.task.name)

    def file_inputs(self, params: FileToTablesParameters) -> list[FileInput]:
        """The file it loads."""
        return file_inputs([params.source], [params.input_format])

    def reads(self, params: FileToTablesParameters) -> dict[str, Use]:
        """Every table's columns."""
        return {c.name: c.use for rows in params.tables for c in rows.columns}

    def data_writes(self, params: FileToTablesParameters, task: TaskSpec) -> list[Read]:
        """Every table it loads (its output, :meth:`check`'s, is only the last)."""
        return [Read("table", rows.table) for rows in params.tables]

    def arguments(
        self, params: FileToTablesParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """Per table: the query reading its distinct rows from the file (DuckDB), its
        statements and name (the spec's dialect), the query of the keys it holds (when
        the rows it has stay), its columns and keys."""
        inputs = self.file_inputs(params)
        return {
            "loads": [_load(rows, params, spec) for rows in params.tables],
            "tables": ", ".join(rows.table for rows in params.tables),
            "upstream": [i for i in inputs if i.upstream],
            "setting": next((i.setting for i in inputs if i.setting), None),
        }


def _load(rows: TableRows, params: FileToTablesParameters, spec: PipelineSpec) -> dict[str, Any]:
    target = pipeline_table(rows.table, spec)
    columns = [Column(name=c.name, type=c.type) for c in rows.columns]
    statements: list[exp.Expr] = [create_target(target, columns, spec.dialect)]
    existing = None
    if params.keep_existing:
        keys = [exp.column(identifier(key)) for key in rows.keys]
        existing = one_line(exp.select(*keys).distinct().from_(target.copy()), spec.dialect)
    else:
        statements.append(exp.Delete(this=target.copy()))
    read = exp.maybe_parse(
        read_query(rows.columns, params.input_format, spec.dialect),
        into=exp.Select,
        dialect="duckdb",
    )
    query = exp.select(exp.Star()).distinct().from_(exp.Subquery(this=read, alias="file_rows"))
    return {
        "table": one_line(target, spec.dialect),
        "statements": [one_line(statement, spec.dialect) for statement in statements],
        "existing": existing,
        "query": query.sql(dialect="duckdb"),
        "names": [c.name for c in rows.columns],
        "keys": [[c.name for c in rows.columns].index(key) for key in rows.keys],
    }
