"""Downloads into files: one remote file, as it comes, to a file of the data folder.

``http_to_file`` (:mod:`~airflow_llm.patterns.http_files`) GETs it from an endpoint of an
``http`` connection, ``ftp_download`` (:mod:`~airflow_llm.patterns.ftp`) retrieves it
through an ``ftp`` connection. Both write it, through a partial file renamed once
complete, under the folder of the environment's filesystem connection (``fs``, as the
file patterns' paths; an absolute path stays absolute) at the path the words state or
``config.yml`` gives, and return the absolute path written: the file patterns after
them read that file by XCom. What the file holds is what the words state: its format
(the local path's extension, else the remote file's, else the format the words name,
else JSON from an API, else ``raw``: bytes with no rows to read, an HTML page) and its
columns (the names the words write out, and a declared source's for a file named
after it), which the tasks after it may read and the smoke run's stand-ins serve.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import Field, field_validator

from airflow_llm.patterns.base import StrictParameters, choices, enum, narrowed, obj
from airflow_llm.patterns.common import NONE, none_as_null, require
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.file_operations import Name, Use
from airflow_llm.patterns.file_steps import (
    FileFacts,
    FileInput,
    FilePattern,
    check_path,
    declared_columns,
    file_format_of,
    own_words,
)
from airflow_llm.patterns.file_words import (
    OTHER_EXTENSIONS,
    FileMention,
    column_names,
    mentions_s3,
    stated_files,
    stated_formats,
)
from airflow_llm.patterns.files import PATH
from airflow_llm.patterns.linking import Text
from airflow_llm.patterns.operators import Setting, lead
from airflow_llm.patterns.urls import speaks_of_ftp, stated_locations, without_urls
from airflow_llm.spec import Column, PipelineSpec, TaskSpec

DownloadFormat = Literal["csv", "json", "jsonl", "parquet", "raw"]
"""A downloaded file's format: one the file patterns read, or ``raw`` (no rows)."""
_DATA_FORMATS: dict[str, DownloadFormat] = {
    "csv": "csv",
    "json": "json",
    "jsonl": "jsonl",
    "parquet": "parquet",
}
Remote = Literal["http", "ftp"]

_DOWNLOADING = re.compile(r"\b(?:download\w*|scrap(?:e|es|ed|ing)|crawl\w*)\b", re.IGNORECASE)
"""Verbs of a step whose point is a remote file brought here."""
_FETCHING = re.compile(
    r"\b(?:fetch\w*|get|gets|getting|pull|pulls|pulling|retriev\w*|grab\w*|copy|copies"
    r"|copying|transfer\w*|mirror\w*)\b",
    re.IGNORECASE,
)
"""Verbs that bring something here (a file, when the words keep it in one or FTP
serves it)."""
_SAVING = re.compile(
    r"\b(?:sav(?:e|es|ed|ing)|writ(?:e|es|ing|ten)|stor(?:e|es|ed|ing)|dump\w*|persist\w*)\b"
    r"[^.;\n]*\b(?:files?|disk|folder|directory|filesystem|locally)\b",
    re.IGNORECASE,
)
"""A clause that keeps what it brings in a file."""
_SEVERAL = re.compile(
    r"\b(?:multiple|several|many|all|each|every)\b[^.;\n]*\bfiles\b", re.IGNORECASE
)
"""Words of more than one file (a download brings one)."""
_OTHER_PROTOCOLS = re.compile(r"\b(?:sftp|ftps|scp|ssh|smb|nfs)\b", re.IGNORECASE)
_WEB = frozenset(
    {"http", "https", "api", "endpoint", "url", "web", "website", "webpage", "page", "site"}
)
"""Words of a file served over HTTP."""
_API = frozenset({"api", "json", "rest"})
"""Words of an API's answer (JSON, unless the words say otherwise)."""


def downloads_from(ctx: TaskContext) -> Remote | None:
    """Where a step downloads a file from: an FTP server when its words speak of one,
    else HTTP when they write a URL or speak of the web (an API, an endpoint, a page);
    None when its title or objective brings nothing here into a file (fetching from an
    API without keeping a file is a call), or it keeps what it brings in S3 or loads it
    into a table (other patterns' work), speaks of another protocol (SFTP), or brings
    several files (a glob, "multiple files")."""
    text = own_words(ctx.spec, ctx.task)
    several = bool(_SEVERAL.search(text)) or any("*" in m.path for m in stated_files(text))
    if several or mentions_s3(text) or FileFacts(ctx).loads_a_table:
        return None
    remote = _protocol(text)
    head = lead(text)
    keeps = bool(_SAVING.search(text)) or bool(local_outputs(text))
    fetches = bool(_FETCHING.search(head)) and (keeps or remote == "ftp")
    return remote if _DOWNLOADING.search(head) or fetches else None


def _protocol(text: str) -> Remote | None:
    schemes = {location.scheme for location in stated_locations(text)}
    web = bool(schemes & {"http", "https", None}) or bool(Text(text).stem_set & _WEB)
    if "ftp" in schemes or (speaks_of_ftp(text) and not schemes & {"http", "https"}):
        return "ftp"
    if _OTHER_PROTOCOLS.search(text) or schemes - {"http", "https", None}:
        return None
    return "http" if web else None


def local_outputs(text: str) -> list[str]:
    """The files the words write (their remote files left out), any extension."""
    return [m.path for m in stated_files(without_urls(text)) if m.role == "output"]


def remote_files(text: str) -> list[FileMention]:
    """The files the words name that they do not write (the ones on the remote side)."""
    return [m for m in stated_files(without_urls(text)) if m.role != "output" and "*" not in m.path]


def format_of(path: str | None) -> DownloadFormat | None:
    """The format a path's extension names (a query left out), if any."""
    if path is None:
        return None
    bare = path.split("?", 1)[0]
    found = _DATA_FORMATS.get(file_format_of(bare) or "")
    if found is not None:
        return found
    extension = bare.rsplit(".", 1)[-1].lower() if "." in bare.rsplit("/", 1)[-1] else ""
    return "raw" if extension in OTHER_EXTENSIONS else None


class DownloadParameters(StrictParameters):
    """Write the remote file to ``output`` (None: ``config.yml``'s) as it comes; it is
    ``format`` with ``columns``."""

    output: str | None = Field(default=None, pattern=PATH)
    format: DownloadFormat
    columns: list[Name] = Field(default_factory=list, max_length=64)

    _nulls = field_validator("output", mode="before")(none_as_null)


DownloadParams = TypeVar("DownloadParams", bound=DownloadParameters)


class DownloadPattern(FilePattern[DownloadParams]):
    """A remote file to a file of the data folder, in a TaskFlow task that returns its
    path (a base: the HTTP and FTP downloads)."""

    kind: ClassVar[str] = "python"
    remote_file: ClassVar[tuple[Remote, str]]
    """Its remote and the setting (and parameter) naming the file it reads there."""

    @property
    def template(self) -> str:
        """Both downloads render the same TaskFlow task."""
        return "download.py.j2"

    @abstractmethod
    def remote_options(self, ctx: TaskContext) -> list[str]:
        """The remote files the words name, likeliest first."""

    def remote_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """The remote file the words name, else the environment's config."""
        options = self.remote_options(ctx)
        return enum(narrowed(ctx, options[:1] or [NONE], [*options, NONE]))

    @abstractmethod
    def remote_settings(self, params: DownloadParams, task: TaskSpec) -> list[Setting]:
        """The connection it downloads through and the remote file."""

    @abstractmethod
    def remote_of(self, params: DownloadParams) -> str | None:
        """The remote file of the parameters (None: ``config.yml``'s)."""

    def applies(self, ctx: TaskContext) -> bool:
        """A step that downloads a file from its remote (see :func:`downloads_from`)."""
        return downloads_from(ctx) == self.remote_file[0]

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """Nothing to read from the warehouse or the data folder."""
        return obj({})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The remote file and the local path the words state (else the environment's
        config), and the file's columns they write out (all of them on a first answer)."""
        text = own_words(ctx.spec, ctx.task)
        outputs = local_outputs(text)
        names = [column.name for column in _stated_columns(ctx, [])]
        least = 0 if ctx.repairing else len(names)
        return obj(
            {
                self.remote_file[1]: self.remote_schema(ctx),
                "output": enum(narrowed(ctx, outputs[:1] or [NONE], [*outputs, NONE])),
                "columns": choices(names, least, len(names)),
            }
        )

    def complete(self, answer: Mapping[str, Any], ctx: TaskContext) -> dict[str, Any]:
        """The file's format: the local path's, the remote file's, the words'."""
        remote = none_as_null(answer.get(self.remote_file[1]))
        output = none_as_null(answer.get("output"))
        return {**answer, "format": downloaded_format(ctx, remote, output)}

    def check(self, params: DownloadParams, ctx: TaskContext) -> Relation | None:
        """A local path in its folder, of the remote file's format (the bytes are written
        as they come); columns the words name, none for a raw file. The file written,
        with its columns (None for a raw file: nothing reads its rows)."""
        check_path(params.output)
        remote = self.remote_of(params)
        served, written = format_of(remote), format_of(params.output)
        require(
            served is None or written is None or served == written,
            f"{remote!r} is {served} and {params.output!r} {written}: the file is written "
            "as it comes, not converted",
        )
        require(params.format != "raw" or not params.columns, "a raw file has no columns")
        known = {column.name for column in _stated_columns(ctx, [remote, params.output])}
        unknown = [name for name in params.columns if name not in known]
        require(not unknown, f"the words name no column {', '.join(map(repr, unknown))}")
        require(len(set(params.columns)) == len(params.columns), "columns repeat")
        return _written(ctx, params.format, params.columns, [remote, params.output])

    def planned_output(self, ctx: TaskContext) -> Relation | None:
        """The file a first answer writes, with the columns the words state."""
        remote = next(iter(self.remote_options(ctx)), None)
        outputs = local_outputs(own_words(ctx.spec, ctx.task))
        output = outputs[0] if outputs else None
        paths = [remote, output]
        names = [column.name for column in _stated_columns(ctx, paths)]
        return _written(ctx, downloaded_format(ctx, remote, output), names, paths)

    def file_inputs(self, params: DownloadParams) -> list[FileInput]:
        """No local file: it reads a remote one."""
        return []

    def reads(self, params: DownloadParams) -> dict[str, Use]:
        """The columns the file holds (the remote file must have them)."""
        return dict.fromkeys(params.columns, "text")

    def keeps_columns(self, params: DownloadParams) -> bool:
        """The file is the remote file: every column the tasks after it read is in it."""
        return True

    def output_format(self, params: DownloadParams) -> str | None:
        """Its format, None for a raw file (no rows to count)."""
        return None if params.format == "raw" else params.format

    def settings(self, params: DownloadParams, task: TaskSpec) -> list[Setting]:
        """The data folder's connection, the remote's connection and file, the path."""
        written = Setting(
            "output", "path", f"{params.format} file {task.name} downloads to", params.output
        )
        return [*self.path_settings(task, []), *self.remote_settings(params, task), written]

    def arguments(
        self, params: DownloadParams, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """The protocol, the remote file's setting and what it does, in a line."""
        remote, setting = self.remote_file
        where = "an HTTP endpoint" if remote == "http" else "an FTP server"
        return {
            "protocol": remote,
            "remote": setting,
            "summary": f"Download a {params.format} file from {where} to the data folder.",
        }


def downloaded_format(ctx: TaskContext, remote: str | None, output: str | None) -> DownloadFormat:
    """The local path's format, else the remote file's, else the one the words name,
    else JSON for words about an API, else raw."""
    for path in (output, remote):
        found = format_of(path)
        if found is not None:
            return found
    text = without_urls(own_words(ctx.spec, ctx.task))
    named = [f for formats in stated_formats(text).values() for f in formats]
    if named:
        return _DATA_FORMATS[named[0]]
    return "json" if Text(text).stem_set & _API else "raw"


def _stated_columns(ctx: TaskContext, paths: Sequence[str | None]) -> list[Column]:
    """The columns of the declared sources the files are named after, then the names
    the words write out (remote locations and file names left out), as text."""
    text = without_urls(own_words(ctx.spec, ctx.task))
    excluded = [task.name for task in ctx.spec.tasks or []] + [s.name for s in ctx.spec.sources]
    excluded += [mention.stem for mention in stated_files(text)]
    columns = {c.name: c for path in paths if path for c in declared_columns(ctx, path)}
    for name in column_names(text, excluded)[0]:
        columns.setdefault(name, Column(name=name, type="VARCHAR"))
    return list(columns.values())


def _written(
    ctx: TaskContext, file_format: str, names: Sequence[str], paths: Sequence[str | None]
) -> Relation | None:
    """The file a download writes, its columns typed (None for a raw file)."""
    if file_format == "raw":
        return None
    typed = {column.name: column for column in _stated_columns(ctx, paths)}
    columns = tuple(typed.get(name) or Column(name=name, type="VARCHAR") for name in names)
    return Relation(ctx.task.name, columns, ctx.task.name, file_format)
