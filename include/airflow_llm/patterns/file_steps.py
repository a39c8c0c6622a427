"""What the file patterns share: the files a task may read (upstream tasks' files, by
the path they return; files its words name; a path ``config.yml`` gives), the column
names it may use, and the settings and statements of the DAG's TaskFlow task.

A file task's paths are relative to the folder of a filesystem connection (``fs``,
its ``path`` extra: the pipeline's data directory, as the file sensor's); an absolute
path stays absolute. An upstream file task returns the absolute path it wrote, which
the task takes as an argument (XCom: the edge and the data are one). The smoke run
stands the folder in with one of its own, where the files no upstream task writes are
created with sample rows of the columns the tasks read (see
:func:`airflow_llm.validate.sample_files.seed_files`).
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

from airflow_llm.patterns.base import Params, enum, narrowed
from airflow_llm.patterns.common import NONE, nearest, require
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.file_cues import Candidates
from airflow_llm.patterns.file_operations import (
    SQL_TYPES,
    Aggregation,
    Operation,
    Use,
    input_uses,
)
from airflow_llm.patterns.file_words import (
    ARCHIVE_FORMATS,
    REPORT_FORMATS,
    FileMention,
    clauses,
    column_names,
    mentions_s3,
    names_other_formats,
    stated_files,
    stated_formats,
)
from airflow_llm.patterns.files import PATH
from airflow_llm.patterns.linking import Text
from airflow_llm.patterns.operators import OperatorPattern, Setting, lead, stated_value
from airflow_llm.patterns.reads import Read, config_reference
from airflow_llm.spec import NAME_PATTERN, Column, PipelineSpec, TaskSpec, reachable

DUCKDB = "duckdb==2.0.0"
STANDARD = "apache-airflow-providers-standard==1.21.0"
FS_HOOK = "from airflow.providers.standard.hooks.filesystem import FSHook"
SOURCE = rf"{NAME_PATTERN}|{PATH}"
"""What a file task reads: an upstream task (its file) or a path."""
_LOADS_A_TABLE = re.compile(
    r"\b(?:load|loads|loaded|loading|insert\w*|persist\w*|stor(?:e|es|ed|ing)|upsert\w*)\b"
    r".*\b(?:tables?|database|db|warehouse|postgres\w*|mysql|snowflake|bigquery|"
    r"redshift|sqlite|duckdb)\b",
    re.IGNORECASE,
)
"""A clause that loads rows into a table or database."""
_FILE_WORDS = frozenset({"file", "csv", "json", "jsonl", "parquet", "ndjson", "tsv"})
_ELSEWHERE = re.compile(
    r"\b(?:docker|container)\s+image\b|\b(?:s?ftp|https?|api|apis|url|endpoint|download(?:s|ing)?|"
    r"scrap\w*|redis|kafka|elasticsearch)\b",
    re.IGNORECASE,
)
"""Words that say the task's work happens elsewhere: in a container image it runs, or
in a remote system it reads (an FTP server, an API): not a file task's."""
_NOTIFIES = re.compile(
    r"\b(?:notif(?:y|ies|ied|ying|ication|ications)|alerting|inform(?:s|ing)?)\b", re.I
)
"""Words of a title or objective that tell people something: a notification's."""


_PULL = "{{{{ ti.xcom_pull(task_ids='{}') }}}}"
"""A template of the path an upstream file task returned."""


def is_task(source: str) -> bool:
    """Whether a source names an upstream task (its file), not a path."""
    return bool(re.match(NAME_PATTERN, source))


def file_format_of(path: str) -> str | None:
    """The format a path's extension names, if the file patterns read it."""
    found = stated_files(f" {path} ")
    return found[0].format if found else None


@dataclass(frozen=True)
class FileInput:
    """One file a task reads: an upstream task's (the path it returns) or the path of
    one of the task's settings."""

    format: str
    upstream: str | None = None
    setting: str | None = None
    stated: str | None = None
    """The path the words state (None: ``config.yml``'s placeholder until filled)."""

    @property
    def parameter(self) -> str:
        """The name of the TaskFlow function's argument that gets its path."""
        return f"{self.upstream}_path" if self.upstream else ""


@dataclass(frozen=True)
class FileFacts:
    """What a task's words and upstream tasks say about the files it reads and writes."""

    ctx: TaskContext

    @cached_property
    def own_words(self) -> str:
        """The task's words without the other tasks' names."""
        return own_words(self.ctx.spec, self.ctx.task)

    @cached_property
    def mentions(self) -> list[FileMention]:
        """The files the words name."""
        return stated_files(self.own_words)

    @cached_property
    def upstream(self) -> list[Relation]:
        """The files the nearest upstream tasks that write one write (a task in between
        that writes none, or only a report or archive no file pattern reads, is looked
        through)."""
        writers = {
            r.produced_by: r
            for r in self.ctx.files
            if r.produced_by is not None
            and r.file_format not in (*REPORT_FORMATS, *ARCHIVE_FORMATS)
        }
        return nearest(self.ctx, writers)

    @cached_property
    def inputs(self) -> list[str]:
        """The files the words say the task reads (or name without saying), readable ones."""
        outputs = {m.path for m in self.mentions if m.role == "output"}
        return [
            m.path
            for m in self.mentions
            if m.role != "output" and m.format and m.path not in outputs and "*" not in m.path
        ] + [m.path for m in self.mentions if m.role == "input" and m.format and "*" in m.path]

    @cached_property
    def outputs(self) -> list[str]:
        """The files the words say the task writes, writable ones (no globs)."""
        return [
            m.path for m in self.mentions if m.role == "output" and m.format and "*" not in m.path
        ]

    @cached_property
    def unreadable(self) -> bool:
        """Whether the words name a file in a format the file patterns neither read nor
        write as what the task reads or writes (a PDF report, an XML feed)."""
        named = any(m.format is None and m.role != "unknown" for m in self.mentions)
        return named or names_other_formats(self.own_words)

    @cached_property
    def formats(self) -> dict[str, list[str]]:
        """The formats the words name, by role."""
        return {str(role): found for role, found in stated_formats(self.own_words).items()}

    def cue_count(self, cues: tuple[str, ...]) -> int:
        """How many of ``cues`` the task's own words hold."""
        return Text(self.own_words).cue_counts({"cues": cues})["cues"]

    @property
    def about_files(self) -> bool:
        """Whether the words speak of files (a file, a format, a file they name)."""
        return bool(self.mentions) or bool(Text(self.own_words).stem_set & _FILE_WORDS)

    @property
    def loads_a_table(self) -> bool:
        """Whether the words load rows into a table or database (file_to_table's business)."""
        return any(_LOADS_A_TABLE.search(clause) for clause in clauses(self.own_words))

    @property
    def local(self) -> bool:
        """Words about local work: not about S3, a container image or a remote system, a
        title and objective that do not notify people (a notification after file steps
        is no file step)."""
        text = self.own_words
        elsewhere = mentions_s3(text) or _ELSEWHERE.search(text) or _NOTIFIES.search(lead(text))
        return not elsewhere

    @property
    def usable(self) -> bool:
        """Words a file pattern may serve: :attr:`local` ones naming no file it cannot
        read or write."""
        return self.local and not self.unreadable

    def upstream_named(self, task: str) -> Relation | None:
        """The file upstream task ``task`` writes."""
        return next((r for r in self.ctx.files if r.produced_by == task), None)

    def first_source(self) -> str | None:
        """The source a first answer reads (None: a path ``config.yml`` gives)."""
        options = self.source_options()
        return options[0] if options else None

    def source_options(self) -> list[str]:
        """Every source: upstream files (nearest first), the files the words name."""
        tasks = [relation.produced_by for relation in self.upstream if relation.produced_by]
        others = [r.produced_by for r in self.ctx.files if r.produced_by and r not in self.upstream]
        return list(dict.fromkeys([*tasks, *self.inputs, *others]))

    def input_format(self, source: str | None) -> str:
        """The format of what a source is: an upstream file's, a path's extension's, else
        the format the words read, else CSV."""
        if source is not None and is_task(source):
            found = self.upstream_named(source)
            if found is not None and found.file_format:
                return found.file_format
        if source is not None and file_format_of(source):
            return str(file_format_of(source))
        stated = self.formats.get("input", []) + self.formats.get("unknown", [])
        return stated[0] if stated else "csv"

    def output_format(self, output: str | None, input_format: str) -> str:
        """The format written: the output path's, else the one the words write, else the
        input's."""
        if output is not None and file_format_of(output):
            return str(file_format_of(output))
        stated = self.formats.get("output", [])
        return stated[0] if stated else input_format

    def known_columns(self, sources: Sequence[str | None]) -> list[Column]:
        """The known columns of the sources: an upstream file's, a declared source's that
        a path is named after (``orders.csv`` and ``raw.orders``)."""
        columns: dict[str, Column] = {}
        for source in sources:
            for column in self._source_columns(source):
                columns.setdefault(column.name, column)
        return list(columns.values())

    def _source_columns(self, source: str | None) -> Sequence[Column]:
        if source is None:
            return []
        if is_task(source):
            found = self.upstream_named(source)
            return found.columns if found else []
        return declared_columns(self.ctx, source)

    def candidates(self, sources: Sequence[str | None]) -> Candidates:
        """The column names the task may use: written out in its words, the sources'
        known columns, common column words of its words."""
        spec = self.ctx.spec
        excluded = [task.name for task in spec.tasks or []]
        excluded += [m.stem for m in self.mentions] + [s.name for s in spec.sources]
        named, common = column_names(self.ctx.task.description, excluded)
        known = [column.name for column in self.known_columns(sources)]
        return Candidates(named, known, common)


def own_words(spec: PipelineSpec, task: TaskSpec) -> str:
    """``task``'s words without the other tasks' names (``from load_orders_csv`` says
    nothing of its own files)."""
    text = task.description
    for other in spec.tasks or []:
        if other.name != task.name:
            text = re.sub(rf"(?<![\w]){re.escape(other.name)}(?![\w])", " ", text)
    return text


def skippable(spec: PipelineSpec, names: Sequence[str | None]) -> list[str]:
    """The tasks among ``names`` that a branch task before them may skip (their files
    are then absent when the tasks after them run)."""
    graph = {task.name: list(task.depends_on) for task in spec.tasks or []}
    branches = {task.name for task in spec.tasks or [] if task.kind == "branch"}
    return [name for name in names if name in graph and reachable(name, graph) & branches]


def declared_columns(ctx: TaskContext, path: str) -> Sequence[Column]:
    """The columns of the declared source a file is named after, if any."""
    stem = path.rsplit("/", 1)[-1].split(".", 1)[0].lower()
    for source in ctx.spec.sources:
        if source.name.rsplit(".", 1)[-1].lower() == stem:
            return source.columns
    return []


def source_choice(value: str | None) -> str | None:
    """An answer's source, ``none`` as None."""
    return None if value in (None, NONE) else value


def check_source(facts: FileFacts, source: str | None) -> None:
    """A source must be an upstream file task or a path that stays in its folder."""
    if source is None:
        return
    if is_task(source):
        require(
            facts.upstream_named(source) is not None, f"no upstream task writes a file {source!r}"
        )
        return
    check_path(source)


def check_loaded_columns(facts: FileFacts, source: str | None, names: Sequence[str]) -> None:
    """Refuse a source :func:`check_source` refuses, columns neither known of the file
    nor named by the words, and a column named twice."""
    check_source(facts, source)
    candidates = facts.candidates([source]).all
    unknown = [name for name in names if name not in candidates]
    require(not unknown, f"no column {', '.join(map(repr, unknown))} in the file")
    require(len(set(names)) == len(names), "columns repeat")


def check_path(path: str | None) -> None:
    """A path goes nowhere above its folder and closes the macros it opens."""
    if path is None:
        return
    require(".." not in path.split("/"), f"no '..' in a path ({path!r})")
    require(path.count("{{") == path.count("}}"), f"{path!r} opens a macro it does not close")


def typed_inputs(
    known: Sequence[Column], operations: Sequence[Operation], aggregation: Aggregation | None
) -> list[Column]:
    """The columns read: the known ones, and those the operations read typed by use."""
    columns = {column.name: column for column in known}
    for name, use in input_uses(operations, aggregation).items():
        columns.setdefault(name, Column(name=name, type=SQL_TYPES[use]))
    return list(columns.values())


class FilePattern(OperatorPattern[Params]):
    """A pattern whose TaskFlow task reads files with DuckDB in memory (the smoke run
    creates the files it reads that no upstream task writes)."""

    requirements: ClassVar[tuple[str, ...]] = (DUCKDB, STANDARD)
    writes_file: ClassVar[bool] = True
    """Whether it writes a file and returns its path (the smoke run counts its rows)."""

    @abstractmethod
    def file_inputs(self, params: Params) -> list[FileInput]:
        """The files it reads."""

    @abstractmethod
    def reads(self, params: Params) -> dict[str, Use]:
        """The columns it reads from its inputs, typed by use."""

    def answer_of(self, params: Params) -> tuple[str, dict[str, Use]] | None:
        """The upstream task whose answer (XCom, not a file) it reads, and the fields it
        reads there (dotted paths), typed by use. By default none."""
        return None

    def created(self, params: Params) -> set[str]:
        """The columns it makes (what reads its file may read without its input having
        them). By default none."""
        return set()

    def keeps_columns(self, params: Params) -> bool:
        """Whether the columns it does not name pass to its file. By default not."""
        return False

    def output_format(self, params: Params) -> str | None:
        """The format of the file it writes (None: it writes none)."""
        return None

    def planned_output(self, ctx: TaskContext) -> Relation | None:
        """A file of the format its words write (its columns known once rendered), if it
        writes one."""
        if not self.writes_file:
            return None
        facts = FileFacts(ctx)
        output = facts.outputs[0] if facts.outputs else None
        written = facts.output_format(output, facts.input_format(facts.first_source()))
        return Relation(ctx.task.name, (), ctx.task.name, written)

    def data_reads(self, params: Params, task: TaskSpec) -> list[Read]:
        """Besides :meth:`OperatorPattern.data_reads`: the files it reads (an upstream
        task's, by the path it returns; a path the words or ``config.yml`` give) and the
        upstream task whose answer (XCom) it reads."""
        reads = super().data_reads(params, task)
        for found in self.file_inputs(params):
            if found.upstream is not None:
                reads.append(Read.of_task("file", found.upstream, found.upstream))
            elif found.setting is not None:
                path = found.stated or config_reference(task.name, found.setting)
                reads.append(Read("file", path))
        answer = self.answer_of(params)
        if answer is not None:
            reads.append(Read.of_task("xcom", answer[0], answer[0]))
        return reads

    def data_writes(self, params: Params, task: TaskSpec) -> list[Read]:
        """Besides :meth:`OperatorPattern.data_writes`: the file it writes, where its
        ``output`` setting states the path."""
        path = stated_value(self.settings(params, task), "output")
        written = [Read("file", path)] if self.writes_file and path else []
        return super().data_writes(params, task) + written

    def output_schema(self, ctx: TaskContext, facts: FileFacts) -> dict[str, Any]:
        """The file the words say it writes, else the environment's config."""
        return enum(narrowed(ctx, facts.outputs, [*facts.outputs, NONE]))

    def path_settings(self, task: TaskSpec, inputs: Sequence[FileInput]) -> list[Setting]:
        """The filesystem connection (its folder holds the relative paths; not needed when
        upstream tasks give every file a task reads and it writes none) and the paths of
        the inputs no upstream task gives."""
        folder = Setting(
            "fs_conn_id",
            "fs_conn_id",
            f"filesystem connection whose path is the data folder {task.name} uses",
        )
        needed = self.writes_file or any(found.setting for found in inputs)
        settings = [folder] if needed else []
        for found in inputs:
            if found.setting is not None:
                what = f"{found.format} file {task.name} reads"
                settings.append(Setting(found.setting, "path", what, found.stated))
        return settings


def file_inputs(sources: Sequence[str | None], formats: Sequence[str]) -> list[FileInput]:
    """The inputs of sources: upstream files by argument, paths by setting (``input``
    for one, ``input_<n>`` for several)."""
    found: list[FileInput] = []
    single = len(sources) == 1
    for position, (source, file_format) in enumerate(zip(sources, formats, strict=True), 1):
        if source is not None and is_task(source):
            found.append(FileInput(file_format, upstream=source))
        else:
            name = "input" if single else f"input_{position}"
            found.append(FileInput(file_format, setting=name, stated=source))
    return found


def is_about_files(facts: FileFacts, cues: int) -> bool:
    """Whether a file pattern may serve the task: words a file pattern may serve, about
    files or cueing it, reading a file."""
    readable = bool(facts.upstream or facts.inputs or facts.formats.get("input"))
    return facts.usable and (facts.about_files or cues > 0) and readable


def arguments_of(
    inputs: Sequence[FileInput],
    statement: str,
    summary: str,
    task: TaskSpec,
    optional: Collection[str] = (),
) -> dict[str, Any]:
    """What a file task's snippet renders: its inputs, statement and docstring. An
    upstream task right before it passes its file's path as an argument; one further up
    (a task that writes none in between, such as a branch) through a template that pulls
    its XCom, as an argument would add an edge the task list does not have. An input of
    ``optional`` (upstream tasks a branch may skip) may be None."""
    listed = [
        {
            "upstream": found.upstream,
            "setting": found.setting,
            "parameter": found.parameter,
            "pull": (
                _PULL.format(found.upstream)
                if found.upstream and found.upstream not in task.depends_on
                else None
            ),
            "optional": found.upstream in optional,
        }
        for found in inputs
    ]
    return {
        "inputs": listed,
        "upstream": [found for found in listed if found["upstream"] and not found["pull"]],
        "statement": statement,
        "summary": summary,
    }
