"""Data-driven policy tests (sqlfluff style): each case in ``fixtures/policy/*.yml`` names
the code it checks and the rules that must block it (none: it is allowed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_llm.validate.python_policy import policy_findings
from airflow_llm.validate.secrets import secret_findings
from airflow_llm.validate.sql import statement_policy

POLICY = Path(__file__).resolve().parent.parent / "fixtures" / "policy"
READ_ONLY = ["raw.orders"]
PARAMS = {"schema": "analytics", "bucket": None}


def cases(name: str) -> list[Any]:
    """``pytest.param`` per case of ``fixtures/policy/<name>.yml``, with the case's id."""
    document: dict[str, dict[str, Any]] = yaml.safe_load((POLICY / f"{name}.yml").read_text())
    return [pytest.param(case, id=case_id) for case_id, case in document.items()]


@pytest.mark.parametrize("case", cases("python"))
def test_python_policy(case: dict[str, Any]) -> None:
    findings = policy_findings(case["code"], "t.py", case.get("allowed_imports", ()))
    assert sorted({f.rule for f in findings}) == sorted(case["rules"]), findings


@pytest.mark.parametrize("case", cases("sql"))
def test_sql_policy(case: dict[str, Any]) -> None:
    dialect = case.get("dialect", "postgres")
    findings = statement_policy(case["sql"], "t.sql", dialect, PARAMS, READ_ONLY)
    assert sorted({f.rule for f in findings}) == sorted(case["rules"]), findings


@pytest.mark.parametrize("case", cases("secrets"))
def test_secrets_scan(case: dict[str, Any]) -> None:
    findings = secret_findings(case["text"], "f")
    assert sorted({f.rule for f in findings}) == sorted(case["rules"]), findings


def test_secret_findings_name_the_line_but_never_repeat_the_secret() -> None:
    text = "SELECT 1\n-- AKIAIOSFODNN7EXAMPLE\n"
    [finding] = secret_findings(text, "t.sql")
    assert (finding.file, finding.line, finding.severity) == ("t.sql", 2, "error")
    assert "AKIAIOSFODNN7EXAMPLE" not in finding.message
