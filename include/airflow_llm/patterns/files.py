"""File patterns: wait for a file on a filesystem (``file_sensor``: ``FileSensor``,
deferrable), at the path the task's words state or ``config.yml`` gives."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, field_validator

from airflow_llm.patterns.base import StrictParameters, enum, narrowed, obj
from airflow_llm.patterns.common import NONE, none_as_null, require
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.control import STANDARD
from airflow_llm.patterns.operators import OperatorPattern, Setting
from airflow_llm.patterns.urls import speaks_of_ftp
from airflow_llm.spec import PipelineSpec, TaskSpec

PATH = r"^/?(?:[A-Za-z0-9_.=*-]|\{\{ [a-z_]+ \}\})+(?:/(?:[A-Za-z0-9_.=*-]|\{\{ [a-z_]+ \}\})+)*/?$"
"""A filesystem path, Airflow macros (``{{ ds_nodash }}``) and globs included."""
_SEGMENT = r"(?:[A-Za-z0-9_.=*-]|\{\{\s*[a-z_]+\s*\}\})+"
_ABSOLUTE = re.compile(rf"(?<![\w:/.{{}}])(?:/{_SEGMENT})+/?")
"""An absolute path in prose (not the path part of a URL)."""
_DATE_FORMATS = {"YYYYMMDD": "{{ ds_nodash }}", "YYYY-MM-DD": "{{ ds }}"}
"""Date placeholders of file names, as the macros that fill them."""
_MACRO_SPACING = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
_SECONDS = {"s": 1, "m": 60, "h": 3600}
"""Seconds per unit, by its first letter."""
_UNIT = r"(s|secs?|seconds?|m|mins?|minutes?|h|hours?)\b"
POKE_INTERVAL = [
    re.compile(rf"poke_interval\W+(\d+)(?:\s*{_UNIT})?"),
    re.compile(rf"\b(?:every|poll(?:s|ing)? every)\s+(\d+)\s*{_UNIT}"),
    re.compile(rf"\b(\d+)[- ]{_UNIT}[- ]poll"),
]
"""How words state a sensor's poke interval."""
TIMEOUT = [
    re.compile(rf"\btimeout\W+(\d+)(?:\s*{_UNIT})?"),
    re.compile(rf"\bup to (\d+)\s*{_UNIT}"),
]
"""How words state how long a sensor waits in all."""
_MODE = re.compile(r"\bmode\W+(poke|reschedule)\b|\b(reschedule)\b")
_FILESYSTEM = ("filesensor", "filesystem", "file system", "local", "directory", "folder", "path")
_S3 = re.compile(r"\bs3\b|s3://|\bbucket")


def stated_paths(text: str) -> list[str]:
    """The absolute paths ``text`` writes out, files before folders, date placeholders
    (``YYYYMMDD``) as macros."""
    found = []
    for match in _ABSOLUTE.finditer(text):
        path = match.group().rstrip(".")
        for placeholder, macro in _DATE_FORMATS.items():
            path = path.replace(placeholder, macro)
        found.append(_MACRO_SPACING.sub(r"{{ \1 }}", path))
    unique = list(dict.fromkeys(found))
    return sorted(unique, key=lambda path: path.endswith("/"))


def stated_seconds(text: str, patterns: list[re.Pattern[str]]) -> list[int]:
    """The durations ``text`` states in one of these ways, in seconds."""
    found = []
    for pattern in patterns:
        for match in pattern.finditer(text.lower()):
            found.append(int(match.group(1)) * _SECONDS[(match.group(2) or "s")[0]])
    return list(dict.fromkeys(found))


def waiting_schema(text: str) -> dict[str, dict[str, Any]]:
    """How a sensor waits, as the words state it: its poke interval (else a minute),
    timeout (else the task's) and mode (else ``reschedule``)."""
    modes = [m.group(1) or m.group(2) for m in _MODE.finditer(text.lower())]
    return {
        "poke_interval": enum(stated_seconds(text, POKE_INTERVAL) or [60]),
        "timeout": enum(stated_seconds(text, TIMEOUT) or [NONE]),
        "mode": enum(modes or ["reschedule"]),
    }


class FileSensorParameters(StrictParameters):
    """Wait for the file ``path`` (None: the environment's config)."""

    path: str | None = Field(default=None, pattern=PATH)
    poke_interval: int = Field(default=60, ge=1)
    timeout: int | None = Field(default=None, ge=1)
    """Seconds to wait in all; None: the task's timeout."""
    mode: Literal["poke", "reschedule"] = "reschedule"

    _nulls = field_validator("path", "timeout", mode="before")(none_as_null)


class FileSensorPattern(OperatorPattern[FileSensorParameters]):
    """A file on a filesystem: ``FileSensor``, deferrable."""

    name: ClassVar[str] = "file_sensor"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "sensor"
    summary: ClassVar[str] = "wait for a file (or any file in a folder) on a filesystem path"
    cues: ClassVar[tuple[str, ...]] = ("file", *_FILESYSTEM)
    parameters: ClassVar[type[BaseModel]] = FileSensorParameters
    imports: ClassVar[tuple[str, ...]] = (
        "from airflow.providers.standard.sensors.filesystem import FileSensor",
    )
    requirements: ClassVar[tuple[str, ...]] = (STANDARD,)
    awaits_file: ClassVar[bool] = True

    def applies(self, ctx: TaskContext) -> bool:
        """Words about a file on a filesystem (a path, a folder, ``FileSensor``), not
        about S3 or an FTP server unless they name ``FileSensor``."""
        text = ctx.task.description
        lowered = text.lower()
        named = "filesensor" in ctx.text.stem_set
        about_files = named or "file" in ctx.text.stem_set
        filesystem = bool(stated_paths(text)) or any(cue in lowered for cue in _FILESYSTEM)
        remote = _S3.search(lowered) or speaks_of_ftp(text)
        return about_files and filesystem and (named or not remote)

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """Nothing to read."""
        return obj({})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The path the words state (files first; else the environment's config), and
        the poke interval, timeout and mode they state."""
        text = ctx.task.description
        paths = stated_paths(text)
        files = [path for path in paths if not path.endswith("/")]
        path = enum(narrowed(ctx, files or paths, [*paths, NONE]))
        return obj({"path": path, **waiting_schema(text)})

    def check(self, params: FileSensorParameters, ctx: TaskContext) -> Relation | None:
        """The path goes nowhere above its folder."""
        require(params.path is None or ".." not in params.path.split("/"), "no '..' in a path")
        return None

    def settings(self, params: FileSensorParameters, task: TaskSpec) -> list[Setting]:
        """The filesystem connection (its base path) and the path."""
        return [
            Setting("fs_conn_id", "fs_conn_id", f"filesystem connection {task.name} reads"),
            Setting("path", "path", f"file path {task.name} waits for", params.path),
        ]

    def arguments(
        self, params: FileSensorParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """How long it waits in all: the words' timeout, else the task's."""
        return {"timeout": params.timeout or task.timeout}
