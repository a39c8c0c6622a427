"""Spec format v1: what a person writes to describe a pipeline.

A spec is a YAML file, or Markdown with YAML front matter whose body is the
description (see :mod:`airflow_llm.spec_loading`). The models here validate the
shape and the task graph; every error carries a precise ``loc`` so the loader can
name the file, line and field.
"""

from __future__ import annotations

import builtins
import keyword
import re
import unicodedata
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Annotated, Any, Final, Literal

from croniter import croniter
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from airflow_llm.validate.python_policy import banned_reason
from airflow_llm.validate.secrets import CREDENTIAL_PATTERNS, find_secrets

SPEC_VERSION: Final = 1
MAX_TASKS = 500

# A name ends up as a DAG id, an S3 key segment and a folder name: lower snake_case
# only, so it can never hold `/`, `..`, spaces or look-alike unicode.
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
TABLE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*){0,2}$"
COLUMN_PATTERN = r"^[A-Za-z_][A-Za-z0-9_$]*$"
POOL_PATTERN = r"^[A-Za-z0-9_.-]{1,256}$"
MODULE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"
EMAIL_PATTERN = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"

# sqlfluff's dialect labels (sqlfluff 4.5); tests/unit/test_spec_model.py keeps this
# in step with the installed sqlfluff, so validation needs no sqlfluff import.
SQL_DIALECTS = frozenset(
    {
        "ansi", "athena", "bigquery", "clickhouse", "databricks", "db2", "doris",
        "duckdb", "exasol", "flink", "greenplum", "hive", "impala", "mariadb",
        "materialize", "mysql", "oracle", "postgres", "redshift", "snowflake", "soql",
        "sparksql", "sqlite", "starrocks", "teradata", "trino", "tsql", "vertica",
    }
)  # fmt: skip

SCHEDULE_PRESETS = frozenset(
    {"@once", "@continuous", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly"}
)

TaskKind = Literal["sql", "python", "quality", "llm", "sensor", "branch"]
"""What a task does, and so which generator writes it:

- ``sql``: a Jinja-templated SQL statement run on the environment's connection;
- ``python``: a typed Python callable;
- ``quality``: a Great Expectations suite run on a table;
- ``llm``: a prompt sent to a model per item (``@task.llm`` mapped with ``.expand()``);
- ``sensor``: waits for a file, partition or row before its downstream tasks run;
- ``branch``: picks which downstream tasks run (branch-merge topologies).
"""

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _parse_duration(value: Any) -> Any:
    """Turn ``"90s"``, ``"30m"``, ``"2h"`` or ``"1d"`` into seconds; pass ints through."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match is None:
            raise PydanticCustomError(
                "duration", "expected seconds or a duration like '90s', '30m', '2h', '1d'"
            )
        return int(match.group(1)) * _DURATION_UNITS[match.group(2)]
    return value


Seconds = Annotated[
    int,
    Field(gt=0),
    BeforeValidator(_parse_duration),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "exclusiveMinimum": 0},
                {"type": "string", "pattern": r"^\s*\d+\s*(s|m|h|d)\s*$"},
            ],
            "description": "Seconds, or a duration such as '90s', '30m', '2h', '1d'.",
        }
    ),
]

Name = Annotated[str, Field(pattern=NAME_PATTERN, description="lower snake_case, 1-64 chars")]


def _importable(module: str) -> str:
    """Refuse the modules no spec can allow (they run processes, open connections...)."""
    reason = banned_reason(module)
    if reason is not None:
        raise PydanticCustomError(
            "banned_import",
            "'{module}' can never be allowed: {reason}",
            {"module": module, "reason": reason},
        )
    return module


ModuleName = Annotated[
    str,
    Field(pattern=MODULE_PATTERN, max_length=200, description="a module, e.g. pandas or a.b"),
    AfterValidator(_importable),
]


def _one_or_many(value: Any) -> Any:
    """Let a list field be written as a single string."""
    return [value] if isinstance(value, str) else value


def _or_single_string(schema: dict[str, Any]) -> None:
    """JSON Schema of :func:`_one_or_many` fields: a list, or one string."""
    array = {key: schema.pop(key) for key in ("type", "items") if key in schema}
    schema["anyOf"] = [array, {"type": "string"}]


StrList = Annotated[
    list[str], BeforeValidator(_one_or_many), Field(json_schema_extra=_or_single_string)
]


def _asset_reference(value: str) -> str:
    """Refuse what Airflow refuses as an Asset name or URI."""
    if value in ("self", "context") or value.lower().startswith("airflow://"):
        raise PydanticCustomError(
            "asset", "'{value}' is reserved by Airflow for Assets", {"value": value}
        )
    return value


AssetReference = Annotated[
    str,
    Field(min_length=1, max_length=1500, description="an Airflow Asset's name or URI"),
    AfterValidator(_asset_reference),
]
EmailAddress = Annotated[str, Field(pattern=EMAIL_PATTERN, max_length=254)]
EmailList = Annotated[
    list[EmailAddress], BeforeValidator(_one_or_many), Field(json_schema_extra=_or_single_string)
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class Column(_Model):
    """One column of a source table."""

    name: str = Field(pattern=COLUMN_PATTERN)
    type: str = Field(min_length=1, description="SQL type in the spec's dialect, e.g. BIGINT")
    description: str = ""
    nullable: bool = True


def _columns_from_mapping(value: Any) -> Any:
    """Accept the shorthand ``columns: {id: BIGINT, email: VARCHAR}``."""
    if isinstance(value, dict):
        return [{"name": name, "type": type_} for name, type_ in value.items()]
    return value


def _or_column_mapping(schema: dict[str, Any]) -> None:
    """JSON Schema of :func:`_columns_from_mapping` fields: a list, or name -> type."""
    array = {key: schema.pop(key) for key in ("type", "items", "minItems") if key in schema}
    mapping = {"type": "object", "additionalProperties": {"type": "string"}, "minProperties": 1}
    schema["anyOf"] = [array, mapping]


class SourceTable(_Model):
    """A table the pipeline reads, with its columns and types."""

    name: str = Field(pattern=TABLE_PATTERN, description="table, schema.table or db.schema.table")
    description: str = ""
    columns: Annotated[list[Column], BeforeValidator(_columns_from_mapping)] = Field(
        min_length=1, json_schema_extra=_or_column_mapping
    )


QUANTITY_PATTERN = r"^(\d+\.?\d*|\.\d+)([KMGTPE]i|[mkMGTPE]|[eE]\d+)?$"
"""A Kubernetes resource quantity without a sign: ``500m``, ``1.5``, ``512Mi``, ``2G``,
``129e6`` (the API's syntax, less negative values, which no request may have)."""

_QUANTITY_EXAMPLES = {"cpu": "'500m', '1' or '2.5'", "memory": "'512Mi', '2Gi' or '1G'"}
_WRONG_SUFFIX = {
    "cpu": ("KkMGTPE", "cpu is counted in cores, or millicores with 'm'"),
    "memory": ("m", "'m' means milli: '500m' of memory is half a byte; megabytes are 'M' or 'Mi'"),
}
"""Suffixes that are valid quantities but not what anyone means for that resource."""


def _quantity(resource: str) -> Callable[[Any], Any]:
    """A validator of ``resource`` (cpu or memory) requests in Kubernetes quantity syntax;
    a YAML number (``cpu: 0.5``) is taken as its text."""

    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            return value  # pydantic's own type error says what is expected
        text = str(value).strip()
        match = re.match(QUANTITY_PATTERN, text)
        wrong, why = _WRONG_SUFFIX[resource]
        suffix = (match.group(2) or "") if match else ""
        problem = (
            "is not a Kubernetes quantity"
            if match is None
            else f"is not a {resource} request ({why})" if suffix and suffix[0] in wrong else None
        )
        if problem is not None:
            raise PydanticCustomError(
                "quantity",
                "'{value}' {problem}: use e.g. {examples}",
                {"value": text, "problem": problem, "examples": _QUANTITY_EXAMPLES[resource]},
            )
        if match is not None and float(match.group(1)) == 0:
            raise PydanticCustomError(
                "quantity",
                "'{value}' requests no {resource}: leave it out or ask for more",
                {"value": text, "resource": resource},
            )
        return text

    return check


def _quantity_schema(resource: str) -> dict[str, Any]:
    """The JSON Schema of a ``cpu`` or ``memory`` request."""
    return {
        "anyOf": [
            {"type": "string", "pattern": QUANTITY_PATTERN},
            {"type": "number", "exclusiveMinimum": 0},
            {"type": "null"},
        ],
        "description": f"{resource} the task's pod requests under the KubernetesExecutor: "
        f"a Kubernetes quantity such as {_QUANTITY_EXAMPLES[resource]}",
    }


Cpu = Annotated[
    str | None, BeforeValidator(_quantity("cpu")), WithJsonSchema(_quantity_schema("cpu"))
]
Memory = Annotated[
    str | None, BeforeValidator(_quantity("memory")), WithJsonSchema(_quantity_schema("memory"))
]


class Resources(_Model):
    """Where and with how much a task runs.

    ``pool``, ``pool_slots`` and ``queue`` are the operator's own arguments. ``cpu`` and
    ``memory`` become the resource requests of the task's pod under the
    KubernetesExecutor (``executor_config={"pod_override": V1Pod(...)}``); other
    executors have no per-task requests and run the task as usual (route it to a sized
    worker with ``queue`` under the CeleryExecutor).
    """

    pool: str | None = Field(default=None, pattern=POOL_PATTERN)
    pool_slots: int = Field(default=1, ge=1)
    queue: str | None = None
    cpu: Cpu = None
    memory: Memory = None

    @property
    def requests(self) -> dict[str, str]:
        """The pod resource requests these resources ask for (cpu, memory; may be empty)."""
        return {
            name: value for name, value in (("cpu", self.cpu), ("memory", self.memory)) if value
        }


UNIT_TEST_DATE: Final = "2024-01-31"
"""The logical date unit tests run at (``{{ ds }}``; the data interval is that day)."""


def _cell(value: Any) -> Any:
    """A table cell: dates and timestamps (YAML reads 2024-01-31 as a date) become ISO
    text; lists and mappings are refused."""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict | list):
        raise PydanticCustomError(
            "cell", "a cell holds one value (text, number, true/false, a date or null)"
        )
    return value


Cell = Annotated[str | bool | int | float | None, BeforeValidator(_cell)]
ColumnName = Annotated[str, Field(pattern=COLUMN_PATTERN)]
TableName = Annotated[str, Field(pattern=TABLE_PATTERN)]
Row = dict[ColumnName, Cell]


class UnitTest(_Model):
    """Rows in, rows (or a verdict) out: what a task must do, stated by its author.

    ``given`` rows fill the tables the task reads (columns left out are NULL, tables
    left out are empty); a SQL task's ``expect`` is the rows its target holds
    afterwards (only the columns named are compared, rows as a multiset, numbers
    rounded to two decimals); a quality task's is ``pass`` or ``fail``. Tests run
    at the logical date 2024-01-31 (the data interval is that day), on DuckDB.
    """

    name: Name
    given: dict[TableName, list[Row]] = Field(
        default_factory=dict, description="rows per table the task reads"
    )
    expect: list[Row] | Literal["pass", "fail"] = Field(
        description="sql: the target's rows afterwards; quality: pass or fail"
    )


RESERVED_TASK_NAMES = frozenset(
    {word for word in keyword.kwlist if word.islower()}
    | {name for name in dir(builtins) if name.islower() and not name.startswith("_")}
    | {"dag", "task", "os", "yaml", "datetime", "timedelta", "importlib", "get_current_context"}
)
"""Task names are Python variables in the rendered DAG file: keywords, builtins and the
names that file uses are taken."""


class TaskSpec(_Model):
    """One task of the pipeline."""

    name: Name
    kind: TaskKind
    description: str = Field(min_length=1)
    depends_on: StrList = Field(default_factory=list)
    map_over: Name | None = Field(
        default=None,
        description="an upstream task whose output list this task is mapped over (.expand())",
    )
    resources: Resources = Field(default_factory=Resources)
    retries: int = Field(default=2, ge=0, le=10)
    retry_delay: Seconds = 300
    timeout: Seconds = 3600
    tests: list[UnitTest] = Field(
        default_factory=list,
        max_length=20,
        description="unit tests (sql and quality tasks): given rows, expected rows or verdict",
    )

    @field_validator("name")
    @classmethod
    def _name_is_not_reserved(cls, value: str) -> str:
        if value in RESERVED_TASK_NAMES:
            raise PydanticCustomError(
                "reserved_name",
                "'{value}' is reserved (a Python keyword, builtin or a name the DAG file "
                "uses); pick another task name",
                {"value": value},
            )
        return value

    @model_validator(mode="after")
    def _tests_fit_the_kind(self) -> TaskSpec:
        problems = []
        for index, test in enumerate(self.tests):
            loc: tuple[str | int, ...] = ("tests", index, "expect")
            if self.kind not in ("sql", "quality"):
                message = f"only sql and quality tasks take tests, not {self.kind} tasks"
                problems.append(_problem(("tests", index), "tests", message, test.name))
            elif self.kind == "sql" and not isinstance(test.expect, list):
                message = "a sql task's test expects rows (a list of column: value mappings)"
                problems.append(_problem(loc, "expect", message, test.expect))
            elif self.kind == "quality" and isinstance(test.expect, list):
                message = "a quality task's test expects 'pass' or 'fail'"
                problems.append(_problem(loc, "expect", message, "rows"))
        names = [test.name for test in self.tests]
        problems += [
            _problem(("tests", index, "name"), "duplicate_test", f"duplicate test {name!r}", name)
            for index, name in enumerate(names)
            if name in names[:index]
        ]
        if problems:
            raise ValidationError.from_exception_data(type(self).__name__, problems)
        return self


class EnvironmentConfig(_Model):
    """Per-environment values (dev, staging, prod, ...) rendered into the bundle's config.yml."""

    model_config = ConfigDict(populate_by_name=True)

    conn_id: str = Field(default="warehouse", description="SQL connection id for sql tasks")
    aws_conn_id: str = "aws_default"
    bucket: str | None = None
    schema_: str | None = Field(default=None, alias="schema")
    iam_role: str | None = None
    vars: dict[str, str | int | float | bool] = Field(default_factory=dict)


def _default_environments() -> dict[str, EnvironmentConfig]:
    return {"dev": EnvironmentConfig()}


class PipelineSpec(_Model):
    """A pipeline description: the input of generation, version 1."""

    model_config = ConfigDict(
        title="airflow-llm pipeline spec",
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"},
    )

    spec_version: Literal[1] = SPEC_VERSION
    name: Name = Field(description="the DAG id: lower snake_case, 1-64 chars")
    description: str = Field(min_length=1, description="what the pipeline does, in plain words")
    schedule: str | None = Field(default=None, description="cron expression or preset (@daily)")
    upstream_assets: Annotated[
        list[AssetReference], BeforeValidator(_one_or_many), Field(max_length=20)
    ] = Field(
        default_factory=list,
        description="Airflow Assets (names or URIs) whose updates trigger the pipeline, all "
        "of them; with a schedule too, it runs on either",
    )
    owners: StrList = Field(default_factory=lambda: ["airflow"])
    stakeholders: EmailList = Field(
        default_factory=list,
        description="email addresses told when a task of the pipeline fails (after its "
        "retries); listed in the DAG's documentation",
    )
    tags: StrList = Field(default_factory=list)
    dialect: str = Field(default="ansi", description="sqlfluff dialect of the SQL tasks")
    environments: dict[Name, EnvironmentConfig] = Field(default_factory=_default_environments)
    sources: list[SourceTable] = Field(default_factory=list)
    allowed_imports: list[ModuleName] = Field(
        default_factory=list,
        max_length=100,
        description="modules generated Python may import beyond the default allow-list "
        "(and their submodules); never ones that run processes, open network connections "
        "or load code from data",
    )
    tasks: list[TaskSpec] | None = Field(
        default=None,
        max_length=MAX_TASKS,
        description="explicit tasks; when absent the planner derives them",
    )

    @field_validator("schedule")
    @classmethod
    def _schedule_is_cron_or_preset(cls, value: str | None) -> str | None:
        if value is None or value in SCHEDULE_PRESETS or croniter.is_valid(value):
            return value
        presets = ", ".join(sorted(SCHEDULE_PRESETS))
        raise PydanticCustomError(
            "schedule", "not a cron expression or one of {presets}", {"presets": presets}
        )

    @model_validator(mode="after")
    def _assets_combine_with_a_timetable(self) -> PipelineSpec:
        if self.upstream_assets and self.schedule in ("@once", "@continuous"):
            message = (
                f"{self.schedule!r} cannot be combined with upstream_assets; use a cron "
                "expression or another preset"
            )
            problem = _problem(("schedule",), "schedule", message, self.schedule)
            raise ValidationError.from_exception_data(type(self).__name__, [problem])
        return self

    @field_validator("dialect")
    @classmethod
    def _dialect_is_known(cls, value: str) -> str:
        if value.lower() not in SQL_DIALECTS:
            raise PydanticCustomError(
                "dialect",
                "unknown sqlfluff dialect '{value}'; known: {known}",
                {"value": value, "known": ", ".join(sorted(SQL_DIALECTS))},
            )
        return value.lower()

    @field_validator("environments")
    @classmethod
    def _at_least_one_environment(
        cls, value: dict[str, EnvironmentConfig]
    ) -> dict[str, EnvironmentConfig]:
        if not value:
            raise PydanticCustomError("environments", "at least one environment is needed")
        return value

    @model_validator(mode="after")
    def _task_graph_and_text_are_sound(self) -> PipelineSpec:
        problems = task_graph_problems(self.tasks or []) + text_problems(self)
        problems += test_table_problems(self.tasks or [], self.sources)
        if problems:
            raise ValidationError.from_exception_data(type(self).__name__, problems)
        return self


def _problem(loc: tuple[str | int, ...], kind: str, message: str, value: Any) -> InitErrorDetails:
    return InitErrorDetails(type=PydanticCustomError(kind, message), loc=loc, input=value)


def task_graph_problems(tasks: list[TaskSpec]) -> list[InitErrorDetails]:
    """Duplicate names, unknown or self references, and cycles, each located precisely."""
    problems: list[InitErrorDetails] = []
    first_index: dict[str, int] = {}
    for index, task in enumerate(tasks):
        if task.name in first_index:
            message = (
                f"duplicate task name {task.name!r} (first used by tasks[{first_index[task.name]}])"
            )
            problems.append(
                _problem(("tasks", index, "name"), "duplicate_task", message, task.name)
            )
        else:
            first_index[task.name] = index
    for index, task in enumerate(tasks):
        for ref_index, ref in enumerate(task.depends_on):
            loc: tuple[str | int, ...] = ("tasks", index, "depends_on", ref_index)
            if ref == task.name:
                problems.append(
                    _problem(loc, "self_dependency", "a task cannot depend on itself", ref)
                )
            elif ref not in first_index:
                problems.append(_problem(loc, "unknown_task", f"unknown task {ref!r}", ref))
        if task.map_over is not None and task.map_over not in task.depends_on:
            message = f"map_over {task.map_over!r} must also be listed in depends_on"
            problems.append(
                _problem(("tasks", index, "map_over"), "map_over", message, task.map_over)
            )
    if not problems:
        cycle = find_cycle({task.name: list(task.depends_on) for task in tasks})
        if cycle:
            index = first_index[cycle[0]]
            message = "dependency cycle (each depends on the next): " + " -> ".join(cycle)
            problems.append(_problem(("tasks", index, "depends_on"), "cycle", message, cycle))
    return problems


def test_table_problems(
    tasks: list[TaskSpec], sources: list[SourceTable]
) -> list[InitErrorDetails]:
    """Unit-test rows of a declared source may only name that source's columns."""
    columns = {source.name: {column.name for column in source.columns} for source in sources}
    problems = []
    for index, task in enumerate(tasks):
        for test_index, test in enumerate(task.tests):
            for table, rows in test.given.items():
                known = columns.get(table)
                for row_index, row in enumerate(rows):
                    for column in row:
                        if known is not None and column not in known:
                            loc = ("tasks", index, "tests", test_index, "given", table, row_index)
                            message = f"{table} has no column {column!r}; it has {sorted(known)}"
                            problems.append(_problem((*loc, column), "column", message, column))
    return problems


def text_problems(spec: PipelineSpec) -> list[InitErrorDetails]:
    """Invisible characters and credentials in any text of the spec.

    Spec text reaches prompts, docstrings and comments of the rendered DAG, and the
    bundle: a bidi override could make code read differently from what it is, and a
    credential (a key, token or password in a URL) would be sent to the model and
    published. A password merely quoted in a description is left to the output scan.
    """
    problems = []
    for loc, text in _strings(spec.model_dump(by_alias=True), ()):
        hidden = next((c for c in text if _is_invisible(c)), None)
        if hidden is not None:
            name = unicodedata.name(hidden, "a control character")
            message = f"holds the invisible character U+{ord(hidden):04X} ({name}); remove it"
            problems.append(_problem(loc, "invisible_character", message, text))
        for _, kind in find_secrets(text, CREDENTIAL_PATTERNS):
            message = (
                f"looks like {kind.what}; a spec must not hold credentials (it is sent to the "
                "model and published with the bundle): name an Airflow connection or variable"
            )
            problems.append(_problem(loc, "secret", message, "<redacted>"))
            break
    return problems


def _strings(value: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every string (mapping keys included) in dumped spec data, with its location."""
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key, (*loc, key))
            yield from _strings(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*loc, index))


def _is_invisible(character: str) -> bool:
    """Control and format characters (bidi overrides, zero-width...), but tab and newlines."""
    return character not in "\t\n\r" and unicodedata.category(character) in ("Cc", "Cf")


def reachable(start: str, edges: dict[str, list[str]]) -> set[str]:
    """Every node reachable from ``start`` along ``edges`` (``start`` itself excluded
    unless a cycle leads back): a task's ancestors along ``depends_on``, or its
    descendants along the reverse edges."""
    seen: set[str] = set()
    todo = list(edges.get(start, []))
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo += edges.get(node, [])
    return seen


def find_cycle(depends_on: dict[str, list[str]]) -> list[str]:
    """Return one dependency cycle as ``[a, b, ..., a]``, or ``[]`` when the graph is acyclic."""
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str]:
        if node in visiting:
            return [*visiting[visiting.index(node) :], node]
        if node in done:
            return []
        visiting.append(node)
        for upstream in depends_on.get(node, []):
            cycle = visit(upstream)
            if cycle:
                return cycle
        visiting.pop()
        done.add(node)
        return []

    for start in depends_on:
        cycle = visit(start)
        if cycle:
            return cycle
    return []


def spec_json_schema() -> dict[str, Any]:
    """The JSON Schema of spec v1, for editors and validators."""
    return PipelineSpec.model_json_schema(mode="validation")
