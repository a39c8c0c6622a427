"""Transfer patterns: rows between the warehouse and S3 with the amazon provider's
transfer operators (``query_to_s3``: ``SqlToS3Operator``; ``s3_to_table``:
``S3ToSqlOperator``), and what other operator
patterns share with them: the S3 locations a task's words state, the checks of a key,
the logical date's rows of a table."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, get_args

import sqlglot.expressions as exp
from pydantic import BaseModel, Field, field_validator

from airflow_llm.patterns.base import Scope, StrictParameters, enum, narrowed, obj
from airflow_llm.patterns.common import (
    NONE,
    mentions_interval,
    none_as_null,
    relation_named,
    require,
    require_temporal,
    table_options,
    time_labels,
)
from airflow_llm.patterns.context import SCHEMA_PLACEHOLDER, SCHEMA_TEMPLATE, Relation, TaskContext
from airflow_llm.patterns.file_words import mentions_s3 as speaks_of_s3
from airflow_llm.patterns.linking import Text
from airflow_llm.patterns.operators import OperatorPattern, Setting
from airflow_llm.patterns.writes import logical_date, one_line
from airflow_llm.spec import COLUMN_PATTERN, TABLE_PATTERN, PipelineSpec, TaskSpec
from airflow_llm.sql_types import sqlglot_dialect

FileFormat = Literal["parquet", "csv", "json"]
FORMATS: tuple[str, ...] = get_args(FileFormat)
AMAZON = "apache-airflow-providers-amazon==9.39.0"
PYARROW = "pyarrow==26.0.1"
"""The Parquet engine of the amazon transfer operators."""
KEY = r"^[A-Za-z0-9_.=/{} -]+$"
"""The characters of an object key, Airflow macros included (``dt={{ ds }}/``)."""
BUCKET = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"

_SEGMENT = r"(?:[A-Za-z0-9_.=-]|\{\{\s*[a-z_]+\s*\}\})+"
_LOCATION = re.compile(
    rf"(?:s3://(?P<bucket>{BUCKET[1:-1]})/)?(?P<key>{_SEGMENT}(?:/{_SEGMENT})*/?)"
)


@dataclass(frozen=True)
class Location:
    """An S3 location the task's words state: ``s3://bucket/key``, or a key (or a
    prefix, ending in ``/``) with at least two parts."""

    bucket: str | None
    key: str


def stated_locations(text: str) -> list[Location]:
    """The S3 locations ``text`` writes out, in order."""
    return [
        Location(match.group("bucket"), match.group("key").rstrip("."))
        for match in _location_matches(text)
    ]


def without_locations(text: str) -> str:
    """``text`` with the S3 locations it writes out left out (their macros are no
    words about which rows)."""
    for match in reversed(_location_matches(text)):
        text = text[: match.start()] + " " + text[match.end() :]
    return text


def _location_matches(text: str) -> list[re.Match[str]]:
    """Matches of an S3 URI or of a key with at least two parts ("csv/parquet" and
    "and/or" are words, not keys)."""
    return [
        match
        for match in _LOCATION.finditer(text)
        if match.group("bucket") is not None or match.group("key").rstrip(".").count("/") >= 2
    ]


class QueryToS3Parameters(StrictParameters):
    """Export ``table`` (the logical date's rows by ``date_column``, or all) to S3."""

    table: str
    format: FileFormat
    bucket: str | None = Field(default=None, pattern=BUCKET)
    """The bucket the words state; None: the environment's (``config.yml``)."""
    key: str | None = Field(default=None, pattern=KEY)
    """The key the words state (a prefix when it ends in ``/``); None: ``config.yml``'s."""
    date_column: str | None = None

    _nulls = field_validator("bucket", "key", "date_column", mode="before")(none_as_null)


class QueryToS3(OperatorPattern[QueryToS3Parameters]):
    """A table's rows to one object in S3 (``SqlToS3Operator``)."""

    name: ClassVar[str] = "query_to_s3"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "python"
    summary: ClassVar[str] = (
        "export a table's rows (all, or the logical date's) to a Parquet, CSV or JSON "
        "object in S3"
    )
    cues: ClassVar[tuple[str, ...]] = ("export", "unload", "upload", "dump")
    parameters: ClassVar[type[BaseModel]] = QueryToS3Parameters
    table_parameters: ClassVar[tuple[str, ...]] = ("table",)
    writes_s3_object: ClassVar[bool] = True
    imports: ClassVar[tuple[str, ...]] = (
        "from airflow.providers.amazon.aws.transfers.sql_to_s3 import SqlToS3Operator",
    )
    requirements: ClassVar[tuple[str, ...]] = (AMAZON, PYARROW)

    def applies(self, ctx: TaskContext) -> bool:
        """A table to export, and words that ask for an export to S3."""
        return bool(ctx.relations) and mentions_s3(ctx) and super().applies(ctx)

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """The table to export."""
        return obj({"table": enum(table_options(ctx))})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The format and location the words state, and which rows: every row unless the
        words (a key's ``{{ ds }}`` aside) speak of a date or interval."""
        formats = [name for name in FORMATS if name in ctx.text.stem_set]
        return obj(
            {
                "format": enum(narrowed(ctx, formats, FORMATS)),
                **location_choices(ctx),
                "date_column": date_column_choice(ctx, str(inputs.get("table"))),
            }
        )

    def check(self, params: QueryToS3Parameters, ctx: TaskContext) -> Relation | None:
        """The table must be readable, the date column a date or timestamp of it."""
        check_date_column(ctx, params.table, params.date_column)
        check_key(params.key)
        return None

    def settings(self, params: QueryToS3Parameters, task: TaskSpec) -> list[Setting]:
        """The warehouse and S3 connections, the bucket and the object key."""
        key = object_key(params.key, params.table, params.format)
        return [
            Setting("sql_conn_id", "sql_conn_id", f"SQL connection {task.name} reads from"),
            Setting("aws_conn_id", "aws_conn_id", f"AWS connection {task.name} writes with"),
            Setting("bucket", "bucket", f"S3 bucket {task.name} writes to", params.bucket),
            Setting("key", "key", f"S3 object key {task.name} writes", key),
        ]

    def arguments(
        self, params: QueryToS3Parameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """The query: every column of the table, the logical date's rows when a date
        column is given, in the spec's dialect."""
        return {"query": table_query(exp.Star(), params.table, params.date_column, spec)}


LoadFormat = Literal["parquet", "csv"]
LOAD_FORMATS: tuple[str, ...] = get_args(LoadFormat)


class S3ToTableParameters(StrictParameters):
    """Load one object with ``source``'s columns into ``table``, replacing the logical
    date's rows (by ``date_column``) or all of them."""

    source: str = Field(pattern=TABLE_PATTERN)
    """The declared source whose columns (and so sample rows) the file has."""
    columns: list[Annotated[str, Field(pattern=COLUMN_PATTERN)]] = Field(min_length=1)
    """The source's columns, in order (derived, not asked)."""
    table: str = Field(pattern=TABLE_PATTERN)
    """The table it loads into (it must exist, as for any load)."""
    format: LoadFormat
    bucket: str | None = Field(default=None, pattern=BUCKET)
    key: str | None = Field(default=None, pattern=KEY)
    date_column: str | None = None

    _nulls = field_validator("bucket", "key", "date_column", mode="before")(none_as_null)


class S3ToTable(OperatorPattern[S3ToTableParameters]):
    """One S3 object into a table (``S3ToSqlOperator``), idempotent for a logical date:
    before it loads, it deletes the rows it loads again."""

    name: ClassVar[str] = "s3_to_table"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "python"
    summary: ClassVar[str] = (
        "load a Parquet or CSV object from S3 into a table (replacing the logical date's "
        "rows, or all)"
    )
    cues: ClassVar[tuple[str, ...]] = ("load", "ingest", "import")
    parameters: ClassVar[type[BaseModel]] = S3ToTableParameters
    writes_table: ClassVar[str | None] = "table"
    imports: ClassVar[tuple[str, ...]] = (
        "from airflow.providers.amazon.aws.transfers.s3_to_sql import S3ToSqlOperator",
    )
    requirements: ClassVar[tuple[str, ...]] = (AMAZON, PYARROW)
    seeds_s3_object: ClassVar[bool] = True

    def applies(self, ctx: TaskContext) -> bool:
        """A declared table with the file's columns, and words about loading from S3; a
        step an upstream task hands a file to loads that file (the file patterns'), unless
        its words name S3 itself."""
        on_s3 = speaks_of_s3(ctx.task.description) or (mentions_s3(ctx) and not ctx.files)
        return bool(ctx.spec.sources) and on_s3 and super().applies(ctx)

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """The declared table whose columns the file has."""
        sources = [Relation.of_source(source) for source in ctx.spec.sources]
        return obj({"source": enum(table_options(ctx, sources))})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The target its words name, the format and location they state, which rows."""
        formats = [name for name in LOAD_FORMATS if name in ctx.text.stem_set]
        return obj(
            {
                "table": enum([ctx.target]),
                "format": enum(narrowed(ctx, formats, LOAD_FORMATS)),
                **location_choices(ctx),
                "date_column": date_column_choice(ctx, str(inputs.get("source"))),
            }
        )

    def complete(self, answer: Mapping[str, Any], ctx: TaskContext) -> dict[str, Any]:
        """The answer with the source's columns."""
        source = ctx.relation(str(answer.get("source")))
        return {**answer, "columns": source.column_names if source else []}

    def check(self, params: S3ToTableParameters, ctx: TaskContext) -> Relation | None:
        """A readable source with these columns, a target that is no declared source
        (those are read-only); the table it writes has the source's columns."""
        check_date_column(ctx, params.source, params.date_column)
        check_key(params.key)
        source = relation_named(ctx, params.source)
        require(params.columns == source.column_names, f"the columns of {source.name} differ")
        sources = {source.name for source in ctx.spec.sources}
        require(params.source in sources, f"{params.source} is no declared source")
        require(params.table not in sources, f"{params.table} is a source: sources are read-only")
        return Relation(params.table, source.columns, produced_by=ctx.task.name)

    def settings(self, params: S3ToTableParameters, task: TaskSpec) -> list[Setting]:
        """The warehouse and S3 connections, the bucket and the object key."""
        key = object_key(params.key, params.table, params.format)
        return [
            Setting("sql_conn_id", "sql_conn_id", f"SQL connection {task.name} loads into"),
            Setting("aws_conn_id", "aws_conn_id", f"AWS connection {task.name} reads with"),
            Setting("bucket", "bucket", f"S3 bucket {task.name} reads from", params.bucket),
            Setting("key", "key", f"S3 object key {task.name} loads", key),
        ]

    def arguments(
        self, params: S3ToTableParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """Where it loads and the statement that clears the rows it loads again, in the
        spec's dialect."""
        target = pipeline_table(params.table, spec)
        clear = exp.delete(target)
        if params.date_column is not None:
            day = exp.Cast(this=exp.column(params.date_column), to=exp.DataType.build("DATE"))
            clear = clear.where(exp.EQ(this=day, expression=logical_date()))
        printed = clear.sql(dialect=sqlglot_dialect(spec.dialect))
        return {
            "table": target.sql().replace(SCHEMA_PLACEHOLDER, SCHEMA_TEMPLATE),
            "delete": printed.replace(SCHEMA_PLACEHOLDER, SCHEMA_TEMPLATE),
        }


def mentions_s3(ctx: TaskContext) -> bool:
    """Whether the task's words speak of S3: a location, or words such as bucket or file."""
    words = {"s3", "bucket", "object", "file", "parquet", "csv"}
    return bool(stated_locations(ctx.task.description)) or bool(ctx.text.stem_set & words)


def object_key(key: str | None, table: str, file_format: str) -> str | None:
    """The object a stated key names: a prefix (ending in ``/``) gets a file named after
    the table."""
    if key is not None and key.endswith("/"):
        return f"{key}{table.rsplit('.', 1)[-1]}.{file_format}"
    return key


def location_choices(ctx: TaskContext) -> dict[str, dict[str, Any]]:
    """The ``bucket`` and ``key`` questions: what the words state, else ``none`` (the
    environment's config)."""
    locations = stated_locations(ctx.task.description)
    buckets = [location.bucket for location in locations if location.bucket]
    return {
        "bucket": enum(narrowed(ctx, buckets, [NONE])),
        "key": enum(narrowed(ctx, [location.key for location in locations], [NONE])),
    }


def date_column_choice(ctx: TaskContext, table: str) -> dict[str, Any]:
    """Which date or timestamp column picks the logical date's rows of ``table``: none
    unless the words (a key's ``{{ ds }}`` aside) speak of a date or interval."""
    dates = time_labels(ctx, Scope.of([relation_named(ctx, table)]))
    if mentions_interval(Text(without_locations(ctx.task.description))):
        return enum([*dates, NONE])
    return enum(narrowed(ctx, [NONE], dates))


def check_date_column(ctx: TaskContext, table: str, date_column: str | None) -> None:
    """The table must be readable, the date column (if any) a date or timestamp of it."""
    scope = Scope.of([relation_named(ctx, table)])
    if date_column is not None:
        require_temporal(scope, date_column, ctx.dialect)


def check_key(key: str | None) -> None:
    """A key must stay in its bucket and close the macros it opens."""
    if key is None:
        return
    parts = key.split("/")
    require(parts[0] != "" and ".." not in parts, f"key {key!r} leaves its bucket")
    require(key.count("{{") == key.count("}}"), f"key {key!r} opens a macro it does not close")


def table_query(
    projection: exp.Expr, table: str, date_column: str | None, spec: PipelineSpec
) -> str:
    """``SELECT projection FROM table``, the logical date's rows when a date column is
    given, in the spec's dialect."""
    query = exp.select(projection).from_(pipeline_table(table, spec))
    if date_column is not None:
        day = exp.Cast(this=exp.column(date_column), to=exp.DataType.build("DATE"))
        query = query.where(exp.EQ(this=day, expression=logical_date()))
    return one_line(query, spec.dialect)


def pipeline_table(name: str, spec: PipelineSpec) -> exp.Table:
    """The table as the pipeline's SQL names it: its own tables in the environment's
    schema when every environment names one (see :meth:`Relation.table`)."""
    sources = {source.name for source in spec.sources}
    in_schema = all(env.schema_ for env in spec.environments.values())
    produced_by = None if name in sources else "upstream"
    return Relation(name, (), produced_by).table(in_schema)
