"""Batches for fan-out: a table's rows of the data interval as lists for ``.expand()``.

``query_batches`` serves a ``python`` task whose words ask for rows in batches (say,
reviews to classify, files to load): the DAG gets a TaskFlow task that runs one query
through the environment's connection (the DB-API hook's ``get_records``) and returns
the rows as dicts in batches of ``batch_size`` (the spec environment's ``vars``, else
the pattern's default), the list a mapped task ``.expand()``s over. The query is
printed with sqlglot in the spec's dialect; Airflow renders its interval macros.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import sqlglot.expressions as exp
from pydantic import BaseModel, Field, field_validator

from airflow_llm.patterns.base import Scope, StrictParameters, choices, enum, narrowed, obj
from airflow_llm.patterns.common import (
    NONE,
    mentions_interval,
    none_as_null,
    ranked_labels,
    relation_named,
    require,
    require_temporal,
    table_options,
    time_labels,
)
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.operators import OperatorPattern, Setting
from airflow_llm.patterns.transfers import pipeline_table
from airflow_llm.patterns.writes import in_interval, one_line
from airflow_llm.spec import PipelineSpec, TaskSpec

DEFAULT_BATCH_SIZE = 100
"""Rows per batch when neither the task's words nor the environment's ``batch_size``
var say."""
BATCH_SIZE_VAR = "batch_size"
"""The spec environment's ``vars`` entry that sets the batch size at run time."""
MAX_BATCH_SIZE = 100_000


class QueryBatchesParameters(StrictParameters):
    """Read ``columns`` of ``table`` (the data interval's rows by ``date_column``, or all),
    ordered by ``order_by``, in batches of ``batch_size``."""

    table: str
    columns: list[str] = Field(min_length=1)
    date_column: str | None = None
    date_type: str = "TIMESTAMP"
    """The date column's declared type (how the interval's bounds are cast)."""
    order_by: str | None = None
    batch_size: int = Field(default=DEFAULT_BATCH_SIZE, ge=1, le=MAX_BATCH_SIZE)

    _nulls = field_validator("date_column", "order_by", mode="before")(none_as_null)


class QueryBatches(OperatorPattern[QueryBatchesParameters]):
    """A table's rows of the interval in batches, for a mapped task (TaskFlow + hook)."""

    name: ClassVar[str] = "query_batches"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "python"
    summary: ClassVar[str] = (
        "read a table's rows (all, or the data interval's) and return them in batches "
        "of at most batch_size, for a mapped task's .expand()"
    )
    cues: ClassVar[tuple[str, ...]] = ("batch", "batches", "chunk", "chunks", "fan-out")
    parameters: ClassVar[type[BaseModel]] = QueryBatchesParameters
    table_parameters: ClassVar[tuple[str, ...]] = ("table",)
    imports: ClassVar[tuple[str, ...]] = ("from airflow.sdk import BaseHook, task",)
    requirements: ClassVar[tuple[str, ...]] = ()

    def applies(self, ctx: TaskContext) -> bool:
        """A table to read, and words that ask for batches."""
        return bool(ctx.relations) and super().applies(ctx)

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """The table to read."""
        return obj({"table": enum(table_options(ctx))})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The columns the words name (every one they name, all when they name none),
        the date column when the words name one or speak of an interval, and the key to
        order by."""
        scope = Scope.of([relation_named(ctx, str(inputs.get("table")))])
        dates = time_labels(ctx, scope)
        named_dates = ctx.text.mentioned(dates, threshold=2.5)
        if named_dates or "interval" in ctx.text.stem_set or mentions_interval(ctx.text):
            date_choice = enum(narrowed(ctx, named_dates, [*dates, NONE]))
        else:
            date_choice = enum(narrowed(ctx, [NONE], dates))
        others = [label for label in scope.labels() if label not in named_dates]
        named = ctx.text.mentioned(others, threshold=2.5)
        if named and not ctx.repairing:
            columns = choices(named, len(named), len(named))
        else:
            columns = choices(ranked_labels(ctx, scope), 1, len(scope.labels()))
        keys = [label for label in [*named, *scope.labels()] if _is_key(label)]
        return obj(
            {
                "columns": columns,
                "date_column": date_choice,
                "order_by": enum(narrowed(ctx, keys[:1], [*keys, NONE])),
            }
        )

    def complete(self, answer: Mapping[str, Any], ctx: TaskContext) -> dict[str, Any]:
        """The batch size the words state ("batches of 50"), else the default; the date
        column's type."""
        stated = [n for n in ctx.text.numbers if isinstance(n, int) and 1 <= n <= MAX_BATCH_SIZE]
        completed = {**answer, "batch_size": stated[0] if stated else DEFAULT_BATCH_SIZE}
        relation = ctx.relation(str(answer.get("table")))
        date = relation.column(str(answer.get("date_column"))) if relation else None
        return {**completed, "date_type": date.type} if date else completed

    def check(self, params: QueryBatchesParameters, ctx: TaskContext) -> Relation | None:
        """Every column must be the table's; the date column a date or timestamp. No
        table is written: the batches go to the mapped task through XCom."""
        scope = Scope.of([relation_named(ctx, params.table)])
        unknown = [c for c in [*params.columns, params.order_by] if c and not scope.resolve(c)]
        require(not unknown, f"no column {', '.join(map(repr, unknown))} in {params.table}")
        require(len(set(params.columns)) == len(params.columns), "columns repeat")
        if params.date_column is not None:
            require_temporal(scope, params.date_column, ctx.dialect)
        return None

    def settings(self, params: QueryBatchesParameters, task: TaskSpec) -> list[Setting]:
        """The SQL connection it reads through."""
        return [Setting("sql_conn_id", "sql_conn_id", f"SQL connection {task.name} reads from")]

    def arguments(
        self, params: QueryBatchesParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """The query (printed for the spec's dialect) and the names of its columns."""
        return {"query": batch_query(params, spec), "columns": params.columns}


def batch_query(params: QueryBatchesParameters, spec: PipelineSpec) -> str:
    """``SELECT columns FROM table [WHERE date in the interval] [ORDER BY key]``."""
    columns = [exp.column(name) for name in params.columns]
    query = exp.select(*columns).from_(pipeline_table(params.table, spec))
    if params.date_column is not None:
        day = exp.column(params.date_column)
        query = query.where(in_interval(day, params.date_type, spec.dialect))
    if params.order_by is not None:
        query = query.order_by(exp.column(params.order_by))
    return one_line(query, spec.dialect)


def _is_key(label: str) -> bool:
    """Whether a column looks like a row's key (``id``, ``*_id``, ``*_key``)."""
    name = label.rsplit(".", 1)[-1].lower()
    return name == "id" or name.endswith(("_id", "_key"))
