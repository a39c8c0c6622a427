"""A file served over HTTP, downloaded into the data folder (``http_to_file``): the http
provider's ``HttpHook`` GETs the endpoint of an ``http`` connection of the environment
(its host, scheme and credentials; a URL the words write is split into the host, which
the connection holds, and the endpoint), streaming the body to a file (see
:mod:`~airflow_llm.patterns.downloads`)."""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import BaseModel, Field, field_validator

from airflow_llm.patterns.common import none_as_null
from airflow_llm.patterns.context import TaskContext
from airflow_llm.patterns.downloads import (
    DownloadParameters,
    DownloadPattern,
    Remote,
    local_outputs,
)
from airflow_llm.patterns.file_steps import FS_HOOK, STANDARD, own_words
from airflow_llm.patterns.http import ENDPOINT, HTTP, stated_endpoints
from airflow_llm.patterns.operators import Setting
from airflow_llm.patterns.urls import stated_locations
from airflow_llm.spec import TaskSpec


class HttpToFileParameters(DownloadParameters):
    """GET ``endpoint`` (None: ``config.yml``'s) and write the body to ``output``."""

    endpoint: str | None = Field(default=None, pattern=ENDPOINT)

    _endpoint_nulls = field_validator("endpoint", mode="before")(none_as_null)


class HttpToFile(DownloadPattern[HttpToFileParameters]):
    """A file from an HTTP endpoint to the data folder (``HttpHook`` in a TaskFlow task)."""

    name: ClassVar[str] = "http_to_file"
    version: ClassVar[int] = 1
    summary: ClassVar[str] = (
        "download a file (CSV, JSON, Parquet, an HTML page) from an HTTP URL or API endpoint "
        "into a local file whose path the tasks after it read"
    )
    cues: ClassVar[tuple[str, ...]] = (
        "download", "downloaded", "scrape", "http", "https", "url", "endpoint", "api", "web",
        "website", "page", "file", "save", "saved",
    )  # fmt: skip
    parameters: ClassVar[type[BaseModel]] = HttpToFileParameters
    imports: ClassVar[tuple[str, ...]] = (
        "from airflow.providers.http.hooks.http import HttpHook",
        FS_HOOK,
        "from airflow.sdk import task",
    )
    requirements: ClassVar[tuple[str, ...]] = (HTTP, STANDARD)
    remote_file: ClassVar[tuple[Remote, str]] = ("http", "endpoint")

    def remote_options(self, ctx: TaskContext) -> list[str]:
        """The paths of the URLs the words write (their hosts are the connection's), then
        the paths they write on their own (not the files they write)."""
        text = own_words(ctx.spec, ctx.task)
        urls = [loc.path for loc in stated_locations(text) if loc.scheme in ("http", "https", None)]
        written = set(local_outputs(text))
        paths = [path for path in stated_endpoints(text) if path not in written]
        return [p for p in dict.fromkeys([*urls, *paths]) if re.match(ENDPOINT, p)]

    def remote_of(self, params: HttpToFileParameters) -> str | None:
        """The endpoint."""
        return params.endpoint

    def remote_settings(self, params: HttpToFileParameters, task: TaskSpec) -> list[Setting]:
        """The API's connection (its host) and the endpoint."""
        return [
            Setting(
                "http_conn_id",
                "http_conn_id",
                f"HTTP connection (the host) {task.name} downloads from",
            ),
            Setting("endpoint", "endpoint", f"endpoint {task.name} downloads", params.endpoint),
        ]
