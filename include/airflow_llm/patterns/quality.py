"""The quality pattern: typed checks over the columns of the table being checked,
rendered to a Great Expectations suite.

Each check is one of a few shapes (not null, unique, between, in set, row count,
increasing, freshness, length); the model picks shapes, columns of the checked table
and values the description states. Freshness needs the run's time, so its minimum is
a GX suite parameter (``$PARAMETER``) that the DAG's suite runner computes from
``data_interval_end`` and the check's ``max_age_hours``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, model_validator

from airflow_llm.patterns.base import (
    ParameterError,
    Pattern,
    Rendered,
    StrictParameters,
    choices,
    enum,
    obj,
    one_of,
)
from airflow_llm.patterns.clauses import Clause, clauses, mentions
from airflow_llm.patterns.common import distinct, relation_named, table_options
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.linking import Text, name_words, words
from airflow_llm.sql_types import family

Check = Literal[
    "not_null", "unique", "between", "in_set", "row_count_between", "increasing", "freshness",
    "length",
]  # fmt: skip
CHECK_CUES: dict[str, tuple[str, ...]] = {
    "row_count_between": (
        "at least one row", "has rows", "rows from", "row count", "at least", "empty", "one row",
    ),
    "not_null": ("not null", "no null", "never null", "null", "missing", "present"),
    "unique": ("unique", "one row per", "no duplicate", "duplicate", "distinct"),
    "between": (
        "between", "negative", "positive", ">=", "<=", "at most", "range", "greater", "less",
    ),
    "in_set": ("one of", "in set", "allowed", "valid values", " in ("),
    "length": ("letter", "characters", "length", "digit"),
    "increasing": ("increasing", "ascending", "monotonic"),
    "freshness": ("fresh", "within", "hours", "recent", "stale", "latest"),
}  # fmt: skip
FRESHNESS_PARAMETER = "freshness_min_{column}"
MAX_CHECKS = 12


class Expectation(StrictParameters):
    """One check; the fields a check type does not use stay empty."""

    check: Check
    column: str | None = None
    min: float | None = None
    max: float | None = None
    values: list[str | int | float] | None = None
    max_age_hours: int | None = Field(default=None, ge=1, le=24 * 366)
    length: int | None = Field(default=None, ge=1, le=1000)
    mostly: float | None = Field(default=None, gt=0, le=1)
    """The share of rows that must pass ("fewer than 1% nulls": 0.99); None: every row."""

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if not isinstance(data, str):
            return data
        match = re.match(r"^(\w+)\((.*)\)$", data.strip())
        if match is None:
            raise ValueError(f"not a check: {data!r}")
        fields: dict[str, Any] = {"check": match.group(1)}
        for argument in filter(None, (part.strip() for part in match.group(2).split(", "))):
            key, _, value = argument.partition("=")
            if not _:
                fields["column"] = argument
            elif key == "values":
                fields["values"] = value.split("|")
            else:
                fields[key] = json.loads(value)
        return fields

    def __str__(self) -> str:
        arguments = [self.column] if self.column else []
        for key in ("min", "max", "max_age_hours", "length", "mostly"):
            value = getattr(self, key)
            if value is not None:
                arguments.append(f"{key}={json.dumps(value)}")
        if self.values:
            arguments.append("values=" + "|".join(str(v) for v in self.values))
        return f"{self.check}({', '.join(arguments)})"


class SuiteParameters(StrictParameters):
    """Check ``table`` with ``expectations``."""

    table: str
    expectations: list[Expectation] = Field(min_length=1, max_length=MAX_CHECKS)


def check_budget(ctx: TaskContext) -> int:
    """How many checks the description states (cue phrases, at least one)."""
    counts = ctx.text.cue_counts(CHECK_CUES)
    stated = sum(1 for count in counts.values() if count) + max(0, counts.get("not_null", 0) - 1)
    return max(1, min(MAX_CHECKS, stated))


class ExpectationSuite(Pattern[SuiteParameters]):
    """A Great Expectations suite from typed checks."""

    name: ClassVar[str] = "expectations"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "quality"
    summary: ClassVar[str] = (
        "check a table: not null, unique, between, in set, row count, increasing, "
        "freshness or length of its columns"
    )
    parameters: ClassVar[type[BaseModel]] = SuiteParameters

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        return obj({"table": enum(table_options(ctx))})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """On a first answer, the checks the description's clauses state (all of them);
        when repairing, those or any check shape over the table's columns."""
        relation = relation_named(ctx, str(inputs.get("table")))
        stated = [str(check) for check in stated_checks(ctx, relation)]
        if stated and not ctx.repairing:
            return obj({"expectations": choices(stated, len(stated), len(stated))})
        ranked = ctx.text.rank_by_cues(list(CHECK_CUES), CHECK_CUES)
        variants = [_variant(check, relation, ctx) for check in ranked]
        offered = [variant for variant in variants if variant is not None]
        if stated:
            offered.insert(0, enum(stated))
        items = one_of(*offered) if len(offered) > 1 else offered[0]
        budget = max(check_budget(ctx), len(stated))
        return obj(
            {"expectations": {"type": "array", "items": items, "minItems": 1, "maxItems": budget}}
        )

    def render(self, params: SuiteParameters, ctx: TaskContext) -> Rendered:
        relation = relation_named(ctx, params.table)
        expectations = [
            _expectation(item, relation, ctx.dialect) for item in distinct(params.expectations)
        ]
        suite = {
            "name": f"{ctx.spec.name}.{ctx.task.name}",
            "table": relation.name,
            "expectations": expectations,
        }
        return Rendered(json.dumps(suite, indent=2, sort_keys=True) + "\n")


def _variant(check: str, relation: Relation, ctx: TaskContext) -> dict[str, Any] | None:
    """The answer shape of one check type over ``relation`` (None when no column fits)."""
    text = ctx.text
    names = text.rank_names(relation.column_names)
    kinds = {column.name: family(column.type, ctx.dialect) for column in relation.columns}
    numbers = [float(n) for n in text.numbers]
    if "negative" in text.lowered or "positive" in text.lowered:
        numbers = [0.0, *numbers]
    tag = {"check": enum([check])}
    if check in ("not_null", "unique"):
        return obj({**tag, "column": enum(names)})
    if check == "between":
        numeric = [n for n in names if kinds[n] in ("integer", "decimal")]
        if not numeric:
            return None
        bounds = distinct(numbers)
        low_first = any(
            cue in text.lowered for cue in ("negative", "at least", ">=", "greater", "positive")
        )
        return obj(
            {
                **tag,
                "column": enum(numeric),
                "min": enum([*bounds, None] if low_first or bounds else [None]),
                "max": enum([None, *bounds] if low_first else [*bounds[1:], None, *bounds[:1]]),
            }
        )
    if check == "in_set":
        values = [*text.quoted, *text.codes]
        if not values:
            return None
        return obj({**tag, "column": enum(names), "values": choices(values, 1, len(values))})
    if check == "row_count_between":
        return obj({**tag, "min": enum(distinct([1.0, *numbers])), "max": enum([None, *numbers])})
    if check == "increasing":
        ordered = [n for n in names if kinds[n] in ("integer", "decimal", "date", "timestamp")]
        return obj({**tag, "column": enum(ordered)}) if ordered else None
    if check == "freshness":
        times = [n for n in names if kinds[n] in ("date", "timestamp")]
        hours = distinct([int(n) for n in text.numbers if isinstance(n, int) and n > 0] + [24, 48])
        return obj({**tag, "column": enum(times), "max_age_hours": enum(hours)}) if times else None
    texts = [n for n in names if kinds[n] == "text"]
    lengths = distinct(
        [int(n) for n in text.numbers if isinstance(n, int) and 0 < n <= 1000] + [3, 2]
    )
    return obj({**tag, "column": enum(texts), "length": enum(lengths)}) if texts else None


def _expectation(item: Expectation, relation: Relation, dialect: str) -> dict[str, Any]:
    """The GX expectation of one check; :class:`ParameterError` when it cannot apply."""
    problems: list[str] = []
    column = relation.column(item.column) if item.column is not None else None
    needs_column = item.check != "row_count_between"
    if needs_column and column is None:
        raise ParameterError([f"{item.check}: {relation.name} has no column {item.column!r}"])
    kind = family(column.type, dialect) if column is not None else ""
    kwargs: dict[str, Any] = {"column": item.column} if needs_column else {}
    if item.mostly is not None and needs_column:
        kwargs["mostly"] = item.mostly
    meta: dict[str, Any] = {}
    if item.check == "not_null":
        gx_type = "expect_column_values_to_not_be_null"
    elif item.check == "unique":
        gx_type = "expect_column_values_to_be_unique"
    elif item.check == "between":
        gx_type = "expect_column_values_to_be_between"
        if kind not in ("integer", "decimal"):
            problems.append(f"between: {item.column} is not a number column")
        problems += _bounds(item)
        kwargs |= {"min_value": item.min, "max_value": item.max}
    elif item.check == "in_set":
        gx_type = "expect_column_values_to_be_in_set"
        if not item.values:
            problems.append("in_set: give the allowed values")
        kwargs["value_set"] = list(item.values or [])
    elif item.check == "row_count_between":
        gx_type = "expect_table_row_count_to_be_between"
        problems += _bounds(item)
        kwargs = {"min_value": _whole(item.min), "max_value": _whole(item.max)}
    elif item.check == "increasing":
        gx_type = "expect_column_values_to_be_increasing"
    elif item.check == "freshness":
        gx_type = "expect_column_max_to_be_between"
        if kind not in ("date", "timestamp"):
            problems.append(f"freshness: {item.column} is no date or timestamp column")
        kwargs["min_value"] = {"$PARAMETER": FRESHNESS_PARAMETER.format(column=item.column)}
        meta["max_age_hours"] = item.max_age_hours or 24
    else:
        gx_type = "expect_column_value_lengths_to_equal"
        if kind != "text":
            problems.append(f"length: {item.column} is not a text column")
        kwargs["value"] = item.length or 0
        if not item.length:
            problems.append("length: give the length")
    if problems:
        raise ParameterError(problems)
    kwargs = {key: value for key, value in kwargs.items() if value is not None}
    return {"type": gx_type, "kwargs": kwargs} | ({"meta": meta} if meta else {})


_EVERY_COLUMN = re.compile(r"\b(?:every|all|each)\s+((?:[a-z_]+\s+)*?)columns?\b")
_AT_MOST_SHARE = re.compile(
    r"\b(?:fewer than|less than|under|below|at most|no more than)\s+(\d+(?:\.\d+)?)\s*(?:%|percent)"
)


def _every_column(clause: Clause, relation: Relation, ctx: TaskContext) -> list[str] | None:
    """The columns a clause speaks of as a group: "every column" (all of ``relation``'s),
    "every activity column" (those only a table named with those words brings, here
    ``features_activity``); None when it speaks of no group."""
    match = _EVERY_COLUMN.search(clause.text.lower())
    if match is None:
        return None
    said = set(words(match.group(1)))
    if not said:
        return relation.column_names
    others = [r for r in ctx.relations if r.name != relation.name]
    named = [r for r in others if said <= set(name_words(r.name))]
    elsewhere = {name for r in others if r not in named for name in r.column_names}
    return [
        name
        for name in relation.column_names
        if any(r.column(name) is not None for r in named) and name not in elsewhere
    ]


def _share(lowered: str) -> float | None:
    """The share of rows that must pass when the words allow some to fail ("fewer than
    1% nulls" -> 0.99); None: every row."""
    match = _AT_MOST_SHARE.search(lowered)
    return None if match is None else round(1 - float(match.group(1)) / 100, 6)


def _bounds(item: Expectation) -> list[str]:
    if item.min is None and item.max is None:
        return [f"{item.check}: give a min, a max or both"]
    if item.min is not None and item.max is not None and item.min > item.max:
        return [f"{item.check}: min {item.min} is above max {item.max}"]
    return []


def _whole(value: float | None) -> int | None:
    return None if value is None else int(value)


def checked_columns(suite: Mapping[str, Any]) -> Sequence[str]:
    """The columns a rendered suite names."""
    return [
        e["kwargs"]["column"]
        for e in suite.get("expectations", [])
        if "column" in e.get("kwargs", {})
    ]


def stated_checks(ctx: TaskContext, relation: Relation) -> list[Expectation]:
    """The checks the description's clauses state on ``relation``: "order_id is unique
    and not null", "amount is between 0 and 100000", "no negative revenue", "has at
    least one row", "a three-letter code", "within 24 hours"..."""
    kinds = {column.name: family(column.type, ctx.dialect) for column in relation.columns}
    found: list[Expectation] = []
    for clause in clauses(ctx.task.description, relation.column_names):
        lowered, column = clause.text.lower(), clause.column
        numbers = Text(clause.text).numbers
        if mentions(clause, "at least one row", "has rows", "rows from", "not empty", "non-empty"):
            found.append(Expectation(check="row_count_between", min=1))
        elif mentions(clause, "row", "rows") and mentions(clause, "at least") and numbers:
            found.append(Expectation(check="row_count_between", min=float(numbers[0])))
        every = _every_column(clause, relation, ctx)
        if every is not None:  # "fewer than 1% nulls in every activity column"
            if mentions(clause, "null", "missing", "nulls"):
                share = _share(lowered)
                found += [Expectation(check="not_null", column=c, mostly=share) for c in every]
            continue
        if column is None:
            continue
        kind = kinds.get(column, "")
        if mentions(clause, "unique", "one row per", "duplicate", "distinct"):
            found.append(Expectation(check="unique", column=column))
        if mentions(clause, "null", "missing", "nulls"):
            found.append(Expectation(check="not_null", column=column, mostly=_share(lowered)))
        between = re.search(r"between\s+(-?[\d.]+)\s+and\s+(-?[\d.]+)", lowered)
        if kind in ("integer", "decimal"):
            if between:
                low, high = float(between.group(1)), float(between.group(2))
                found.append(Expectation(check="between", column=column, min=low, max=high))
            elif mentions(clause, "negative", "positive", "non-negative"):
                found.append(Expectation(check="between", column=column, min=0))
            elif (minimum := re.search(r"(?:>=|at least)\s*(-?[\d.]+)", lowered)) is not None:
                found.append(
                    Expectation(check="between", column=column, min=float(minimum.group(1)))
                )
            elif (maximum := re.search(r"(?:<=|at most)\s*(-?[\d.]+)", lowered)) is not None:
                found.append(
                    Expectation(check="between", column=column, max=float(maximum.group(1)))
                )
        if (
            kind == "text"
            and mentions(clause, "letter", "character", "length", "digit")
            and numbers
        ):
            found.append(Expectation(check="length", column=column, length=int(numbers[0])))
        values: list[str | int | float] = [*Text(clause.text).quoted, *Text(clause.text).codes]
        if kind == "text" and values and mentions(clause, "one of", "in", "either", "only"):
            found.append(Expectation(check="in_set", column=column, values=values))
        if mentions(clause, "increasing", "ascending", "monotonic"):
            found.append(Expectation(check="increasing", column=column))
        if kind in ("date", "timestamp") and mentions(clause, "fresh", "within", "stale", "recent"):
            hours = next((int(n) for n in numbers if isinstance(n, int) and n > 0), 24)
            found.append(Expectation(check="freshness", column=column, max_age_hours=hours))
    return list({str(check): check for check in found}.values())
