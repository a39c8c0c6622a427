"""A table rebuilt from a query (``rebuild_table``): the CTAS pattern of ELT steps. One
``SQLExecuteQueryOperator`` through the environment's SQL connection runs, in one
transaction (``autocommit=False``):

1. ``CREATE TEMPORARY TABLE <target>_rebuild AS SELECT * FROM <source>``;
2. a guard that fails the task when the new table has no rows (a cast of
   ``'no rows in …'`` to an integer, evaluated only then), so an empty rebuild never
   replaces the target;
3. the swap: ``CREATE OR REPLACE TABLE <target> AS SELECT * FROM <target>_rebuild`` in
   the dialects that have it (atomic there), else ``CREATE TABLE IF NOT EXISTS``,
   ``DELETE`` and ``INSERT`` in the same transaction (readers see the old rows or the
   new ones).

The target is the table the step's words write, else the one only the pipeline's
description names as written ("Tables processed: mau_summary"), else the one the task
writes by its name."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

import sqlglot.expressions as exp
from pydantic import BaseModel, Field

from airflow_llm.patterns.base import StrictParameters, enum, obj
from airflow_llm.patterns.common import relation_named, require, table_options
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.operators import OperatorPattern, Setting
from airflow_llm.patterns.sensors import COMMON_SQL
from airflow_llm.patterns.writes import sql_text
from airflow_llm.spec import TABLE_PATTERN, PipelineSpec, TaskSpec
from airflow_llm.table_words import named_tables

REPLACING_DIALECTS = frozenset({"snowflake", "bigquery", "duckdb", "databricks", "sparksql"})
"""Dialects with an atomic ``CREATE OR REPLACE TABLE``."""
_TEMPORARY = re.compile(r"^(?:temp|tmp|stg|staging)_|_(?:temp|tmp)$", re.IGNORECASE)


class RebuildParameters(StrictParameters):
    """Rebuild ``target`` from every row of ``source``."""

    source: str = Field(pattern=TABLE_PATTERN)
    target: str = Field(pattern=TABLE_PATTERN)


def target_options(ctx: TaskContext) -> list[str]:
    """The tables the step's words write (a temporary one left out), else those only
    the pipeline's description names as written, else the task's own target."""
    sources = {source.name for source in ctx.spec.sources}

    def written(text: str) -> list[str]:
        return [
            table.name
            for table in named_tables(text.splitlines())
            if table.role == "written"
            and table.name not in sources
            and not _TEMPORARY.search(table.name.rsplit(".", 1)[-1])
        ]

    own = written(ctx.task.description)
    others = {name for task in ctx.spec.tasks or [] for name in written(task.description)}
    described = [name for name in written(ctx.spec.description) if name not in others]
    return list(dict.fromkeys(own or described)) or [ctx.target]


def rebuild_statements(
    source: exp.Table, target: exp.Table, stage: str, dialect: str
) -> list[exp.Expr]:
    """The statements of a rebuild of ``target`` from ``source`` through the temporary
    table ``stage`` (see the module docstring)."""
    staged = exp.to_table(stage)
    create_stage = exp.Create(
        this=staged.copy(),
        kind="TABLE",
        expression=exp.select(exp.Star()).from_(source),
        properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
    )
    count = exp.Count(this=exp.Star())
    message = exp.DPipe(
        this=exp.Literal.string(f"no rows in {stage}: "),
        expression=exp.Cast(this=count.copy(), to=exp.DataType.build("VARCHAR")),
    )
    guard = (
        exp.select(exp.Cast(this=message, to=exp.DataType.build("INT")))
        .from_(staged.copy())
        .having(exp.EQ(this=count.copy(), expression=exp.Literal.number(0)))
    )
    every_row = exp.select(exp.Star()).from_(staged.copy())
    if dialect in REPLACING_DIALECTS:
        return [
            create_stage,
            guard,
            exp.Create(this=target, kind="TABLE", expression=every_row, replace=True),
        ]
    empty = every_row.copy().where(
        exp.EQ(this=exp.Literal.number(1), expression=exp.Literal.number(0))
    )
    return [
        create_stage,
        guard,
        exp.Create(this=target.copy(), kind="TABLE", expression=empty, exists=True),
        exp.Delete(this=target.copy()),
        exp.Insert(this=target.copy(), expression=every_row),
    ]


class RebuildTable(OperatorPattern[RebuildParameters]):
    """CTAS into a temporary table, a zero-row guard, then the swap (one transaction)."""

    name: ClassVar[str] = "rebuild_table"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "python"
    summary: ClassVar[str] = (
        "rebuild a table from a query of another (CTAS into a temporary table, fail on "
        "zero rows, then replace the table in one transaction)"
    )
    cues: ClassVar[tuple[str, ...]] = (
        "ctas", "rebuild", "rebuilds", "rebuilt", "swap", "swaps", "atomic", "recreate",
        "recreates", "create table as",
    )  # fmt: skip
    parameters: ClassVar[type[BaseModel]] = RebuildParameters
    writes_table: ClassVar[str | None] = "target"
    table_parameters: ClassVar[tuple[str, ...]] = ("source",)
    imports: ClassVar[tuple[str, ...]] = (
        "from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator",
    )
    requirements: ClassVar[tuple[str, ...]] = (COMMON_SQL,)

    def applies(self, ctx: TaskContext) -> bool:
        """A table to read, and words that rebuild one (CTAS, a swap)."""
        return bool(ctx.relations) and super().applies(ctx)

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """The table to rebuild from."""
        return obj({"source": enum(table_options(ctx))})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The table to rebuild."""
        options = [name for name in target_options(ctx) if name != inputs.get("source")]
        return obj({"target": enum(options or [ctx.target])})

    def check(self, params: RebuildParameters, ctx: TaskContext) -> Relation | None:
        """A readable source, a target that is not a source; the target, with the
        source's columns."""
        source = relation_named(ctx, params.source)
        sources = {table.name for table in ctx.spec.sources}
        require(params.target not in sources, f"{params.target} is a source: read-only")
        require(params.target != params.source, "a table is not rebuilt from itself")
        return Relation(params.target, source.columns, produced_by=ctx.task.name)

    def settings(self, params: RebuildParameters, task: TaskSpec) -> list[Setting]:
        """The warehouse connection."""
        return [Setting("sql_conn_id", "sql_conn_id", f"SQL connection {task.name} rebuilds in")]

    def arguments(
        self, params: RebuildParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """The statements, as one script in the spec's dialect (the pipeline's own
        tables in the environment's schema)."""
        in_schema = all(env.schema_ for env in spec.environments.values())
        declared = {table.name for table in spec.sources}
        source = Relation(params.source, (), None if params.source in declared else "upstream")
        target = Relation(params.target, (), produced_by=task.name)
        stage = f"{target.short_name}_rebuild"
        statements = rebuild_statements(
            source.table(in_schema), target.table(in_schema), stage, spec.dialect
        )
        return {"sql": sql_text(statements, spec.dialect)}
