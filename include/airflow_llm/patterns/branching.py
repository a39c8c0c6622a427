"""Branching on data: ``branch_on_sql`` (common-sql's ``BranchSQLOperator``) runs the
downstream tasks of one side by whether a table's row count or a column's total (of the
logical date's rows, or all) compares to a number the words state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal, get_args

import sqlglot.expressions as exp
from pydantic import BaseModel, Field, field_validator

from airflow_llm.patterns.base import Scope, StrictParameters, choices, enum, narrowed, obj
from airflow_llm.patterns.common import (
    none_as_null,
    numeric_labels,
    relation_named,
    require,
    table_options,
)
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.linking import Cues
from airflow_llm.patterns.operators import OperatorPattern, Setting
from airflow_llm.patterns.sensors import COMMON_SQL
from airflow_llm.patterns.transfers import check_date_column, date_column_choice, table_query
from airflow_llm.spec import PipelineSpec, TaskSpec

COUNT = "count"
"""The measure "how many rows"."""
Comparison = Literal[">", ">=", "<", "<=", "="]
COMPARISONS: tuple[str, ...] = get_args(Comparison)
_COMPARISON_CUES = Cues(
    {
        ">=": ("at least", "or more"),
        "<=": ("at most", "or fewer", "or less"),
        ">": ("more than", "over", "above", "exceed", "greater than", "larger than"),
        "<": ("fewer than", "less than", "below", "under", "smaller than"),
        "=": ("exactly", "equal"),
    }
)
_SQL: dict[str, type[exp.Binary]] = {
    ">": exp.GT, ">=": exp.GTE, "<": exp.LT, "<=": exp.LTE, "=": exp.EQ,
}  # fmt: skip
_TOTAL_CUES = ("total", "sum", "amount", "revenue", "value")


class BranchSqlParameters(StrictParameters):
    """Run ``if_true`` when ``measure`` of ``table`` compares to ``threshold``, else the
    other downstream tasks."""

    table: str
    measure: str
    """``count`` (the rows), or a numeric column whose total is compared."""
    comparison: Comparison
    threshold: float
    date_column: str | None = None
    if_true: list[str] = Field(min_length=1)

    _nulls = field_validator("date_column", mode="before")(none_as_null)


class BranchOnSql(OperatorPattern[BranchSqlParameters]):
    """A branch on a number the warehouse computes (``BranchSQLOperator``)."""

    name: ClassVar[str] = "branch_on_sql"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "branch"
    summary: ClassVar[str] = (
        "run some downstream tasks when a table's row count or a column's total compares "
        "to a number, the others otherwise"
    )
    cues: ClassVar[tuple[str, ...]] = (
        "more than", "fewer than", "less than", "at least", "at most", "above", "below",
        "exceed", "rows", "total", "count", "number",
    )  # fmt: skip
    parameters: ClassVar[type[BaseModel]] = BranchSqlParameters
    table_parameters: ClassVar[tuple[str, ...]] = ("table",)
    imports: ClassVar[tuple[str, ...]] = (
        "from airflow.providers.common.sql.operators.sql import BranchSQLOperator",
    )
    requirements: ClassVar[tuple[str, ...]] = (COMMON_SQL,)

    def applies(self, ctx: TaskContext) -> bool:
        """A table to measure, downstream tasks to choose from, words about a number."""
        return bool(ctx.relations) and len(_downstream(ctx)) >= 2 and super().applies(ctx)

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """The table it measures."""
        return obj({"table": enum(table_options(ctx))})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The measure, comparison and number the words state, which rows, which side."""
        table = str(inputs.get("table"))
        numeric = numeric_labels(ctx, Scope.of([relation_named(ctx, table)]))
        totals = any(cue in ctx.text.lowered for cue in _TOTAL_CUES)
        measures = [*numeric, COUNT] if totals and numeric else [COUNT, *numeric]
        ranked = _COMPARISON_CUES.rank(ctx.text, list(COMPARISONS))
        counts = ctx.text.cue_counts(_COMPARISON_CUES.lexicon)
        stated = [comparison for comparison in ranked if counts[comparison]]
        downstream = ctx.text.rank_names(_downstream(ctx))
        return obj(
            {
                "measure": enum(measures),
                "comparison": enum(narrowed(ctx, stated[:1], ranked)),
                "threshold": enum(narrowed(ctx, ctx.text.numbers, [0])),
                "date_column": date_column_choice(ctx, table),
                "if_true": choices(downstream, 1, len(downstream) - 1),
            }
        )

    def check(self, params: BranchSqlParameters, ctx: TaskContext) -> Relation | None:
        """A readable table, a numeric measure of it, downstream tasks on the true side."""
        check_date_column(ctx, params.table, params.date_column)
        if params.measure != COUNT:
            numeric = numeric_labels(ctx, Scope.of([relation_named(ctx, params.table)]))
            require(params.measure in numeric, f"{params.measure!r} is no number column")
        unknown = sorted(set(params.if_true) - set(_downstream(ctx)))
        require(not unknown, f"not downstream of {ctx.task.name}: {', '.join(unknown)}")
        return None

    def settings(self, params: BranchSqlParameters, task: TaskSpec) -> list[Setting]:
        """The warehouse connection."""
        return [Setting("sql_conn_id", "sql_conn_id", f"SQL connection {task.name} reads from")]

    def arguments(
        self, params: BranchSqlParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """The query (1 when the comparison holds, else 0) and the other side's tasks."""
        measured: exp.Expr = exp.Count(this=exp.Star())
        if params.measure != COUNT:
            total = exp.Sum(this=exp.column(params.measure))
            measured = exp.Coalesce(this=total, expressions=[exp.Literal.number(0)])
        threshold = exp.Literal.number(_number(params.threshold))
        holds = _SQL[params.comparison](this=measured, expression=threshold)
        verdict = exp.Case().when(holds, exp.Literal.number(1)).else_(exp.Literal.number(0))
        after = sorted(t.name for t in spec.tasks or [] if task.name in t.depends_on)
        return {
            "sql": table_query(verdict, params.table, params.date_column, spec),
            "if_false": [name for name in after if name not in params.if_true],
        }


def _downstream(ctx: TaskContext) -> list[str]:
    """The tasks right after the branch (the ones it chooses between)."""
    return [task.name for task in ctx.spec.tasks or [] if ctx.task.name in task.depends_on]


def _number(value: float) -> int | float:
    return int(value) if value.is_integer() else value
