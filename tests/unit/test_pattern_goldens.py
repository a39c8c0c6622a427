"""Golden files of the SQL patterns (black and sqlfluff style): cases in, exact SQL out.

Each case is ``tests/fixtures/patterns/<pattern>/<case>.yml``: ``spec``, a small
pipeline spec without a dialect (sources with columns and types, environments, one
SQL task with its description), and ``parameters``, a model's answer for the pattern
``<pattern>``. For every dialect of :data:`DIALECTS` the case's spec gets that
dialect, the answer is completed (``Pattern.complete`` derives output names from the
task's words), parsed and rendered, and the SQL must equal the golden file
``<case>.<dialect>.sql`` beside the case, byte for byte.

Each golden must also be clean as written: sqlfluff finds no error in it and
``SqlValidator.check`` (lint, then sqlfluff's fixes when anything is found) returns it
unchanged, the statement policy accepts it with the spec's sources read-only, and it
runs on DuckDB sample rows of the sources. Goldens that sqlfluff's fixes still change
are listed in :data:`KNOWN_LINT_DRIFT` (strict xfail: renderer bugs, kept visible).

A YAML key ``on`` (join_enrich's join conditions) must be quoted: ``"on":`` (YAML 1.1
reads a bare ``on`` as ``true``).

After an intended change of a renderer (or a new case), rewrite the goldens with::

    AIRFLOW_LLM_UPDATE_GOLDENS=1 .venv/bin/pytest -n 0 tests/unit/test_pattern_goldens.py

and review ``git diff tests/fixtures/patterns`` before committing it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_llm.patterns import context_for, pattern_named, patterns_for
from airflow_llm.patterns.base import Rendered
from airflow_llm.spec import PipelineSpec
from airflow_llm.validate.findings import errors
from airflow_llm.validate.sql import SqlValidator, statement_policy
from airflow_llm.validate.sql_execution import execution_findings

CASES_ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "patterns"
DIALECTS = ("postgres", "snowflake", "bigquery", "duckdb", "ansi")
UPDATE = os.environ.get("AIRFLOW_LLM_UPDATE_GOLDENS") == "1"
VALIDATOR = SqlValidator()


@dataclass(frozen=True)
class Case:
    """One fixture file: a pattern, the spec data and the answer."""

    pattern: str
    name: str
    spec: dict[str, Any]
    parameters: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.pattern}/{self.name}"

    def golden(self, dialect: str) -> Path:
        return CASES_ROOT / self.pattern / f"{self.name}.{dialect}.sql"

    def pipeline(self, dialect: str) -> PipelineSpec:
        return PipelineSpec.model_validate({**self.spec, "dialect": dialect})

    def render(self, dialect: str) -> Rendered:
        spec = self.pipeline(dialect)
        assert spec.tasks is not None
        assert len(spec.tasks) == 1, "a case has one task"
        ctx = context_for(spec, spec.tasks[0], {})
        pattern = pattern_named(self.pattern)
        return pattern.render(pattern.parse(pattern.complete(self.parameters, ctx)), ctx)

    def sql_params(self, dialect: str) -> dict[str, Any]:
        """The template params of the spec's first environment, as generation passes them."""
        environment = next(iter(self.pipeline(dialect).environments.values()))
        return {"schema": environment.schema_, "bucket": environment.bucket, **environment.vars}


def load_cases() -> list[Case]:
    cases = []
    for path in sorted(CASES_ROOT.glob("*/*.yml")):
        data = yaml.safe_load(path.read_text())
        assert set(data) == {"spec", "parameters"}, f"{path}: spec and parameters only"
        assert "dialect" not in data["spec"], f"{path}: the test sets the dialect"
        cases.append(Case(path.parent.name, path.stem, data["spec"], data["parameters"]))
    return cases


CASES = load_cases()

MERGE_LAYOUT = (
    "sqlglot prints MERGE's WHEN clauses unindented and INSERT ... VALUES on one line: "
    "sqlfluff's LT02/LT05 fixes rewrite it (patterns/writes.py merge)"
)
LONG_WINDOW = (
    "ROW_NUMBER() OVER (PARTITION BY ... ORDER BY ... NULLS LAST) AS row_rank is printed on "
    "one line past 100 characters: sqlfluff's LT05 fix rewraps it"
)
JOIN_ON = "a join ON two conditions keeps the first on the ON line: sqlfluff's LT02 fix moves it"
ANSI_DATE_SUB = (
    "ansi prints DATE_SUB(date, 6, DAY) (sqlglot's default dialect, not ANSI SQL): sqlfluff "
    "reads DAY as an identifier and its CP02 fix lower-cases it"
)
ANSI_DATE_DIFF = (
    "ansi prints DATEDIFF(date, date, DAY): sqlfluff reads DAY as an identifier and its CP02 "
    "fix lower-cases it"
)
WINDOWED_CASE = (
    "COUNT(CASE WHEN <day> >= <first day> THEN ... END) wraps past 100 characters: sqlglot "
    "breaks the WHEN condition, sqlfluff's LT02 fix re-indents WHEN/THEN"
)
ALL = DIALECTS
KNOWN_LINT_DRIFT: dict[str, tuple[str, tuple[str, ...]]] = {
    "join_enrich/payments_converted_of_the_day": (JOIN_ON, ALL),
    "latest_per_key/latest_customer_state": (MERGE_LAYOUT, ALL),
    "latest_per_key/latest_reading_of_the_day": (LONG_WINDOW, ("postgres", "snowflake")),
    "aggregate/member_activity_over_days": (WINDOWED_CASE, ALL),
    "rolling_window/seven_day_revenue": (ANSI_DATE_SUB, ("ansi",)),
    "snapshot/member_tenure": (ANSI_DATE_DIFF, ("ansi",)),
    "upsert/customers_upsert": (MERGE_LAYOUT, ALL),
    "upsert/inventory_by_two_keys": (MERGE_LAYOUT, ALL),
}
"""Goldens that sqlfluff's fixes change (renderer bugs, warnings only): strict xfail, so a
renderer fix shows up as XPASS and its entry is removed here."""


def case_dialects(known: dict[str, tuple[str, tuple[str, ...]]] | None = None) -> list[Any]:
    params = []
    for case in CASES:
        for dialect in DIALECTS:
            reason, dialects = (known or {}).get(case.id, ("", ()))
            marks = pytest.mark.xfail(strict=True, reason=reason) if dialect in dialects else ()
            params.append(pytest.param(case, dialect, id=f"{case.id}.{dialect}", marks=marks))
    return params


CASE_DIALECTS = case_dialects()


def test_every_sql_pattern_has_a_case() -> None:
    covered = {case.pattern for case in CASES}
    assert covered == {pattern.name for pattern in patterns_for("sql")}


def test_no_golden_without_its_case() -> None:
    expected = {case.golden(dialect) for case in CASES for dialect in DIALECTS}
    stray = sorted(str(p.relative_to(CASES_ROOT)) for p in CASES_ROOT.glob("*/*.sql"))
    assert [p for p in stray if CASES_ROOT / p not in expected] == []


@pytest.mark.parametrize(("case", "dialect"), CASE_DIALECTS)
def test_rendered_sql_matches_golden(case: Case, dialect: str) -> None:
    rendered = case.render(dialect).content
    golden = case.golden(dialect)
    if UPDATE:
        golden.write_text(rendered)
    assert golden.exists(), f"no golden {golden.name}: run with AIRFLOW_LLM_UPDATE_GOLDENS=1"
    assert rendered == golden.read_text()


def golden_sql(case: Case, dialect: str) -> str:
    golden = case.golden(dialect)
    if not golden.exists():
        pytest.fail(f"no golden {golden.name}: run with AIRFLOW_LLM_UPDATE_GOLDENS=1")
    return golden.read_text()


@pytest.mark.parametrize(("case", "dialect"), CASE_DIALECTS)
def test_golden_has_no_lint_error_and_passes_the_policy(case: Case, dialect: str) -> None:
    sql, params = golden_sql(case, dialect), case.sql_params(dialect)
    sources = [source.name for source in case.pipeline(dialect).sources]
    assert errors(VALIDATOR.lint(sql, "task.sql", dialect, params, sources)) == []
    assert statement_policy(sql, "task.sql", dialect, params, sources) == []


@pytest.mark.parametrize(("case", "dialect"), case_dialects(KNOWN_LINT_DRIFT))
def test_golden_is_unchanged_by_sqlfluff(case: Case, dialect: str) -> None:
    sql, params = golden_sql(case, dialect), case.sql_params(dialect)
    sources = [source.name for source in case.pipeline(dialect).sources]
    fixed, _ = VALIDATOR.check(sql, "task.sql", dialect, params, sources)
    assert fixed == sql, "sqlfluff's fixes change the renderer's output"


@pytest.mark.parametrize(("case", "dialect"), CASE_DIALECTS)
def test_golden_runs_on_sample_rows(case: Case, dialect: str) -> None:
    sql, params = golden_sql(case, dialect), case.sql_params(dialect)
    sources = case.pipeline(dialect).sources
    assert execution_findings(sql, "task.sql", dialect, params, sources) == []
