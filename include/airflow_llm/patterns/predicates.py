"""Structured filters: a column, an operator and a value (or an Airflow macro), never text.

A model that fills a filter picks the column and the operator from enums and the value
from the literals its task's text holds; :func:`predicate_problems` refuses what would
not make sense (a text compared with ``<``, a number column with a word), and
:func:`predicate_sql` builds the condition with sqlglot.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any, Literal, get_args

import sqlglot.expressions as exp
from pydantic import BaseModel, ConfigDict, model_validator

from airflow_llm.sql_types import family, parse_type

Operator = Literal[
    "=", "!=", "<", "<=", ">", ">=", "in", "not in",
    "is null", "is not null", "is true", "is not true",
]  # fmt: skip
OPERATORS: tuple[str, ...] = get_args(Operator)
UNARY = frozenset({"is null", "is not null", "is true", "is not true"})
ORDERING = frozenset({"<", "<=", ">", ">="})
Scalar = str | bool | int | float
MACROS = ("{{ ds }}", "{{ data_interval_start }}", "{{ data_interval_end }}")
"""Airflow template values a filter may compare a date or timestamp column with."""

NEGATION_CUES = ("drop", "exclude", "remove", "skip", "without", "except", "filter out", "not")
"""Words that make a filter keep the rows that do *not* match (ranked first)."""


class Predicate(BaseModel):
    """``column operator value``: ``status = 'completed'``, ``is_test is not true``.

    Written as an object or as that text (what a model picks from a menu of stated
    filters); ``str()`` gives the text.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str
    operator: Operator
    value: Scalar | list[Scalar] | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if not isinstance(data, str):
            return data
        match = _TEXT.match(data.strip())
        if match is None:
            raise ValueError(f"not a filter: {data!r}")
        raw = match.group("value")
        value: Any = None
        if raw:
            value = (
                [_read(part) for part in raw.strip("()").split(", ")]
                if raw.startswith("(")
                else _read(raw)
            )
        return {
            "column": match.group("column"),
            "operator": match.group("operator"),
            "value": value,
        }

    def __str__(self) -> str:
        if self.operator in UNARY:
            return f"{self.column} {self.operator}"
        if isinstance(self.value, list):
            return f"{self.column} {self.operator} ({', '.join(_written(v) for v in self.value)})"
        return f"{self.column} {self.operator} {_written(self.value)}"


_TEXT = re.compile(
    r"^(?P<column>[A-Za-z_][\w.]*) (?P<operator>is not true|is true|is not null|is null|not in|in|"
    r"!=|<=|>=|=|<|>)(?: (?P<value>.+))?$"
)


def _written(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _read(text: str) -> Any:
    text = text.strip()
    if text in ("true", "false"):
        return text == "true"
    if text.startswith("'") and text.endswith("'"):
        return text[1:-1].replace("''", "'")
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text else number


def predicate_problems(predicate: Predicate, column_type: str | None, dialect: str) -> list[str]:
    """Why ``predicate`` cannot apply to a column of ``column_type`` (None: no such column)."""
    where = f"filter on {predicate.column!r}"
    if column_type is None:
        return [f"{where}: no such column"]
    kind = family(column_type, dialect)
    operator, value = predicate.operator, predicate.value
    if operator in UNARY:
        if operator in ("is true", "is not true") and kind != "boolean":
            return [f"{where}: {operator!r} needs a boolean column, not {column_type}"]
        return []
    values = value if isinstance(value, list) else [value]
    if operator in ("in", "not in") and (not isinstance(value, list) or not value):
        return [f"{where}: {operator!r} needs a list of values"]
    if operator not in ("in", "not in") and isinstance(value, list):
        return [f"{where}: {operator!r} compares with one value, not a list"]
    problems = [f"{where}: {_value_problem(v, kind)}" for v in values if _value_problem(v, kind)]
    if operator in ORDERING and kind in ("boolean", "text"):
        problems.append(f"{where}: {operator!r} does not order {kind} values")
    return problems


def _value_problem(value: Scalar | None, kind: str) -> str:
    if value is None:
        return "needs a value (or the operator 'is null')"
    if kind in ("integer", "decimal"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return "" if ok else f"compares a number column with {value!r}"
    if kind == "boolean":
        return "" if isinstance(value, bool) else f"compares a boolean column with {value!r}"
    if kind in ("date", "timestamp"):
        return "" if value in MACROS or _is_date(value) else f"{value!r} is no date or macro"
    if isinstance(value, str) and value in MACROS:
        return f"compares a {kind} column with a date macro"
    return ""


def _is_date(value: object) -> bool:
    try:
        date.fromisoformat(str(value)[:10])
    except ValueError:
        return False
    return isinstance(value, str)


def predicate_sql(
    predicate: Predicate, column: exp.Expr, column_type: str, dialect: str
) -> exp.Expr:
    """The condition, with values typed like the column (dates and macros cast)."""
    operator = predicate.operator
    if operator == "is null":
        return exp.Is(this=column, expression=exp.Null())
    if operator == "is not null":
        return exp.Not(this=exp.Is(this=column, expression=exp.Null()))
    if operator == "is true":
        return exp.EQ(this=column, expression=exp.true())
    if operator == "is not true":  # NULL is not true either
        return exp.Not(this=exp.Coalesce(this=column, expressions=[exp.false()]))
    value = predicate.value
    if isinstance(value, list):  # in, not in
        listed = [_literal(v, column_type, dialect) for v in value]
        found = exp.In(this=column, expressions=listed)
        return exp.Not(this=found) if operator == "not in" else found
    if value is None:
        raise ValueError(f"{predicate} compares with no value")  # predicate_problems says so
    right = _literal(value, column_type, dialect)
    builders: dict[str, type[exp.Binary]] = {
        "=": exp.EQ, "!=": exp.NEQ, "<": exp.LT, "<=": exp.LTE, ">": exp.GT, ">=": exp.GTE,
    }  # fmt: skip
    return builders[operator](this=column, expression=right)


def _literal(value: Scalar, column_type: str, dialect: str) -> exp.Expr:
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    if family(column_type, dialect) in ("date", "timestamp"):
        return exp.Cast(this=exp.Literal.string(value), to=parse_type(column_type, dialect).copy())
    return exp.Literal.string(value)


def all_of(conditions: Sequence[exp.Expr]) -> exp.Expr | None:
    """The conjunction of ``conditions`` (None when there are none)."""
    if not conditions:
        return None
    return exp.and_(*conditions) if len(conditions) > 1 else conditions[0]
