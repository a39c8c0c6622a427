"""FTP patterns, through an ``ftp`` connection of the environment (the server's host,
port and credentials): waiting for a file on the server (``ftp_sensor``: the ftp
provider's ``FTPSensor``) and downloading one into the data folder (``ftp_download``:
``FTPHook.retrieve_file`` in a TaskFlow task that returns the local path, see
:mod:`~airflow_llm.patterns.downloads`). The file is the one the words name (an
``ftp://`` URL's path, a path or file name they do not write), else ``config.yml``'s;
paths are the server's (relative ones from the login folder)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, Field, field_validator

from airflow_llm.patterns.base import enum, narrowed, obj
from airflow_llm.patterns.common import NONE, none_as_null, require
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.downloads import (
    DownloadParameters,
    DownloadPattern,
    Remote,
    remote_files,
)
from airflow_llm.patterns.file_steps import FS_HOOK, STANDARD, own_words
from airflow_llm.patterns.files import PATH, FileSensorParameters, stated_paths, waiting_schema
from airflow_llm.patterns.operators import (
    GENERIC_OPERATORS,
    OperatorPattern,
    Setting,
    named_operators,
)
from airflow_llm.patterns.urls import speaks_of_ftp, stated_locations
from airflow_llm.spec import PipelineSpec, TaskSpec

FTP = "apache-airflow-providers-ftp==3.16.1"


def ftp_paths(ctx: TaskContext) -> list[str]:
    """The files on the server the words name: ``ftp://`` URLs' (and scheme-less host
    paths') paths, the paths and file names they do not write, the folders they name."""
    text = own_words(ctx.spec, ctx.task)
    urls = [loc.path for loc in stated_locations(text) if loc.scheme in ("ftp", None)]
    named = [mention.path for mention in remote_files(text)]
    folders = [path for path in stated_paths(text) if path.endswith("/")]
    return list(dict.fromkeys([*urls, *named, *folders]))


def _ftp_connection(task: TaskSpec, does: str) -> Setting:
    return Setting("ftp_conn_id", "ftp_conn_id", f"FTP connection (the server) {task.name} {does}")


def _names_ftp_operators(ctx: TaskContext) -> bool:
    """Whether the words name how the step runs with FTP operators only (an
    ``FTPFileSensor`` of their own, ``FTPFileTransmitOperator``): still FTP's work."""
    named = named_operators(ctx.task.description) - GENERIC_OPERATORS
    return bool(named) and all(speaks_of_ftp(name) for name in named)


class FtpSensorParameters(FileSensorParameters):
    """Wait for the file ``path`` on the FTP server (None: the environment's config)."""


class FtpSensorPattern(OperatorPattern[FtpSensorParameters]):
    """A file on an FTP server: ``FTPSensor`` (a missing file, 550, means not yet)."""

    name: ClassVar[str] = "ftp_sensor"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "sensor"
    summary: ClassVar[str] = "wait for a file (or folder) on an FTP server"
    cues: ClassVar[tuple[str, ...]] = ("ftp", "file", "server", "arrival", "available", "detect")
    parameters: ClassVar[type[BaseModel]] = FtpSensorParameters
    imports: ClassVar[tuple[str, ...]] = (
        "from airflow.providers.ftp.sensors.ftp import FTPSensor",
    )
    requirements: ClassVar[tuple[str, ...]] = (FTP,)
    remote_file: ClassVar[tuple[str, str] | None] = ("ftp", "path")

    def applies(self, ctx: TaskContext) -> bool:
        """Words about an FTP server (not SFTP or FTPS)."""
        return speaks_of_ftp(ctx.task.description)

    def fits_named_operators(self, ctx: TaskContext) -> bool:
        """Also when the words name an FTP sensor of their own (``FTPFileSensor``)."""
        return _names_ftp_operators(ctx) or super().fits_named_operators(ctx)

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """Nothing to read."""
        return obj({})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The file the words name on the server (else the environment's config), and
        the poke interval, timeout and mode they state."""
        paths = ftp_paths(ctx)
        path = enum(narrowed(ctx, paths[:1] or [NONE], [*paths, NONE]))
        return obj({"path": path, **waiting_schema(ctx.task.description)})

    def check(self, params: FtpSensorParameters, ctx: TaskContext) -> Relation | None:
        """The path goes nowhere above the login folder."""
        require(params.path is None or ".." not in params.path.split("/"), "no '..' in a path")
        return None

    def settings(self, params: FtpSensorParameters, task: TaskSpec) -> list[Setting]:
        """The FTP connection and the path."""
        return [
            _ftp_connection(task, "watches"),
            Setting("path", "path", f"path on the FTP server {task.name} waits for", params.path),
        ]

    def arguments(
        self, params: FtpSensorParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """How long it waits in all: the words' timeout, else the task's."""
        return {"timeout": params.timeout or task.timeout}


class FtpDownloadParameters(DownloadParameters):
    """Retrieve ``path`` from the FTP server (None: ``config.yml``'s) into ``output``."""

    path: str | None = Field(default=None, pattern=PATH)

    _path_nulls = field_validator("path", mode="before")(none_as_null)


class FtpDownload(DownloadPattern[FtpDownloadParameters]):
    """A file from an FTP server to the data folder (``FTPHook`` in a TaskFlow task)."""

    name: ClassVar[str] = "ftp_download"
    version: ClassVar[int] = 1
    summary: ClassVar[str] = (
        "download a file from an FTP server into a local file whose path the tasks after " "it read"
    )
    cues: ClassVar[tuple[str, ...]] = (
        "ftp", "download", "downloaded", "retrieve", "fetch", "transfer", "file", "server",
    )  # fmt: skip
    parameters: ClassVar[type[BaseModel]] = FtpDownloadParameters
    imports: ClassVar[tuple[str, ...]] = (
        "from airflow.providers.ftp.hooks.ftp import FTPHook",
        FS_HOOK,
        "from airflow.sdk import task",
    )
    requirements: ClassVar[tuple[str, ...]] = (FTP, STANDARD)
    remote_file: ClassVar[tuple[Remote, str]] = ("ftp", "path")

    def fits_named_operators(self, ctx: TaskContext) -> bool:
        """Also when the words name FTP operators (``FTPFileTransmitOperator``)."""
        return _names_ftp_operators(ctx) or super().fits_named_operators(ctx)

    def remote_options(self, ctx: TaskContext) -> list[str]:
        """The files on the server the words name."""
        return [path for path in ftp_paths(ctx) if not path.endswith("/")]

    def remote_of(self, params: FtpDownloadParameters) -> str | None:
        """The path on the server."""
        return params.path

    def check(self, params: FtpDownloadParameters, ctx: TaskContext) -> Relation | None:
        """A file on the server above no folder; see :meth:`DownloadPattern.check`."""
        require(params.path is None or ".." not in params.path.split("/"), "no '..' in a path")
        require(params.path is None or not params.path.endswith("/"), "a file, not a folder")
        return super().check(params, ctx)

    def remote_settings(self, params: FtpDownloadParameters, task: TaskSpec) -> list[Setting]:
        """The FTP connection and the path on the server."""
        return [
            _ftp_connection(task, "downloads from"),
            Setting("path", "path", f"path on the FTP server {task.name} downloads", params.path),
        ]
