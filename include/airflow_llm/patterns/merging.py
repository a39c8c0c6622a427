"""Upsert: merge a table's rows into the target by key (``MERGE``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import sqlglot.expressions as exp
from pydantic import BaseModel, Field, field_validator

from airflow_llm.patterns.aggregation import ranked_keys
from airflow_llm.patterns.base import Pattern, Rendered, Scope, StrictParameters, choices, enum, obj
from airflow_llm.patterns.common import (
    NONE,
    copied,
    distinct,
    latest_rows,
    none_as_null,
    relation_named,
    rendered,
    require_temporal,
    table_options,
    time_labels,
    where,
)
from airflow_llm.patterns.context import TaskContext
from airflow_llm.patterns.linking import link
from airflow_llm.patterns.writes import in_interval, merge
from airflow_llm.sql_types import is_numeric, is_temporal


class UpsertParameters(StrictParameters):
    """Merge ``source``'s rows (of the logical interval by ``time_column``, when given)
    into the target by ``keys``; when a key repeats, the row with the greatest
    ``order_by`` wins."""

    source: str
    keys: list[str] = Field(min_length=1, max_length=4)
    time_column: str | None = None
    order_by: str | None = None

    _nulls = field_validator("time_column", "order_by", mode="before")(none_as_null)


class Upsert(Pattern[UpsertParameters]):
    """``MERGE`` by key: matched rows updated, new ones inserted."""

    name: ClassVar[str] = "upsert"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "sql"
    summary: ClassVar[str] = (
        "merge a table's rows into the target by key: update the rows whose key exists, "
        "insert the others (upsert, MERGE)"
    )
    cues: ClassVar[tuple[str, ...]] = (
        "upsert", "merge", "keyed", "update", "insert or update", "for the same",
    )  # fmt: skip
    parameters: ClassVar[type[BaseModel]] = UpsertParameters

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        return obj({"source": enum(table_options(ctx))})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        scope = Scope.of([relation_named(ctx, str(inputs.get("source")))])
        labels = scope.labels()
        keys, budget = ranked_keys(ctx, scope, labels)
        keyed = [
            found
            for phrase in _after(ctx.task.description, ("keyed on", "keyed by", "by key", "on"))
            if (found := link(phrase, labels))
        ]
        keys = distinct([*keyed, *keys])
        times = time_labels(ctx, scope)
        orderable = [
            label
            for label in labels
            if is_temporal(scope.column(label).type, ctx.dialect)
            or is_numeric(scope.column(label).type, ctx.dialect)
        ]
        return obj(
            {
                "keys": choices(keys, 1, max(1, min(budget, len(keyed) or 1))),
                "time_column": enum(
                    [*times, NONE]
                    if ctx.text.mentions("day") >= 2 or "{{" in ctx.text.text
                    else [NONE, *times]
                ),
                "order_by": enum([*times, *orderable, NONE] if times else [NONE, *orderable]),
            }
        )

    def render(self, params: UpsertParameters, ctx: TaskContext) -> Rendered:
        scope = Scope.of([relation_named(ctx, params.source)])
        keys = distinct(params.keys)
        names = [scope.column(key).name for key in keys]
        selected, outputs = copied(scope, scope.labels())
        conditions: list[exp.Expr] = []
        if params.time_column is not None:
            require_temporal(scope, params.time_column, ctx.dialect)
            time = scope.column(params.time_column)
            conditions.append(in_interval(scope.expr(params.time_column), time.type, ctx.dialect))
        if params.order_by is not None:
            scope.column(params.order_by)
        query = latest_rows(
            scope,
            selected,
            [output.name for output in outputs],
            keys,
            params.order_by,
            where(conditions),
            ctx.in_schema,
        )
        statements = merge(ctx.target_table(), outputs, names, query, ctx.dialect)
        return rendered(ctx, statements, outputs)


def _after(description: str, cues: tuple[str, ...]) -> list[str]:
    """The word after each cue (``keyed on order_id`` -> ``order_id``)."""
    lowered = description.lower()
    found = []
    for cue in cues:
        start = lowered.find(f"{cue} ")
        while start != -1:
            rest = lowered[start + len(cue) + 1 :].split()
            if rest:
                found.append(rest[0].strip(".,;:()"))
            start = lowered.find(f"{cue} ", start + 1)
    return found
