"""Sample rows for a spec's source tables, loaded into an embedded DuckDB warehouse.

Rows are deterministic (seeded by table name) and respect the declared column types
(translated to DuckDB's with sqlglot). Timestamps and dates fall on the smoke run's
logical date and the day before, so daily filters select rows; a few timestamps fall in
the last hour of the day before, so hourly ones do too. A few edge cases are
always there: a NULL in every column that does not look like a key, and one row
duplicated exactly.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb
import sqlglot.expressions as exp

from airflow_llm.spec import Column, SourceTable
from airflow_llm.sql_types import (
    DECIMALS,
    DOCUMENTS,
    INTEGERS,
    SCALARS,
    TEXT,
    TIMESTAMPS,
    parse_type,
)
from airflow_llm.validate.sql import SAMPLE_CONTEXT

ROWS_PER_TABLE = 12
HOURLY_ROWS = (1, 3)
"""Rows whose timestamps fall in the hour before the logical date: the data interval of
an hourly run (``dag.test()`` of an hourly DAG reads that hour), so it selects rows too."""
SAMPLE_DATE = date.fromisoformat(SAMPLE_CONTEXT["ds"])
"""The logical date of the sample context, which sample timestamps fall on."""
_KEY_COLUMN = re.compile(r"(^id$|_id$|_key$)")
_Type = exp.DataType.Type


@dataclass(frozen=True)
class SampleTable:
    """A source table as DuckDB DDL plus its rows."""

    name: str
    columns: list[tuple[str, str]]
    rows: list[tuple[Any, ...]]

    @property
    def ddl(self) -> str:
        """``CREATE TABLE`` for DuckDB."""
        columns = ", ".join(f'"{name}" {sql_type}' for name, sql_type in self.columns)
        return f"CREATE TABLE {self.name} ({columns})"


def duckdb_type(declared: str, dialect: str) -> exp.DataType:
    """The declared column type in DuckDB terms: documents (VARIANT, STRUCT...) become
    JSON, types without sample values (arrays, binary...) and unreadable ones VARCHAR."""
    parsed = parse_type(declared, dialect)
    if parsed.this in DOCUMENTS:
        return exp.DataType.build("JSON")
    return parsed.copy() if parsed.this in SCALARS else exp.DataType.build("VARCHAR")


def sample_table(
    table: SourceTable, dialect: str, logical_date: date, rows: int = ROWS_PER_TABLE
) -> SampleTable:
    """Deterministic sample rows for ``table`` with NULLs and one duplicate row."""
    generator = random.Random(table.name)  # noqa: S311 - sample data, not secrets
    types = [duckdb_type(column.type, dialect) for column in table.columns]
    values = [
        tuple(
            _value(column, sql_type, index, generator, logical_date)
            for column, sql_type in zip(table.columns, types, strict=True)
        )
        for index in range(rows - 1)
    ]
    for position, column in enumerate(table.columns):
        if column.nullable and not _KEY_COLUMN.search(column.name.lower()):
            row = list(values[(position + 1) % len(values)])
            row[position] = None
            values[(position + 1) % len(values)] = tuple(row)
    values.append(values[0])
    columns = [(c.name, t.sql("duckdb")) for c, t in zip(table.columns, types, strict=True)]
    return SampleTable(table.name, columns, values)


def seed_warehouse(
    connection: duckdb.DuckDBPyConnection,
    sources: Sequence[SourceTable],
    dialect: str,
    logical_date: date,
    schemas: Sequence[str | None] = (),
) -> list[SampleTable]:
    """Create ``schemas`` and the ``sources`` with their sample rows in ``connection``."""
    tables = [sample_table(source, dialect, logical_date) for source in sources]
    wanted = {s for s in schemas if s} | {t.name.rsplit(".", 1)[0] for t in tables if "." in t.name}
    for schema in sorted(wanted):
        connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for table in tables:
        connection.execute(table.ddl)
        marks = ", ".join("?" for _ in table.columns)
        insert = f"INSERT INTO {table.name} VALUES ({marks})"  # noqa: S608 - spec names
        connection.executemany(insert, table.rows)
    return tables


def _value(
    column: Column, sql_type: exp.DataType, index: int, generator: random.Random, day: date
) -> Any:
    kind = sql_type.this
    if kind in INTEGERS:
        return index + 1 if _KEY_COLUMN.search(column.name.lower()) else generator.randint(0, 500)
    if kind in DECIMALS:
        return Decimal(generator.randint(0, 100_000)) / 100
    if kind == _Type.BOOLEAN:
        return index % 3 == 0
    if kind in TIMESTAMPS:
        moment = datetime(day.year, day.month, day.day) - timedelta(days=index % 2)
        minutes = generator.randint(0, 24 * 60 - 1)
        if index in HOURLY_ROWS:  # in the last hour before the logical date
            minutes = 23 * 60 + minutes % 60
        return moment + timedelta(minutes=minutes)
    if kind == _Type.DATE:
        return day - timedelta(days=index % 2)
    if kind == _Type.JSON:
        return '{"sample": ' + str(index) + "}"
    text = f"{column.name}_{index % 5}"
    length = sql_type.find(exp.Literal)
    return text[-int(length.this) :] if length is not None and kind in TEXT else text
