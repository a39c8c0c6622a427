"""The validators on hand-written good and bad artifacts."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_llm.spec import PipelineSpec
from airflow_llm.validate.mypy_batch import mypy_findings
from airflow_llm.validate.python_code import assemble_function
from airflow_llm.validate.python_policy import policy_findings
from airflow_llm.validate.quality import normalize_suite, suite_findings
from airflow_llm.validate.sql import SqlValidator, written_tables

PARAMS = {"schema": "analytics", "bucket": None}


@pytest.fixture(scope="module")
def sql() -> SqlValidator:
    return SqlValidator()


def rules(findings: list) -> list[str]:  # type: ignore[type-arg]
    return [f.rule for f in findings if f.severity == "error"]


def test_airflow_macros_render_in_the_linter(sql: SqlValidator) -> None:
    text = (
        "SELECT order_id\nFROM {{ params.schema }}.orders\n"
        "WHERE ordered_at >= '{{ macros.ds_add(ds, -1) }}' AND ordered_at < '{{ ds }}'\n"
    )
    fixed, findings = sql.check(text, "t.sql", "postgres", PARAMS)
    assert rules(findings) == []
    assert fixed == text, "clean SQL is not rewritten"


def test_lint_failures_are_fixed_only_when_they_fail(sql: SqlValidator) -> None:
    fixed, findings = sql.check("select a,b from t", "t.sql", "postgres", PARAMS)
    assert rules(findings) == []
    assert fixed == "select a, b from t\n"  # LT01 (spacing) fixed


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("selec x frm", "PRS"),
        ("DROP TABLE users", "policy.statement"),
        ("GRANT ALL ON t TO bob", "policy.statement"),
        ("DELETE FROM t", "policy.where"),
        ("UPDATE t SET a = 1", "policy.where"),
    ],
)
def test_blocked_sql(sql: SqlValidator, text: str, rule: str) -> None:
    _, findings = sql.check(text, "t.sql", "postgres", PARAMS)
    assert rule in rules(findings)


def test_delete_with_where_is_allowed(sql: SqlValidator) -> None:
    _, findings = sql.check("DELETE FROM t WHERE d = '{{ ds }}'", "t.sql", "postgres", PARAMS)
    assert rules(findings) == []


def test_written_tables() -> None:
    text = "INSERT INTO {{ params.schema }}.totals SELECT 1; CREATE TABLE x AS SELECT 2"
    assert written_tables(text, "postgres", PARAMS) == ["totals", "x"]


def test_function_goes_into_the_fixed_signature() -> None:
    answer = (
        "Here you go:\n```python\nimport json\nimport os\n\n"
        "def process(a, b):\n    '''docs'''\n    return helper(1)\n\n"
        "def helper(x: int) -> int:\n    return x\n```\nThanks!"
    )
    built = assemble_function(answer, "t.py", "python", "t", "Count the rows.")
    assert (
        "def run(config: dict[str, Any], upstream: dict[str, Any], item: Any = None) -> Any:"
        in built.source
    )
    assert '    """Count the rows."""\n    return helper(1)\n' in built.source
    assert "def helper(x: int) -> int:" in built.source
    assert "Thanks" not in built.source
    assert [f.rule for f in built.findings] == ["policy.import"], "os is not on the allow-list"


def test_syntax_errors_are_findings_with_lines() -> None:
    built = assemble_function("```python\ndef run(:\n```", "t.py", "python", "t", "d")
    assert [(f.rule, f.line) for f in built.findings] == [("python.syntax", 1)]


@pytest.mark.parametrize(
    "code",
    [
        "eval('1')",
        "exec('x = 1')",
        "__import__('os')",
        "import subprocess",
        "import socket",
        "from urllib import request",
        "import pickle",
        "import os\nos.system('ls')",
        "().__class__.__subclasses__()",
    ],
)
def test_policy_blocks_dangerous_code(code: str) -> None:
    assert policy_findings(code, "t.py"), code


def test_mypy_batch_reports_lines(tmp_path: Path) -> None:
    good = tmp_path / "good.py"
    bad = tmp_path / "bad.py"
    good.write_text("def f(x: int) -> int:\n    return x\n")
    bad.write_text("def f(x: int) -> str:\n    return x\n")
    findings = mypy_findings([good, bad], tmp_path / "cache", tmp_path)
    assert [(f.file, f.line, f.rule) for f in findings] == [("bad.py", 2, "mypy.return-value")]


def test_suite_checks_columns_and_loads_into_gx() -> None:
    spec = PipelineSpec.model_validate(
        {
            "name": "p",
            "description": "d",
            "sources": [{"name": "raw.orders", "columns": {"id": "INT"}}],
        }
    )
    good = normalize_suite(
        {
            "table": "orders",
            "expectations": [
                {
                    "type": "expect_column_values_to_be_unique",
                    "kwargs": {"column": "id", "regex": None},
                }
            ],
        },
        "p.check",
    )
    assert suite_findings(good, "s.json", spec) == []
    assert good["expectations"][0]["kwargs"] == {"column": "id"}
    unknown = normalize_suite(
        {
            "table": "orders",
            "expectations": [
                {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "nope"}}
            ],
        },
        "p.check",
    )
    assert [f.rule for f in suite_findings(unknown, "s.json", spec)] == ["gx.column"]
    broken = normalize_suite(
        {
            "table": "x; drop",
            "expectations": [{"type": "expect_column_values_to_be_between", "kwargs": {}}],
        },
        "p.check",
    )
    assert [f.rule for f in suite_findings(broken, "s.json", spec)] == ["gx.table"]
