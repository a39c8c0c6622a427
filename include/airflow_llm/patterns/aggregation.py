"""Aggregation patterns: group rows by keys (``aggregate``), or per key over trailing days
(``rolling_window``). Both write one row per key for the logical date, replacing that
date's rows."""

from __future__ import annotations

import re
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
    day_of,
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
from airflow_llm.patterns.linking import (
    DAYS_SINCE_LATEST,
    Aggregation,
    aggregations,
    grouping_phrases,
    link,
    name_words,
    windowed_aggregations,
    words,
)
from airflow_llm.patterns.predicates import Predicate
from airflow_llm.patterns.writes import column, days_to_logical_date, logical_date, replace
from airflow_llm.spec import Column
from airflow_llm.sql_types import family, is_numeric

Function = Literal["sum", "count", "count_distinct", "avg", "min", "max"]
FUNCTIONS: tuple[str, ...] = get_args(Function)
MeasureFunction = Literal[
    "sum", "count", "count_distinct", "avg", "min", "max", "days_since_latest"
]
"""What a measure computes: an aggregate, or :data:`DAYS_SINCE_LATEST` (days from a date
column's latest value to the logical date)."""
TIME_SUFFIXES = frozenset({"date", "time", "timestamp", "datetime", "ts", "at", "day", "on"})
ALL_ROWS = "*"
INTERNAL_DAY, INTERNAL_VALUE = "airflow_llm_day", "airflow_llm_value"
"""Names of the rolling window's inner columns (prefixed: a source's columns must not
be shadowed by them)."""
"""The column of ``count`` over rows rather than over a column's values."""
MAX_KEYS, MAX_MEASURES = 4, 6
ROLLED: dict[str, type[exp.AggFunc]] = {
    "sum": exp.Sum,
    "count": exp.Sum,
    "avg": exp.Avg,
    "min": exp.Min,
    "max": exp.Max,
}
"""How the rolling window rolls each function's daily values."""


class Measure(StrictParameters):
    """``function(column) AS name``; ``count`` may take ``*`` (rows). The model answers
    the function and the column; the name comes from the spec (:func:`name_measures`).
    ``within_days``: only rows of the N days ending on the logical date (by the query's
    time column); ``days_since_latest``: days from ``column``'s latest date to the
    logical date."""

    function: MeasureFunction
    column: str
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    within_days: int | None = Field(default=None, ge=1, le=3660)

    @property
    def over_days(self) -> bool:
        """Whether it reads rows by date (a window, or the latest date)."""
        return self.within_days is not None or self.function == DAYS_SINCE_LATEST


class AggregateParameters(StrictParameters):
    """Group ``source`` (joined to ``lookup`` on their shared key columns) by ``keys``."""

    source: str
    lookup: str | None = None
    keys: list[str] = Field(min_length=1, max_length=MAX_KEYS)
    measures: list[Measure] = Field(min_length=1, max_length=MAX_MEASURES)
    time_column: str | None = None
    """Only rows whose date is the logical date (rows up to it when a measure reads days:
    ``within_days`` or ``days_since_latest``); None: every row."""
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


def windowed_name(function: str, column: str, table: str, within_days: int | None) -> str:
    """The default name of a measure over days: ``event_count_7d``,
    ``distinct_event_type_count_30d``, ``days_since_last_event``."""
    if function == DAYS_SINCE_LATEST:
        parts = name_words(column)
        subject = [part for part in parts if part not in TIME_SUFFIXES] or parts
        return f"days_since_last_{'_'.join(subject)}"
    name = default_measure_name(function, column, table)
    return f"{name}_{within_days}d" if within_days is not None else name


def stated_measures(ctx: TaskContext, scope: Scope) -> list[dict[str, Any]]:
    """The measures over days the description states ("events in the last 7 and 30
    days", "days since last login"), as answers: rows (``*``) when the words name the
    table, else the column they link to (a date column for days since)."""
    labels = scope.labels()
    temporal = time_labels(ctx, scope)
    tables = {word for _, relation in scope.tables for word in name_words(relation.name)}
    found: list[dict[str, Any]] = []
    for asked in windowed_aggregations(ctx.task.description):
        column = _stated_column(asked, labels, temporal, tables)
        if column is not None:
            measure = {"function": asked.function, "column": column}
            days = {"within_days": asked.within_days} if asked.within_days else {}
            if measure | days not in found:
                found.append(measure | days)
    return found


def _stated_column(
    asked: Aggregation, labels: Sequence[str], temporal: Sequence[str], tables: set[str]
) -> str | None:
    if asked.function == DAYS_SINCE_LATEST:
        return link(asked.phrase, temporal) or (temporal[0] if temporal else None)
    heads = words(asked.phrase)[-1:]
    if asked.function == "count" and set(heads) <= tables:
        return ALL_ROWS  # "events in the last 7 days" of the events table: rows
    return link(asked.phrase, labels)


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
    answer), else number columns and ``*`` (rows) on a first answer, the rest too when
    repairing."""
    labels = scope.labels()
    linked = [
        found
        for aggregation in aggregations(ctx.task.description)
        if (found := link(aggregation.phrase, labels))
    ]
    numbers = [*numeric_labels(ctx, scope), ALL_ROWS]
    return narrowed(ctx, linked or numbers, [*numbers, *ranked_labels(ctx, scope)])


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
        function = str(measure.get("function", ""))
        days = measure.get("within_days")
        words = set(name_words(column)) | {function}
        free = [c for c in candidates if c not in [m["name"] for m in named]]
        if days is not None or function == DAYS_SINCE_LATEST:  # the name says the days
            said = str(days) if days is not None else "since"
            free = [c for c in free if said in re.split(r"[_\W]|(?<=\d)(?=\D)", c)]
        match = next((c for c in free if words & set(name_words(c))), None)
        expected = [c for c in free if c in ctx.expected_columns]
        name = match or (expected[0] if expected else None)
        named.append({**measure, "name": name or windowed_name(function, column, table, days)})
    return named


def date_column_name(ctx: TaskContext, time_label: str | None, taken: Sequence[str]) -> str:
    """The output column holding the logical date: a date-like name the tests expect,
    else ``<time column stem>_date``, else ``as_of_date``."""
    expected = [n for n in ctx.expected_columns if ("date" in n or "day" in n) and n not in taken]
    return (expected or date_name(time_label, taken))[0]


def measure_sql(
    measure: Measure, scope: Scope, ctx: TaskContext, time_label: str | None = None
) -> tuple[exp.Expr, Column]:
    """The aggregate expression and the output column it makes; a measure over days
    reads ``time_label`` (the query's time column)."""
    if measure.function == DAYS_SINCE_LATEST:
        require_date(scope, measure.column, ctx.dialect, f"days_since_latest({measure.column})")
        latest = exp.Max(this=day_of(scope, measure.column, ctx.dialect))
        return days_to_logical_date(latest, ctx.dialect), Column(name=measure.name, type="BIGINT")
    window: exp.Expr | None = None
    if measure.within_days is not None:
        require(
            time_label is not None,
            f"{measure.name}: within_days needs a time_column (the date that places a row)",
        )
        assert time_label is not None
        first_day = exp.DateSub(
            this=logical_date(),
            expression=exp.Literal.number(measure.within_days - 1),
            unit=exp.var("DAY"),
        )
        window = exp.GTE(this=day_of(scope, time_label, ctx.dialect), expression=first_day)
    if measure.column == ALL_ROWS:
        require(
            measure.function == "count", f"{measure.function}(*) is not an aggregate; use count"
        )
        rows = exp.Star() if window is None else _when(window, exp.Literal.number(1))
        return exp.Count(this=rows), Column(name=measure.name, type="BIGINT")
    source = scope.column(measure.column)
    value: exp.Expr = scope.expr(measure.column)
    if window is not None:
        value = _when(window, value)
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


def _when(condition: exp.Expr, value: exp.Expr) -> exp.Expr:
    """``CASE WHEN condition THEN value END`` (NULL otherwise: aggregates skip it)."""
    return exp.Case(ifs=[exp.If(this=condition, true=value)])


def require_date(scope: Scope, label: str, dialect: str, what: str) -> None:
    """Refuses a column that is no date or timestamp."""
    require(
        family(scope.column(label).type, dialect) in ("date", "timestamp"),
        f"{what}: {label!r} is no date or timestamp",
    )


def _check_names(names: Sequence[str]) -> None:
    repeated = sorted({name for name in names if names.count(name) > 1})
    require(not repeated, f"output columns must differ; repeated: {', '.join(repeated)}")


def on_logical_date(scope: Scope, label: str, dialect: str, up_to: bool = False) -> exp.Expr:
    """The rows whose date (of a date or timestamp column) is the logical date (``up_to``:
    is the logical date or earlier)."""
    comparison = exp.LTE if up_to else exp.EQ
    return comparison(this=day_of(scope, label, dialect), expression=logical_date())


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
        "number of", "how many", "min", "max", "in the last", "days since", "distinct",
    )  # fmt: skip
    parameters: ClassVar[type[BaseModel]] = AggregateParameters

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        tables = ranked_tables(ctx)
        mentioned = [name for name in tables if ctx.text.mentions(name) >= 2.5]
        lookups = [NONE, *tables[1:]] if len(mentioned) < 2 else [*mentioned[1:], NONE]
        sources = table_options(ctx)
        if len(sources) == 1:  # never the source itself
            lookups = [name for name in lookups if name != sources[0]]
        if len(mentioned) < 2 and _groups_within(ctx, sources[0]):
            lookups = narrowed(ctx, [NONE], lookups)  # the source has every key named
        return obj({"source": enum(sources), "lookup": enum(lookups)})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        scope, shared = _scope(ctx, inputs.get("source"), inputs.get("lookup"))
        keys, budget = ranked_keys(ctx, scope, scope.labels(shared))
        properties = {
            "keys": choices(keys, 1, budget),
            "measures": measures_schema(ctx, scope),
            "time_column": time_choice(ctx, scope),
        }
        over_days = stated_measures(ctx, scope)[:MAX_MEASURES]
        times = time_labels(ctx, scope)
        if over_days and times and not ctx.repairing:  # the words state every measure
            every = len(over_days)  # objects: an enum of whole answers, all required
            properties["measures"] = array({"enum": over_days}, every, every)
            properties["time_column"] = enum(times[:1])
        return with_filters(ctx, scope, properties)

    def complete(self, answer: Mapping[str, Any], ctx: TaskContext) -> dict[str, Any]:
        taken = [str(key).rsplit(".", 1)[-1] for key in answer.get("keys", [])]
        measures = name_measures(ctx, answer.get("measures", []), str(answer.get("source")), taken)
        time = answer.get("time_column")
        over_days = any(
            m.get("within_days") or m.get("function") == DAYS_SINCE_LATEST for m in measures
        )
        stamp = None if time in (None, NONE) or over_days else str(time)
        date = date_column_name(ctx, stamp, taken)
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
            aggregate, output = measure_sql(measure, scope, ctx, params.time_column)
            outputs.append(output)
            selected.append(exp.alias_(aggregate, measure.name))
        _check_names([output.name for output in outputs])
        conditions = filter_conditions(params.filters, scope, ctx.dialect)
        over_days = any(measure.over_days for measure in params.measures)
        if params.time_column is not None:
            require_date(scope, params.time_column, ctx.dialect, "time_column")
            conditions.insert(
                0, on_logical_date(scope, params.time_column, ctx.dialect, up_to=over_days)
            )
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
                measure.function in ROLLED and measure.within_days is None,
                f"{measure.name}: rolling windows roll sum, count, avg, min or max of daily "
                "values over the pattern's days",
            )
            per_day = Measure(
                function="count" if measure.function == "count" else "sum",
                column=measure.column,
                name=f"{INTERNAL_VALUE}_{index}",
            )
            aggregate, daily_column = measure_sql(per_day, scope, ctx)
            daily.append(exp.alias_(aggregate, per_day.name))
            outer.append(
                exp.alias_(ROLLED[measure.function](this=column(per_day.name)), measure.name)
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


def _groups_within(ctx: TaskContext, source: str) -> bool:
    """Whether the description groups by something (``per customer``) and every such
    phrase's head word names a column of ``source``."""
    relation = relation_named(ctx, source)
    phrases = grouping_phrases(ctx.task.description)
    heads = [stems[-1] for phrase in phrases if (stems := words(phrase))]
    names = [set(name_words(name)) for name in relation.column_names]
    return bool(heads) and all(any(head in name for name in names) for head in heads)


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
