"""Generated SQL on DuckDB: translation for the smoke run, and a dry run for the validators.

``duckdb_statements`` renders a task's SQL with the sample Airflow context, translates
it to DuckDB's dialect with sqlglot, and precedes each ``INSERT INTO t ... SELECT``
with ``CREATE TABLE IF NOT EXISTS t`` shaped like the SELECT: a production warehouse
already has the tables a pipeline inserts into, the sample one only has the sources.

``execution_findings`` runs those statements on sample rows of the spec's sources in
an in-memory DuckDB that cannot touch files, extensions or the network
(``enable_external_access = false``, configuration locked), with a memory cap and a
time limit. DuckDB's error (unknown column, type mismatch, duplicate column...) goes
back to the model like a linter's, so the repair loop fixes what would fail at run
time. Only SQL that passes the statement policy is executed.

Each script runs in a transaction that is rolled back, on a seeded database kept per
(sources, dialect, schema): opening and seeding one costs about 50 ms, more than most
scripts take to run.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import duckdb
import sqlglot
import sqlglot.expressions as exp

from airflow_llm.patterns.context import Relation
from airflow_llm.spec import Column, SourceTable
from airflow_llm.sql_types import parse_type, sqlglot_dialect
from airflow_llm.validate.findings import Finding, errors
from airflow_llm.validate.sample_data import SAMPLE_DATE, duckdb_type, seed_warehouse
from airflow_llm.validate.sql import (
    SAMPLE_CONTEXT,
    parse_rendered,
    statement_findings,
    template_policy,
)

SAFE_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "enable_external_access": False,
    "memory_limit": "256MB",
    "threads": 1,
}
_MISSING_TABLE = re.compile(r"Table with name ([\w.]+) does not exist")


class _SampleWarehouses:
    """Seeded in-memory DuckDB databases, the most recently used few, each used by one
    thread at a time inside a transaction that is always rolled back."""

    def __init__(self, size: int = 8) -> None:
        self._size = size
        self._guard = threading.Lock()
        self._open: OrderedDict[str, tuple[duckdb.DuckDBPyConnection, threading.Lock]] = (
            OrderedDict()
        )

    @contextmanager
    def transaction(
        self, sources: Sequence[SourceTable], dialect: str, schema: str | None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the sample warehouse of ``sources``, inside a transaction."""
        key = json.dumps([[s.model_dump(mode="json") for s in sources], dialect, schema])
        with self._guard:
            if key not in self._open:
                self._open[key] = (_seeded(sources, dialect, schema), threading.Lock())
            self._open.move_to_end(key)
            connection, lock = self._open[key]
            while len(self._open) > self._size:  # an evicted one closes once unused
                self._open.popitem(last=False)
        with lock:
            connection.execute("BEGIN TRANSACTION")
            try:
                yield connection
            finally:
                try:
                    connection.execute("ROLLBACK")
                except duckdb.Error:  # unusable now: the next script seeds a new one
                    with self._guard:
                        self._open.pop(key, None)


def _seeded(
    sources: Sequence[SourceTable], dialect: str, schema: str | None
) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(":memory:", config=SAFE_CONFIG)
    seed_warehouse(connection, sources, dialect, SAMPLE_DATE, [schema])
    connection.execute("SET enable_progress_bar = false")
    connection.execute("SET lock_configuration = true")
    return connection


_WAREHOUSES = _SampleWarehouses()


def duckdb_statements(
    sql: str, dialect: str, params: Mapping[str, Any], context: Mapping[str, str] = SAMPLE_CONTEXT
) -> list[str]:
    """``sql`` rendered with ``context`` and in DuckDB's dialect, insert targets created
    first.

    Raises ``sqlglot.errors.SqlglotError`` when sqlglot cannot read it.
    """
    return _in_duckdb(parse_rendered(sql, dialect, params, context))


def _in_duckdb(parsed: Sequence[exp.Expr]) -> list[str]:
    statements = []
    for statement in parsed:
        if isinstance(statement, exp.Insert) and isinstance(statement.expression, exp.Query):
            statements += _create_insert_target(statement)
        statements.append(statement.sql("duckdb"))
    return statements


def missing_table(error: str) -> str | None:
    """The table a DuckDB catalog error says does not exist (unqualified name)."""
    found = _MISSING_TABLE.search(error.replace('"', ""))
    return found.group(1).rsplit(".", 1)[-1].lower() if found else None


def execution_findings(
    sql: str,
    filename: str,
    dialect: str,
    params: Mapping[str, Any],
    sources: Sequence[SourceTable],
    timeout: float = 10.0,
) -> list[Finding]:
    """What DuckDB says when ``sql`` runs on sample rows of ``sources`` (empty when it
    ran, or when it only failed on a table no source declares: an upstream task's)."""
    try:
        parsed = parse_rendered(sql, dialect, params)
    except sqlglot.errors.SqlglotError:
        return []  # the linter and the policy already report what cannot be parsed
    # only what the statement policy allows runs on the shared warehouse (no transaction
    # control, no ATTACH or SET): callers normally checked already, so this finds nothing
    read_only = [source.name for source in sources]
    refused = errors(
        template_policy(sql, filename) or statement_findings(parsed, filename, read_only)
    )
    if refused:
        return refused
    statements = _in_duckdb(parsed)
    declared = {source.name.rsplit(".", 1)[-1].lower() for source in sources}
    with _WAREHOUSES.transaction(sources, dialect, params.get("schema")) as connection:
        timer = threading.Timer(timeout, connection.interrupt)
        timer.start()
        try:
            for statement in statements:
                connection.execute(statement)
        except duckdb.Error as error:
            table = missing_table(str(error))
            if table is not None and table not in declared:
                return []
            first_line = str(error).strip().splitlines()[0]
            if isinstance(error, duckdb.InterruptException):
                first_line = f"did not finish in {timeout:.0f} s on 12 sample rows a table"
            message = f"fails on sample data in DuckDB: {first_line}"
            return [Finding(filename, None, "sql.execute", message[:400])]
        finally:
            timer.cancel()
    return []


def _create_insert_target(insert: exp.Insert) -> list[str]:
    """DDL that creates the target of ``insert`` (empty, typed by its SELECT) if missing."""
    target = insert.this
    table = target.this if isinstance(target, exp.Schema) else target
    if not isinstance(table, exp.Table):
        return []
    alias = exp.TableAlias(
        this=exp.to_identifier("_shape"),
        columns=[column.copy() for column in getattr(target, "expressions", [])],
    )
    shape = exp.select("*").from_(exp.Subquery(this=insert.expression.copy(), alias=alias))
    create = exp.Create(this=table.copy(), kind="TABLE", exists=True, expression=shape.limit(0))
    schema = [f"CREATE SCHEMA IF NOT EXISTS {table.db}"] if table.db else []
    return [*schema, create.sql("duckdb")]


def written_relation(
    sql: str,
    task: str,
    dialect: str,
    params: Mapping[str, Any],
    relations: Sequence[Relation],
) -> Relation | None:
    """The table ``sql`` writes last, with the columns and types (in ``dialect``'s names)
    its dry run on sample data gives it; None when it writes no table or does not run.

    Free-form SQL does not say what its target holds; the tasks after it need to know.
    Tables of ``relations`` that upstream tasks write are created empty first.
    """
    try:
        parsed = parse_rendered(sql, dialect, params)
    except sqlglot.errors.SqlglotError:
        return None
    sources = [r for r in relations if r.produced_by is None]
    declared = [SourceTable(name=r.name, columns=list(r.columns)) for r in sources]
    targets = [
        ".".join(part.name for part in table.parts)
        for statement in parsed
        if isinstance(statement, exp.Insert | exp.Merge | exp.Create)
        and (
            table := (
                statement.this
                if isinstance(statement.this, exp.Table)
                else statement.this.find(exp.Table)
            )
        )
        is not None
    ]
    if not targets:
        return None
    schema = params.get("schema")
    with _WAREHOUSES.transaction(declared, dialect, schema) as connection:
        try:
            for relation in relations:
                if relation.produced_by is not None:
                    _create_empty(connection, relation, dialect, schema)
            for statement in _in_duckdb(parsed):
                connection.execute(statement)
            described = connection.execute(f"DESCRIBE {targets[-1]}").fetchall()
        except duckdb.Error:
            return None
    columns = [
        Column(
            name=str(name),
            type=parse_type(str(kind), "duckdb").sql(sqlglot_dialect(dialect) or None),
        )
        for name, kind, *_ in described
    ]
    name = (
        targets[-1].rsplit(".", 1)[-1]
        if schema and targets[-1].startswith(f"{schema}.")
        else targets[-1]
    )
    return Relation(name, tuple(columns), produced_by=task) if columns else None


def _create_empty(
    connection: duckdb.DuckDBPyConnection, relation: Relation, dialect: str, schema: str | None
) -> None:
    """An upstream task's table, empty, where SQL may look for it (bare and in ``schema``)."""
    columns = ", ".join(
        f'"{c.name}" {duckdb_type(c.type, dialect).sql("duckdb")}' for c in relation.columns
    )
    names = [relation.name] + (
        [f"{schema}.{relation.name}"] if schema and "." not in relation.name else []
    )
    for name in names:
        if "." in name:
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {name.rsplit('.', 1)[0]}")
        connection.execute(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")
