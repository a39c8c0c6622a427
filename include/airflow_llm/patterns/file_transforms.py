"""File transforms: rows of files to one file, in one DuckDB statement.

``file_transform`` reads one file (CSV, JSON, JSON lines or Parquet), applies the row
operations the words ask for (:mod:`~airflow_llm.patterns.file_cues`), optionally an
aggregation, and writes one file; ``merge_files`` does the same over several files
stacked by column name or joined on key columns. The DAG gets a TaskFlow task that
runs ``COPY (...) TO $output`` with ``duckdb.connect()`` (in memory), the paths bound
as parameters, and returns the path it wrote for the tasks after it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, Field, field_validator

from airflow_llm.patterns.base import Params, StrictParameters, array, choices, enum, narrowed, obj
from airflow_llm.patterns.common import NONE, none_as_null, require
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.file_archives import asks_for_archive
from airflow_llm.patterns.file_cues import Candidates, detected_aggregation, detected_operations
from airflow_llm.patterns.file_operations import (
    Aggregation,
    Combine,
    FilterRows,
    Name,
    Operation,
    SelectColumns,
    Use,
    combined,
    copy_statement,
    input_uses,
    operation_problems,
    output_columns,
    stacked,
    transform_query,
)
from airflow_llm.patterns.file_routes import path_filters
from airflow_llm.patterns.file_steps import (
    FS_HOOK,
    SOURCE,
    FileFacts,
    FileInput,
    FilePattern,
    arguments_of,
    check_path,
    check_source,
    file_inputs,
    is_about_files,
    skippable,
    source_choice,
    typed_inputs,
)
from airflow_llm.patterns.file_words import FileFormat, clauses
from airflow_llm.patterns.files import PATH
from airflow_llm.patterns.linking import Text
from airflow_llm.patterns.operators import Setting, lead
from airflow_llm.spec import Column, PipelineSpec, TaskSpec

_JOINED_ON = re.compile(
    r"\b(?:join\w*|match\w*|merg\w*)\b[^.;\n]*?\b(?:on|using|by)\s+(?:the\s+)?(.+)$",
    re.IGNORECASE,
)
"""A clause that joins on keys ("join operation on product_id column", "merged by sku")."""
_KEY_LIKE = ("id", "key", "sku", "code")
COMBINING = (
    "merge", "merged", "merges", "combine", "combined", "combines", "consolidate",
    "consolidated", "union", "join", "joined", "joins", "concatenate", "concatenated",
    "reconcile", "reconciled",
)  # fmt: skip
"""Words that combine what a task reads with something else."""


@dataclass(frozen=True)
class Rows:
    """What a file transform reads, does and writes, whatever its pattern."""

    sources: Sequence[str | None]
    formats: Sequence[str]
    operations: Sequence[Operation]
    aggregation: Aggregation | None
    output: str | None
    output_format: str
    combine: Combine = "union"
    keys: Sequence[str] = field(default_factory=tuple)

    def statement(self, absent: bool = False) -> str:
        """The task's one DuckDB statement; when a file may be ``absent`` (a branch
        skipped the task that writes it), the files there are read as one list."""
        rows = (
            stacked(self.formats[0]) if absent else combined(self.formats, self.combine, self.keys)
        )
        return copy_statement(
            transform_query(rows, self.operations, self.aggregation), self.output_format
        )


class FileRowsPattern(FilePattern[Params]):
    """Files to one file through row operations (a base: see the two patterns below)."""

    kind: ClassVar[str] = "python"
    imports: ClassVar[tuple[str, ...]] = (FS_HOOK, "from airflow.sdk import task")
    template_name: ClassVar[str] = "file_transform.py.j2"

    @property
    def template(self) -> str:
        """Both patterns render the same TaskFlow task."""
        return self.template_name

    def rows(self, params: Params) -> Rows:
        """The parameters as :class:`Rows`."""
        raise NotImplementedError

    def file_inputs(self, params: Params) -> list[FileInput]:
        """The files it reads."""
        found = self.rows(params)
        return file_inputs(found.sources, found.formats)

    def reads(self, params: Params) -> dict[str, Use]:
        """The columns its operations (and join keys) read, typed by use."""
        found = self.rows(params)
        uses = input_uses(found.operations, found.aggregation)
        return {**dict.fromkeys(found.keys, "text"), **uses}

    def created(self, params: Params) -> set[str]:
        """The columns its operations make."""
        found = self.rows(params)
        made = {getattr(o, "to", None) for o in found.operations if o.op in ("rename", "multiply")}
        made |= {o.column for o in found.operations if o.op == "add_constant"}
        return {name for name in made if name}

    def keeps_columns(self, params: Params) -> bool:
        """Columns pass through unless it selects some or aggregates."""
        found = self.rows(params)
        selects = any(isinstance(o, SelectColumns) for o in found.operations)
        return not selects and found.aggregation is None

    def output_format(self, params: Params) -> str | None:
        """The format it writes."""
        return self.rows(params).output_format

    def settings(self, params: Params, task: TaskSpec) -> list[Setting]:
        """The filesystem connection, the paths it reads from config and the one it writes."""
        found = self.rows(params)
        written = Setting(
            "output", "path", f"{found.output_format} file {task.name} writes", found.output
        )
        return [*self.path_settings(task, self.file_inputs(params)), written]

    def arguments(self, params: Params, spec: PipelineSpec, task: TaskSpec) -> dict[str, Any]:
        """Its inputs, its statement and what it does, in a line."""
        found = self.rows(params)
        steps = [f"read the {' and '.join(sorted(set(found.formats)))} input"]
        if len(found.sources) > 1:
            steps.append(
                "stacked" if found.combine == "union" else f"joined on {', '.join(found.keys)}"
            )
        if found.operations:
            steps.append(f"apply {len(found.operations)} row operations")
        if found.aggregation is not None:
            steps.append("aggregate")
        summary = f"{', '.join(steps).capitalize()}, write {found.output_format}."
        absent = skippable(spec, found.sources) if len(found.sources) > 1 else []
        if absent:
            summary = f"{summary} A file a skipped path did not write is left out."
        statement = found.statement(bool(absent))
        inputs = arguments_of(self.file_inputs(params), statement, summary, task, absent)
        return {**inputs, "stacked": bool(absent)}

    def check_rows(self, found: Rows, ctx: TaskContext, known: Sequence[str] = ()) -> Relation:
        """Refuse sources no upstream task writes, paths leaving their folder, columns
        neither known (or in ``known``) nor named by the words; the file written, with
        its columns."""
        facts = FileFacts(ctx)
        for source in found.sources:
            check_source(facts, source)
        check_path(found.output)
        require(
            found.output is None or found.output not in found.sources,
            f"{found.output!r} is read and written",
        )
        candidates = facts.candidates(found.sources)
        usable = [*candidates.all, *found.keys, *known]
        problems = operation_problems(found.operations, found.aggregation, usable)
        require(not problems, "; ".join(problems))
        inputs = typed_inputs(
            facts.known_columns(found.sources), found.operations, found.aggregation
        )
        inputs = [
            *inputs,
            *(c for c in _key_columns(found.keys) if c.name not in {i.name for i in inputs}),
        ]
        columns = output_columns(inputs, found.operations, found.aggregation)
        return Relation(ctx.task.name, tuple(columns), ctx.task.name, found.output_format)

    def operations_schema(
        self, ctx: TaskContext, candidates: Candidates, routed: Sequence[FilterRows] = ()
    ) -> dict[str, Any]:
        """The operations the words ask for, in order (all of them on a first answer:
        nothing to ask), after the ``routed`` rows filters of the branch before it whose
        column the words do not filter themselves; the guesses too when repairing."""
        detected = detected_operations(ctx.task.description, candidates)
        filtered = {op.column for op in detected.linked if isinstance(op, FilterRows)}
        first = [op for op in routed if op.column not in filtered]
        offered = [op.model_dump() for op in [*first, *detected.linked]]
        if ctx.repairing:
            offered += [op.model_dump() for op in detected.other]
        least = 0 if ctx.repairing else len(offered)
        return array({"enum": offered}, least, len(offered)) if offered else array({}, 0, 0)

    def aggregation_schema(self, ctx: TaskContext, candidates: Candidates) -> dict[str, Any]:
        """The aggregation the words ask for, else none."""
        found = detected_aggregation(ctx.task.description, candidates)
        if found is None:
            return enum([NONE])
        return {"enum": [found.model_dump(), NONE] if ctx.repairing else [found.model_dump()]}


def _key_columns(keys: Sequence[str]) -> list[Column]:
    """Join keys as text columns (their type is what the files hold)."""
    return [Column(name=key, type="VARCHAR") for key in keys]


class FileTransformParameters(StrictParameters):
    """Read ``source`` (an upstream task's file, a path, None: ``config.yml``'s), apply
    ``operations`` in order and ``aggregation``, write ``output`` as ``output_format``."""

    source: str | None = Field(default=None, pattern=SOURCE)
    input_format: FileFormat
    operations: list[Operation] = Field(default_factory=list, max_length=16)
    aggregation: Aggregation | None = None
    output: str | None = Field(default=None, pattern=PATH)
    output_format: FileFormat

    _nulls = field_validator("source", "output", "aggregation", mode="before")(none_as_null)


class FileTransform(FileRowsPattern[FileTransformParameters]):
    """One file through row operations to one file (DuckDB in a TaskFlow task)."""

    name: ClassVar[str] = "file_transform"
    version: ClassVar[int] = 1
    summary: ClassVar[str] = (
        "read one CSV, JSON or Parquet file, clean its rows (parse dates, trim or upper-case "
        "text, drop nulls or duplicates, filter, convert by a factor) and write one file"
    )
    cues: ClassVar[tuple[str, ...]] = (
        "csv", "json", "jsonl", "parquet", "file", "ingest", "normalize", "normalized",
        "normalise", "cleanse", "cleansed", "clean", "cleaned", "standardize", "standardized",
        "standardise", "convert", "converted", "transform", "transformed", "parse", "parsed",
        "dedupe", "deduplicate", "filter", "filtered", "format", "read", "extract",
    )  # fmt: skip
    parameters: ClassVar[type[BaseModel]] = FileTransformParameters

    def applies(self, ctx: TaskContext) -> bool:
        """Words about reading one file (an upstream task's, one they name or a format
        they read) that neither combine it with something else nor load it into a table,
        name no file it cannot read or write, speak of no S3 and ask for no archive."""
        facts = FileFacts(ctx)
        single = len(facts.upstream) == 1 or (not facts.upstream and len(facts.inputs) <= 1)
        loads = facts.loads_a_table and not facts.outputs
        merges = Text(lead(facts.own_words)).cue_counts({"c": COMBINING})["c"] > 0
        cues = facts.cue_count(self.cues)
        about = is_about_files(facts, cues) or self._on_a_path(ctx, facts)
        return single and not loads and not merges and about and not asks_for_archive(ctx)

    @staticmethod
    def _on_a_path(ctx: TaskContext, facts: FileFacts) -> bool:
        """A path of a branch over the file it reads: the branch's words say which of
        its rows the path is for (words a file pattern may serve, whatever they say of
        files)."""
        return bool(facts.upstream) and facts.usable and bool(path_filters(ctx))

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """What it reads: the nearest upstream file, else the file the words name, else
        the environment's config."""
        facts = FileFacts(ctx)
        options = facts.source_options()
        linked = options[:1] or [NONE]
        return obj({"source": enum(narrowed(ctx, linked, [*options, NONE]))})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The operations and aggregation the words ask for, and the file it writes."""
        facts = FileFacts(ctx)
        routed = path_filters(ctx)
        candidates = facts.candidates([source_choice(inputs.get("source"))])
        candidates = Candidates(
            candidates.named, [*candidates.known, *(f.column for f in routed)], candidates.common
        )
        return obj(
            {
                "operations": self.operations_schema(ctx, candidates, routed),
                "aggregation": self.aggregation_schema(ctx, candidates),
                "output": self.output_schema(ctx, facts),
            }
        )

    def complete(self, answer: Mapping[str, Any], ctx: TaskContext) -> dict[str, Any]:
        """The formats: what the source is, what the output path or the words write."""
        facts = FileFacts(ctx)
        source = source_choice(answer.get("source"))
        output = source_choice(answer.get("output"))
        read = facts.input_format(source)
        return {**answer, "input_format": read, "output_format": facts.output_format(output, read)}

    def rows(self, params: FileTransformParameters) -> Rows:
        """The parameters as :class:`Rows`."""
        return Rows(
            [params.source],
            [params.input_format],
            params.operations,
            params.aggregation,
            params.output,
            params.output_format,
        )

    def check(self, params: FileTransformParameters, ctx: TaskContext) -> Relation | None:
        """See :meth:`FileRowsPattern.check_rows` (the columns of the rows filters of a
        branch before it are known)."""
        return self.check_rows(self.rows(params), ctx, [f.column for f in path_filters(ctx)])


class MergeFilesParameters(StrictParameters):
    """Read ``sources`` (upstream tasks' files or paths), stack them by column name or
    join them on ``keys``, apply ``operations`` and ``aggregation``, write ``output``."""

    sources: list[Annotated[str, Field(pattern=SOURCE)]] = Field(min_length=2, max_length=8)
    input_formats: list[FileFormat] = Field(min_length=2, max_length=8)
    combine: Combine = "union"
    keys: list[Name] = Field(default_factory=list)
    operations: list[Operation] = Field(default_factory=list, max_length=16)
    aggregation: Aggregation | None = None
    output: str | None = Field(default=None, pattern=PATH)
    output_format: FileFormat

    _nulls = field_validator("output", "aggregation", mode="before")(none_as_null)


class MergeFiles(FileRowsPattern[MergeFilesParameters]):
    """Several files to one: stacked or joined, then row operations (DuckDB)."""

    name: ClassVar[str] = "merge_files"
    version: ClassVar[int] = 1
    summary: ClassVar[str] = (
        "combine several CSV, JSON or Parquet files into one (stack them by column name or "
        "join them on key columns), optionally aggregated, and write one file"
    )
    cues: ClassVar[tuple[str, ...]] = (
        "merge", "merged", "combine", "combined", "consolidate", "consolidated", "union",
        "join", "joined", "concatenate", "append", "stack", "reconcile", "aggregate",
        "aggregated", "all", "fan-in", "unified", "together",
    )  # fmt: skip
    parameters: ClassVar[type[BaseModel]] = MergeFilesParameters

    def applies(self, ctx: TaskContext) -> bool:
        """Two or more files to read (upstream tasks' files, or files the words name),
        words that do not load them into a table nor ask for an archive, no S3."""
        facts = FileFacts(ctx)
        several = len(facts.upstream) >= 2 or (not facts.upstream and len(facts.inputs) >= 2)
        loads = facts.loads_a_table and not facts.outputs
        about = is_about_files(facts, facts.cue_count(self.cues))
        return several and not loads and about and not asks_for_archive(ctx)

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """What it reads: every nearest upstream file (else every file the words name)
        on a first answer; any two or more when repairing."""
        facts = FileFacts(ctx)
        options = facts.source_options()
        upstream = [r.produced_by for r in facts.upstream if r.produced_by]
        linked = upstream if len(upstream) >= 2 else options
        offered = narrowed(ctx, linked, options)
        least = 2 if ctx.repairing else len(offered)
        return obj({"sources": choices(offered, least, len(offered))})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """How to combine (a join when the words join on key columns they name), the
        operations, the aggregation and the file it writes."""
        facts = FileFacts(ctx)
        sources = [str(s) for s in inputs.get("sources", [])]
        candidates = facts.candidates(sources)
        keys = _join_keys(ctx, candidates)
        joins = bool(keys)
        how = ["join", "left_join"] if joins else ["union"]
        return obj(
            {
                "combine": enum(narrowed(ctx, how, ["union", "join", "left_join"])),
                "keys": (
                    choices(keys, len(keys), len(keys))
                    if joins
                    else _keys_when_repairing(ctx, keys)
                ),
                "operations": self.operations_schema(ctx, candidates),
                "aggregation": self.aggregation_schema(ctx, candidates),
                "output": self.output_schema(ctx, facts),
            }
        )

    def complete(self, answer: Mapping[str, Any], ctx: TaskContext) -> dict[str, Any]:
        """The formats: what each source is, what the output path or the words write."""
        facts = FileFacts(ctx)
        sources = [str(source) for source in answer.get("sources", [])]
        formats = [facts.input_format(source) for source in sources]
        output = source_choice(answer.get("output"))
        written = facts.output_format(output, formats[0] if formats else "csv")
        return {**answer, "input_formats": formats, "output_format": written}

    def rows(self, params: MergeFilesParameters) -> Rows:
        """The parameters as :class:`Rows`."""
        return Rows(
            list(params.sources),
            list(params.input_formats),
            params.operations,
            params.aggregation,
            params.output,
            params.output_format,
            params.combine,
            params.keys,
        )

    def check(self, params: MergeFilesParameters, ctx: TaskContext) -> Relation | None:
        """A format per source, sources read once, keys for a join and none for a union;
        see :meth:`FileRowsPattern.check_rows`."""
        require(len(params.input_formats) == len(params.sources), "one input format per source")
        require(len(set(params.sources)) == len(params.sources), "a source is read twice")
        if params.combine == "union":
            require(not params.keys, "a union has no keys: join to use keys")
        else:
            require(bool(params.keys), f"a {params.combine} needs key columns")
        absent = skippable(ctx.spec, params.sources)
        if absent:
            require(
                params.combine == "union" and len(set(params.input_formats)) == 1,
                f"a branch may skip {', '.join(absent)}: files that may be absent are only "
                "stacked (union), all of one format",
            )
        return self.check_rows(self.rows(params), ctx)


def _join_keys(ctx: TaskContext, candidates: Candidates) -> list[str]:
    """The key-like columns (``product_id``, ``sku``) the words join on; none when they
    do not join on keys (files stacked, as parallel steps' files are)."""
    named: list[str] = []
    for clause in clauses(ctx.task.description):
        joined = _JOINED_ON.search(clause)
        named += candidates.in_words(joined.group(1)) if joined else []
    keys = [
        n for n in named if n.lower() in _KEY_LIKE or n.lower().endswith(("_id", "_key", "_code"))
    ]
    return list(dict.fromkeys(keys))[:2]


def _keys_when_repairing(ctx: TaskContext, keys: Sequence[str]) -> dict[str, Any]:
    """No keys for a union; the key-like names when repairing (to join)."""
    return choices(keys, 0, len(keys)) if ctx.repairing and keys else array({}, 0, 0)
