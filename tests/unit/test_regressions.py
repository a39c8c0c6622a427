"""Failures first seen when measuring the embedded model on the example specs."""

from __future__ import annotations

from pathlib import Path

from airflow_llm.settings import GenerationSettings
from airflow_llm.validate.mypy_batch import mypy_findings
from airflow_llm.validate.sql import SqlValidator


def test_sql_that_cannot_be_templated_is_a_finding_not_a_crash() -> None:
    sql = "SELECT {% for x in %} FROM t\n"
    fixed, findings = SqlValidator().check(sql, "t.sql", "postgres", {})
    assert fixed == sql
    assert "TMP" in {finding.rule for finding in findings}


def test_mypy_reports_name_the_files_just_checked_when_the_cache_is_warm(tmp_path: Path) -> None:
    settings = GenerationSettings(work_dir=tmp_path)
    cache = tmp_path / "cache"
    for _ in range(2):  # the second run hits mypy's cache for the same module name
        with settings.scratch_dir("same-module") as root:
            (root / "f_function.py").write_text("def f(x: int) -> str:\n    return x\n")
            findings = mypy_findings([root / "f_function.py"], cache, root)
        assert [(f.file, f.line) for f in findings] == [("f_function.py", 2)]


def test_sql_nested_beyond_the_parsers_recursion_limit_is_a_finding() -> None:
    from airflow_llm.validate.sql import statement_policy, written_tables

    sql = "SELECT " + "(" * 3000 + "1" + ")" * 3000 + "\n"
    findings = statement_policy(sql, "t.sql", "postgres", {})
    assert [f.rule for f in findings] == ["policy.parse"]
    assert written_tables(sql, "postgres", {}) == []
