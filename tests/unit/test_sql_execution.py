"""The DuckDB dry run of generated SQL on sample rows: what it reports, what it lets pass."""

from __future__ import annotations

import pytest

from airflow_llm.spec import SourceTable
from airflow_llm.validate.sql_execution import duckdb_statements, execution_findings

SOURCES = [
    SourceTable(
        name="raw.orders",
        columns={"order_id": "BIGINT", "amount": "NUMERIC(12,2)", "ordered_at": "TIMESTAMP"},
    )
]
PARAMS = {"schema": "analytics_dev", "bucket": None}

CASES = {
    "insert_into_a_new_table": (
        "INSERT INTO {{ params.schema }}.totals (day, total)\n"
        "SELECT CAST(ordered_at AS DATE), SUM(amount) FROM raw.orders\n"
        "WHERE CAST(ordered_at AS DATE) = '{{ ds }}' GROUP BY 1",
        None,
    ),
    "create_table_as": ("CREATE TABLE stg AS SELECT * FROM raw.orders WHERE amount > 0", None),
    "upstream_table_not_declared": ("SELECT * FROM stg_orders", None),
    "unknown_column": ("SELECT customer_name FROM raw.orders", 'column "customer_name"'),
    "duplicate_column": (
        "CREATE TABLE t (order_id INT, order_id INT)",
        'Column with name "order_id" already exists',
    ),
    "type_mismatch": ("SELECT SUM(ordered_at) FROM raw.orders", "sum"),
    "file_access": ("SELECT * FROM read_csv('/etc/passwd')", "disabled by configuration"),
    "runaway_query": (
        "SELECT count(*) FROM range(10000000000) AS a, range(10000000000) AS b",
        "did not finish in 2 s",
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_execution_findings(name: str) -> None:
    sql, expected = CASES[name]
    findings = execution_findings(sql, "t.sql", "postgres", PARAMS, SOURCES, timeout=2)
    if expected is None:
        assert findings == []
    else:
        assert [f.rule for f in findings] == ["sql.execute"]
        assert expected in findings[0].message


def test_statements_are_rendered_and_translated_for_duckdb() -> None:
    statements = duckdb_statements(
        "INSERT INTO t (n) SELECT order_id::text FROM raw.orders WHERE ordered_at < '{{ ds }}'",
        "postgres",
        PARAMS,
    )
    assert statements == [
        "CREATE TABLE IF NOT EXISTS t AS SELECT * FROM "
        "(SELECT CAST(order_id AS TEXT) FROM raw.orders WHERE ordered_at < '2024-01-31') "
        "AS _shape(n) LIMIT 0",
        "INSERT INTO t (n) SELECT CAST(order_id AS TEXT) FROM raw.orders "
        "WHERE ordered_at < '2024-01-31'",
    ]


def test_each_script_sees_the_seeded_warehouse_as_it_was() -> None:
    """Scripts share a seeded database, each in a transaction that is rolled back."""
    created = "CREATE TABLE leftover AS SELECT order_id FROM raw.orders"
    assert execution_findings(created, "a.sql", "postgres", PARAMS, SOURCES) == []
    runaway = CASES["runaway_query"][0]
    assert execution_findings(runaway, "b.sql", "postgres", PARAMS, SOURCES, timeout=1)
    # neither left a trace: the table can be created again
    assert execution_findings(created, "c.sql", "postgres", PARAMS, SOURCES) == []
    twice = f"{created};\n{created}"
    [clash] = execution_findings(twice, "d.sql", "postgres", PARAMS, SOURCES)
    assert "already exists" in clash.message  # what a leftover table would have caused


@pytest.mark.parametrize(
    "statement", ["COMMIT", "BEGIN TRANSACTION", "ATTACH ':memory:' AS other", "SET threads = 4"]
)
def test_only_what_the_statement_policy_allows_runs(statement: str) -> None:
    sql = f"CREATE TABLE t AS SELECT 1 AS n;\n{statement}"
    findings = execution_findings(sql, "t.sql", "duckdb", PARAMS, SOURCES)
    assert [f.rule for f in findings] == ["policy.statement"]


def test_free_form_sql_tells_the_tasks_after_it_what_its_target_holds() -> None:
    """written_relation: the columns and types (in the spec's dialect) the dry run gives
    the table a free-form script writes, with an upstream task's table created empty."""
    from airflow_llm.patterns.context import Relation
    from airflow_llm.spec import Column
    from airflow_llm.validate.sql_execution import written_relation

    upstream = Relation("stg", (Column(name="order_id", type="BIGINT"),), produced_by="stage")
    sql = (
        "INSERT INTO {{ params.schema }}.totals (day, total, orders)\n"
        "SELECT CAST(o.ordered_at AS DATE), SUM(o.amount), COUNT(s.order_id)\n"
        "FROM raw.orders AS o JOIN {{ params.schema }}.stg AS s ON s.order_id = o.order_id\n"
        "GROUP BY 1"
    )
    relations = [Relation.of_source(source) for source in SOURCES] + [upstream]
    found = written_relation(sql, "build_totals", "postgres", PARAMS, relations)
    assert found is not None
    assert (found.name, found.produced_by) == ("totals", "build_totals")
    assert [(c.name, c.type) for c in found.columns] == [
        ("day", "DATE"),
        ("total", "DECIMAL(38, 2)"),
        ("orders", "BIGINT"),
    ]
    assert written_relation("SELECT 1", "t", "postgres", PARAMS, relations) is None
