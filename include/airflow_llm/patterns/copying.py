"""Copy patterns: rows of the logical interval (``copy_interval``), every row stamped with
the logical date (``snapshot``), and copies with personal data hashed or masked
(``mask_pii``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal, get_args

import sqlglot.expressions as exp
from pydantic import BaseModel, Field, field_validator

from airflow_llm.patterns.base import (
    Pattern,
    Rendered,
    Scope,
    StrictParameters,
    array,
    enum,
    narrowed,
    obj,
)
from airflow_llm.patterns.common import (
    NONE,
    columns_schema,
    copied,
    date_choice,
    day_of,
    expand_columns,
    filter_conditions,
    none_as_null,
    output_column,
    ranked_labels,
    relation_named,
    rendered,
    require,
    require_temporal,
    rows_of_run,
    stamped,
    table_options,
    time_labels,
    unique_outputs,
    where,
    with_filters,
)
from airflow_llm.patterns.context import TaskContext
from airflow_llm.patterns.linking import day_counts, grouping_phrases, link, name_words, words
from airflow_llm.patterns.predicates import Predicate
from airflow_llm.patterns.writes import days_to_logical_date, in_interval
from airflow_llm.spec import Column

NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
CastType = Literal["BIGINT", "DOUBLE", "DECIMAL(18, 2)", "VARCHAR", "DATE", "TIMESTAMP", "BOOLEAN"]
CAST_TYPES: tuple[str, ...] = get_args(CastType)
RENAME_CUES = ("rename", " as ", "called", "named")
CAST_CUES = ("cast", "convert", "as integer", "as text", "as a date", "as date", "type")
PII_WORDS = ("email", "mail", "phone", "name", "address", "ssn", "birth", "ip", "card", "passport")


class Rename(StrictParameters):
    """Write ``column`` under ``name``."""

    column: str
    name: str = Field(pattern=NAME)


class CastTo(StrictParameters):
    """Write ``column`` as ``type``."""

    column: str
    type: CastType


class CopyParameters(StrictParameters):
    """Copy ``source``'s rows of the logical interval (by ``time_column``)."""

    source: str
    time_column: str
    columns: list[str] = Field(min_length=1)
    renames: list[Rename] = Field(default_factory=list)
    casts: list[CastTo] = Field(default_factory=list)
    filters: list[Predicate] = Field(default_factory=list)


class DayCount(StrictParameters):
    """Days from ``column``'s date to the logical date, written as ``name`` (a tenure,
    an age in days)."""

    column: str
    name: str = Field(pattern=NAME)


class SnapshotParameters(StrictParameters):
    """Copy every row of ``source``, stamped with the logical date in ``date_column``,
    with ``day_counts`` computed."""

    source: str
    columns: list[str] = Field(min_length=1)
    date_column: str = Field(pattern=NAME)
    filters: list[Predicate] = Field(default_factory=list)
    day_counts: list[DayCount] = Field(default_factory=list, max_length=4)
    distinct: bool = False
    """Drop exact duplicate rows (the words ask for one row "per customer")."""


class Masking(StrictParameters):
    """How one personal column is written: a hash (joinable), a mask, or nothing."""

    column: str
    method: Literal["hash", "mask", "null"]


class MaskParameters(StrictParameters):
    """Copy ``source`` with ``masked`` columns hashed, masked or emptied."""

    source: str
    masked: list[Masking] = Field(min_length=1)
    time_column: str | None = None
    date_column: str = Field(pattern=NAME)
    filters: list[Predicate] = Field(default_factory=list)

    _nulls = field_validator("time_column", mode="before")(none_as_null)


def _single_source_inputs(ctx: TaskContext) -> dict[str, Any]:
    return obj({"source": enum(table_options(ctx))})


def _scope(ctx: TaskContext, inputs: Mapping[str, Any]) -> Scope:
    return Scope.of([relation_named(ctx, str(inputs.get("source")))])


def _renames_and_casts(ctx: TaskContext, scope: Scope) -> dict[str, dict[str, Any]]:
    labels = ranked_labels(ctx, scope)
    extra: dict[str, dict[str, Any]] = {}
    if any(cue in ctx.text.lowered for cue in RENAME_CUES):
        names = ctx.output_names([], taken=scope.labels())
        if names:
            item = obj({"column": enum(labels), "name": enum(names)})
            extra["renames"] = array(item, 0, min(2, len(names)))
    if any(cue in ctx.text.lowered for cue in CAST_CUES):
        extra["casts"] = array(obj({"column": enum(labels), "type": enum(CAST_TYPES)}), 0, 2)
    return extra


class CopyInterval(Pattern[CopyParameters]):
    """Rows of the logical interval, some columns, renamed or cast, filtered."""

    name: ClassVar[str] = "copy_interval"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "sql"
    summary: ClassVar[str] = (
        "copy the rows of the logical date or interval from one table into the target "
        "(choose, rename or cast columns; filter rows)"
    )
    cues: ClassVar[tuple[str, ...]] = ("copy", "load", "stage", "extract", "new", "day's")
    parameters: ClassVar[type[BaseModel]] = CopyParameters
    all_rows_alternative: ClassVar[str | None] = "snapshot"

    def applies(self, ctx: TaskContext) -> bool:
        return any(time_labels(ctx, Scope.of([relation])) for relation in ctx.relations)

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        timed = [r for r in ctx.relations if time_labels(ctx, Scope.of([r]))]
        return obj({"source": enum(table_options(ctx, timed))})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        scope = _scope(ctx, inputs)
        properties = {
            "time_column": enum(time_labels(ctx, scope)),
            "columns": columns_schema(ctx, scope),
            **_renames_and_casts(ctx, scope),
        }
        return with_filters(ctx, scope, properties)

    def render(self, params: CopyParameters, ctx: TaskContext) -> Rendered:
        scope = Scope.of([relation_named(ctx, params.source)])
        require_temporal(scope, params.time_column, ctx.dialect)
        labels = expand_columns([*params.columns, params.time_column], scope.labels())
        renames = {rename.column: rename.name for rename in params.renames}
        casts = {cast.column: cast.type for cast in params.casts}
        unknown = sorted((set(renames) | set(casts)) - set(labels))
        require(not unknown, f"renames or casts of columns not copied: {', '.join(unknown)}")
        selected, outputs = [], []
        for label in labels:
            expression, output = output_column(scope, label, renames.get(label))
            if label in casts:
                target_type = exp.DataType.build(casts[label])
                expression = exp.alias_(
                    exp.Cast(this=scope.expr(label), to=target_type), output.name
                )
                output = Column(name=output.name, type=casts[label])
            selected.append(expression)
            outputs.append(output)
        unique_outputs(outputs)
        time_output = renames.get(params.time_column, scope.column(params.time_column).name)
        require(
            params.time_column not in casts,
            "the time column keeps its type (rows are replaced by it)",
        )
        source_time = scope.column(params.time_column)
        conditions = [
            in_interval(scope.expr(params.time_column), source_time.type, ctx.dialect),
            *filter_conditions(params.filters, scope, ctx.dialect),
        ]
        query = exp.select(*selected).from_(scope.from_(ctx.in_schema)).where(exp.and_(*conditions))
        return rendered(ctx, rows_of_run(ctx, outputs, query, time_output), outputs)


class Snapshot(Pattern[SnapshotParameters]):
    """Every row, stamped with the logical date; that date's snapshot replaced."""

    name: ClassVar[str] = "snapshot"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "sql"
    summary: ClassVar[str] = (
        "copy every row of a table as the snapshot of the logical date (full copy, "
        "replacing that date's snapshot)"
    )
    cues: ClassVar[tuple[str, ...]] = (
        "snapshot", "full", "all rows", "entire", "whole", "export", "in days",
    )  # fmt: skip
    parameters: ClassVar[type[BaseModel]] = SnapshotParameters

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        return _single_source_inputs(ctx)

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        scope = _scope(ctx, inputs)
        properties = {
            "columns": columns_schema(ctx, scope),
            "date_column": date_choice(ctx, "snapshot", scope.labels()),
        }
        counts = stated_day_counts(ctx, scope)
        if counts:  # the words state each one: nothing to ask
            properties["day_counts"] = array({"enum": counts}, len(counts), len(counts))
        if any(link(phrase, scope.labels()) for phrase in grouping_phrases(ctx.task.description)):
            properties["distinct"] = enum(narrowed(ctx, [True], [True, False]))
        return with_filters(ctx, scope, properties)

    def render(self, params: SnapshotParameters, ctx: TaskContext) -> Rendered:
        scope = Scope.of([relation_named(ctx, params.source)])
        stamp, stamp_column = stamped(params.date_column)
        selected, outputs = copied(scope, expand_columns(params.columns, scope.labels()))
        selected, outputs = [stamp, *selected], [stamp_column, *outputs]
        for count in params.day_counts:
            require_temporal(scope, count.column, ctx.dialect)
            days = days_to_logical_date(day_of(scope, count.column, ctx.dialect), ctx.dialect)
            selected.append(exp.alias_(days, count.name))
            outputs.append(Column(name=count.name, type="BIGINT"))
        unique_outputs(outputs)
        query = exp.select(*selected).from_(scope.from_(ctx.in_schema))
        condition = where(filter_conditions(params.filters, scope, ctx.dialect))
        if condition is not None:
            query = query.where(condition)
        if params.distinct:
            query = query.distinct()
        return rendered(ctx, rows_of_run(ctx, outputs, query, None), outputs)


class MaskPii(Pattern[MaskParameters]):
    """A copy with personal columns hashed (MD5, still joinable), masked or emptied."""

    name: ClassVar[str] = "mask_pii"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "sql"
    summary: ClassVar[str] = (
        "copy rows with personal columns (emails, names, phones...) hashed, masked or "
        "emptied, for the logical interval or as a dated snapshot"
    )
    cues: ClassVar[tuple[str, ...]] = (
        "mask", "hash", "pii", "anonymize", "anonymise", "pseudonymize", "redact", "gdpr",
        "personal", "privacy",
    )  # fmt: skip
    parameters: ClassVar[type[BaseModel]] = MaskParameters

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        return _single_source_inputs(ctx)

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        scope = _scope(ctx, inputs)
        labels = ranked_labels(ctx, scope)
        personal = [label for label in labels if any(word in label.lower() for word in PII_WORDS)]
        ordered = [*personal, *(label for label in labels if label not in personal)]
        methods = ["hash", "mask", "null"]
        if "mask" in ctx.text.lowered and "hash" not in ctx.text.lowered:
            methods = ["mask", "hash", "null"]
        masked = array(
            obj({"column": enum(ordered), "method": enum(methods)}), 1, max(1, len(personal))
        )
        times = time_labels(ctx, scope)
        properties = {
            "masked": masked,
            "time_column": enum([*times, NONE]),
            "date_column": date_choice(ctx, None, scope.labels()),
        }
        return with_filters(ctx, scope, properties)

    def render(self, params: MaskParameters, ctx: TaskContext) -> Rendered:
        scope = Scope.of([relation_named(ctx, params.source)])
        methods = {masking.column: masking.method for masking in params.masked}
        for label in methods:
            scope.column(label)  # refuses unknown columns
        selected: list[exp.Expr] = []
        outputs: list[Column] = []
        if params.time_column is None:
            stamp, stamp_column = stamped(params.date_column)
            selected, outputs = [stamp], [stamp_column]
        for label in scope.labels():
            expression, output = output_column(scope, label)
            method = methods.get(label)
            if method is not None:
                expression = exp.alias_(_masked(scope.expr(label), method), output.name)
                output = Column(name=output.name, type="VARCHAR")
            selected.append(expression)
            outputs.append(output)
        unique_outputs(outputs)
        conditions = filter_conditions(params.filters, scope, ctx.dialect)
        if params.time_column is not None:
            require_temporal(scope, params.time_column, ctx.dialect)
            require(params.time_column not in methods, "the time column cannot be masked")
            source_time = scope.column(params.time_column)
            conditions.insert(
                0, in_interval(scope.expr(params.time_column), source_time.type, ctx.dialect)
            )
        query = exp.select(*selected).from_(scope.from_(ctx.in_schema))
        condition = where(conditions)
        if condition is not None:
            query = query.where(condition)
        time_output = scope.column(params.time_column).name if params.time_column else None
        return rendered(ctx, rows_of_run(ctx, outputs, query, time_output), outputs)


def stated_day_counts(ctx: TaskContext, scope: Scope) -> list[dict[str, str]]:
    """The ages in days the description asks for ("tenure in days", "days since
    signup"), as answers: the date column the words link to (else the first one) and a
    name the tests or later tasks use (``tenure_days``), else ``<words>_days``."""
    times = time_labels(ctx, scope)
    names = [name for name in ctx.output_names([], scope.labels()) if "day" in name_words(name)]
    found: list[dict[str, str]] = []
    for phrase in day_counts(ctx.task.description):
        column = link(phrase, times) or (times[0] if times else None)
        said = set(words(phrase))
        name = next((n for n in names if said & set(name_words(n))), None)
        if column is not None:
            found.append({"column": column, "name": name or f"{'_'.join(words(phrase))}_days"})
    return found


def _masked(value: exp.Expr, method: str) -> exp.Expr:
    text = exp.Cast(this=value, to=exp.DataType.build("VARCHAR"))
    if method == "hash":
        return exp.MD5(this=text)
    if method == "mask":
        return exp.Literal.string("***")
    return exp.Cast(this=exp.Null(), to=exp.DataType.build("VARCHAR"))
