"""Questions and building blocks several SQL patterns share: which table, which time
column, which filters, which names for new columns."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import sqlglot.expressions as exp

from airflow_llm.patterns.base import (
    ParameterError,
    Rendered,
    Scope,
    choices,
    enum,
    narrowed,
    obj,
    one_of,
)
from airflow_llm.patterns.clauses import stated_filters
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.linking import Text, grouping_phrases, link, words
from airflow_llm.patterns.predicates import (
    MACROS,
    NEGATION_CUES,
    Predicate,
    all_of,
    predicate_problems,
    predicate_sql,
)
from airflow_llm.patterns.writes import in_interval, logical_date, replace, sql_text
from airflow_llm.spec import Column
from airflow_llm.sql_types import family, is_numeric, is_temporal

Written = TypeVar("Written")
NONE = "none"
"""The enum choice for "no such column" (no time filter, no ordering...)."""


def none_as_null(value: Any) -> Any:
    """An answer's :data:`NONE` as None (a field validator of the parameter models)."""
    return None if value == NONE else value


INTERVAL_CUES = (
    "day", "daily", "logical date", "{{ ds }}", "ds", "interval", "hour", "hourly", "today",
    "yesterday", "new", "since the last run", "snapshot date", "the day's", "date",
)  # fmt: skip
NULL_CUES = ("null", "missing", "unknown", "without", "empty", "no ")
MAX_FILTERS = 3


def ranked_tables(ctx: TaskContext, relations: Sequence[Relation] | None = None) -> list[str]:
    """Table names, the ones the description names first, then what upstream tasks
    write (a task usually reads what runs before it), then the sources."""
    pool = list(relations if relations is not None else ctx.relations)
    return ctx.text.rank_names(
        [relation.name for relation in pool],
        bonus=lambda name: 0.5 if (found := ctx.relation(name)) and found.produced_by else 0.0,
    )


def table_options(ctx: TaskContext, relations: Sequence[Relation] | None = None) -> list[str]:
    """Tables to offer: on a first answer, the ones the description writes out (of
    those, the ones the nearest upstream tasks write when there are), else the ones the
    nearest upstream tasks write (data flows along the task graph), else the ones with
    the most columns it writes out ("plan, country"); every table, ranked, when
    repairing or when none applies."""
    ranked = ranked_tables(ctx, relations)
    scores = {name: ctx.text.mentions(name) for name in ranked}
    top = max(scores.values(), default=0.0)
    mentioned = [name for name in ranked if scores[name] >= 2.5 and scores[name] == top]
    nearest = [name for name in ranked if name in nearest_outputs(ctx)]
    flowing = [name for name in mentioned if name in nearest] or mentioned
    return narrowed(ctx, flowing or nearest or _most_columns_named(ctx, ranked), ranked)


def _most_columns_named(ctx: TaskContext, names: Sequence[str]) -> list[str]:
    """The tables of ``names`` with the most columns the description writes out (none
    when no table has one)."""
    named = {
        name: len(ctx.text.mentioned(relation_named(ctx, name).column_names, threshold=2.5))
        for name in names
    }
    best = max(named.values(), default=0)
    return [name for name in names if best and named[name] == best]


def nearest_outputs(ctx: TaskContext) -> list[str]:
    """Tables written by the closest upstream tasks that write one (a quality check in
    between is looked through)."""
    writers = {r.produced_by: r.name for r in ctx.relations if r.produced_by is not None}
    return nearest(ctx, writers)


def nearest(ctx: TaskContext, writers: Mapping[str, Written]) -> list[Written]:
    """What the closest upstream tasks among ``writers`` (task name -> what it writes)
    write; a task in between that is none of them is looked through."""
    tasks = {task.name: task for task in ctx.spec.tasks or []}
    found: list[Written] = []
    todo = list(ctx.task.depends_on)
    seen: set[str] = set()
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        seen.add(name)
        if name in writers:
            found.append(writers[name])
        elif name in tasks:
            todo += tasks[name].depends_on
    return found


def relation_named(ctx: TaskContext, name: str) -> Relation:
    """The readable relation ``name``; :class:`ParameterError` when there is none."""
    relation = ctx.relation(name)
    if relation is None:
        known = ", ".join(r.name for r in ctx.relations) or "none"
        raise ParameterError([f"no table {name!r} to read (tables: {known})"])
    return relation


def ranked_labels(ctx: TaskContext, scope: Scope, labels: Sequence[str] | None = None) -> list[str]:
    """Column labels of ``scope``, the ones the description names first."""
    return ctx.text.rank_names(list(labels if labels is not None else scope.labels()))


def time_labels(ctx: TaskContext, scope: Scope) -> list[str]:
    """Date and timestamp columns, mentioned ones first."""
    temporal = [
        label for label in scope.labels() if is_temporal(scope.column(label).type, ctx.dialect)
    ]
    return ranked_labels(ctx, scope, temporal)


def numeric_labels(ctx: TaskContext, scope: Scope) -> list[str]:
    """Number columns, mentioned ones first."""
    numbers = [
        label for label in scope.labels() if is_numeric(scope.column(label).type, ctx.dialect)
    ]
    return ranked_labels(ctx, scope, numbers)


def mentions_interval(text: Text) -> bool:
    """Whether the description limits the task to the run's date or interval ("days" as
    a unit, "in days", "30 days", "days since", is no such limit)."""
    said = _DAY_UNIT.sub(" ", text.lowered)
    return any(cue in said for cue in INTERVAL_CUES if " " in cue or "{" in cue) or bool(
        set(words(said)) & {"day", "daily", "hour", "hourly", "yesterday", "today", "new", "date"}
    )


_DAY_UNIT = re.compile(r"\b(?:\d+|in)\s+days\b|\bdays\s+since\b")


def time_choice(ctx: TaskContext, scope: Scope) -> dict[str, Any]:
    """ "Which column places a row in the run's interval" (``none`` first unless the
    description speaks of a date or interval)."""
    labels = time_labels(ctx, scope)
    return enum([*labels, NONE] if mentions_interval(ctx.text) else [NONE, *labels])


def filter_budget(ctx: TaskContext, scope: Scope) -> int:
    """How many filters the description can state: one per quoted value or code, per
    mentioned true/false column, per "missing/null" phrase (at most :data:`MAX_FILTERS`)."""
    text = ctx.text
    booleans = [
        label
        for label in scope.labels()
        if family(scope.column(label).type, ctx.dialect) == "boolean" and text.mentions(label) >= 2
    ]
    nulls = sum(cue in text.lowered for cue in NULL_CUES)
    comparisons = sum(
        word in text.stem_set for word in ("above", "below", "over", "under", "than")
    ) + sum(phrase in text.lowered for phrase in ("at least", "at most"))
    return min(
        MAX_FILTERS, len(text.quoted) + len(text.codes) + len(booleans) + nulls + comparisons
    )


def filter_values(ctx: TaskContext) -> list[Any]:
    """Values a filter may compare with: the text's quoted values, codes and numbers,
    the Airflow date macros, true and false."""
    text = ctx.text
    return [*text.quoted, *text.codes, *text.numbers, True, False, *MACROS]


def ranked_operators(text: Text) -> list[str]:
    """Operators, negating ones first when the description drops or excludes rows."""
    positive = ["=", "is true", "is null", ">", ">=", "<", "<=", "in"]
    negative = ["!=", "is not true", "is not null", "not in"]
    negates = any(cue in text.lowered for cue in NEGATION_CUES)
    return [*negative, *positive] if negates else [*positive, *negative]


def filters_schema(ctx: TaskContext, scope: Scope) -> dict[str, Any] | None:
    """The ``filters`` property, or None when the description states none: on a first
    answer, the filters its clauses state (all of them: nothing to ask); when repairing,
    a list of those or of structured predicates (column, operator, value from enums)."""
    stated = [
        str(p)
        for p in stated_filters(
            ctx.task.description,
            scope.labels(),
            lambda label: family(scope.column(label).type, ctx.dialect),
        )
    ]
    if stated and not ctx.repairing:
        return choices(stated, len(stated), len(stated))
    budget = max(filter_budget(ctx, scope), len(stated))
    if budget == 0:
        return None
    values = filter_values(ctx)
    scalar = enum([*values, None])
    several = len(ctx.text.quoted) + len(ctx.text.codes) > 1
    value = one_of(scalar, choices(values, 2, len(values))) if several else scalar
    operators = [op for op in ranked_operators(ctx.text) if several or op not in ("in", "not in")]
    item = obj(
        {
            "column": enum(ranked_labels(ctx, scope)),
            "operator": enum(operators),
            "value": value,
        }
    )
    items = one_of(enum(stated), item) if stated else item
    return {"type": "array", "items": items, "minItems": 0, "maxItems": budget}


def filter_conditions(filters: Sequence[Predicate], scope: Scope, dialect: str) -> list[exp.Expr]:
    """The predicates as conditions; :class:`ParameterError` listing every bad one."""
    problems: list[str] = []
    conditions: list[exp.Expr] = []
    for predicate in filters:
        resolved = scope.resolve(predicate.column)
        found = predicate_problems(predicate, resolved[1].type if resolved else None, dialect)
        if found or resolved is None:
            problems += found
            continue
        conditions.append(
            predicate_sql(predicate, scope.expr(predicate.column), resolved[1].type, dialect)
        )
    if problems:
        raise ParameterError(problems)
    return conditions


def where(conditions: Sequence[exp.Expr]) -> exp.Expr | None:
    """The conjunction of ``conditions`` (None when empty)."""
    return all_of(conditions)


def require(condition: bool, problem: str) -> None:
    """Raise :class:`ParameterError` with ``problem`` unless ``condition`` holds."""
    if not condition:
        raise ParameterError([problem])


def distinct(values: Sequence[Any]) -> list[Any]:
    """``values`` without repeats, in order (small models repeat list items)."""
    return list(dict.fromkeys(values))


def date_name(time_column: str | None, taken: Sequence[str]) -> list[str]:
    """Default names for a logical-date column: ``<stem>_date`` of the time column, then
    ``as_of_date``; ``logical_date`` when inputs take both."""
    names = []
    if time_column:
        stem = time_column.rsplit(".", 1)[-1]
        for suffix in ("_timestamp", "_datetime", "_time", "_date", "_at", "_ts", "_on"):
            if stem.endswith(suffix):
                stem = stem[: -len(suffix)]
                break
        names.append(f"{stem}_date")
    names.append("as_of_date")
    free = [name for name in names if name not in taken]
    return free or [name for name in ("logical_date", "run_date") if name not in taken]


ALL_COLUMNS = "*"
RANK = "airflow_llm_rank"
"""The row number column of :func:`latest_rows` (prefixed: no source column shadows it)."""
"""The column-list choice "every column"."""


def columns_schema(
    ctx: TaskContext, scope: Scope, labels: Sequence[str] | None = None
) -> dict[str, Any]:
    """Which columns to keep: on a first answer, every one the description names, with
    the keys it speaks per (``per customer: plan, country`` keeps customer_id); else
    ``*`` (all); when repairing, any of them."""
    offered = list(labels if labels is not None else scope.labels())
    keys = [
        found
        for phrase in grouping_phrases(ctx.task.description)
        if (found := link(phrase, offered))
    ]
    named = distinct([*keys, *ctx.text.mentioned(offered, threshold=2.5)])
    if len(named) < 2:  # every column (nothing to ask on a first answer)
        return choices(narrowed(ctx, [ALL_COLUMNS], ranked_labels(ctx, scope, offered)), 1, 1)
    if not ctx.repairing:  # every column it names, nothing to ask
        return choices(named, len(named), len(named))
    return choices([*named, ALL_COLUMNS, *offered], 1, len(named))


def expand_columns(chosen: Sequence[str], offered: Sequence[str]) -> list[str]:
    """``chosen`` labels with ``*`` standing for every offered label, without repeats."""
    expanded: list[str] = []
    for label in chosen:
        expanded += list(offered) if label == ALL_COLUMNS else [label]
    return distinct(expanded)


def output_column(scope: Scope, label: str, name: str | None = None) -> tuple[exp.Expr, Column]:
    """A selected column (renamed to ``name``) and the output column it makes."""
    source = scope.column(label)
    reference = scope.expr(label)
    output = name or source.name
    selected = reference if output == source.name else exp.alias_(reference, output)
    return selected, Column(name=output, type=source.type, nullable=source.nullable)


def unique_outputs(outputs: Sequence[Column]) -> None:
    """Refuse two output columns with one name."""
    names = [output.name for output in outputs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    require(not repeated, f"output columns must differ; repeated: {', '.join(repeated)}")


def rows_of_run(
    ctx: TaskContext,
    outputs: Sequence[Column],
    query: exp.Query,
    time_output: str | None,
) -> list[exp.Expr]:
    """Statements that replace the target's rows of this run: the rows of the logical
    interval by ``time_output`` (an output column), else the rows stamped with the
    logical date (the first output column must then be that date)."""
    target = ctx.target_table()
    if time_output is None:
        condition: exp.Expr = exp.EQ(this=exp.column(outputs[0].name), expression=logical_date())
    else:
        found = next(output for output in outputs if output.name == time_output)
        condition = in_interval(exp.column(found.name), found.type, ctx.dialect)
    return replace(target, outputs, query, condition, ctx.dialect)


def stamped(date_column: str) -> tuple[exp.Expr, Column]:
    """The logical date as the output column ``date_column``."""
    return exp.alias_(logical_date(), date_column), Column(name=date_column, type="DATE")


def date_choice(ctx: TaskContext, time_label: str | None, taken: Sequence[str]) -> dict[str, Any]:
    """The name of the output column that stamps rows with the logical date."""
    expected = [n for n in ctx.expected_columns if "date" in n or "day" in n]
    return enum(distinct([*expected, *date_name(time_label, taken)]))


def day_of(scope: Scope, label: str, dialect: str) -> exp.Expr:
    """The date of a date or timestamp column."""
    value = scope.expr(label)
    if family(scope.column(label).type, dialect) == "date":
        return value
    return exp.Cast(this=value, to=exp.DataType.build("DATE"))


def require_temporal(scope: Scope, label: str, dialect: str) -> None:
    """Refuse a time column that is no date or timestamp."""
    kind = family(scope.column(label).type, dialect)
    require(kind in ("date", "timestamp"), f"{label!r} is no date or timestamp column")


def rank_window(scope: Scope, keys: Sequence[str], order_by: str | None) -> exp.Expr:
    """``ROW_NUMBER() OVER (PARTITION BY keys ORDER BY order_by DESC)`` (keys when no
    order is given: one row per key, whichever)."""
    ordering = (
        [exp.Ordered(this=scope.expr(order_by), desc=True)]
        if order_by
        else [exp.Ordered(this=scope.expr(key)) for key in keys]
    )
    return exp.Window(
        this=exp.RowNumber(),
        partition_by=[scope.expr(key) for key in keys],
        order=exp.Order(expressions=ordering),
    )


def latest_rows(
    scope: Scope,
    selected: Sequence[exp.Expr],
    names: Sequence[str],
    keys: Sequence[str],
    order_by: str | None,
    condition: exp.Expr | None,
    in_schema: bool,
) -> exp.Select:
    """One row per key (the latest by ``order_by``) of ``selected`` columns named ``names``;
    rows without a key are left out (no key, no row to merge or keep)."""
    inner = exp.select(*selected, exp.alias_(rank_window(scope, keys, order_by), RANK))
    inner = inner.from_(scope.from_(in_schema))
    present = [exp.Not(this=exp.Is(this=scope.expr(key), expression=exp.Null())) for key in keys]
    inner = inner.where(exp.and_(*([condition] if condition is not None else []), *present))
    ranked = exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier("ranked")))
    return (
        exp.select(*[exp.column(name) for name in names])
        .from_(ranked)
        .where(exp.EQ(this=exp.column(RANK), expression=exp.Literal.number(1)))
    )


def rendered(
    ctx: TaskContext, statements: Sequence[exp.Expr], outputs: Sequence[Column]
) -> Rendered:
    """The script, and the target table with the columns it gets."""
    written = Relation(ctx.target, tuple(outputs), produced_by=ctx.task.name)
    return Rendered(sql_text(statements, ctx.dialect), written)


def with_filters(ctx: TaskContext, scope: Scope, properties: dict[str, Any]) -> dict[str, Any]:
    """The parameters question: ``properties``, and ``filters`` when the task states any."""
    filters = filters_schema(ctx, scope)
    return obj(properties | ({"filters": filters} if filters else {}))


def copied(scope: Scope, labels: Sequence[str]) -> tuple[list[exp.Expr], list[Column]]:
    """The select list that copies ``labels`` as they are, and the columns it makes."""
    pairs = [output_column(scope, label) for label in labels]
    outputs = [output for _, output in pairs]
    unique_outputs(outputs)
    return [expression for expression, _ in pairs], outputs
