"""Deduplication: keep the latest row per key (``latest_per_key``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, Field, field_validator

from airflow_llm.patterns.aggregation import ranked_keys
from airflow_llm.patterns.base import (
    Pattern,
    Rendered,
    Scope,
    StrictParameters,
    choices,
    enum,
    narrowed,
    obj,
)
from airflow_llm.patterns.common import (
    NONE,
    copied,
    distinct,
    filter_conditions,
    latest_rows,
    none_as_null,
    relation_named,
    rendered,
    require,
    require_temporal,
    rows_of_run,
    table_options,
    time_labels,
    where,
    with_filters,
)
from airflow_llm.patterns.context import TaskContext
from airflow_llm.patterns.linking import link
from airflow_llm.patterns.predicates import Predicate
from airflow_llm.patterns.writes import in_interval, merge
from airflow_llm.sql_types import is_numeric, is_temporal

ORDER_CUES = ("latest", "newest", "last", "most recent", "highest", "largest")


class LatestParameters(StrictParameters):
    """Per ``keys``, the row with the greatest ``order_by`` among ``source``'s rows (of the
    logical interval, by ``time_column``, when given)."""

    source: str
    keys: list[str] = Field(min_length=1, max_length=4)
    order_by: str
    time_column: str | None = None
    filters: list[Predicate] = Field(default_factory=list)

    _nulls = field_validator("time_column", mode="before")(none_as_null)


class LatestPerKey(Pattern[LatestParameters]):
    """One row per key: the latest by a timestamp (or the greatest by a number)."""

    name: ClassVar[str] = "latest_per_key"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "sql"
    summary: ClassVar[str] = (
        "keep only the latest row per key (deduplicate by a key, newest by a timestamp), "
        "for the logical interval or over all rows"
    )
    cues: ClassVar[tuple[str, ...]] = (
        "latest", "deduplicate", "dedupe", "duplicate", "one row per", "most recent", "newest",
        "unique", "distinct",
    )  # fmt: skip
    parameters: ClassVar[type[BaseModel]] = LatestParameters

    def applies(self, ctx: TaskContext) -> bool:
        """A table with a column to order its rows by (a timestamp or a number)."""
        return any(
            _orderable(column.type, ctx.dialect) for r in ctx.relations for column in r.columns
        )

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        return obj({"source": enum(table_options(ctx))})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        scope = Scope.of([relation_named(ctx, str(inputs.get("source")))])
        labels = scope.labels()
        keys, budget = ranked_keys(ctx, scope, labels)
        per_key = [
            found
            for phrase in _key_phrases(ctx.task.description)
            if (found := link(phrase, labels))
        ]
        keys = distinct([*per_key, *keys])
        budget = max(budget, len(distinct(per_key)))
        times = time_labels(ctx, scope)
        orderable = [label for label in labels if _orderable(scope.column(label).type, ctx.dialect)]
        require(bool(orderable), f"{inputs.get('source')} has no timestamp or number to order by")
        latest = any(cue in ctx.text.lowered for cue in ORDER_CUES)
        properties = {
            "keys": choices(keys, 1, budget),
            "order_by": enum(
                narrowed(ctx, times[:1] if latest else [], distinct([*times, *orderable]))
            ),
            "time_column": enum([*times, NONE]),
        }
        return with_filters(ctx, scope, properties)

    def render(self, params: LatestParameters, ctx: TaskContext) -> Rendered:
        scope = Scope.of([relation_named(ctx, params.source)])
        keys = distinct(params.keys)
        for key in keys:
            scope.column(key)
        scope.column(params.order_by)
        selected, outputs = copied(scope, scope.labels())
        conditions = filter_conditions(params.filters, scope, ctx.dialect)
        if params.time_column is not None:
            require_temporal(scope, params.time_column, ctx.dialect)
            time = scope.column(params.time_column)
            conditions.insert(
                0, in_interval(scope.expr(params.time_column), time.type, ctx.dialect)
            )
        names = [output.name for output in outputs]
        query = latest_rows(
            scope, selected, names, keys, params.order_by, where(conditions), ctx.in_schema
        )
        if params.time_column is None:  # the latest state of every key: merged by key
            statements = merge(
                ctx.target_table(),
                outputs,
                [scope.column(k).name for k in keys],
                query,
                ctx.dialect,
            )
        else:
            statements = rows_of_run(ctx, outputs, query, scope.column(params.time_column).name)
        return rendered(ctx, statements, outputs)


def _key_phrases(description: str) -> list[str]:
    """The words after "per", "by" or "for each" that follow a latest/dedup cue."""
    return [
        match.group(1)
        for match in re.finditer(r"\b(?:per|by|on|each)\s+([A-Za-z_][A-Za-z0-9_]*)", description)
    ]


def _orderable(declared: str, dialect: str) -> bool:
    """Whether a column of type ``declared`` orders rows by time or size."""
    return is_temporal(declared, dialect) or is_numeric(declared, dialect)
