"""HTTP patterns: an API's response to S3 (``http_to_s3``: the amazon provider's
``HttpToS3Operator``), one call to an API whose answer goes to XCom (``http_call``: the
http provider's ``HttpOperator``) and waiting until an endpoint answers (``http_sensor``:
``HttpSensor``), through an ``http`` connection of the environment (its host, scheme and
credentials) and the endpoint the words write out."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, field_validator

from airflow_llm.patterns.base import StrictParameters, enum, narrowed, obj
from airflow_llm.patterns.common import NONE, none_as_null
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.downloads import downloads_from
from airflow_llm.patterns.graphql_words import speaks_graphql
from airflow_llm.patterns.operators import OperatorPattern, Setting, lead, names_operator
from airflow_llm.patterns.transfers import (
    AMAZON,
    BUCKET,
    KEY,
    check_key,
    location_choices,
    without_locations,
)
from airflow_llm.spec import PipelineSpec, TaskSpec

HTTP = "apache-airflow-providers-http==6.3.0"
ENDPOINT = r"^/[A-Za-z0-9_.~/{}=?&%:+, -]*$"
"""A path (and query) on the connection's host, Airflow macros included."""
_CHAR = r"(?:[A-Za-z0-9_.~/=?&%:+-]|\{\{\s*\w+\s*\}\})"
"""A character of a path or query, or an Airflow macro (``{{ ds }}``)."""
_URL = re.compile(rf"https?://[A-Za-z0-9.-]+(?::\d+)?(?P<path>/{_CHAR}*)?")
_PATH = re.compile(rf"(?<![\w/:.}}])(/{_CHAR}+)")
Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
METHODS: tuple[Method, ...] = ("GET", "POST", "PUT", "PATCH", "DELETE")
_METHOD = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE)\b")
"""A method, as words write it: in capitals (``POST to``, ``method='POST'``)."""


_CALLING = re.compile(
    r"\b(?:call|calls|calling|fetch|fetches|fetching|request|requests|invoke|invokes|hit"
    r"|hits|ping|pings|notify|notifies|post|posts|send|sends|query|queries)\b",
    re.IGNORECASE,
)
"""Verbs of a step whose point is a call to an API."""


def stated_methods(text: str) -> list[str]:
    """The HTTP methods ``text`` writes out in capitals, in order."""
    return list(dict.fromkeys(_METHOD.findall(text)))


def stated_endpoints(text: str) -> list[str]:
    """The endpoints ``text`` writes out: the paths of URLs, and paths starting with
    ``/`` (not the S3 locations it states)."""
    found = [match.group("path") or "/" for match in _URL.finditer(text)]
    rest = without_locations(_URL.sub(" ", text))
    found += [match.group(1).rstrip(".,;:)") for match in _PATH.finditer(rest)]
    return [endpoint for endpoint in dict.fromkeys(found) if re.match(ENDPOINT, endpoint)]


def _keeps_in_s3(ctx: TaskContext) -> bool:
    """Whether the words put the answer in S3: they say S3 or bucket (a path alone is an
    endpoint, not a key)."""
    words = ctx.task.description.lower()
    return bool(ctx.text.stem_set & {"s3", "bucket"}) or "s3://" in words


def _endpoint_schema(ctx: TaskContext) -> dict[str, Any]:
    return enum(narrowed(ctx, stated_endpoints(ctx.task.description), [NONE]))


def _http_settings(endpoint: str | None, task: TaskSpec) -> list[Setting]:
    return [
        Setting(
            "http_conn_id", "http_conn_id", f"HTTP connection (the API's host) {task.name} calls"
        ),
        Setting("endpoint", "endpoint", f"endpoint {task.name} calls", endpoint),
    ]


class HttpToS3Parameters(StrictParameters):
    """GET ``endpoint`` and write the response body to ``bucket``/``key``."""

    endpoint: str | None = Field(default=None, pattern=ENDPOINT)
    bucket: str | None = Field(default=None, pattern=BUCKET)
    key: str | None = Field(default=None, pattern=KEY)

    _nulls = field_validator("*", mode="before")(none_as_null)


class HttpToS3(OperatorPattern[HttpToS3Parameters]):
    """An API's response, as it comes, to one object in S3 (``HttpToS3Operator``)."""

    name: ClassVar[str] = "http_to_s3"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "python"
    summary: ClassVar[str] = "call an HTTP API and store its response as an object in S3"
    cues: ClassVar[tuple[str, ...]] = ("api", "http", "endpoint", "rest")
    parameters: ClassVar[type[BaseModel]] = HttpToS3Parameters
    calls: ClassVar[tuple[str, str] | None] = ("http", "endpoint")
    writes_s3_object: ClassVar[bool] = True
    imports: ClassVar[tuple[str, ...]] = (
        "from airflow.providers.amazon.aws.transfers.http_to_s3 import HttpToS3Operator",
    )
    requirements: ClassVar[tuple[str, ...]] = (AMAZON, HTTP)

    def applies(self, ctx: TaskContext) -> bool:
        """Words about an API and about keeping its answer in S3."""
        return _keeps_in_s3(ctx) and super().applies(ctx)

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """Nothing to read from the warehouse."""
        return obj({})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The endpoint, bucket and key the words state (else the environment's config)."""
        return obj({"endpoint": _endpoint_schema(ctx), **location_choices(ctx)})

    def check(self, params: HttpToS3Parameters, ctx: TaskContext) -> Relation | None:
        """The key stays in its bucket and names an object."""
        check_key(params.key)
        return None

    def settings(self, params: HttpToS3Parameters, task: TaskSpec) -> list[Setting]:
        """The API's connection and endpoint, the S3 connection, bucket and key."""
        return [
            *_http_settings(params.endpoint, task),
            Setting("aws_conn_id", "aws_conn_id", f"AWS connection {task.name} writes with"),
            Setting("bucket", "bucket", f"S3 bucket {task.name} writes to", params.bucket),
            Setting("key", "key", f"S3 object key {task.name} writes", params.key),
        ]

    def arguments(
        self, params: HttpToS3Parameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """Nothing besides the settings."""
        return {}


class HttpCallParameters(StrictParameters):
    """Call ``endpoint`` with ``method``; the answer's body goes to XCom."""

    method: Method = "GET"
    endpoint: str | None = Field(default=None, pattern=ENDPOINT)

    _nulls = field_validator("endpoint", mode="before")(none_as_null)


class HttpCall(OperatorPattern[HttpCallParameters]):
    """One call to an API (``HttpOperator``): a status of 400 or more fails the task, the
    body goes to XCom for the tasks after it."""

    name: ClassVar[str] = "http_call"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "python"
    summary: ClassVar[str] = "call an HTTP API endpoint (GET, POST...) and keep its answer"
    cues: ClassVar[tuple[str, ...]] = ("api", "http", "endpoint", "rest", "webhook", "request")
    parameters: ClassVar[type[BaseModel]] = HttpCallParameters
    imports: ClassVar[tuple[str, ...]] = (
        "from airflow.providers.http.operators.http import HttpOperator",
    )
    stands_for: ClassVar[tuple[str, ...]] = ("SimpleHttpOperator",)
    requirements: ClassVar[tuple[str, ...]] = (HTTP,)
    answers_from: ClassVar[tuple[str, str] | None] = ("http", "endpoint")

    def applies(self, ctx: TaskContext) -> bool:
        """Words whose title or objective calls an API (call, fetch, request, a method in
        capitals...) and keep its answer neither in S3 (``http_to_s3`` does that) nor in
        a file they download it to (``http_to_file``), or that name ``HttpOperator``.
        Processing an API's response is no call, and a GraphQL call is ``graphql_call``'s."""
        text = ctx.task.description
        named = any(names_operator(text, op) for op in ("HttpOperator", *self.stands_for))
        calling = bool(_CALLING.search(lead(text))) or bool(stated_methods(text))
        kept = _keeps_in_s3(ctx) or downloads_from(ctx) is not None
        graphql = speaks_graphql(text)
        return named or (super().applies(ctx) and calling and not kept and not graphql)

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """Nothing to read from the warehouse."""
        return obj({})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The method the words write in capitals (else GET and POST), the endpoint they
        state (else the environment's config)."""
        methods = stated_methods(ctx.task.description)
        return obj(
            {
                "method": enum(narrowed(ctx, methods, list(METHODS))),
                "endpoint": _endpoint_schema(ctx),
            }
        )

    def settings(self, params: HttpCallParameters, task: TaskSpec) -> list[Setting]:
        """The API's connection and endpoint."""
        return _http_settings(params.endpoint, task)

    def arguments(
        self, params: HttpCallParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """The method."""
        return {"method": params.method}


class HttpSensorParameters(StrictParameters):
    """Wait until ``endpoint`` answers (not 404)."""

    endpoint: str | None = Field(default=None, pattern=ENDPOINT)

    _nulls = field_validator("endpoint", mode="before")(none_as_null)


class HttpSensorPattern(OperatorPattern[HttpSensorParameters]):
    """An endpoint that answers (``HttpSensor``: 404 means not yet)."""

    name: ClassVar[str] = "http_sensor"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "sensor"
    summary: ClassVar[str] = "wait until an HTTP API's endpoint answers (404: not yet)"
    cues: ClassVar[tuple[str, ...]] = ("api", "http", "endpoint", "url", "service")
    parameters: ClassVar[type[BaseModel]] = HttpSensorParameters
    calls: ClassVar[tuple[str, str] | None] = ("http", "endpoint")
    imports: ClassVar[tuple[str, ...]] = (
        "from airflow.providers.http.sensors.http import HttpSensor",
    )
    requirements: ClassVar[tuple[str, ...]] = (HTTP,)

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """Nothing to read."""
        return obj({})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The endpoint the words state (else the environment's config)."""
        return obj({"endpoint": _endpoint_schema(ctx)})

    def settings(self, params: HttpSensorParameters, task: TaskSpec) -> list[Setting]:
        """The API's connection and endpoint."""
        return _http_settings(params.endpoint, task)

    def arguments(
        self, params: HttpSensorParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """Nothing besides the settings."""
        return {}
