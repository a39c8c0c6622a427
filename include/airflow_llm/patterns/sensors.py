"""Sensor patterns: wait for rows of the logical date in a table (``sql_sensor``:
``SqlSensor``) or for an object in S3 (``s3_key_sensor``: ``S3KeySensor``, deferrable)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import sqlglot.expressions as exp
from pydantic import BaseModel, Field, field_validator

from airflow_llm.patterns.base import StrictParameters, enum, obj
from airflow_llm.patterns.common import none_as_null, require, table_options
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.file_words import mentions_s3
from airflow_llm.patterns.operators import OperatorPattern, Setting
from airflow_llm.patterns.transfers import (
    AMAZON,
    BUCKET,
    KEY,
    check_date_column,
    check_key,
    date_column_choice,
    location_choices,
    table_query,
)
from airflow_llm.patterns.urls import speaks_of_ftp
from airflow_llm.spec import PipelineSpec, TaskSpec

COMMON_SQL = "apache-airflow-providers-common-sql==2.4.0"


class _SensorParameters(StrictParameters):
    """A sensor's parameters: the answer "none" is None for every field."""

    _nulls = field_validator("*", mode="before")(none_as_null)


class SqlSensorParameters(_SensorParameters):
    """Wait until ``table`` has rows (of the logical date, by ``date_column``)."""

    table: str
    date_column: str | None = None


class SqlRowsSensor(OperatorPattern[SqlSensorParameters]):
    """Rows in a table: ``SqlSensor`` counting them until there is one."""

    name: ClassVar[str] = "sql_sensor"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "sensor"
    summary: ClassVar[str] = "wait until a table has rows (of the logical date, or any)"
    cues: ClassVar[tuple[str, ...]] = ("row", "partition", "table", "loaded", "land", "arrive")
    parameters: ClassVar[type[BaseModel]] = SqlSensorParameters
    table_parameters: ClassVar[tuple[str, ...]] = ("table",)
    imports: ClassVar[tuple[str, ...]] = (
        "from airflow.providers.common.sql.sensors.sql import SqlSensor",
    )
    requirements: ClassVar[tuple[str, ...]] = (COMMON_SQL,)

    def applies(self, ctx: TaskContext) -> bool:
        """A table to watch, and words that speak of rows or tables."""
        return bool(ctx.relations) and super().applies(ctx)

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """The table to watch."""
        return obj({"table": enum(table_options(ctx))})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Which rows: the logical date's, when the words speak of a date."""
        return obj({"date_column": date_column_choice(ctx, str(inputs.get("table")))})

    def check(self, params: SqlSensorParameters, ctx: TaskContext) -> Relation | None:
        """The table must be readable, the date column a date or timestamp of it."""
        check_date_column(ctx, params.table, params.date_column)
        return None

    def settings(self, params: SqlSensorParameters, task: TaskSpec) -> list[Setting]:
        """The warehouse connection."""
        return [Setting("sql_conn_id", "sql_conn_id", f"SQL connection {task.name} reads from")]

    def arguments(
        self, params: SqlSensorParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """The count of the rows it waits for."""
        count = exp.Count(this=exp.Star())
        return {"sql": table_query(count, params.table, params.date_column, spec)}


class S3KeyParameters(_SensorParameters):
    """Wait for the object ``key`` in ``bucket`` (None: the environment's config)."""

    bucket: str | None = Field(default=None, pattern=BUCKET)
    key: str | None = Field(default=None, pattern=KEY)


class S3KeySensorPattern(OperatorPattern[S3KeyParameters]):
    """An object in S3: ``S3KeySensor``, deferrable."""

    name: ClassVar[str] = "s3_key_sensor"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "sensor"
    summary: ClassVar[str] = "wait for an object (a file, a _SUCCESS marker) in an S3 bucket"
    cues: ClassVar[tuple[str, ...]] = ("file", "object", "key", "s3", "bucket", "marker")
    parameters: ClassVar[type[BaseModel]] = S3KeyParameters
    imports: ClassVar[tuple[str, ...]] = (
        "from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor",
    )
    requirements: ClassVar[tuple[str, ...]] = (AMAZON,)
    awaits_s3_object: ClassVar[bool] = True

    def applies(self, ctx: TaskContext) -> bool:
        """Words that cue it and speak of S3, or at least of no FTP server."""
        text = ctx.task.description
        return super().applies(ctx) and (mentions_s3(text) or not speaks_of_ftp(text))

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """Nothing to read."""
        return obj({})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The bucket and key the words state (else the environment's config)."""
        return obj(location_choices(ctx))

    def check(self, params: S3KeyParameters, ctx: TaskContext) -> Relation | None:
        """The key stays in its bucket and names an object."""
        check_key(params.key)
        require(params.key is None or not params.key.endswith("/"), "a key, not a prefix")
        return None

    def settings(self, params: S3KeyParameters, task: TaskSpec) -> list[Setting]:
        """The S3 connection, the bucket and the key."""
        return [
            Setting("aws_conn_id", "aws_conn_id", f"AWS connection {task.name} reads with"),
            Setting("bucket", "bucket", f"S3 bucket {task.name} waits in", params.bucket),
            Setting("key", "key", f"S3 object key {task.name} waits for", params.key),
        ]

    def arguments(
        self, params: S3KeyParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """Nothing besides the settings."""
        return {}
