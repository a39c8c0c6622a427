"""Archives of files (``archive_files``): the files upstream steps wrote (data files,
reports: whatever their format), or the data files the words name (a glob too), put
into one zip (deflated) or tar.gz archive.

A step's words ask for one when they archive, compress, zip or tar what upstream file
steps wrote ("archive the day's reports for retention", "zip the exports", "compress
the files into a tarball"). The DAG gets a TaskFlow task that writes the archive at the
path the words state (``exports.tar.gz``), else under the folder they state ("to the
archive folder"), else under ``reports/`` of the filesystem connection's folder, each
file under its base name; it returns the archive's path (XCom). After a branch, a
skipped path wrote no file (and a glob may match none): the archive holds the files that
exist, and the task fails when there is none at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, Field, field_validator

from airflow_llm.patterns.base import StrictParameters, choices, enum, narrowed, obj
from airflow_llm.patterns.common import NONE, nearest, none_as_null, require
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.file_operations import Use
from airflow_llm.patterns.file_steps import (
    FS_HOOK,
    SOURCE,
    FileFacts,
    FileInput,
    FilePattern,
    arguments_of,
    check_path,
    file_inputs,
    is_task,
    skippable,
)
from airflow_llm.patterns.file_words import stated_files
from airflow_llm.patterns.files import PATH
from airflow_llm.patterns.operators import Setting, lead
from airflow_llm.spec import PipelineSpec, TaskSpec

ArchiveFormat = Literal["zip", "tar.gz"]
_ARCHIVING = re.compile(
    r"\b(?:archiv(?:e|es|ed|ing|al)|compress(?:es|ed|ing|ion)?|zip(?:s|ped|ping)?"
    r"(?!\s*-?\s*codes?\b)|tar(?:ball|balls)?|tgz|gzip(?:s|ped|ping)?)\b",
    re.IGNORECASE,
)
"""Words that put files into an archive (a zip code is no archive)."""
_ARCHIVING_VERB = re.compile(
    r"\b(?:archiv(?:e|es|ing)|compress(?:es|ing)?|zip(?:s|ping)?(?!\s*-?\s*codes?\b)|"
    r"tar|tarballs?|tgz)\b",
    re.IGNORECASE,
)
"""Words that say a step archives (not "the archived orders", which it may read)."""
_UNPACKING = re.compile(
    r"\b(?:un(?:zip|tar|compress|pack|archiv)\w*|decompress\w*|extract\w*\s+(?:the\s+)?"
    r"(?:\w+\s+)?(?:archive|zip|tarball)s?)\b",
    re.IGNORECASE,
)
"""Words that read an archive (unzip, decompress, extract the archive): not this step."""
_TAR = re.compile(r"\b(?:tar(?:ball|balls)?|tgz|gzip\w*)\b|\.tar\.gz\b|\.tgz\b", re.IGNORECASE)
_SEGMENT = r"(?:[A-Za-z0-9_=.-]|\{\{\s*[a-z_]+\s*\}\})+"
_ARCHIVE_FILE = re.compile(
    rf"(?<![\w/.{{}}:$-])(/?(?:{_SEGMENT}/)*{_SEGMENT}\.(?:zip|tar\.gz|tgz))(?![\w{{}}])",
    re.IGNORECASE,
)
"""An archive's path the words state (``exports.zip``, ``/data/out/day.tar.gz``)."""
_FOLDER = re.compile(
    rf"\b(?:to|into|in|under)\s+(?:the\s+)?(?:(?:folder|directory)\s+)?"
    rf"(/?(?:{_SEGMENT}/)*{_SEGMENT})/?\s+(?:folder|directory|dir)\b"
    rf"|\b(?:to|into|in|under)\s+(?:the\s+)?(?:(?:folder|directory)\s+)?"
    rf"(/?(?:{_SEGMENT}/)+)(?=[\s,;]|$)",
    re.IGNORECASE,
)
"""A folder the words put the archive in ("to the archive folder", "into /data/archive/")."""
_DEFAULT_FOLDER = "reports"


def archives_files(text: str) -> bool:
    """Whether the words put files into an archive (and do not unpack one)."""
    words = _ARCHIVE_FILE.sub(" archive ", text)
    return bool(_ARCHIVING.search(_paths_removed(words))) and not _UNPACKING.search(text)


def asks_for_archive(ctx: TaskContext) -> bool:
    """Whether a step's point is an archive: its title or objective archives, compresses,
    zips or tars, and it writes no data file, loads no table and stays local. The file
    patterns that write data files leave such a step to ``archive_files``."""
    facts = FileFacts(ctx)
    led = _ARCHIVING_VERB.search(_paths_removed(lead(facts.own_words)))
    return bool(led) and archives_files(facts.own_words) and _writes_nothing_else(facts)


def _writes_nothing_else(facts: FileFacts) -> bool:
    """Local words that write no data file or format ("as gzip-compressed CSV") and
    load no table."""
    writes_data = bool(facts.outputs or facts.formats["output"]) or facts.loads_a_table
    return facts.local and not writes_data


def archive_format_of(text: str) -> ArchiveFormat:
    """The archive the words write: tar.gz for a tarball, tar, gzip or such a path, else
    zip."""
    return "tar.gz" if _TAR.search(text) else "zip"


def stated_archive(text: str) -> str | None:
    """The archive's path the words state, date placeholders as macros; else None."""
    found = _ARCHIVE_FILE.search(text)
    if found is None:
        return None
    return re.sub(r"\{\{\s*([a-z_]+)\s*\}\}", r"{{ \1 }}", found.group(1)).replace(
        "YYYYMMDD", "{{ ds_nodash }}"
    )


def stated_folder(text: str) -> str | None:
    """The folder the words put the archive in, without its trailing slash; else None."""
    found = _FOLDER.search(_ARCHIVE_FILE.sub(" ", text))
    if found is None:
        return None
    folder = (found.group(1) or found.group(2)).rstrip("/")
    return folder if re.fullmatch(PATH, folder) and ".." not in folder.split("/") else None


def _paths_removed(text: str) -> str:
    """``text`` without the paths it names (``archive/orders.csv`` archives nothing)."""
    return re.sub(rf"/?(?:{_SEGMENT}/)+{_SEGMENT}", " ", text)


def _extension(archive_format: ArchiveFormat) -> str:
    return "zip" if archive_format == "zip" else "tar.gz"


class ArchiveFilesParameters(StrictParameters):
    """Put the files of ``sources`` (upstream tasks, paths or globs) that exist into one
    archive of ``archive_format`` at ``output`` (None: ``config.yml``'s)."""

    sources: list[Annotated[str, Field(pattern=SOURCE)]] = Field(min_length=1, max_length=8)
    input_formats: list[str] = Field(min_length=1, max_length=8)
    archive_format: ArchiveFormat = "zip"
    output: str | None = Field(default=None, pattern=PATH)

    _nulls = field_validator("output", mode="before")(none_as_null)


class ArchiveFiles(FilePattern[ArchiveFilesParameters]):
    """Upstream tasks' files, or named ones, into one zip or tar.gz archive (a TaskFlow
    task)."""

    name: ClassVar[str] = "archive_files"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "python"
    summary: ClassVar[str] = (
        "put the files upstream steps wrote (data files or reports, the ones that exist), "
        "or the files the words name, into one zip or tar.gz archive"
    )
    cues: ClassVar[tuple[str, ...]] = (
        "archive", "archived", "archiving", "compress", "compresses", "compressed",
        "compression", "zip", "zipped", "tar", "tarball", "gzip", "retention",
    )  # fmt: skip
    parameters: ClassVar[type[BaseModel]] = ArchiveFilesParameters
    imports: ClassVar[tuple[str, ...]] = (FS_HOOK, "from airflow.sdk import task")

    def applies(self, ctx: TaskContext) -> bool:
        """Local words that archive or compress files, write no data file or format
        ("as gzip-compressed CSV") and load no table, after upstream steps that write
        files or naming data files they read."""
        facts = FileFacts(ctx)
        archives = archives_files(facts.own_words) and _writes_nothing_else(facts)
        return archives and bool(_writers(ctx) or _named_files(ctx))

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """What it archives: the files of every nearest upstream file step and the files
        the words name on a first answer; any of them or the other upstream files when
        repairing."""
        nearest_files = [r.produced_by for r in _writers(ctx) if r.produced_by]
        linked = [*nearest_files, *_named_files(ctx)]
        others = [r.produced_by for r in ctx.files if r.produced_by]
        offered = narrowed(ctx, linked, [*linked, *others])
        least = 1 if ctx.repairing else len(offered)
        return obj({"sources": choices(offered, least, len(offered))})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The archive's format (the words', else zip) and the path they state."""
        text = FileFacts(ctx).own_words
        written = archive_format_of(stated_archive(text) or text)
        return obj(
            {
                "archive_format": enum(narrowed(ctx, [written], ["zip", "tar.gz"])),
                "output": enum(narrowed(ctx, _outputs(ctx, written), [NONE])),
            }
        )

    def complete(self, answer: Mapping[str, Any], ctx: TaskContext) -> dict[str, Any]:
        """The format of each file archived (an upstream file's, a path's)."""
        facts = FileFacts(ctx)
        formats = {r.produced_by: r.file_format or "file" for r in ctx.files}
        sources = [str(source) for source in answer.get("sources", [])]
        found = [formats.get(s) or facts.input_format(s) for s in sources]
        return {**answer, "input_formats": found}

    def planned_output(self, ctx: TaskContext) -> Relation | None:
        """An archive of the format its words write (no file pattern reads it)."""
        text = FileFacts(ctx).own_words
        return Relation(ctx.task.name, (), ctx.task.name, archive_format_of(text))

    def check(self, params: ArchiveFilesParameters, ctx: TaskContext) -> Relation | None:
        """Sources that upstream tasks write or paths in their folder, once each, a path
        in its folder whose extension is the archive's; the archive written."""
        written = {r.produced_by for r in ctx.files}
        tasks = [source for source in params.sources if is_task(source)]
        unknown = [source for source in tasks if source not in written]
        require(not unknown, f"no upstream task writes a file {', '.join(map(repr, unknown))}")
        require(len(set(params.sources)) == len(params.sources), "sources repeat")
        require(len(params.input_formats) == len(params.sources), "one format a source")
        for path in [*(s for s in params.sources if s not in tasks), params.output]:
            check_path(path)
        extension = _extension(params.archive_format)
        require(
            params.output is None or params.output.lower().endswith(f".{extension}"),
            f"a {params.archive_format} archive's path ends in .{extension} ({params.output!r})",
        )
        return Relation(ctx.task.name, (), ctx.task.name, params.archive_format)

    def file_inputs(self, params: ArchiveFilesParameters) -> list[FileInput]:
        """The files it archives: upstream tasks' by argument, paths by setting."""
        return file_inputs(params.sources, params.input_formats)

    def reads(self, params: ArchiveFilesParameters) -> dict[str, Use]:
        """No column: it archives files whole."""
        return {}

    def output_format(self, params: ArchiveFilesParameters) -> str | None:
        """The archive's format (the smoke run reports its bytes)."""
        return params.archive_format

    def settings(self, params: ArchiveFilesParameters, task: TaskSpec) -> list[Setting]:
        """The filesystem connection, the paths it archives that no upstream task gives
        and the archive's path (the words', else ``reports/<task>_<date>.<zip|tar.gz>``)."""
        extension = _extension(params.archive_format)
        default = f"{_DEFAULT_FOLDER}/{task.name}_{{{{ ds_nodash }}}}.{extension}"
        written = Setting(
            "output", "path", f"{params.archive_format} archive {task.name} writes",
            params.output or default,
        )  # fmt: skip
        return [*self.path_settings(task, self.file_inputs(params)), written]

    def arguments(
        self, params: ArchiveFilesParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """Its inputs (a branch may skip some) and what it does, in a line."""
        absent = skippable(spec, params.sources)
        summary = f"Put the files of {', '.join(params.sources)} into one {params.archive_format}"
        summary += " archive" + (
            ", the ones a skipped path did not write left out." if absent else "."
        )
        return arguments_of(self.file_inputs(params), "", summary, task, absent)


def _named_files(ctx: TaskContext) -> list[str]:
    """The data files the words name as read, but those an upstream file step's words
    say it writes (its returned path gives them)."""
    tasks = {task.name: task for task in ctx.spec.tasks or []}
    written = {
        mention.path.rsplit("/", 1)[-1]
        for relation in _writers(ctx)
        if relation.produced_by in tasks
        for mention in stated_files(tasks[relation.produced_by].description)
        if mention.role == "output"
    }
    return [path for path in FileFacts(ctx).inputs if path.rsplit("/", 1)[-1] not in written]


def _writers(ctx: TaskContext) -> list[Relation]:
    """The files the nearest upstream tasks that write one write, whatever their format
    (a task in between that writes none, a branch, is looked through)."""
    writers = {r.produced_by: r for r in ctx.files if r.produced_by is not None}
    return nearest(ctx, writers)


def _outputs(ctx: TaskContext, archive_format: ArchiveFormat) -> list[str]:
    """The archive's path the words state, else one under the folder they state, else
    none (``config.yml``'s default)."""
    text = FileFacts(ctx).own_words
    stated = stated_archive(text)
    if stated is not None:
        return [stated]
    folder = stated_folder(text)
    if folder is None:
        return [NONE]
    return [f"{folder}/{ctx.task.name}_{{{{ ds_nodash }}}}.{_extension(archive_format)}"]
