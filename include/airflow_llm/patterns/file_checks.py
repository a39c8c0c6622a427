"""A file's columns checked before it goes further (``validate_file``).

A step that validates an incoming file ("Validate the file's schema: transaction_id,
customer_id, amount, transaction_date columns with string, string, decimal, date
types") reads it with DuckDB in memory: the file an upstream file task wrote (the path
it returns), the file an upstream file sensor waited for (the path its words state), a
file the words name, or a path ``config.yml`` gives. The task fails, naming the file,
when a stated column is missing, when values of a typed column do not convert to its
type (``TRY_CAST``), or, when the words ask for it, when the file has no rows; else it
returns the file's path, so the tasks after it read the same file (its columns known).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import sqlglot.expressions as exp
from pydantic import BaseModel, Field, field_validator

from airflow_llm.patterns.base import StrictParameters, choices, enum, narrowed, obj
from airflow_llm.patterns.common import NONE, nearest, none_as_null, require
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.file_cues import Candidates
from airflow_llm.patterns.file_loads import column_use
from airflow_llm.patterns.file_operations import (
    READERS,
    SQL_TYPES,
    Name,
    Use,
    column,
    identifier,
)
from airflow_llm.patterns.file_steps import (
    FS_HOOK,
    SOURCE,
    FileFacts,
    FileInput,
    FilePattern,
    arguments_of,
    check_loaded_columns,
    file_format_of,
    file_inputs,
    source_choice,
)
from airflow_llm.patterns.file_words import FileFormat, clauses, column_names
from airflow_llm.patterns.files import stated_paths
from airflow_llm.patterns.operators import Setting, lead
from airflow_llm.spec import Column, PipelineSpec, TaskSpec, reachable

_TYPE_WORDS: dict[str, Use] = {
    "string": "text", "str": "text", "text": "text", "varchar": "text", "char": "text",
    "int": "number", "integer": "number", "bigint": "number", "long": "number",
    "decimal": "number", "numeric": "number", "number": "number", "float": "number",
    "double": "number", "real": "number", "money": "number",
    "date": "date", "timestamp": "timestamp", "datetime": "timestamp",
}  # fmt: skip
"""Type words and the type a column of each is checked as (integers as numbers)."""
_TYPE = rf"(?:{'|'.join(sorted(_TYPE_WORDS, key=len, reverse=True))})"
_LISTED_TYPES = re.compile(
    rf"\b(?:with|of|having|as|typed)\s+(?:the\s+)?(?:types?\s*:?\s*)?"
    rf"({_TYPE}(?:\s*(?:,|\band\b)\s*{_TYPE})+|{_TYPE})\s+(?:data\s+)?types?\b",
    re.IGNORECASE,
)
"""``... columns with string, string, decimal, date types``: types in the columns' order."""
_VALIDATING = re.compile(
    r"\b(?:validat(?:e|es|ing|ion|ions)|verif(?:y|ies|ying|ication)|checks?|checking"
    r"|ensur(?:e|es|ing)|asserts?|asserting|inspects?|inspecting|inspection)\b",
    re.IGNORECASE,
)
"""Verbs (and their nouns) of a step that checks: not "validated" or "checked", which
describe what a later step reads."""
_CHECKED = re.compile(
    r"\b(?:schema|schemas|columns?|headers?|structure|fields?|types?|layout|empty|files?|csv"
    r"|json|parquet)\b",
    re.IGNORECASE,
)
"""What a check of a file checks (or the file itself)."""
_REWORKING = re.compile(
    r"\b(?:normali[sz]\w*|standardi[sz]\w*|clean\w*|filter\w*|convert\w*|pars(?:e|es|ing)"
    r"|dedup\w*|enrich\w*|transform\w*|merg\w*|combin\w*|aggregat\w*)\b",
    re.IGNORECASE,
)
"""Verbs of a step that changes rows (a file transform's, whose checks are its filters)."""
_ROWS = re.compile(
    r"\b(?:non[- ]?empty|not\s+(?:be\s+)?empty|is\s+empty|empty\s+files?|row\s+count|record\s+count"
    r"|at\s+least\s+one\s+(?:row|record)|ha(?:s|ve)\s+(?:rows|records|data)|no\s+rows|zero\s+rows)\b",
    re.IGNORECASE,
)
"""Words that ask for rows in the file."""
_TABLE_WORDS = re.compile(r"\b(?:table|tables|database|warehouse)\b", re.IGNORECASE)
_LOADING = re.compile(r"\b(?:load|loads|loading|insert\w*|upsert\w*)\b", re.IGNORECASE)


def stated_types(text: str, names: Sequence[str]) -> dict[str, Use]:
    """The types the words give the columns ``names``: listed in the order the columns
    are written ("a, b columns with string, date types") or beside a column ("amount
    (decimal)", "amount: decimal", "amount as decimal")."""
    found: dict[str, Use] = {}
    for clause in clauses(text):
        for match in _LISTED_TYPES.finditer(clause):
            types = re.findall(_TYPE, match.group(1), re.IGNORECASE)
            before = clause[: match.start()]
            written = column_names(before)[0]
            listed = sorted(written, key=lambda name: before.find(name))
            if len(listed) == len(types):
                for name, word in zip(listed, types, strict=True):
                    found.setdefault(name, _TYPE_WORDS[word.lower()])
    for name in names:
        beside = re.search(
            rf"(?<!\w){re.escape(name)}\s*(?:\(|:|\bas\b|\bis\b(?:\s+an?)?|\bof\s+type\b)?\s*"
            rf"({_TYPE})\b(?!\s*(?:,|\band\b)\s*{_TYPE})",
            text,
            re.IGNORECASE,
        )
        if beside is not None:
            found.setdefault(name, _TYPE_WORDS[beside.group(1).lower()])
    return {name: found[name] for name in names if name in found}


def sensed_files(ctx: TaskContext) -> list[str]:
    """The files the nearest upstream sensors wait for, as their words state them (the
    path a file sensor's first answer takes)."""
    tasks = {task.name: task for task in ctx.spec.tasks or []}
    graph = {name: list(task.depends_on) for name, task in tasks.items()}
    ancestors = reachable(ctx.task.name, graph)
    waited = {}
    for name in ancestors:
        task = tasks.get(name)
        if task is not None and task.kind == "sensor":
            files = [p for p in stated_paths(task.description) if file_format_of(p)]
            if files:
                waited[name] = files[0]
    return nearest(ctx, waited)


def source_options(ctx: TaskContext, facts: FileFacts) -> list[str]:
    """What it may check: upstream files (nearest first), the files the words name, the
    files upstream sensors wait for."""
    found = facts.source_options()
    upstream = [r.produced_by for r in facts.upstream if r.produced_by]
    sensed = sensed_files(ctx)
    return list(dict.fromkeys([*upstream, *facts.inputs, *sensed, *found]))


class CheckedColumn(StrictParameters):
    """A column the file must have, and the type its values must convert to (None: any)."""

    name: Name
    type: Use | None = None


class ValidateFileParameters(StrictParameters):
    """Check that ``source`` (an upstream task's file, a path, None: ``config.yml``'s)
    has ``columns`` (their values of their types) and, if ``require_rows``, rows."""

    source: str | None = Field(default=None, pattern=SOURCE)
    input_format: FileFormat
    columns: list[CheckedColumn] = Field(default_factory=list, max_length=64)
    require_rows: bool = False

    _nulls = field_validator("source", mode="before")(none_as_null)


class ValidateFile(FilePattern[ValidateFileParameters]):
    """A file's columns, types and rows checked; the same file passed on."""

    name: ClassVar[str] = "validate_file"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "python"
    summary: ClassVar[str] = (
        "check that an incoming CSV, JSON or Parquet file has the stated columns (and "
        "types, and rows), failing the task if not, and pass the file on"
    )
    cues: ClassVar[tuple[str, ...]] = (
        "validate", "validates", "validated", "validation", "verify", "verifies", "check",
        "checks", "schema", "column", "columns", "header", "headers", "type", "types",
        "structure", "incoming", "file", "conform",
    )  # fmt: skip
    parameters: ClassVar[type[BaseModel]] = ValidateFileParameters
    imports: ClassVar[tuple[str, ...]] = (FS_HOOK, "from airflow.sdk import task")
    writes_file: ClassVar[bool] = False

    def applies(self, ctx: TaskContext) -> bool:
        """Words whose title or objective validates (checks, verifies) a file or its
        schema, columns or rows and changes no rows (cleaning, filtering, converting: a
        file transform's), a file to check (an upstream task's or sensor's, one the words
        name, or "file" in the words: ``config.yml``'s), columns to check or rows to
        ask for, and no table to load or check (``file_to_table``, quality tasks)."""
        facts = FileFacts(ctx)
        head = lead(facts.own_words)
        validating = bool(_VALIDATING.search(head) and _CHECKED.search(head))
        validating = validating and not _REWORKING.search(head)
        readable = bool(source_options(ctx, facts)) or facts.about_files
        tables = bool(_TABLE_WORDS.search(head)) or bool(_LOADING.search(head))
        candidates = _candidates(ctx, facts)
        columns = bool(candidates.named or candidates.known)
        wanted = columns or bool(_ROWS.search(facts.own_words))
        return validating and readable and not tables and facts.usable and wanted

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """What it checks: the nearest upstream file, else the file the words name, else
        the file an upstream sensor waits for, else the environment's config."""
        options = source_options(ctx, FileFacts(ctx))
        return obj({"source": enum(narrowed(ctx, options[:1] or [NONE], [*options, NONE]))})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The columns: every one the words write out (else every known column of the
        file) on a first answer; whether the file must have rows (when the words say)."""
        facts = FileFacts(ctx)
        candidates = facts.candidates([source_choice(inputs.get("source"))])
        sure = list(candidates.named or candidates.known)
        offered = narrowed(ctx, sure, candidates.all)
        least = 0 if ctx.repairing else len(offered)
        rows = bool(_ROWS.search(facts.own_words))
        return obj(
            {
                "columns": choices(offered, least, len(offered)),
                "require_rows": enum(narrowed(ctx, [rows], [rows, not rows])),
            }
        )

    def complete(self, answer: Mapping[str, Any], ctx: TaskContext) -> dict[str, Any]:
        """The input's format and each column's type: the one the words give it, else
        its known type (a date column's), else any."""
        facts = FileFacts(ctx)
        source = source_choice(answer.get("source"))
        names = [str(name) for name in answer.get("columns", [])]
        columns = [
            {"name": name, "type": use}
            for name, use in _column_types(ctx, facts, source, names).items()
        ]
        return {**answer, "input_format": facts.input_format(source), "columns": columns}

    def check(self, params: ValidateFileParameters, ctx: TaskContext) -> Relation | None:
        """A source it may read (an upstream file task or a path in its folder), columns
        known or named by the words, once each, something to check. The file it passes
        on: its known columns and the checked ones, typed."""
        facts = FileFacts(ctx)
        names = [c.name for c in params.columns]
        check_loaded_columns(facts, params.source, names)
        require(bool(names) or params.require_rows, "nothing to check: no columns, no rows")
        return _passed_on(ctx, facts, params.source, params.input_format, params.columns)

    def planned_output(self, ctx: TaskContext) -> Relation | None:
        """The file it passes on, with the columns a first answer checks."""
        facts = FileFacts(ctx)
        options = source_options(ctx, facts)
        source = options[0] if options else None
        candidates = facts.candidates([source])
        names = list(candidates.named or candidates.known)
        columns = [
            CheckedColumn(name=name, type=use)
            for name, use in _column_types(ctx, facts, source, names).items()
        ]
        return _passed_on(ctx, facts, source, facts.input_format(source), columns)

    def file_inputs(self, params: ValidateFileParameters) -> list[FileInput]:
        """The file it checks."""
        return file_inputs([params.source], [params.input_format])

    def reads(self, params: ValidateFileParameters) -> dict[str, Use]:
        """The columns it checks, by their types (any type: text)."""
        return {c.name: c.type or "text" for c in params.columns}

    def keeps_columns(self, params: ValidateFileParameters) -> bool:
        """The file passes on as it is."""
        return True

    def output_format(self, params: ValidateFileParameters) -> str | None:
        """The format of the file it passes on: its own."""
        return params.input_format

    def settings(self, params: ValidateFileParameters, task: TaskSpec) -> list[Setting]:
        """The filesystem connection and path (unless an upstream task gives the file)."""
        return self.path_settings(task, self.file_inputs(params))

    def arguments(
        self, params: ValidateFileParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """Its input, the query counting the file's rows and each typed column's values
        that do not convert, the query of its header, the columns expected, what it
        checks."""
        typed = {c.name: c.type for c in params.columns if c.type is not None and c.type != "text"}
        names = ", ".join(c.name for c in params.columns)
        checks = [f"the columns {names}"] if names else []
        checks += [f"{name} as {use}" for name, use in typed.items()]
        checks += ["rows"] if params.require_rows else []
        summary = f"Check the {params.input_format} file for {', '.join(checks)}."
        query = count_query(params.input_format, typed)
        return {
            **arguments_of(self.file_inputs(params), query, summary, task),
            "describe": header_query(params.input_format),
            "columns": [c.name for c in params.columns],
            "typed": typed,
        }


_READ_AS_WRITTEN: dict[str, dict[str, exp.Expr]] = {
    "csv": {"all_varchar": exp.true(), "header": exp.true()},
    "json": {"sample_size": exp.Literal.number(-1)},
    "jsonl": {"sample_size": exp.Literal.number(-1)},
    "parquet": {},
}
"""Reader options that keep a value the sniffer would not type from failing the read:
CSV as text (the checks cast it), JSON typed from every row."""


def checked_reader(file_format: str) -> exp.Expr:
    """DuckDB's reader of the file at ``$input_1``, as written (see :data:`_READ_AS_WRITTEN`)."""
    options = [
        exp.EQ(this=exp.column(name), expression=value)
        for name, value in _READ_AS_WRITTEN[file_format].items()
    ]
    parameter = exp.Placeholder(this="input_1")
    call = exp.Anonymous(this=READERS[file_format], expressions=[parameter, *options])
    return exp.Table(this=call)


def header_query(file_format: str) -> str:
    """``DESCRIBE SELECT * FROM <reader>``: the file's column names (first) and types."""
    return f"DESCRIBE {exp.select(exp.Star()).from_(checked_reader(file_format)).sql('duckdb')}"


def count_query(file_format: str, typed: Mapping[str, Use]) -> str:
    """``SELECT count(*), count_if("c" IS NOT NULL AND TRY_CAST("c" AS <type>) IS NULL),
    ... FROM <reader>``: the file's rows and, per typed column, its values that do not
    convert to the column's type."""
    counts: list[exp.Expr] = [exp.alias_(exp.Count(this=exp.Star()), identifier("rows"))]
    for name, use in typed.items():
        value = exp.TryCast(this=column(name), to=exp.DataType.build(SQL_TYPES[use]))
        wrong = exp.and_(column(name).is_(exp.null()).not_(), value.is_(exp.null()))
        counts.append(exp.alias_(exp.CountIf(this=wrong), identifier(name)))
    return exp.select(*counts).from_(checked_reader(file_format)).sql(dialect="duckdb")


def _candidates(ctx: TaskContext, facts: FileFacts) -> Candidates:
    """The column names of the file a first answer checks."""
    options = source_options(ctx, facts)
    return facts.candidates([options[0] if options else None])


def _column_types(
    ctx: TaskContext, facts: FileFacts, source: str | None, names: Sequence[str]
) -> dict[str, Use | None]:
    """Each column's type: the words', else a known date or number column's, else any."""
    stated = stated_types(ctx.task.description, names)
    known = {c.name: column_use(c.type, ctx.dialect) for c in facts.known_columns([source])}
    return {name: stated.get(name) or _typed(known.get(name)) for name in names}


def _typed(use: Use | None) -> Use | None:
    """A known column's type as checked: text is any value."""
    return None if use in (None, "text") else use


def _passed_on(
    ctx: TaskContext,
    facts: FileFacts,
    source: str | None,
    file_format: str,
    checked: Sequence[CheckedColumn],
) -> Relation:
    """The file passed on: the source's known columns, then the checked ones, typed."""
    columns = {c.name: c for c in facts.known_columns([source])}
    for found in checked:
        typed = Column(name=found.name, type=SQL_TYPES[found.type or "text"])
        columns[found.name] = typed if found.type else columns.get(found.name, typed)
    name = ctx.task.name
    return Relation(name, tuple(columns.values()), name, file_format)
