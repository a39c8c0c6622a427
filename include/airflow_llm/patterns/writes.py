"""How patterns write: idempotent for a logical date, printed for the spec's dialect.

Every writing pattern ends in one of two shapes, so running a task twice for the same
logical date leaves the same rows:

- **replace**: ``CREATE TABLE IF NOT EXISTS`` the target (columns and types known from
  the pattern), ``DELETE`` its rows of the logical date or interval, ``INSERT`` them
  again. The DAG runs the statements in one transaction (``SQLExecuteQueryOperator``
  with ``autocommit=False``), so readers never see the day half-replaced.
- **merge**: ``CREATE TABLE IF NOT EXISTS`` and one ``MERGE`` by key.

Rows of "the logical interval" are ``[data_interval_start, data_interval_end)`` for a
timestamp column and ``{{ ds }}`` for a date column.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlglot.expressions as exp

from airflow_llm.patterns.context import SCHEMA_PLACEHOLDER, SCHEMA_TEMPLATE
from airflow_llm.spec import Column
from airflow_llm.sql_types import family, parse_type, sqlglot_dialect

DS = "{{ ds }}"
INTERVAL_START = "{{ data_interval_start }}"
INTERVAL_END = "{{ data_interval_end }}"


def column(name: str, table: str | None = None) -> exp.Column:
    """A (qualified) column reference."""
    return exp.column(name, table=table)


def typed(value: str, declared: str, dialect: str) -> exp.Cast:
    """``CAST('<value>' AS <declared type>)``: a macro or literal typed like a column."""
    return exp.Cast(this=exp.Literal.string(value), to=parse_type(declared, dialect).copy())


def logical_date() -> exp.Cast:
    """``CAST('{{ ds }}' AS DATE)``."""
    return exp.Cast(this=exp.Literal.string(DS), to=exp.DataType.build("DATE"))


def days_to_logical_date(day: exp.Expr, dialect: str) -> exp.Expr:
    """Days from a date to the logical date: ``DATE_DIFF`` in the dialect's words (in
    PostgreSQL a date minus a date is the days between them)."""
    if dialect == "postgres":
        return exp.Sub(this=logical_date(), expression=day)
    return exp.DateDiff(this=logical_date(), expression=day, unit=exp.var("DAY"))


def in_interval(expression: exp.Expr, declared: str, dialect: str) -> exp.Expr:
    """Whether a date or timestamp value falls in the run's logical interval."""
    if family(declared, dialect) == "date":
        return exp.EQ(this=expression, expression=logical_date())
    start = typed(INTERVAL_START, declared, dialect)
    end = typed(INTERVAL_END, declared, dialect)
    return exp.and_(
        exp.GTE(this=expression.copy(), expression=start),
        exp.LT(this=expression.copy(), expression=end),
    )


def create_target(target: exp.Table, columns: Sequence[Column], dialect: str) -> exp.Create:
    """``CREATE TABLE IF NOT EXISTS target (columns)``: the pattern knows its output."""
    definitions = [
        exp.ColumnDef(
            this=exp.to_identifier(column.name), kind=parse_type(column.type, dialect).copy()
        )
        for column in columns
    ]
    schema = exp.Schema(this=target.copy(), expressions=definitions)
    return exp.Create(this=schema, kind="TABLE", exists=True)


def delete_where(target: exp.Table, condition: exp.Expr) -> exp.Delete:
    """``DELETE FROM target WHERE condition``."""
    return exp.Delete(this=target.copy(), where=exp.Where(this=condition))


def insert_select(target: exp.Table, names: Sequence[str], query: exp.Query) -> exp.Insert:
    """``INSERT INTO target (names) <query>``."""
    schema = exp.Schema(this=target.copy(), expressions=[exp.to_identifier(n) for n in names])
    return exp.Insert(this=schema, expression=query)


def replace(
    target: exp.Table,
    columns: Sequence[Column],
    query: exp.Query,
    condition: exp.Expr,
    dialect: str,
) -> list[exp.Expr]:
    """Create the target if needed, delete the rows ``condition`` selects, insert ``query``."""
    names = [column.name for column in columns]
    return [
        create_target(target, columns, dialect),
        delete_where(target, condition),
        insert_select(target, names, query),
    ]


def merge(
    target: exp.Table,
    columns: Sequence[Column],
    keys: Sequence[str],
    query: exp.Query,
    dialect: str,
) -> list[exp.Expr]:
    """Create the target if needed and ``MERGE`` ``query``'s rows into it by ``keys``."""
    names = [column.name for column in columns]
    source = exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier("incoming")))
    on = exp.and_(
        *[exp.EQ(this=column(key, "existing"), expression=column(key, "incoming")) for key in keys]
    )
    updates = [
        exp.EQ(this=column(name), expression=column(name, "incoming"))
        for name in names
        if name not in keys
    ]
    insert = exp.Insert(
        this=exp.Tuple(expressions=[column(name) for name in names]),
        expression=exp.Tuple(expressions=[column(name, "incoming") for name in names]),
    )
    whens = []
    if updates:
        whens.append(exp.When(matched=True, then=exp.Update(expressions=updates)))
    whens.append(exp.When(matched=False, then=insert))
    statement = exp.Merge(
        this=exp.alias_(target.copy(), "existing", table=True),
        using=source,
        on=on,
        whens=exp.Whens(expressions=whens),
    )
    return [create_target(target, columns, dialect), statement]


def one_line(expression: exp.Expr, dialect: str) -> str:
    """``expression`` on one line in ``dialect``, the pipeline schema templated (for
    the DAG file)."""
    printed = expression.sql(dialect=sqlglot_dialect(dialect))
    return printed.replace(SCHEMA_PLACEHOLDER, SCHEMA_TEMPLATE)


def sql_text(statements: Sequence[exp.Expr], dialect: str) -> str:
    """The statements as one script in ``dialect``, the pipeline schema templated."""
    printed = [
        statement.sql(dialect=sqlglot_dialect(dialect), pretty=True, pad=4, indent=4)
        for statement in statements
    ]
    return ";\n\n".join(printed).replace(SCHEMA_PLACEHOLDER, SCHEMA_TEMPLATE) + ";\n"
