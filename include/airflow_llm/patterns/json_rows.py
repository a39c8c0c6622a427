"""Rows out of a JSON answer (``json_to_rows``).

A step that processes what an API answered ("parse the JSON response and extract
given_name, family_name and address.city") reads the upstream task's result: the
answer itself (XCom: an ``HttpOperator``'s body, a parsed value) or the JSON file an
upstream task wrote (the path it returns), or a JSON file the words name. A TaskFlow
task parses it with the standard library, takes as its records the list of objects
that holds most of the stated fields (or the answer itself, one record), and looks
each field up in each record: its dotted path, else its key anywhere in the record
with case and separators ignored (``first_name`` for ``firstname``). It fails naming
the fields no record has, writes the rows (CSV, JSON or Parquet, with DuckDB) and
returns the path, so loads and transforms after it read them as any file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import sqlglot.expressions as exp
from pydantic import BaseModel, Field, field_validator

from airflow_llm.patterns.base import StrictParameters, choices, enum, narrowed, obj
from airflow_llm.patterns.common import NONE, none_as_null, require
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.file_checks import stated_types
from airflow_llm.patterns.file_loads import column_use
from airflow_llm.patterns.file_operations import COPY_OPTIONS, SQL_TYPES, Name, Use, identifier
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
    source_choice,
)
from airflow_llm.patterns.file_words import FileFormat, mentions_s3
from airflow_llm.patterns.operators import Setting, lead
from airflow_llm.spec import Column, PipelineSpec, TaskSpec

JSON_PATH = r"^[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*){0,7}$"
"""A field's place in a JSON object: keys joined by dots (``address.city``)."""
_DOTTED = re.compile(r"(?<![\w./])([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)+)(?![\w/]|\.\w)")
"""A dotted path the words write out (``main.aqius``), not a file or a URL."""
_JSON_WORDS = re.compile(
    r"\b(?:json|response|responses|answer|answers|payload|payloads|xcom|api)\b", re.I
)
"""Words of what a JSON step reads: an answer or a JSON document."""
_EXTRACTING = re.compile(
    r"\b(?:extract\w*|pars(?:e|es|ed|ing)|process\w*|transform\w*|flatten\w*|pick\w*"
    r"|map|maps|mapping|convert\w*|turn\w*|build\w*|creat(?:e|es|ing))\b",
    re.I,
)
"""Verbs of a step that makes rows of an answer."""
_NAME = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*"
_LIST = rf"{_NAME}(?:\s*,\s*{_NAME})*(?:\s*,?\s*and\s+{_NAME})|{_NAME}(?:\s*,\s*{_NAME})+"
_EXTRACTED_LIST = re.compile(
    rf"\b(?i:extract\w*|pick\w*|take\w*|keep\w*|(?:fields?|keys?|properties)\s+named)"
    rf"\s+(?:the\s+)?({_LIST})|\(\s*({_NAME}(?:\s*,\s*{_NAME})+)\s*\)",
)
"""A list of names after an extracting verb (``extract firstname, lastname and email``,
``keys named id and title``), or in parentheses (``the weather (temp, humidity)``)."""
_ANSWERING = re.compile(
    r"\b(?:api|apis|https?|endpoints?|rest|requests?|responses?|json|graphql|url|webhook)\b",
    re.I,
)
"""Words of a task whose result is an answer (an API's): one a JSON step may read."""
_NOTIFIES = re.compile(r"\b(?:notif\w*|alert\w*|e-?mail(?:s|ing)?\s+(?:to|the))\b", re.I)
_FILE_SUFFIXES = frozenset({"json", "jsonl", "csv", "parquet", "txt", "html", "xml", "py", "sql"})
Reads = Literal["answer", "file"]


class JsonField(StrictParameters):
    """A field taken from each record: its column name, its path, what it holds."""

    name: Name
    path: str = Field(pattern=JSON_PATH)
    use: Use = "text"


class JsonToRowsParameters(StrictParameters):
    """Rows of ``fields`` out of ``source`` (an upstream task: its answer or its file; a
    path; None: ``config.yml``'s), written as ``output_format`` to ``output`` (None:
    ``config.yml``'s)."""

    source: str | None = Field(default=None, pattern=SOURCE)
    reads: Reads
    fields: list[JsonField] = Field(min_length=1, max_length=64)
    output: str | None = Field(default=None, pattern=SOURCE)
    output_format: FileFormat

    _nulls = field_validator("source", "output", mode="before")(none_as_null)


def stated_paths(text: str) -> list[str]:
    """The dotted paths the words write out (``address.city``), not file names."""
    found = [m.group(1) for m in _DOTTED.finditer(text)]
    return [path for path in dict.fromkeys(found) if path.rsplit(".", 1)[1] not in _FILE_SUFFIXES]


def extracted(text: str) -> list[str]:
    """The names a list after an extracting verb, or in parentheses, gives (``extract
    firstname, lastname and email``): plain words a JSON step takes, which need no
    underscore to be fields (not constants in capitals: ``GET``)."""
    found = []
    for match in _EXTRACTED_LIST.finditer(text):
        listed = match.group(1) or match.group(2)
        found += re.split(r"\s*,\s*(?:and\s+)?|\s+and\s+", listed)
    return [name for name in dict.fromkeys(found) if "." not in name and not name.isupper()]


def field_paths(text: str, names: Sequence[str]) -> list[str]:
    """The fields the words name, in their order: the dotted paths they write
    (``address.city``) and the names that are no key of one."""
    paths = stated_paths(text)
    keys = {key for path in paths for key in path.split(".")}
    found = list(dict.fromkeys([*(name for name in names if name not in keys), *paths]))

    def position(field: str) -> int:
        written = re.search(rf"(?<![\w.]){re.escape(field)}(?!\w)", text)
        return written.start() if written else len(text)

    return sorted(found, key=position)


def column_of(path: str, paths: Sequence[str]) -> str:
    """The column a field path fills: its last key, the whole path (with underscores)
    where two paths end in the same key."""
    last = path.rsplit(".", 1)[-1]
    same = [other for other in paths if other.rsplit(".", 1)[-1] == last]
    return last if len(same) <= 1 else path.replace(".", "_").replace("-", "_")


class JsonToRows(FilePattern[JsonToRowsParameters]):
    """The stated fields of a JSON answer or file, as rows in a file."""

    name: ClassVar[str] = "json_to_rows"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "python"
    summary: ClassVar[str] = (
        "parse a JSON answer of an API (the upstream task's result) or a JSON file and "
        "write the stated fields of its records, nested ones included, as rows in a file"
    )
    cues: ClassVar[tuple[str, ...]] = (
        "json", "response", "answer", "payload", "xcom", "parse", "parsed", "extract",
        "extracts", "extracted", "field", "fields", "nested", "process", "processed",
    )  # fmt: skip
    parameters: ClassVar[type[BaseModel]] = JsonToRowsParameters
    imports: ClassVar[tuple[str, ...]] = (FS_HOOK, "from airflow.sdk import task")

    def applies(self, ctx: TaskContext) -> bool:
        """Words whose title or objective makes rows of (extracts, parses, processes) a
        JSON answer or document, fields they name, something to read (an upstream task's
        answer or JSON file, a JSON file they name), and no table to load, no S3, no
        notification, no file of another format."""
        facts = FileFacts(ctx)
        head = lead(facts.own_words)
        about = bool(_JSON_WORDS.search(facts.own_words) and _EXTRACTING.search(head))
        elsewhere = mentions_s3(facts.own_words) or bool(_NOTIFIES.search(head))
        readable = bool(self.source_options(ctx))
        fields = bool(self.field_options(ctx, self.first_source(ctx)))
        plain = not facts.loads_a_table and not facts.unreadable and not elsewhere
        return about and readable and fields and plain

    def source_options(self, ctx: TaskContext) -> list[str]:
        """What it may read: upstream JSON files (nearest first), the answers of the tasks
        it depends on whose words speak of an API or JSON, the JSON files the words name."""
        facts = FileFacts(ctx)
        files = [r.produced_by for r in facts.upstream if r.produced_by and _is_json(r)]
        tasks = {task.name: task for task in ctx.spec.tasks or []}
        answers = [
            name
            for name in ctx.task.depends_on
            if facts.upstream_named(name) is None
            and name in tasks
            and _ANSWERING.search(tasks[name].description)
        ]
        named = [path for path in facts.inputs if facts.input_format(path) in ("json", "jsonl")]
        return list(dict.fromkeys([*files, *answers, *named]))

    def first_source(self, ctx: TaskContext) -> str | None:
        """The source a first answer reads."""
        options = self.source_options(ctx)
        return options[0] if options else None

    def field_options(self, ctx: TaskContext, source: str | None) -> list[str]:
        """The fields: the ones the words name (their dotted paths), else the known
        columns of the file it reads."""
        facts = FileFacts(ctx)
        candidates = facts.candidates([source])
        named = field_paths(facts.own_words, [*candidates.named, *extracted(facts.own_words)])
        return named or list(candidates.known)

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """What it reads: the nearest upstream JSON file, else an upstream task's answer,
        else a JSON file the words name, else the environment's config."""
        options = self.source_options(ctx)
        return obj({"source": enum(narrowed(ctx, options[:1] or [NONE], [*options, NONE]))})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The fields (every one the words name, on a first answer) and the file it writes
        (the one the words name, else the environment's config)."""
        facts = FileFacts(ctx)
        source = source_choice(inputs.get("source"))
        offered = self.field_options(ctx, source)
        extra = [c for c in facts.candidates([source]).all if c not in offered]
        least = 1 if ctx.repairing else len(offered)
        fields = choices(narrowed(ctx, offered, [*offered, *extra]), least, len(offered))
        return obj({"fields": fields, "output": self.output_schema(ctx, facts)})

    def complete(self, answer: Mapping[str, Any], ctx: TaskContext) -> dict[str, Any]:
        """Whether it reads an answer or a file, each field's column and type (the words',
        else a known column's, else text) and the format it writes (the output path's,
        else the words', else JSON)."""
        facts = FileFacts(ctx)
        source = source_choice(answer.get("source"))
        paths = [str(path) for path in answer.get("fields", [])]
        output = source_choice(answer.get("output"))
        return {
            **answer,
            "reads": _reads(facts, source),
            "fields": _fields(ctx, facts, source, paths),
            "output_format": facts.output_format(output, "json"),
        }

    def check(self, params: JsonToRowsParameters, ctx: TaskContext) -> Relation | None:
        """A source it may read (an upstream task, a path in its folder), fields the words
        name or the file has, once each. The file it writes."""
        facts = FileFacts(ctx)
        check_path(params.output)
        if params.source is not None and is_task(params.source):
            require(params.source in self.source_options(ctx), f"{params.source} is not upstream")
            require(params.reads == _reads(facts, params.source), "reads names the wrong input")
        else:
            check_path(params.source)
            require(params.reads == "file", "a path is read as a file")
        offered = [*self.field_options(ctx, params.source), *facts.candidates([params.source]).all]
        unknown = [f.path for f in params.fields if f.path not in offered]
        require(not unknown, f"the words name no field {', '.join(map(repr, unknown))}")
        names = [f.name for f in params.fields]
        require(len(set(names)) == len(names), "columns repeat")
        return _written(ctx, params.fields, params.output_format)

    def planned_output(self, ctx: TaskContext) -> Relation | None:
        """The file it writes, with the fields a first answer takes."""
        facts = FileFacts(ctx)
        source = self.first_source(ctx)
        fields = _fields(ctx, facts, source, self.field_options(ctx, source))
        output = facts.outputs[0] if facts.outputs else None
        written = facts.output_format(output, "json")
        return _written(ctx, [JsonField.model_validate(f) for f in fields], written)

    def file_inputs(self, params: JsonToRowsParameters) -> list[FileInput]:
        """The JSON file it reads (none: it reads an answer)."""
        if params.reads == "answer":
            return []
        return file_inputs([params.source], ["json"])

    def answer_of(self, params: JsonToRowsParameters) -> tuple[str, dict[str, Use]] | None:
        """The upstream task whose answer it reads and the fields it reads there (None: it
        reads a file)."""
        if params.reads == "file" or params.source is None:
            return None
        return params.source, {f.path: f.use for f in params.fields}

    def reads(self, params: JsonToRowsParameters) -> dict[str, Use]:
        """The fields it reads from a file, by their columns' names (a file seeded
        flat: the last key of each path)."""
        return {f.name: f.use for f in params.fields}

    def output_format(self, params: JsonToRowsParameters) -> str | None:
        """The format it writes."""
        return params.output_format

    def settings(self, params: JsonToRowsParameters, task: TaskSpec) -> list[Setting]:
        """The filesystem connection, the path it reads (unless an upstream task gives
        it) and the one it writes."""
        what = f"{params.output_format} file {task.name} writes"
        written = Setting("output", "path", what, params.output)
        return [*self.path_settings(task, self.file_inputs(params)), written]

    def arguments(
        self, params: JsonToRowsParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """Its input, the fields (column, path), the statements writing the rows."""
        names = [f.name for f in params.fields]
        answer = params.source if params.reads == "answer" else None
        paths = ", ".join(f.path for f in params.fields)
        read = f"the answer of {answer}" if answer else "the JSON file"
        summary = f"Write the fields {paths} of {read} as rows of a {params.output_format} file."
        copy = copy_rows(params.fields, params.output_format)
        return {
            **arguments_of(self.file_inputs(params), copy, summary, task),
            "answer": answer,
            "reading": read if answer else "{path}",
            "fields": [(f.name, f.path) for f in params.fields],
            "create": create_rows(names),
            "insert": f"INSERT INTO json_rows VALUES ({', '.join('?' for _ in names)})",  # noqa: S608
        }


def create_rows(names: Sequence[str]) -> str:
    """The in-memory table the rows go to, every column text (the copy types them)."""
    columns = [exp.ColumnDef(this=identifier(n), kind=exp.DataType.build("VARCHAR")) for n in names]
    table = exp.Schema(this=exp.to_table("json_rows"), expressions=columns)
    return exp.Create(this=table, kind="TABLE").sql(dialect="duckdb")


def copy_rows(fields: Sequence[JsonField], file_format: str) -> str:
    """``COPY (SELECT TRY_CAST(...) ...) TO $output``: the rows typed by use."""
    selected = [
        exp.alias_(
            exp.TryCast(
                this=exp.Column(this=identifier(f.name)), to=exp.DataType.build(SQL_TYPES[f.use])
            ),
            identifier(f.name),
        )
        for f in fields
    ]
    query = exp.select(*selected).from_("json_rows").sql(dialect="duckdb")
    return f"COPY ({query}) TO $output ({COPY_OPTIONS[file_format]})"


def _is_json(relation: Relation) -> bool:
    return relation.file_format in ("json", "jsonl")


def _reads(facts: FileFacts, source: str | None) -> Reads:
    """An upstream task that writes no file gives its answer; anything else is a file."""
    task = source is not None and is_task(source)
    return "answer" if task and facts.upstream_named(str(source)) is None else "file"


def _fields(
    ctx: TaskContext, facts: FileFacts, source: str | None, paths: Sequence[str]
) -> list[dict[str, Any]]:
    """Each path's column and type: the words', else the known column's, else text."""
    names = {path: column_of(path, paths) for path in paths}
    stated = stated_types(ctx.task.description, list(names.values()))
    known = {c.name: c for c in facts.known_columns([source])}
    fields = []
    for path, name in names.items():
        found = known.get(path)
        use = stated.get(name) or (column_use(found.type, ctx.dialect) if found else "text")
        fields.append({"name": name, "path": path, "use": use})
    return fields


def _written(ctx: TaskContext, fields: Sequence[JsonField], file_format: str) -> Relation:
    columns = tuple(Column(name=f.name, type=SQL_TYPES[f.use]) for f in fields)
    return Relation(ctx.task.name, columns, ctx.task.name, file_format)
