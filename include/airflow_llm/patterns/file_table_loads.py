"""A file into several tables, or into one keeping or updating its rows
(``file_to_tables``): the words name the tables a step loads and the columns of each
("into the dim_station table (station_id, station_name) and the fact_reading table
(station_id, read_at, pm25)"), or one table whose rows stay ("into the readings table,
ON CONFLICT DO NOTHING") or are updated by key ("upsert", "merge the vendor data with
the internal inventory system to update stock levels ... on product_id"), loaded with
the file's columns. DuckDB reads each table's distinct rows from the file (an upstream
task's, by the path it returns, or one at a path ``config.yml`` gives); the
environment's SQL connection creates each table if needed and loads them. What becomes
of the rows a table already has, in any dialect and without a unique constraint:

- kept ("ON CONFLICT DO NOTHING", "skip existing"): a file row whose key the table
  holds is left out, as ``ON CONFLICT DO NOTHING`` on that key does (``insert_rows``);
- updated (an upsert): the rows whose key the file holds are deleted and the file's
  rows inserted, in one transaction, as ``ON CONFLICT DO UPDATE`` on that key does;
- else replaced: every row is deleted before the file's are inserted.

A table's key is the one the words give ("on product_id", "keyed by station_id") where
they update rows, else a dimension's id (its first column, its only id column, the
others text), else the whole row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal, get_args

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
from airflow_llm.patterns.upsert_words import merged_table, stated_keys, updates_existing
from airflow_llm.patterns.writes import create_target, delete_where, one_line
from airflow_llm.spec import TABLE_PATTERN, Column, PipelineSpec, TaskSpec
from airflow_llm.table_words import column_type

_KEY = re.compile(r"^(?:id|.+_id|.+_key|.+_code)$", re.IGNORECASE)
"""A column name that identifies a row (``station_id``)."""
ExistingRows = Literal["keep", "update", "replace"]
"""What becomes of the rows a table already has: kept, updated by key, or replaced."""
EXISTING_ROWS: tuple[ExistingRows, ...] = get_args(ExistingRows)


class TableRows(StrictParameters):
    """One table loaded: its columns, and the key a row it already holds is known by."""

    table: str = Field(pattern=TABLE_PATTERN)
    columns: list[LoadedColumn] = Field(min_length=1, max_length=64)
    keys: list[Name] = Field(min_length=1, max_length=64)


class FileToTablesParameters(StrictParameters):
    """Load ``source`` (an upstream task's file, a path, None: ``config.yml``'s) into each
    of ``tables``, keeping the rows they already have, updating them by key, or replacing
    them (``existing_rows``)."""

    source: str | None = Field(default=None, pattern=SOURCE)
    input_format: FileFormat
    tables: list[TableRows] = Field(min_length=1, max_length=8)
    existing_rows: ExistingRows

    _nulls = field_validator("source", mode="before")(none_as_null)


def existing_rows(text: str) -> ExistingRows:
    """What the words do with the rows a table already has: keep them ("ON CONFLICT DO
    NOTHING"), update the ones whose key the file holds (an upsert), else replace them."""
    if keeps_existing(text):
        return "keep"
    return "update" if updates_existing(text) else "replace"


def planned_tables(
    ctx: TaskContext, facts: FileFacts, source: str | None
) -> dict[str, list[Column]]:
    """The tables it loads and their columns: the tables the words load with columns
    they state (two or more: the file's known column where one is named alike), else
    the one table words that keep or update its rows load (the one they name, else the
    target of their merge, else the task's), with the file's known columns (else the
    ones the words name, typed by their names)."""
    known = {column.name: column for column in facts.known_columns([source])}
    stated = loaded_tables(ctx)
    if len(stated) >= 2:
        return {t.name: [known.get(c.name, c) for c in t.columns] for t in stated}
    if existing_rows(ctx.task.description) == "replace":
        return {}
    sources = {relation.name for relation in ctx.spec.sources}
    named = [name for name in stated_tables(facts.own_words) if name not in sources]
    merged = [name for name in [merged_table(facts.own_words)] if name and name not in sources]
    table = stated[0].name if stated else [*named, *merged, ctx.target][0]
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
    """A file's rows into several tables, each with its stated columns, or into one whose
    rows it keeps or updates by key."""

    name: ClassVar[str] = "file_to_tables"
    version: ClassVar[int] = 2
    kind: ClassVar[str] = "python"
    summary: ClassVar[str] = (
        "load a file's rows into several database tables (dimension and fact tables), "
        "each with the columns the words give it, or upsert them into one table by key, "
        "keeping, updating or replacing the rows they have"
    )
    cues: ClassVar[tuple[str, ...]] = (
        "load", "loaded", "insert", "tables", "dimension", "dimensions", "fact", "conflict",
        "database", "warehouse", "postgres", "postgresql", "upsert", "merge", "update",
    )  # fmt: skip
    parameters: ClassVar[type[BaseModel]] = FileToTablesParameters
    imports: ClassVar[tuple[str, ...]] = (FS_HOOK, "from airflow.sdk import BaseHook, task")
    writes_file: ClassVar[bool] = False

    def applies(self, ctx: TaskContext) -> bool:
        """Words that load one file (an upstream task's, one they name, a format they
        read) into two tables or more whose columns they state (columns the file has,
        where its columns are known), or into one table keeping the rows it has, or that
        update a table's rows by key with it (an upsert, a merge that updates)."""
        facts = FileFacts(ctx)
        readable = bool(facts.upstream or facts.inputs or facts.formats.get("input"))
        single = len(facts.upstream) <= 1 and len(facts.inputs) <= 1
        planned = planned_tables(ctx, facts, facts.first_source())
        known = {c.name for c in facts.known_columns([facts.first_source()])}
        stated = {c.name for columns in planned.values() for c in columns}
        fits = bool(stated) and (not known or stated <= known)
        loads = facts.loads_a_table or updates_existing(ctx.task.description)
        return facts.usable and loads and readable and single and fits

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """What it loads: the nearest upstream file, else the file the words name, else
        the environment's config."""
        options = FileFacts(ctx).source_options()
        return obj({"source": enum(narrowed(ctx, options[:1] or [NONE], [*options, NONE]))})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The tables (every one the words load, on a first answer) and what becomes of
        the rows they already have (as the words say, on a first answer)."""
        facts = FileFacts(ctx)
        names = list(planned_tables(ctx, facts, source_choice(inputs.get("source"))))
        least = 1 if ctx.repairing else len(names)
        said = existing_rows(ctx.task.description)
        return obj(
            {
                "tables": choices(names, least, len(names)),
                "existing_rows": enum(narrowed(ctx, [said], list(EXISTING_ROWS))),
            }
        )

    def complete(self, answer: Mapping[str, Any], ctx: TaskContext) -> dict[str, Any]:
        """The input's format; each table's columns (typed as the file's known columns,
        else as the words say) and keys (where rows are updated, the one the words give,
        else :func:`row_keys`)."""
        facts = FileFacts(ctx)
        source = source_choice(answer.get("source"))
        planned = planned_tables(ctx, facts, source)
        updates = answer.get("existing_rows") == "update"
        tables = []
        for name in answer.get("tables", []):
            columns = planned.get(str(name), [])
            uses = [(c.name, column_use(c.type, ctx.dialect)) for c in columns]
            loaded = [
                {"name": c.name, "type": c.type, "use": use}
                for c, (_, use) in zip(columns, uses, strict=True)
            ]
            stated = stated_keys(ctx.task.description, [c.name for c in columns])
            keys = (stated if updates else []) or row_keys(uses)
            tables.append({"table": name, "columns": loaded, "keys": keys})
        return {**answer, "input_format": facts.input_format(source), "tables": tables}

    def check(self, params: FileToTablesParameters, ctx: TaskContext) -> Relation | None:
        """A source an upstream task writes or a path; tables the words load, once each
        (several, unless the rows it has stay or are updated), none a declared source;
        the columns planned for each table (stated for it, else the file's), once each;
        keys among them. The last table (the fact table, as words list them)."""
        facts = FileFacts(ctx)
        check_source(facts, params.source)
        planned = {
            name: {c.name for c in columns}
            for name, columns in planned_tables(ctx, facts, params.source).items()
        }
        names = [rows.table for rows in params.tables]
        require(len(set(names)) == len(names), "tables repeat")
        one = len(names) == 1 and params.existing_rows == "replace"
        require(not one, "one table replaced: file_to_table's")
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
        statements and name (the spec's dialect), its columns and keys, and what keeps
        or updates the rows it has: the query of the keys it holds, or the transaction
        that deletes the file's keys and inserts its rows."""
        inputs = self.file_inputs(params)
        return {
            "loads": [
                _load(rows, params.input_format, params.existing_rows, spec)
                for rows in params.tables
            ],
            "tables": ", ".join(rows.table for rows in params.tables),
            "upstream": [i for i in inputs if i.upstream],
            "setting": next((i.setting for i in inputs if i.setting), None),
        }


_MARK = "{mark}"
"""Where an upsert's statements take a value: the DAG formats the hook's ``placeholder``
(``%s``, ``?``) in, since the smoke run's DuckDB stands in for any dialect."""


def _load(
    rows: TableRows, input_format: str, existing: ExistingRows, spec: PipelineSpec
) -> dict[str, Any]:
    target = pipeline_table(rows.table, spec)
    columns = [Column(name=c.name, type=c.type) for c in rows.columns]
    names = [c.name for c in rows.columns]
    read = exp.maybe_parse(
        read_query(rows.columns, input_format, spec.dialect), into=exp.Select, dialect="duckdb"
    )
    distinct = exp.select(exp.Star()).distinct().from_(exp.Subquery(this=read, alias="file_rows"))
    query = read if existing == "update" else distinct  # an upsert keeps a key's last row
    create = create_target(target, columns, spec.dialect)
    load = {
        "table": one_line(target, spec.dialect),
        "statements": [one_line(create, spec.dialect)],
        "query": query.sql(dialect="duckdb"),
        "names": names,
        "keys": [names.index(key) for key in rows.keys],
    }
    keys = [exp.column(identifier(key)) for key in rows.keys]
    if existing == "keep":
        held = exp.select(*keys).distinct().from_(target.copy())
        return {**load, "existing": one_line(held, spec.dialect)}
    if existing == "replace":
        clear = one_line(exp.Delete(this=target.copy()), spec.dialect)
        return {**load, "statements": [*load["statements"], clear]}
    match = exp.and_(*[exp.EQ(this=key, expression=exp.var(_MARK)) for key in keys])
    values = exp.values([tuple(exp.var(_MARK) for _ in names)])
    insert = exp.insert(values, target.copy(), columns=[identifier(name) for name in names])
    statements = {
        "begin": exp.Transaction(),
        "delete": delete_where(target, match),
        "insert": insert,
        "commit": exp.Commit(),
    }
    return {**load, **{key: one_line(sql, spec.dialect) for key, sql in statements.items()}}
