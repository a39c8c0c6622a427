"""Unit tests of a spec's tasks: given rows in, expected rows (or a verdict) out, on DuckDB.

Valid is not correct: SQL that lints, passes the policy and runs can still compute the
wrong thing. A task's ``tests`` (see :class:`airflow_llm.spec.UnitTest`) state what it
must do; here each runs in a fresh, locked-down in-memory DuckDB: the tables the task
reads are created with their declared types and filled with the given rows (others
left empty), the task's SQL runs (rendered at the test date and translated to DuckDB),
and the target's rows are compared with the expected ones on the columns the test
names (as multisets; numbers rounded to two decimals; dates and times as ISO text).
A SQL task's statements also run a second time: a task that leaves other rows after
a rerun for the same logical date is not idempotent. A quality task's suite runs on
its table's given rows and must pass or fail as the test says.

A mismatch is a finding with both row sets, so the repair loop can correct the SQL
(free-form) or the parameters (hybrid) against the stated intent.
"""

from __future__ import annotations

import datetime
import decimal
import json
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import duckdb
import sqlglot

from airflow_llm.patterns.context import Relation
from airflow_llm.spec import Row, TaskSpec, UnitTest
from airflow_llm.validate.findings import Finding
from airflow_llm.validate.sample_data import duckdb_type
from airflow_llm.validate.sql import SAMPLE_CONTEXT, written_tables
from airflow_llm.validate.sql_execution import SAFE_CONFIG, duckdb_statements

TIMEOUT_SECONDS = 10.0
SHOWN_ROWS = 8


def unit_test_findings(
    sql: str,
    filename: str,
    task: TaskSpec,
    relations: Sequence[Relation],
    dialect: str,
    params: Mapping[str, Any],
) -> list[Finding]:
    """Run every test of a SQL task on ``sql``; a finding per failed test."""
    if not task.tests:
        return []
    try:
        statements = duckdb_statements(sql, dialect, params)
    except sqlglot.errors.SqlglotError:
        return []  # the linters already say why it does not parse
    targets = written_tables(sql, dialect, params, qualified=True)
    if not targets:
        return [Finding(filename, None, "test.target", "the SQL writes no table to test")]
    findings = []
    for test in task.tests:
        problem = _run_sql_test(test, statements, targets[-1], relations, dialect, params)
        if problem:
            findings.append(
                Finding(filename, None, "test.failed", f"unit test {test.name!r}: {problem}")
            )
    return findings


def suite_test_findings(
    suite: Mapping[str, Any],
    filename: str,
    task: TaskSpec,
    relations: Sequence[Relation],
    dialect: str,
    params: Mapping[str, Any],
) -> list[Finding]:
    """Run every test of a quality task: the suite on the given rows, pass or fail."""
    findings = []
    for test in task.tests:
        problem = _run_suite_test(test, suite, relations, dialect, params)
        if problem:
            findings.append(
                Finding(filename, None, "test.failed", f"unit test {test.name!r}: {problem}")
            )
    return findings


@contextmanager
def _database(
    test: UnitTest, relations: Sequence[Relation], dialect: str, params: Mapping[str, Any]
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A fresh database holding every readable relation, with the test's given rows."""
    connection = duckdb.connect(":memory:", config=SAFE_CONFIG)
    timer = threading.Timer(TIMEOUT_SECONDS, connection.interrupt)
    timer.start()
    try:
        schema = params.get("schema")
        if schema:  # where the pipeline's own tables live
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        for relation in relations:
            names = [relation.name]
            if relation.produced_by is not None and schema and "." not in relation.name:
                names.append(f"{schema}.{relation.name}")
            for name in names:
                _create(connection, name, relation, dialect)
                _fill(connection, name, relation, _given_rows(test, relation))
        yield connection
    finally:
        timer.cancel()
        connection.close()


def _given_rows(test: UnitTest, relation: Relation) -> list[Row]:
    for table, rows in test.given.items():
        if table in (relation.name, relation.short_name):
            return rows
    return []


def _create(
    connection: duckdb.DuckDBPyConnection, name: str, relation: Relation, dialect: str
) -> None:
    if "." in name:
        connection.execute(f"CREATE SCHEMA IF NOT EXISTS {name.rsplit('.', 1)[0]}")
    columns = ", ".join(
        f'"{column.name}" {duckdb_type(column.type, dialect).sql("duckdb")}'
        for column in relation.columns
    )
    connection.execute(f"CREATE TABLE {name} ({columns})")


def _fill(
    connection: duckdb.DuckDBPyConnection, name: str, relation: Relation, rows: Sequence[Row]
) -> None:
    for row in rows:
        columns = [column for column in row if relation.column(column) is not None]
        if not columns:
            continue
        marks = ", ".join("?" for _ in columns)
        quoted = ", ".join(f'"{column}"' for column in columns)
        insert = f"INSERT INTO {name} ({quoted}) VALUES ({marks})"  # noqa: S608 - spec names
        connection.execute(insert, [row[column] for column in columns])


def _run_sql_test(
    test: UnitTest,
    statements: Sequence[str],
    target: str,
    relations: Sequence[Relation],
    dialect: str,
    params: Mapping[str, Any],
) -> str:
    """Why ``test`` fails on ``statements`` ('' when it passes)."""
    expected = test.expect if isinstance(test.expect, list) else []
    with _database(test, relations, dialect, params) as connection:
        try:
            for statement in statements:
                connection.execute(statement)
            first = _all_rows(connection, target)
            for statement in statements:
                connection.execute(statement)
            second = _all_rows(connection, target)
        except duckdb.Error as error:
            return f"the SQL fails on the given rows: {str(error).splitlines()[0]}"[:400]
        if Counter(first) != Counter(second):
            return (
                f"not idempotent: a second run for the same logical date leaves {len(second)} "
                f"rows in {target}, the first left {len(first)}"
            )
        names = list(dict.fromkeys(column for row in expected for column in row))
        found = [row[0] for row in connection.execute(f"DESCRIBE {target}").fetchall()]
        missing = [name for name in names if name not in found]
        if missing:
            return f"{target} has no column {', '.join(missing)} (it has {', '.join(found)})"
        if not names:
            actual_count = len(first)
            return "" if actual_count == 0 else f"expected no rows in {target}, got {actual_count}"
        columns = ", ".join(f'"{name}"' for name in names)
        actual = connection.execute(f"SELECT {columns} FROM {target}").fetchall()  # noqa: S608
    want = [tuple(comparable_cell(row.get(name)) for name in names) for row in expected]
    got = [tuple(comparable_cell(value) for value in row) for row in actual]
    if Counter(want) == Counter(got):
        return ""
    return (
        f"expected {len(want)} rows of ({', '.join(names)}): {_shown(want)}; "
        f"got {len(got)}: {_shown(got)}"
    )


def _all_rows(connection: duckdb.DuckDBPyConnection, table: str) -> list[tuple[Any, ...]]:
    rows = connection.execute(f"SELECT * FROM {table}").fetchall()  # noqa: S608 - parsed name
    return [tuple(comparable_cell(value) for value in row) for row in rows]


def _run_suite_test(
    test: UnitTest,
    suite: Mapping[str, Any],
    relations: Sequence[Relation],
    dialect: str,
    params: Mapping[str, Any],
) -> str:
    """Why the suite's verdict on the test's rows differs from the expected one."""
    table = str(suite.get("table"))
    relation = next((r for r in relations if table in (r.name, r.short_name)), None)
    if relation is None:
        return f"the suite checks {table}, which is not a table the task can read"
    with _database(test, [relation], dialect, params) as connection:
        frame = connection.execute(f"SELECT * FROM {relation.name}").df()  # noqa: S608
    failed = failed_expectations(suite, frame)
    verdict = "fail" if failed else "pass"
    if verdict == test.expect:
        return ""
    reason = f" ({', '.join(failed)} failed)" if failed else " (every expectation passed)"
    expected = f"expected the suite to {test.expect} on the given rows of {table}"
    return f"{expected}, it did {verdict}{reason}"


def failed_expectations(suite: Mapping[str, Any], frame: Any) -> list[str]:
    """The types of the suite's expectations that fail on a pandas ``frame``."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (
        context.data_sources.add_pandas("unit_test")
        .add_dataframe_asset(str(suite.get("name", "suite")))
        .add_batch_definition_whole_dataframe("rows")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    expectations = [
        {key: value for key, value in item.items() if key in ("type", "kwargs", "meta")}
        for item in suite.get("expectations", [])
    ]
    result = batch.validate(
        gx.ExpectationSuite(name=str(suite.get("name", "suite")), expectations=expectations),
        expectation_parameters=suite_parameters(suite, SAMPLE_CONTEXT["data_interval_end"]),
    )
    return [
        str(r.expectation_config.type)
        for r in result.results
        if not r.success and r.expectation_config
    ]


def suite_parameters(suite: Mapping[str, Any], interval_end: str) -> dict[str, str]:
    """Values of the suite's ``$PARAMETER`` s: a freshness check's oldest allowed time is
    its ``max_age_hours`` before the end of the run's interval."""
    end = datetime.datetime.fromisoformat(interval_end).replace(tzinfo=None)
    values = {}
    for item in suite.get("expectations", []):
        minimum = item.get("kwargs", {}).get("min_value")
        hours = item.get("meta", {}).get("max_age_hours")
        if isinstance(minimum, dict) and "$PARAMETER" in minimum and hours:
            oldest = end - datetime.timedelta(hours=int(hours))
            values[str(minimum["$PARAMETER"])] = oldest.isoformat(sep=" ")
    return values


def comparable_cell(value: Any) -> Any:
    """The comparable form of a value: numbers rounded, dates and times as ISO text."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | decimal.Decimal):
        return round(float(value), 2) + 0.0
    if isinstance(value, datetime.datetime):  # an instant with a zone: in UTC, as tests write it
        utc = value.astimezone(datetime.UTC) if value.tzinfo is not None else value
        return utc.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    text = str(value)
    try:
        moment = datetime.datetime.fromisoformat(text) if len(text) > 10 else None
    except ValueError:
        return text
    return comparable_cell(moment) if moment is not None else text


def _shown(rows: Sequence[tuple[Any, ...]]) -> str:
    listed = sorted(rows, key=json.dumps)[:SHOWN_ROWS]
    more = f" and {len(rows) - SHOWN_ROWS} more" if len(rows) > SHOWN_ROWS else ""
    return "[" + ", ".join(json.dumps(list(row)) for row in listed) + "]" + more
