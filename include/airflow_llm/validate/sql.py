"""SQL checks: sqlfluff (parse + lint, fix only what fails) and a statement policy (sqlglot).

One ``Linter`` per dialect is built once and reused. The Jinja templater sees the
Airflow context a task gets at run time (``ds``, ``data_interval_*``, ``params``,
``macros``...), so templated SQL is linted as Airflow would render it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import sqlglot
import sqlglot.expressions as exp
from sqlfluff.core import FluffConfig, Linter

from airflow_llm.validate.findings import Finding

# Parse and templating failures block; style rules that `fix` could not settle only warn.
BLOCKING_RULES = frozenset({"PRS", "TMP"})
LIBRARY_PATH = Path(__file__).parent / "jinja_library"

SAMPLE_CONTEXT: dict[str, str] = {
    "ds": "2024-01-31",
    "ds_nodash": "20240131",
    "ts": "2024-01-31T00:00:00+00:00",
    "ts_nodash": "20240131T000000",
    "logical_date": "2024-01-31 00:00:00+00:00",
    "data_interval_start": "2024-01-31 00:00:00+00:00",
    "data_interval_end": "2024-02-01 00:00:00+00:00",
    "prev_ds": "2024-01-30",
    "next_ds": "2024-02-01",
    "run_id": "scheduled__2024-01-31T00:00:00+00:00",
    "dag_run": "",
}
"""The Airflow context values SQL templates may use, with sample values."""

# sqlfluff dialect -> sqlglot dialect, where the names differ.
SQLGLOT_DIALECTS = {"ansi": "", "sparksql": "spark", "db2": "", "greenplum": "postgres"}

ALLOWED_STATEMENTS = (
    exp.Query,  # SELECT, UNION, WITH ... SELECT
    exp.Insert,
    exp.Merge,
    exp.Create,
    exp.Delete,
    exp.Update,
)

# SQL, not HTML: escaping would corrupt it.
_SQL_TEMPLATES = jinja2.Environment(undefined=jinja2.ChainableUndefined)  # noqa: S701

# SQL, not HTML: escaping would corrupt it.
_SQL_TEMPLATES = jinja2.Environment(undefined=jinja2.ChainableUndefined)  # noqa: S701

for _noisy in ("sqlfluff", "sqlfluff.linter", "sqlfluff.parser", "sqlfluff.templater"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)


@dataclass
class SqlValidator:
    """Lints and fixes SQL for one project run; reuses one Linter per (dialect, params)."""

    _linters: dict[tuple[str, str], Linter] = field(default_factory=dict, repr=False)

    def linter(self, dialect: str, params: Mapping[str, Any]) -> Linter:
        """The cached Linter for ``dialect`` whose Jinja context holds ``params``."""
        key = (dialect, repr(sorted(params.items())))
        if key not in self._linters:
            context = {**SAMPLE_CONTEXT, "params": repr(dict(params)), "var": "{'value': {}}"}
            configs: dict[str, Any] = {
                "core": {"max_line_length": 100},
                "templater": {"jinja": {"library_path": str(LIBRARY_PATH), "context": context}},
            }
            config = FluffConfig(
                overrides={"dialect": dialect, "templater": "jinja"}, configs=configs
            )
            self._linters[key] = Linter(config=config)
        return self._linters[key]

    def check(
        self, sql: str, filename: str, dialect: str, params: Mapping[str, Any]
    ) -> tuple[str, list[Finding]]:
        """Lint ``sql``; when it fails, apply sqlfluff's fixes and lint again.

        Returns the (possibly fixed) SQL and every finding that remains, plus the
        statement policy's findings.
        """
        linter = self.linter(dialect, params)
        text = sql if sql.endswith("\n") else sql + "\n"
        findings = self.lint(text, filename, dialect, params)
        if findings:
            linted = linter.lint_string(text, fix=True)
            # sqlfluff can only fix what it could template; templating errors are findings
            fixed = linted.fix_string()[0] if linted.templated_file is not None else text
            if fixed != text:
                text = fixed
                findings = self.lint(text, filename, dialect, params)
        return text, findings

    def lint(
        self, sql: str, filename: str, dialect: str, params: Mapping[str, Any]
    ) -> list[Finding]:
        """sqlfluff's findings for ``sql`` as it is, then the statement policy's."""
        violations = self.linter(dialect, params).lint_string(sql).get_violations()
        findings = [
            Finding(
                file=filename,
                line=violation.line_no or None,
                rule=violation.rule_code(),
                message=violation.desc(),
                severity="error" if violation.rule_code() in BLOCKING_RULES else "warning",
            )
            for violation in violations
        ]
        if not any(f.severity == "error" for f in findings):
            findings += statement_policy(sql, filename, dialect, params)
        return findings


def render_sql(sql: str, params: Mapping[str, Any]) -> str:
    """Render an Airflow SQL template with the sample context (for sqlglot and smoke runs)."""
    import airflow.sdk.execution_time.macros as macros

    return _SQL_TEMPLATES.from_string(sql).render(
        **SAMPLE_CONTEXT, params=dict(params), macros=macros, var={"value": {}}
    )


def statement_policy(
    sql: str, filename: str, dialect: str, params: Mapping[str, Any]
) -> list[Finding]:
    """Only reading and writing statements; DELETE and UPDATE need a WHERE clause."""
    read_dialect = SQLGLOT_DIALECTS.get(dialect, dialect) or None
    try:
        statements = sqlglot.parse(render_sql(sql, params), read=read_dialect)
    except (sqlglot.errors.SqlglotError, RecursionError) as error:  # nesting beyond sqlglot
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        return [Finding(filename, None, "policy.parse", f"sqlglot cannot parse: {message}")]
    except jinja2.TemplateError as error:
        return [Finding(filename, None, "policy.template", f"template error: {error}")]
    findings = []
    for statement in statements:
        if statement is None:
            continue
        kind = statement.key.upper()
        if not isinstance(statement, ALLOWED_STATEMENTS):
            findings.append(
                Finding(filename, None, "policy.statement", f"{kind} statements are not allowed")
            )
        elif isinstance(statement, exp.Delete | exp.Update) and not statement.args.get("where"):
            findings.append(
                Finding(filename, None, "policy.where", f"{kind} without WHERE is not allowed")
            )
    if not findings and not any(s is not None for s in statements):
        findings.append(Finding(filename, None, "policy.empty", "the script has no statement"))
    return findings


def written_tables(sql: str, dialect: str, params: Mapping[str, Any]) -> list[str]:
    """Tables the script writes (INSERT, MERGE, CREATE targets), best effort."""
    read_dialect = SQLGLOT_DIALECTS.get(dialect, dialect) or None
    try:
        statements = sqlglot.parse(render_sql(sql, params), read=read_dialect)
    except (sqlglot.errors.SqlglotError, RecursionError, jinja2.TemplateError):
        return []
    tables = []
    for statement in statements:
        if isinstance(statement, exp.Insert | exp.Merge | exp.Create):
            target = statement.this
            table = target if isinstance(target, exp.Table) else target.find(exp.Table)
            if table is not None and table.name:
                tables.append(table.name)
    return tables
