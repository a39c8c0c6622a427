"""Aggregation patterns: group rows by keys (``aggregate``), or per key over trailing days
(``rolling_window``). Both write one row per key for the logical date, replacing that
date's rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal, get_args

import sqlglot.expressions as exp
from pydantic import BaseModel, Field, field_validator

from airflow_llm.patterns.base import (
    ParameterError,
    Pattern,
    Rendered,
    Scope,
    StrictParameters,
    array,
    choices,
    enum,
    narrowed,
    obj,
)
from airflow_llm.patterns.common import (
    NONE,
    date_name,
    distinct,
    filter_conditions,
    none_as_null,
    numeric_labels,
    ranked_labels,
    ranked_tables,
    relation_named,
    rendered,
    require,
    table_options,
    time_choice,
    time_labels,
    where,
    with_filters,
)
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.linking import aggregations, grouping_phrases, link, name_words
from airflow_llm.patterns.predicates import Predicate
from airflow_llm.patterns.writes import column, logical_date, replace
from airflow_llm.spec import Column
from airflow_llm.sql_types import family, is_numeric

Function = Literal["sum", "count", "count_distinct", "avg", "min", "max"]
FUNCTIONS: tuple[str, ...] = get_args(Function)
ALL_ROWS = "*"
INTERNAL_DAY, INTERNAL_VALUE = "airflow_llm_day", "airflow_llm_value"
"""Names of the rolling window's inner columns (prefixed: a source's columns must not
be shadowed by them)."""
"""The column of ``count`` over rows rather than over a column's values."""
MAX_KEYS, MAX_MEASURES = 4, 6


class Measure(StrictParameters):
    """``function(column) AS name``; ``count`` may take ``*`` (rows). The model answers
    the function and the column; the name comes from the spec (:func:`name_measures`)."""

    function: Function
    column: str
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")


class AggregateParameters(StrictParameters):
    """Group ``source`` (joined to ``lookup`` on their shared key columns) by ``keys``."""

    source: str
    lookup: str | None = None
    keys: list[str] = Field(min_length=1, max_length=MAX_KEYS)
    measures: list[Measure] = Field(min_length=1, max_length=MAX_MEASURES)
    time_column: str | None = None
    """Only rows whose date is the logical date; None: every row."""
    date_column: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    """The output column holding the logical date (rows are replaced per date)."""
    filters: list[Predicate] = Field(default_factory=list)

    _nulls = field_validator("lookup", "time_column", mode="before")(none_as_null)


class RollingParameters(StrictParameters):
    """Per key, daily values over the ``days`` days ending on the logical date."""

    source: str
    keys: list[str] = Field(min_length=1, max_length=MAX_KEYS)
    time_column: str
    days: int = Field(ge=2, le=366)
    measures: list[Measure] = Field(min_length=1, max_length=MAX_MEASURES)
    date_column: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    filters: list[Predicate] = Field(default_factory=list)


def default_measure_name(function: str, column: str, table: str) -> str:
    """The name of an aggregate when the spec suggests none: ``total_amount``,
    ``order_count``, ``distinct_customer_id_count``, ``avg_amount``..."""
    name = column.rsplit(".", 1)[-1]
    if column == ALL_ROWS:
        return f"{table.rsplit('.', 1)[-1].removesuffix('s')}_count"
    prefix = {"sum": "total", "count": "count", "count_distinct": "distinct"}.get(
        function, function
    )
    return (
        f"{name}_count"
        if function == "count"
        else f"{prefix}_{name}" + ("_count" if function == "count_distinct" else "")
    )


def asked_functions(ctx: TaskContext) -> list[str]:
    """Aggregate functions the description asks for, in reading order."""
    return distinct([aggregation.function for aggregation in aggregations(ctx.task.description)])


def measure_budget(ctx: TaskContext) -> int:
    """How many aggregates the description asks for (at least one)."""
    asked = {(a.function, a.phrase) for a in aggregations(ctx.task.description)}
    return max(1, min(MAX_MEASURES, len(asked)))


def ranked_keys(ctx: TaskContext, scope: Scope, labels: Sequence[str]) -> tuple[list[str], int]:
    """Key columns to offer (those the description groups by, "per customer", alone on a
    first answer) and how many it names (at least one)."""
    linked = distinct(
        [
            found
            for phrase in grouping_phrases(ctx.task.description)
            if (found := link(phrase, labels))
        ]
    )
    offered = narrowed(ctx, linked, ranked_labels(ctx, scope, labels))
    return offered, max(1, min(MAX_KEYS, len(linked)))


def measure_columns(ctx: TaskContext, scope: Scope) -> list[str]:
    """Columns to aggregate: the ones the description's aggregates name (alone on a first
    answer), else number columns, ``*`` (rows), then the rest."""
    labels = scope.labels()
    linked = [
        found
        for aggregation in aggregations(ctx.task.description)
        if (found := link(aggregation.phrase, labels))
    ]
    rest = [*numeric_labels(ctx, scope), ALL_ROWS, *ranked_labels(ctx, scope)]
    return narrowed(ctx, linked, rest)


def measures_schema(ctx: TaskContext, scope: Scope) -> dict[str, Any]:
    """The ``measures`` property: the function and column of each aggregate (names come
    from the spec's tests and words, see :func:`name_measures`)."""
    functions = narrowed(ctx, asked_functions(ctx), FUNCTIONS)
    item = obj({"function": enum(functions), "column": enum(measure_columns(ctx, scope))})
    return array(item, 1, measure_budget(ctx))


def name_measures(
    ctx: TaskContext, measures: Sequence[Mapping[str, Any]], table: str, taken: Sequence[str]
) -> list[dict[str, Any]]:
    """``measures`` with output names: a name the task's tests expect or its (and the
    next tasks') words use that shares a word with the measure's column, else the
    tests' remaining names in order, else a default (:func:`default_measure_name`)."""
    candidates = [name for name in ctx.output_names([], taken) if "date" not in name]
    named: list[dict[str, Any]] = []
    for measure in measures:
        column = str(measure.get("column", ""))
        words = set(name_words(column)) | {str(measure.get("function", ""))}
        free = [c for c in candidates if c not in [m["name"] for m in named]]
        match = next((c for c in free if words & set(name_words(c))), None)
        expected = [c for c in free if c in ctx.expected_columns]
        name = match or (expected[0] if expected else None)
        named.append(
            {
                **measure,
                "name": name or default_measure_name(str(measure.get("function")), column, table),
            }
        )
    return named


def date_column_name(ctx: TaskContext, time_label: str | None, taken: Sequence[str]) -> str:
    """The output column holding the logical date: a date-like name the tests expect,
    else ``<time column stem>_date``, else ``as_of_date``."""
    expected = [n for n in ctx.expected_columns if ("date" in n or "day" in n) and n not in taken]
    return (expected or date_name(time_label, taken))[0]


def measure_sql(measure: Measure, scope: Scope, ctx: TaskContext) -> tuple[exp.Expr, Column]:
    """The aggregate expression and the output column it makes."""
    if measure.column == ALL_ROWS:
        require(
            measure.function == "count", f"{measure.function}(*) is not an aggregate; use count"
        )
        return exp.Count(this=exp.Star()), Column(name=measure.name, type="BIGINT")
    source = scope.column(measure.column)
    value = scope.expr(measure.column)
    numeric = is_numeric(source.type, ctx.dialect)
    if measure.function in ("sum", "avg"):
        require(
            numeric,
            f"{measure.function}({measure.column}) needs a number column, not {source.type}",
        )
    if measure.function == "count":
        return exp.Count(this=value), Column(name=measure.name, type="BIGINT")
    if measure.function == "count_distinct":
        return exp.Count(this=exp.Distinct(expressions=[value])), Column(
            name=measure.name, type="BIGINT"
        )
    if measure.function == "avg":
        return exp.Avg(this=value), Column(name=measure.name, type="DOUBLE")
    if measure.function == "sum":
        integer = family(source.type, ctx.dialect) == "integer"
        return exp.Sum(this=value), Column(
            name=measure.name, type="BIGINT" if integer else source.type
        )
    builder = exp.Min if measure.function == "min" else exp.Max
    return builder(this=value), Column(name=measure.name, type=source.type)


def _check_names(names: Sequence[str]) -> None:
    repeated = sorted({name for name in names if names.count(name) > 1})
    require(not repeated, f"output columns must differ; repeated: {', '.join(repeated)}")


def on_logical_date(scope: Scope, label: str, dialect: str) -> exp.Expr:
    """The rows whose date (of a date or timestamp column) is the logical date."""
    value = scope.expr(label)
    declared = scope.column(label).type
    day = (
        value
        if family(declared, dialect) == "date"
        else exp.Cast(this=value, to=exp.DataType.build("DATE"))
    )
    return exp.EQ(this=day, expression=logical_date())


class Aggregate(Pattern[AggregateParameters]):
    """Group by keys: sum, count, count distinct, avg, min, max."""

    name: ClassVar[str] = "aggregate"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "sql"
    summary: ClassVar[str] = (
        "group rows by key columns and compute sum, count, count distinct, average, min or "
        "max, for the logical date or over all rows"
    )
    cues: ClassVar[tuple[str, ...]] = (
        "sum", "total", "count", "average", "avg", "grouped", "group", "aggregate",
        "number of", "how many", "min", "max",
    )  # fmt: skip
    parameters: ClassVar[type[BaseModel]] = AggregateParameters

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        tables = ranked_tables(ctx)
        mentioned = [name for name in tables if ctx.text.mentions(name) >= 2.5]
        lookups = [NONE, *tables[1:]] if len(mentioned) < 2 else [*mentioned[1:], NONE]
        return obj({"source": enum(table_options(ctx)), "lookup": enum(lookups)})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        scope, shared = _scope(ctx, inputs.get("source"), inputs.get("lookup"))
        keys, budget = ranked_keys(ctx, scope, scope.labels(shared))
        properties = {
            "keys": choices(keys, 1, budget),
            "measures": measures_schema(ctx, scope),
            "time_column": time_choice(ctx, scope),
        }
        return with_filters(ctx, scope, properties)

    def complete(self, answer: Mapping[str, Any], ctx: TaskContext) -> dict[str, Any]:
        taken = [str(key).rsplit(".", 1)[-1] for key in answer.get("keys", [])]
        measures = name_measures(ctx, answer.get("measures", []), str(answer.get("source")), taken)
        time = answer.get("time_column")
        date = date_column_name(ctx, None if time in (None, NONE) else str(time), taken)
        return {**answer, "measures": measures, "date_column": date}

    def render(self, params: AggregateParameters, ctx: TaskContext) -> Rendered:
        scope, shared = _scope(ctx, params.source, params.lookup)
        keys = distinct(params.keys)
        outputs: list[Column] = []
        selected: list[exp.Expr] = []
        for key in keys:
            source = scope.column(key)
            outputs.append(Column(name=source.name, type=source.type))
            selected.append(scope.expr(key))
        outputs.append(Column(name=params.date_column, type="DATE"))
        selected.append(exp.alias_(logical_date(), params.date_column))
        for measure in distinct(params.measures):
            aggregate, output = measure_sql(measure, scope, ctx)
            outputs.append(output)
            selected.append(exp.alias_(aggregate, measure.name))
        _check_names([output.name for output in outputs])
        conditions = filter_conditions(params.filters, scope, ctx.dialect)
        if params.time_column is not None:
            require(
                family(scope.column(params.time_column).type, ctx.dialect) in ("date", "timestamp"),
                f"time_column {params.time_column!r} is no date or timestamp",
            )
            conditions.insert(0, on_logical_date(scope, params.time_column, ctx.dialect))
        query = exp.select(*selected).from_(scope.from_(ctx.in_schema))
        query = _join_lookup(query, scope, shared, ctx.in_schema)
        condition = where(conditions)
        if condition is not None:
            query = query.where(condition)
        query = query.group_by(*[scope.expr(key) for key in keys])
        target = ctx.target_table()
        replaced = exp.EQ(this=column(params.date_column), expression=logical_date())
        statements = replace(target, outputs, query, replaced, ctx.dialect)
        return rendered(ctx, statements, outputs)


class RollingWindow(Pattern[RollingParameters]):
    """Per key: sum, average, min or max of daily values over the trailing N days."""

    name: ClassVar[str] = "rolling_window"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "sql"
    summary: ClassVar[str] = (
        "per key, a sum, average, min or max of daily values over the N days ending on the "
        "logical date (rolling, moving or trailing windows)"
    )
    cues: ClassVar[tuple[str, ...]] = (
        "rolling", "moving", "trailing", "window", "-day", "in the last",
    )  # fmt: skip
    parameters: ClassVar[type[BaseModel]] = RollingParameters

    def applies(self, ctx: TaskContext) -> bool:
        return any(_temporal_columns(relation, ctx.dialect) for relation in ctx.relations)

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        with_time = [r for r in ctx.relations if _temporal_columns(r, ctx.dialect)]
        return obj({"source": enum(table_options(ctx, with_time))})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        scope, _ = _scope(ctx, inputs.get("source"), None)
        keys, budget = ranked_keys(ctx, scope, scope.labels())
        times = time_labels(ctx, scope)
        stated = [n for n in ctx.text.numbers if isinstance(n, int) and 2 <= n <= 366]
        measures = measures_schema(ctx, scope)
        rolling = ("sum", "avg", "min", "max", "count")
        measures["items"]["properties"]["function"] = enum(
            narrowed(ctx, [f for f in asked_functions(ctx) if f in rolling], rolling)
        )
        properties = {
            "keys": choices(keys, 1, budget),
            "time_column": enum(narrowed(ctx, times[:1], times)),
            "days": enum(narrowed(ctx, stated, [7, 28, 30, 90])),
            "measures": measures,
        }
        return with_filters(ctx, scope, properties)

    def complete(self, answer: Mapping[str, Any], ctx: TaskContext) -> dict[str, Any]:
        taken = [str(key).rsplit(".", 1)[-1] for key in answer.get("keys", [])]
        measures = name_measures(ctx, answer.get("measures", []), str(answer.get("source")), taken)
        date = date_column_name(ctx, None, taken)
        return {**answer, "measures": measures, "date_column": date}

    def render(self, params: RollingParameters, ctx: TaskContext) -> Rendered:
        scope, _ = _scope(ctx, params.source, None)
        keys = distinct(params.keys)
        time = scope.column(params.time_column)
        require(
            family(time.type, ctx.dialect) in ("date", "timestamp"),
            f"time_column {params.time_column!r} is no date or timestamp",
        )
        day = exp.Cast(this=scope.expr(params.time_column), to=exp.DataType.build("DATE"))
        first_day = exp.DateSub(
            this=logical_date(), expression=exp.Literal.number(params.days - 1), unit=exp.var("DAY")
        )
        conditions = [
            exp.GTE(this=day.copy(), expression=first_day),
            exp.LTE(this=day.copy(), expression=logical_date()),
            *filter_conditions(params.filters, scope, ctx.dialect),
        ]
        daily: list[exp.Expr] = [scope.expr(key) for key in keys]
        daily.append(exp.alias_(day.copy(), INTERNAL_DAY))
        outer: list[exp.Expr] = [column(scope.column(key).name) for key in keys]
        outer.append(exp.alias_(logical_date(), params.date_column))
        outputs = [Column(name=scope.column(key).name, type=scope.column(key).type) for key in keys]
        outputs.append(Column(name=params.date_column, type="DATE"))
        for index, measure in enumerate(distinct(params.measures)):
            require(
                measure.function != "count_distinct", "count_distinct has no daily values to roll"
            )
            per_day = Measure(
                function="count" if measure.function == "count" else "sum",
                column=measure.column,
                name=f"{INTERNAL_VALUE}_{index}",
            )
            aggregate, daily_column = measure_sql(per_day, scope, ctx)
            daily.append(exp.alias_(aggregate, per_day.name))
            rolled = {
                "sum": exp.Sum,
                "count": exp.Sum,
                "avg": exp.Avg,
                "min": exp.Min,
                "max": exp.Max,
            }
            outer.append(
                exp.alias_(rolled[measure.function](this=column(per_day.name)), measure.name)
            )
            kind = "DOUBLE" if measure.function == "avg" else daily_column.type
            outputs.append(Column(name=measure.name, type=kind))
        _check_names([output.name for output in outputs])
        inner = (
            exp.select(*daily)
            .from_(scope.from_(ctx.in_schema))
            .where(exp.and_(*conditions))
            .group_by(*[scope.expr(key) for key in keys], day.copy())
        )
        query = exp.select(*outer).from_(
            exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier("daily")))
        )
        query = query.group_by(*[column(scope.column(key).name) for key in keys])
        replaced = exp.EQ(this=column(params.date_column), expression=logical_date())
        statements = replace(ctx.target_table(), outputs, query, replaced, ctx.dialect)
        return rendered(ctx, statements, outputs)


def _temporal_columns(relation: Relation, dialect: str) -> list[str]:
    return [c.name for c in relation.columns if family(c.type, dialect) in ("date", "timestamp")]


def _scope(ctx: TaskContext, source: Any, lookup: Any) -> tuple[Scope, list[str]]:
    """The scope of ``source`` (and ``lookup``), and the key columns they share."""
    main = relation_named(ctx, str(source))
    if lookup in (None, NONE):
        return Scope.of([main]), []
    other = relation_named(ctx, str(lookup))
    if other.name == main.name:
        raise ParameterError(["lookup must be another table than source"])
    shared = [name for name in main.column_names if other.column(name) is not None]
    keys = [name for name in shared if name.endswith(("_id", "_key", "_code")) or name == "id"]
    if not shared:
        raise ParameterError([f"{main.name} and {other.name} share no column to join on"])
    return Scope.of([main, other]), keys or shared


def _join_lookup(
    query: exp.Select, scope: Scope, shared: Sequence[str], in_schema: bool
) -> exp.Select:
    if not scope.qualified:
        return query
    (left, _), (right, relation) = scope.tables[0], scope.tables[1]
    on = exp.and_(
        *[exp.EQ(this=column(key, left), expression=column(key, right)) for key in shared]
    )
    return query.join(scope.aliased(right, relation, in_schema), on=on, join_type="inner")
