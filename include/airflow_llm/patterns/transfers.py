"""Transfer patterns: rows between the warehouse and S3 with the amazon provider's
transfer operators (``query_to_s3``: ``SqlToS3Operator``), and what other operator
patterns share with them: the S3 locations a task's words state, the checks of a key,
the logical date's rows of a table."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, get_args

import sqlglot.expressions as exp
from pydantic import BaseModel, ConfigDict, Field, field_validator

from airflow_llm.patterns.base import Scope, enum, narrowed, obj
from airflow_llm.patterns.common import (
    NONE,
    mentions_interval,
    relation_named,
    require,
    require_temporal,
    table_options,
    time_labels,
)
from airflow_llm.patterns.context import SCHEMA_PLACEHOLDER, SCHEMA_TEMPLATE, Relation, TaskContext
from airflow_llm.patterns.linking import Text
from airflow_llm.patterns.operators import OperatorPattern, Setting
from airflow_llm.patterns.writes import logical_date
from airflow_llm.spec import PipelineSpec, TaskSpec
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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QueryToS3Parameters(_Strict):
    """Export ``table`` (the logical date's rows by ``date_column``, or all) to S3."""

    table: str
    format: FileFormat
    bucket: str | None = Field(default=None, pattern=BUCKET)
    """The bucket the words state; None: the environment's (``config.yml``)."""
    key: str | None = Field(default=None, pattern=KEY)
    """The key the words state (a prefix when it ends in ``/``); None: ``config.yml``'s."""
    date_column: str | None = None

    @field_validator("bucket", "key", "date_column", mode="before")
    @classmethod
    def _none(cls, value: Any) -> Any:
        return None if value == NONE else value


class QueryToS3(OperatorPattern[QueryToS3Parameters]):
    """A table's rows to one object in S3 (``SqlToS3Operator``)."""

    name: ClassVar[str] = "query_to_s3"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "python"
    summary: ClassVar[str] = (
        "export a table's rows (all, or the logical date's) to a Parquet, CSV or JSON "
        "object in S3"
    )
    cues: ClassVar[tuple[str, ...]] = ("export", "unload", "upload", "s3", "bucket", "parquet")
    parameters: ClassVar[type[BaseModel]] = QueryToS3Parameters
    imports: ClassVar[tuple[str, ...]] = (
        "from airflow.providers.amazon.aws.transfers.sql_to_s3 import SqlToS3Operator",
    )
    requirements: ClassVar[tuple[str, ...]] = (AMAZON, PYARROW)

    def applies(self, ctx: TaskContext) -> bool:
        """A table to export, and words that ask for an export."""
        return bool(ctx.relations) and super().applies(ctx)

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
        key = params.key
        if key is not None and key.endswith("/"):  # a prefix: the file is named after the table
            key += f"{params.table.rsplit('.', 1)[-1]}.{params.format}"
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
    query = exp.select(projection).from_(_table(table, spec))
    if date_column is not None:
        day = exp.Cast(this=exp.column(date_column), to=exp.DataType.build("DATE"))
        query = query.where(exp.EQ(this=day, expression=logical_date()))
    printed = query.sql(dialect=sqlglot_dialect(spec.dialect))
    return printed.replace(SCHEMA_PLACEHOLDER, SCHEMA_TEMPLATE)


def _table(name: str, spec: PipelineSpec) -> exp.Table:
    """The table as the pipeline's SQL names it: its own tables in the environment's
    schema when every environment names one (see :meth:`Relation.table`)."""
    sources = {source.name for source in spec.sources}
    in_schema = all(env.schema_ for env in spec.environments.values())
    produced_by = None if name in sources else "upstream"
    return Relation(name, (), produced_by).table(in_schema)
