"""A file's rows into an Elasticsearch index (``elasticsearch_index``): DuckDB reads the
file in memory (an upstream task's, by the path it returns, or one at a path
``config.yml`` gives) and the elasticsearch provider's hook (``ElasticsearchSQLHook``:
its client, through the environment's ``elasticsearch`` connection) indexes every row as
a document with the client's ``bulk`` helper, in the index the words name
(``index mondo_terms``, ``index_name='terms'``; else ``config.yml``'s). A document's id
is the value of the column the words call its id (``keyed by term_id``), else the
logical date and the row's position: a rerun for a date replaces its documents. In
the smoke run the task runs against the child's stand-in of the bulk API
(:mod:`airflow_llm.validate.elasticsearch_stand_in`), which refuses what a cluster would.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

import sqlglot.expressions as exp
from pydantic import BaseModel, Field, field_validator

from airflow_llm.patterns.base import StrictParameters, enum, narrowed, obj
from airflow_llm.patterns.common import NONE, none_as_null, require
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.file_operations import Use, reader
from airflow_llm.patterns.file_steps import (
    DUCKDB,
    FS_HOOK,
    SOURCE,
    FileFacts,
    FileInput,
    FilePattern,
    arguments_of,
    check_source,
    file_inputs,
    source_choice,
)
from airflow_llm.patterns.file_words import FileFormat
from airflow_llm.patterns.operators import Setting
from airflow_llm.spec import PipelineSpec, TaskSpec

ELASTICSEARCH = "apache-airflow-providers-elasticsearch==6.10.0"
_NAME = r"(?:[a-z0-9_.-]|\{\{\s*\w+\s*\}\})"
"""A character of an index name (lower case), or an Airflow macro (``{{ ds_nodash }}``)."""
INDEX = rf"^[a-z0-9]{_NAME}{{0,199}}$"
"""An index name as Elasticsearch takes it, Airflow macros included."""
_INDEX_WORDS = re.compile(
    rf"\bindex(?:_name)?\s*=\s*[`'\"]?([a-z0-9]{_NAME}*)"
    rf"|\bindex(?:_name)?\s*:\s*[`'\"]([a-z0-9]{_NAME}*)"
    r"|\bindex(?:_name)?\s*:\s*([a-z0-9]+(?:[_.-][a-z0-9]+)+)"
    rf"|\b(?:index|indices)\s+[`'\"]([a-z0-9]{_NAME}*)[`'\"]"
    r"|\b(?:index|indices)\s+(?:named\s+|called\s+)?`?([a-z0-9]+(?:[_.-][a-z0-9]+)+)"
    r"|\b(?:into|to)\s+(?:the\s+)?`?([a-z0-9]+(?:[_.-][a-z0-9]+)*)`?\s+(?:elasticsearch\s+)?index\b",
)
_CLAUSE = r"(?:[^.\n]|\.(?=\S)){0,80}?"
"""Words within one sentence (a dot inside a file name does not end it)."""
_INDEXING = re.compile(
    rf"\b(?:index|indexes|indexed|indexing)\b{_CLAUSE}\belastic\w*"
    rf"|\belastic\w*\b{_CLAUSE}\b(?:index|indexes|indexed|indexing|bulk)\b",
    re.IGNORECASE,
)
_KEYED = re.compile(
    r"\b(?:keyed|identified)\s+by\s+`?(\w+)|\b(?:document|doc)[\s_]id\s*(?:[=:]|is|from)?\s*`?(\w+)"
    r"|`?(\w+)`?\s+as\s+(?:the\s+)?(?:document|doc)\s+id\b",
    re.IGNORECASE,
)


def stated_indexes(text: str) -> list[str]:
    """The Elasticsearch indexes ``text`` names, in order."""
    found = [next(g for g in m.groups() if g) for m in _INDEX_WORDS.finditer(text)]
    return [name for name in dict.fromkeys(found) if re.match(INDEX, name)]


def stated_keys(text: str) -> list[str]:
    """The columns ``text`` says key the documents (``keyed by id``, ``doc_id=term_id``)."""
    found = [next(g for g in m.groups() if g) for m in _KEYED.finditer(text)]
    return list(dict.fromkeys(found))


class ElasticsearchIndexParameters(StrictParameters):
    """Index every row of ``source`` (an upstream task's file, a path, None: the one
    ``config.yml`` names) into ``index`` (None: ``config.yml``'s), keyed by ``id_column``
    (None: the logical date and the row's position)."""

    source: str | None = Field(default=None, pattern=SOURCE)
    input_format: FileFormat
    index: str | None = Field(default=None, pattern=INDEX)
    id_column: str | None = Field(default=None, pattern=r"^[A-Za-z_]\w{0,62}$")

    _nulls = field_validator("source", "index", "id_column", mode="before")(none_as_null)


class ElasticsearchIndex(FilePattern[ElasticsearchIndexParameters]):
    """A file's rows as documents of an Elasticsearch index (bulk, through the hook)."""

    name: ClassVar[str] = "elasticsearch_index"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "python"
    summary: ClassVar[str] = (
        "index the rows of a CSV, JSON or Parquet file as documents of an Elasticsearch "
        "index (bulk, through the environment's elasticsearch connection)"
    )
    cues: ClassVar[tuple[str, ...]] = ("elasticsearch", "index", "indexing", "search", "bulk")
    parameters: ClassVar[type[BaseModel]] = ElasticsearchIndexParameters
    imports: ClassVar[tuple[str, ...]] = (
        FS_HOOK,
        "from airflow.providers.elasticsearch.hooks.elasticsearch import ElasticsearchSQLHook",
        "from airflow.sdk import task",
    )
    requirements: ClassVar[tuple[str, ...]] = (DUCKDB, ELASTICSEARCH)
    writes_file: ClassVar[bool] = False

    def applies(self, ctx: TaskContext) -> bool:
        """Words that index into Elasticsearch, and a file to index: an upstream task's
        or one the words name."""
        facts = FileFacts(ctx)
        indexing = bool(_INDEXING.search(ctx.task.description))
        return indexing and bool(facts.upstream or facts.inputs) and not facts.unreadable

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """What it indexes: the nearest upstream file, else the file the words name."""
        options = FileFacts(ctx).source_options()
        return obj({"source": enum(narrowed(ctx, options[:1] or [NONE], [*options, NONE]))})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The index the words name (else the environment's), the column they key the
        documents by (else none: the date and position)."""
        facts = FileFacts(ctx)
        indexes = stated_indexes(facts.own_words)
        columns = facts.candidates([source_choice(inputs.get("source"))]).all
        keys = [key for key in stated_keys(facts.own_words) if key in columns]
        return obj(
            {
                "index": enum(narrowed(ctx, indexes, [NONE])),
                "id_column": enum(narrowed(ctx, keys, [NONE, *columns])),
            }
        )

    def complete(self, answer: Mapping[str, Any], ctx: TaskContext) -> dict[str, Any]:
        """The input's format."""
        source = source_choice(answer.get("source"))
        return {**answer, "input_format": FileFacts(ctx).input_format(source)}

    def check(self, params: ElasticsearchIndexParameters, ctx: TaskContext) -> Relation | None:
        """A source it may read; an id column known of the file or named by the words."""
        facts = FileFacts(ctx)
        check_source(facts, params.source)
        if params.id_column is not None:
            columns = facts.candidates([params.source]).all
            require(params.id_column in columns, f"no column {params.id_column!r} in the file")
        return None

    def file_inputs(self, params: ElasticsearchIndexParameters) -> list[FileInput]:
        """The file it indexes."""
        return file_inputs([params.source], [params.input_format])

    def reads(self, params: ElasticsearchIndexParameters) -> dict[str, Use]:
        """The id column (every other column is indexed as it comes)."""
        return {params.id_column: "text"} if params.id_column else {}

    def settings(self, params: ElasticsearchIndexParameters, task: TaskSpec) -> list[Setting]:
        """The file's folder and path (unless an upstream task gives it), the
        Elasticsearch connection and the index."""
        return [
            *self.path_settings(task, self.file_inputs(params)),
            Setting(
                "elasticsearch_conn_id",
                "elasticsearch_conn_id",
                f"Elasticsearch connection {task.name} indexes through",
            ),
            Setting("index", "compute", f"Elasticsearch index {task.name} writes", params.index),
        ]

    def arguments(
        self, params: ElasticsearchIndexParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """Its input and the query reading the file's rows."""
        query = exp.select("*").from_(reader(params.input_format, 1)).sql(dialect="duckdb")
        key = f"its {params.id_column}" if params.id_column else "the date and its position"
        summary = (
            f"Index every row of the {params.input_format} file into Elasticsearch, one "
            f"document a row, its id {key}."
        )
        return arguments_of(self.file_inputs(params), query, summary, task)
