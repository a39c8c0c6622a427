"""The cluster's local warehouse, the ``warehouse`` database of its PostgreSQL: a
published SQL task's own stated test, run for real by its generated DAG on the cluster.

``seed`` creates the bundle's source tables and fills them with the test's ``given``
rows, and creates the environment's schema; the DAG then runs for the tests' logical
date; ``mismatch`` compares the task's table with the test's ``expect`` rows the way
the unit-test gate does (named columns only, rows as a multiset, numbers rounded).
"""

from __future__ import annotations

from collections import Counter

import psycopg
from psycopg import sql

from airflow_llm.bundle.render import TasksDocument
from airflow_llm.spec import TaskSpec, UnitTest
from airflow_llm.validate.unit_tests import comparable_cell


def _table(name: str) -> sql.Identifier:
    return sql.Identifier(*name.split("."))


def seed(url: str, document: TasksDocument, task: TaskSpec, test: UnitTest, schema: str) -> None:
    """Empty source tables with the test's rows, the schema, and no output table yet."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        output = document.outputs[task.name].name
        conn.execute(
            sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(schema, *output.split(".")))
        )
        for source in document.sources:
            columns = sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(column.name), sql.SQL(column.type))
                for column in source.columns
            )
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(_table(source.name)))
            conn.execute(sql.SQL("CREATE TABLE {} ({})").format(_table(source.name), columns))
            for row in test.given.get(source.name, []):
                insert = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                    _table(source.name),
                    sql.SQL(", ").join(map(sql.Identifier, row)),
                    sql.SQL(", ").join(sql.Placeholder() * len(row)),
                )
                conn.execute(insert, list(row.values()))


def mismatch(url: str, document: TasksDocument, task: TaskSpec, test: UnitTest, schema: str) -> str:
    """Why the task's table differs from the test's ``expect`` rows ('' when it matches)."""
    expected = test.expect if isinstance(test.expect, list) else []
    names = list(dict.fromkeys(column for row in expected for column in row))
    table = sql.Identifier(schema, *document.outputs[task.name].name.split("."))
    query = sql.SQL("SELECT {} FROM {}").format(
        sql.SQL(", ").join(map(sql.Identifier, names)), table
    )
    with psycopg.connect(url) as conn:
        actual = conn.execute(query).fetchall()
    want = Counter(tuple(comparable_cell(row.get(name)) for name in names) for row in expected)
    got = Counter(tuple(comparable_cell(value) for value in row) for row in actual)
    if want == got:
        return ""
    return f"expected {sorted(map(str, want.elements()))}, got {sorted(map(str, got.elements()))}"
