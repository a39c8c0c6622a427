"""SQL checks: sqlfluff (parse + lint, fix only what fails) and a statement policy (sqlglot).

One ``Linter`` per dialect is built once and reused. The Jinja templater sees the
Airflow context a task gets at run time (``ds``, ``data_interval_*``, ``params``,
``macros``...), so templated SQL is linted as Airflow would render it.

Generated SQL is untrusted: its templates are rendered only in a Jinja sandbox (as
Airflow does) and may not reach connections or Python internals, and the statement
policy lets a task read, and write tables that are not the spec's sources, nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jinja2
import jinja2.sandbox
import sqlglot
import sqlglot.expressions as exp
from jinja2 import nodes
from sqlfluff.core import FluffConfig, Linter

from airflow_llm.sql_types import sqlglot_dialect
from airflow_llm.validate.findings import Finding

# Parse and templating failures block; style rules that `fix` could not settle only warn.
BLOCKING_RULES = frozenset({"PRS", "TMP"})
LINT_RULES = "core"
"""sqlfluff's stable, uncontroversial rule set: style rules only warn here, and the
rules outside it add a third to the time of a lint (65 ms against 48 ms for a 30-line
script on this machine)."""
LIBRARY_PATH = Path(__file__).parent / "jinja_library"


def run_context(logical_date: datetime, start: datetime, end: datetime) -> dict[str, str]:
    """The Airflow context values SQL templates may use, for a run of ``logical_date``
    over the data interval ``[start, end)`` (UTC datetimes)."""
    return {
        "ds": logical_date.date().isoformat(),
        "ds_nodash": logical_date.strftime("%Y%m%d"),
        "ts": logical_date.isoformat(),
        "ts_nodash": logical_date.strftime("%Y%m%dT%H%M%S"),
        "logical_date": str(logical_date),
        "data_interval_start": str(start),
        "data_interval_end": str(end),
        "prev_ds": (logical_date - timedelta(days=1)).date().isoformat(),
        "next_ds": (logical_date + timedelta(days=1)).date().isoformat(),
        "run_id": f"scheduled__{logical_date.isoformat()}",
        "dag_run": "",
    }


SAMPLE_LOGICAL_DATE = datetime(2024, 1, 31, tzinfo=UTC)
SAMPLE_CONTEXT = run_context(
    SAMPLE_LOGICAL_DATE, SAMPLE_LOGICAL_DATE, SAMPLE_LOGICAL_DATE + timedelta(days=1)
)
"""The context SQL is checked with: a daily run of the sample date."""

ALLOWED_STATEMENTS = (
    exp.Query,  # SELECT, UNION, WITH ... SELECT
    exp.Insert,
    exp.Merge,
    exp.Create,
    exp.Delete,
    exp.Update,
)
"""Statements a SQL task may run; everything else (DROP, TRUNCATE, GRANT, ALTER, COPY,
ATTACH, INSTALL, LOAD, PRAGMA, SET, CALL and other commands) is refused."""
ALLOWED_CREATE_KINDS = frozenset({"TABLE", "VIEW", "SCHEMA"})
WRITES = (exp.Insert, exp.Merge, exp.Create, exp.Delete, exp.Update)
FORBIDDEN_FUNCTIONS = frozenset(
    {
        "getenv", "read_text", "read_blob", "load_extension", "pg_read_file",
        "pg_read_binary_file", "pg_ls_dir", "pg_stat_file", "lo_import", "lo_export",
        "dblink", "dblink_exec", "dblink_connect", "pg_terminate_backend", "xp_cmdshell",
        "sys_exec", "sys_eval",
    }
)  # fmt: skip
"""Functions that read the server's environment or files, or reach other servers."""
FORBIDDEN_TEMPLATE_NAMES = frozenset({"conn"})
"""Airflow template variables SQL may not use: ``conn`` renders connection passwords."""
_OTHER_TEMPLATES = (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)

# SQL, not HTML: escaping would corrupt it. Sandboxed, as Airflow renders templates.
_SQL_TEMPLATES = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.ChainableUndefined)

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
                overrides={"dialect": dialect, "templater": "jinja", "rules": LINT_RULES},
                configs=configs,
            )
            self._linters[key] = Linter(config=config)
        return self._linters[key]

    def check(
        self,
        sql: str,
        filename: str,
        dialect: str,
        params: Mapping[str, Any],
        read_only: Collection[str] = (),
    ) -> tuple[str, list[Finding]]:
        """Lint ``sql``; when it fails, apply sqlfluff's fixes and lint again.

        Returns the (possibly fixed) SQL and every finding that remains, plus the
        statement policy's findings (``read_only``: tables it may not write).
        """
        linter = self.linter(dialect, params)
        text = sql if sql.endswith("\n") else sql + "\n"
        findings = self.lint(text, filename, dialect, params, read_only)
        if findings:
            linted = linter.lint_string(text, fix=True)
            # sqlfluff can only fix what it could template; templating errors are findings
            fixed = linted.fix_string()[0] if linted.templated_file is not None else text
            if fixed != text:
                text = fixed
                findings = self.lint(text, filename, dialect, params, read_only)
        return text, findings

    def lint(
        self,
        sql: str,
        filename: str,
        dialect: str,
        params: Mapping[str, Any],
        read_only: Collection[str] = (),
    ) -> list[Finding]:
        """The template policy's findings, else sqlfluff's for ``sql`` as it is, then the
        statement policy's."""
        findings = template_policy(sql, filename)
        if findings:
            return findings
        violations = self.linter(dialect, params).lint_string(sql).get_violations()
        findings += [
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
            findings += statement_policy(sql, filename, dialect, params, read_only)
        return findings


def render_sql(
    sql: str, params: Mapping[str, Any], context: Mapping[str, str] = SAMPLE_CONTEXT
) -> str:
    """Render an Airflow SQL template with ``context`` (for sqlglot and smoke runs)."""
    import airflow.sdk.execution_time.macros as macros

    return _SQL_TEMPLATES.from_string(sql).render(
        **context, params=dict(params), macros=macros, var={"value": {}}
    )


def parse_rendered(
    sql: str, dialect: str, params: Mapping[str, Any], context: Mapping[str, str] = SAMPLE_CONTEXT
) -> list[exp.Expr]:
    """``sql`` rendered with ``context`` and parsed by sqlglot, empty statements left
    out. Raises sqlglot's errors, ``RecursionError`` (nesting beyond sqlglot) and
    Jinja's ``TemplateError``."""
    read_dialect = sqlglot_dialect(dialect) or None
    statements = sqlglot.parse(render_sql(sql, params, context), read=read_dialect)
    return [statement for statement in statements if statement is not None]


def statement_policy(
    sql: str,
    filename: str,
    dialect: str,
    params: Mapping[str, Any],
    read_only: Collection[str] = (),
) -> list[Finding]:
    """The template and statements ``sql`` may hold: reads, and writes of tables that are
    not in ``read_only`` (the spec's sources); DELETE and UPDATE need a WHERE clause that
    names a column."""
    findings = template_policy(sql, filename)
    if findings:
        return findings
    try:
        statements = parse_rendered(sql, dialect, params)
    except (sqlglot.errors.SqlglotError, RecursionError) as error:  # nesting beyond sqlglot
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        return [Finding(filename, None, "policy.parse", f"sqlglot cannot parse: {message}")]
    except jinja2.TemplateError as error:
        return [Finding(filename, None, "policy.template", f"template error: {error}")]
    return statement_findings(statements, filename, read_only)


def statement_findings(
    statements: Sequence[exp.Expr], filename: str, read_only: Collection[str] = ()
) -> list[Finding]:
    """The statement policy (see :func:`statement_policy`) on parsed statements."""
    protected = {_table_key(name) for name in read_only}
    findings = [
        Finding(filename, None, rule, message)
        for statement in statements
        for rule, message in _statement_problems(statement, protected)
    ]
    if not findings and not statements:
        findings.append(Finding(filename, None, "policy.empty", "the script has no statement"))
    return findings


def template_policy(sql: str, filename: str) -> list[Finding]:
    """What the Jinja template may not reach: connections, Python internals, other files."""
    try:
        template = _SQL_TEMPLATES.parse(sql)
    except jinja2.TemplateSyntaxError:
        return []  # renders nothing: sqlfluff and the statement policy report it
    return [
        Finding(filename, line, "policy.template", message)
        for line, message in _template_problems(template)
    ]


def _template_problems(template: nodes.Template) -> Iterator[tuple[int, str]]:
    """Connections, Python internals and other templates a SQL template may not reach."""
    for node in template.find_all((nodes.Name, nodes.Getattr, nodes.Getitem, *_OTHER_TEMPLATES)):
        if isinstance(node, nodes.Name) and node.name in FORBIDDEN_TEMPLATE_NAMES:
            yield node.lineno, f"'{{{{ {node.name} }}}}' would render connection secrets into SQL"
        elif isinstance(node, nodes.Getattr | nodes.Getitem):
            key = node.attr if isinstance(node, nodes.Getattr) else node.arg
            name = key.value if isinstance(key, nodes.Const) else key
            if isinstance(name, str) and name.startswith("_"):
                yield node.lineno, f"access to {name!r} is not allowed in templates"
        elif isinstance(node, _OTHER_TEMPLATES):
            yield node.lineno, "SQL templates may not include, import or extend other templates"


def _statement_problems(
    statement: exp.Expr, protected: set[tuple[str, ...]]
) -> Iterator[tuple[str, str]]:
    if not isinstance(statement, ALLOWED_STATEMENTS):
        yield "policy.statement", f"{_statement_name(statement)} statements are not allowed"
        return
    for node in statement.walk():
        if isinstance(node, exp.Create):
            created = str(node.args.get("kind") or "").upper()
            if created not in ALLOWED_CREATE_KINDS:
                yield "policy.statement", f"CREATE {created} statements are not allowed"
        if isinstance(node, exp.Delete | exp.Update) and not node.find_ancestor(exp.Merge):
            where, verb = node.args.get("where"), node.key.upper()
            if where is None:
                yield "policy.where", f"{verb} without WHERE is not allowed"
            elif where.find(exp.Column) is None:
                yield "policy.where", f"{verb} with a WHERE that names no column matches every row"
        if isinstance(node, exp.Directory):
            yield "policy.statement", "writing to files or directories is not allowed"
        if isinstance(node, exp.Func):
            name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
            if name in FORBIDDEN_FUNCTIONS:
                yield "policy.function", f"{name}() is not allowed"
        if isinstance(node, WRITES):
            target = _target(node)
            if target is not None and _is_protected(target, protected):
                verb = node.key.upper()
                yield "policy.write", f"{verb} writes {target.sql()}, a source the spec only reads"


def _statement_name(statement: exp.Expr) -> str:
    """``DROP``, ``TRUNCATE``; the first two words of what sqlglot keeps as a command."""
    if isinstance(statement, exp.Command):
        return " ".join(statement.sql().split()[:2]).upper()
    return {"truncatetable": "TRUNCATE"}.get(statement.key, statement.key.upper())


def _target(statement: exp.Expr) -> exp.Table | None:
    """The table a writing statement writes."""
    target = statement.this
    return target if isinstance(target, exp.Table) else target.find(exp.Table) if target else None


def _table_key(name: str) -> tuple[str, ...]:
    return tuple(part.lower() for part in name.split("."))


def _is_protected(table: exp.Table, protected: set[tuple[str, ...]]) -> bool:
    """Whether ``table`` may be one of the ``protected`` tables: an unqualified ``orders``
    may be ``raw.orders``, and ``raw.orders`` may be ``db.raw.orders``."""
    written = tuple(part.name.lower() for part in table.parts)
    return any(
        written[-len(name) :] == name or name[-len(written) :] == written for name in protected
    )


def _created_tables(statement: exp.Expr) -> set[tuple[str, ...]]:
    """The tables and views ``statement`` creates, as lower-case name parts."""
    return {
        tuple(part.name.lower() for part in target.parts)
        for node in statement.walk()
        if isinstance(node, exp.Create)
        and str(node.args.get("kind") or "").upper() in ("TABLE", "VIEW")
        and (target := _target(node)) is not None
    }


def written_tables(
    sql: str, dialect: str, params: Mapping[str, Any], qualified: bool = False
) -> list[str]:
    """Tables the script writes (INSERT, MERGE, CREATE targets), best effort; with their
    schema when ``qualified``."""
    try:
        statements = parse_rendered(sql, dialect, params)
    except (sqlglot.errors.SqlglotError, RecursionError, jinja2.TemplateError):
        return []
    tables = []
    for statement in statements:
        if isinstance(statement, exp.Insert | exp.Merge | exp.Create):
            table = _target(statement)
            if table is not None and table.name:
                tables.append(".".join(p.name for p in table.parts) if qualified else table.name)
    return tables


def read_tables(sql: str, dialect: str, params: Mapping[str, Any]) -> list[str] | None:
    """Tables the script reads (in a FROM, a JOIN, a USING), as it names them (schema
    included), in order: not its CTEs, not a table an earlier statement creates (a table
    it creates and then selects from is its own). A table it reads before it writes it
    (an in-place dedupe, ``CREATE OR REPLACE TABLE t AS SELECT ... FROM t``) is read: its
    rows were there before the script. None when it does not parse."""
    try:
        statements = parse_rendered(sql, dialect, params)
    except (sqlglot.errors.SqlglotError, RecursionError, jinja2.TemplateError):
        return None
    created: set[tuple[str, ...]] = set()
    found: list[str] = []
    for statement in statements:
        ctes = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}
        for table in statement.find_all(exp.Table):
            queried = table.arg_key == "using" or table.find_ancestor(exp.From, exp.Join)
            if not queried or not isinstance(table.this, exp.Identifier):
                continue
            if _is_protected(table, created):
                continue
            if not table.db and table.name.lower() in ctes:
                continue
            found.append(".".join(part.name for part in table.parts))
        created |= _created_tables(statement)
    return list(dict.fromkeys(found))
