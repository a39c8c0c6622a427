"""A table the words create (``create_table``): ``CREATE TABLE IF NOT EXISTS`` with the
columns the task's words state for it ("create the table 'members' with columns
member_id, joined_on, plan"), typed as they say or by their names (see
:mod:`airflow_llm.table_words`). Running it again changes nothing; the steps after it
read the table with these columns."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from airflow_llm.patterns.base import Pattern, Rendered, StrictParameters, enum, obj
from airflow_llm.patterns.common import require
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.file_loads import LoadedColumn
from airflow_llm.patterns.writes import create_target, sql_text
from airflow_llm.spec import TABLE_PATTERN, Column
from airflow_llm.table_words import NamedTable, named_tables

_CREATES = re.compile(r"\b(?:creat\w*|ddl|defin\w*)\b", re.IGNORECASE)


class CreateTableParameters(StrictParameters):
    """Create ``table`` with ``columns`` unless it exists."""

    table: str = Field(pattern=TABLE_PATTERN)
    columns: list[LoadedColumn] = Field(min_length=1, max_length=200)


def stated_tables(ctx: TaskContext) -> list[NamedTable]:
    """The tables the task's words create with columns they state (not a source)."""
    sources = {source.name for source in ctx.spec.sources}
    return [
        table
        for table in named_tables(ctx.task.description.splitlines())
        if table.role == "written" and not table.guessed and table.name not in sources
    ]


class CreateTable(Pattern[CreateTableParameters]):
    """``CREATE TABLE IF NOT EXISTS`` with the stated columns."""

    name: ClassVar[str] = "create_table"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "sql"
    summary: ClassVar[str] = (
        "create a table with the columns the words state, if it does not exist yet "
        "(DDL only: no rows)"
    )
    cues: ClassVar[tuple[str, ...]] = ("create", "created", "creates", "ddl", "structure")
    parameters: ClassVar[type[BaseModel]] = CreateTableParameters

    def applies(self, ctx: TaskContext) -> bool:
        """Words that create a table and state its columns."""
        return bool(_CREATES.search(ctx.task.description)) and bool(stated_tables(ctx))

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """The table to create (the words state one, usually)."""
        return obj({"table": enum([table.name for table in stated_tables(ctx)])})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Nothing else to decide: the columns are the words'."""
        return obj({})

    def complete(self, answer: Mapping[str, Any], ctx: TaskContext) -> dict[str, Any]:
        """The columns the words state for the table."""
        table = next((t for t in stated_tables(ctx) if t.name == answer.get("table")), None)
        columns = [{"name": c.name, "type": c.type} for c in (table.columns if table else ())]
        return {**answer, "columns": columns}

    def render(self, params: CreateTableParameters, ctx: TaskContext) -> Rendered:
        """The DDL; the table, empty, with these columns, is what the task writes."""
        sources = {source.name for source in ctx.spec.sources}
        require(params.table not in sources, f"{params.table} is a source: read-only")
        columns = tuple(Column(name=c.name, type=c.type) for c in params.columns)
        names = [column.name.lower() for column in columns]
        require(len(set(names)) == len(names), "a column is named twice")
        written = Relation(params.table, columns, produced_by=ctx.task.name)
        create = create_target(written.table(ctx.in_schema), columns, ctx.dialect)
        return Rendered(sql_text([create], ctx.dialect), written)
