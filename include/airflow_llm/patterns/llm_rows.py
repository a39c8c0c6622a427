"""LLM over rows: ``@task.llm`` mapped over batches, its answers written to a table.

``llm_over_rows`` serves an ``llm`` task mapped over an upstream task's batches (lists
of row dicts, see :mod:`airflow_llm.patterns.batches`). Its words say what to answer
per row ("return review_id, sentiment (positive|neutral|negative) and a list of product
aspects"): :func:`answer_fields` reads the fields, their types and stated values, and
the row key comes from the input columns. The DAG gets

- pydantic models of one answer and of a batch's answers at module scope (``@task.llm``
  returns them through XCom; the provider needs module-level classes), asked for with
  ``NativeOutput`` (the endpoint's ``response_format`` JSON schema: a grammar in
  llama.cpp and vLLM, so even a small model answers in shape);
- the ``@task.llm`` task (common-ai provider) ``.expand()``-ed over the batches, the
  batch as JSON for its prompt, the connection per environment (``llm_conn_id``);
- a ``write_<task>`` TaskFlow task after it that replaces the run's answers in the
  table named after the task (``CREATE TABLE IF NOT EXISTS``, ``DELETE`` the rows of
  the data interval, ``insert_rows``), so the tasks after it read them with SQL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import sqlglot.expressions as exp
from pydantic import BaseModel, Field

from airflow_llm.patterns.base import StrictParameters, array, enum, narrowed, obj
from airflow_llm.patterns.common import require
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.operators import OperatorPattern, Setting
from airflow_llm.patterns.reads import Read
from airflow_llm.patterns.transfers import pipeline_table
from airflow_llm.patterns.writes import (
    INTERVAL_START,
    create_target,
    delete_where,
    one_line,
    typed,
)
from airflow_llm.spec import Column, PipelineSpec, TaskSpec
from airflow_llm.sql_types import family

FieldType = Literal["label", "text", "texts", "number", "integer", "boolean"]
NAME = r"^[a-z][a-z0-9_]{0,62}$"
STAMP = "data_interval_start"
"""The answers table's column of the run that wrote a row (rows are replaced by it)."""

_PYTHON_TYPES = {
    "text": "str",
    "texts": "list[str]",
    "number": "float",
    "integer": "int",
    "boolean": "bool",
}
_SQL_TYPES = {
    "label": "VARCHAR",
    "text": "VARCHAR",
    "texts": "VARCHAR",
    "number": "DOUBLE",
    "integer": "BIGINT",
    "boolean": "BOOLEAN",
}
_KEY_TYPES = {"integer": "int", "decimal": "float", "boolean": "bool"}
_DESCRIBED = {
    "text": "a short text",
    "texts": "a list of short texts",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
}

_ASK = re.compile(
    r"\b(?:return|returns|answer|give|extract|output|produce|tell)\b\s+(?P<what>[^.]+)",
    re.IGNORECASE,
)
_AS_JSON = re.compile(r",?\s*(?:as|in)\s+(?:a\s+)?json\b.*$", re.IGNORECASE)
_VALUES = re.compile(r"\(([^)]*)\)")
_LIST = re.compile(r"\b(?:list|lists|set)\s+of\s+(?P<what>.+)$", re.IGNORECASE)
_NUMBER_WORDS = frozenset({"score", "rating", "probability", "confidence", "count", "number"})
_BOOLEAN_WORDS = frozenset({"whether", "flag", "if"})
_SKIPPED = frozenset({"a", "an", "the", "its", "their", "each", "one", "short"})
_PHRASE_END = frozenset({"of", "in", "from", "for", "that", "which", "per", "by", "with", "about"})


class AnswerField(StrictParameters):
    """One field of an answer: its name, its type, the values a label takes."""

    name: str = Field(pattern=NAME)
    type: FieldType
    values: list[str] = Field(default_factory=list)

    def python_type(self) -> str:
        """The annotation of the field in the answer model."""
        if self.type == "label":
            return f"Literal[{', '.join(repr(value) for value in self.values)}]"
        return _PYTHON_TYPES[self.type]

    def described(self) -> str:
        """What to answer, for the system prompt."""
        if self.type == "label":
            return f"{self.name} (one of: {', '.join(self.values)})"
        return f"{self.name} ({_DESCRIBED[self.type]})"


class LlmOverRowsParameters(StrictParameters):
    """Answer ``fields`` for each row of a batch, carrying the row's ``key`` back."""

    key: str = Field(pattern=NAME)
    key_type: str = "str"
    """The key's Python type (from its column's SQL type)."""
    key_sql_type: str = "VARCHAR"
    fields: list[AnswerField] = Field(min_length=1, max_length=12)


def answer_fields(description: str, columns: Sequence[str]) -> tuple[list[str], list[AnswerField]]:
    """The input ``columns`` an answer carries back and the fields it answers, as the
    words list them after "return" (or "answer", "extract"...)."""
    asked = _ASK.search(description)
    if asked is None:
        return [], []
    keys: list[str] = []
    fields: list[AnswerField] = []
    for item in _items(_AS_JSON.sub("", asked.group("what"))):
        found = _answer_field(item)
        if found is None:
            continue
        if found.name in columns:
            keys.append(found.name)
        elif all(found.name != taken.name for taken in fields):
            fields.append(found)
    return keys, fields


def _items(text: str) -> list[str]:
    """``text`` split at commas and "and" outside parentheses."""
    items, depth, current = [], 0, ""
    for piece in re.split(r"(\(|\)|,|\band\b)", text):
        depth += {"(": 1, ")": -1}.get(piece, 0)
        if depth == 0 and piece in (",", "and"):
            items.append(current)
            current = ""
        else:
            current += piece
    return [item.strip() for item in [*items, current] if item.strip()]


def _answer_field(item: str) -> AnswerField | None:
    """The field one listed item asks for (None: no name in it)."""
    values = [
        value.strip().lower()
        for found in _VALUES.findall(item)
        for value in re.split(r"\||,|/|\bor\b", found)
        if re.fullmatch(r"\s*[A-Za-z][\w -]*\s*", value)
    ]
    bare = _VALUES.sub(" ", item)
    listed = _LIST.search(bare)
    words = [
        w.lower() for w in re.findall(r"[A-Za-z][A-Za-z0-9_]*", listed["what"] if listed else bare)
    ]
    words = [w for w in words if w not in _SKIPPED]
    phrase: list[str] = []
    for word in words:
        if word in _PHRASE_END or (phrase and word.endswith("ed")):
            break
        phrase.append(word)
    if not phrase:
        return None
    name = phrase[-1]
    if len(values) >= 2:
        return AnswerField(name=name, type="label", values=list(dict.fromkeys(values)))
    if listed:
        return AnswerField(name=name, type="texts")
    if set(words) & _BOOLEAN_WORDS:
        return AnswerField(name=f"is_{name}", type="boolean")
    if set(words) & _NUMBER_WORDS:
        return AnswerField(name=name, type="number")
    return AnswerField(name=name, type="text")


class LlmOverRows(OperatorPattern[LlmOverRowsParameters]):
    """``@task.llm`` over each batch with a typed answer, answers written to a table."""

    name: ClassVar[str] = "llm_over_rows"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "llm"
    summary: ClassVar[str] = (
        "ask the model about each row of the upstream batches (@task.llm mapped with "
        ".expand()) for typed fields, and write the answers to a table"
    )
    cues: ClassVar[tuple[str, ...]] = ("each", "every", "batch", "classify", "return", "json")
    parameters: ClassVar[type[BaseModel]] = LlmOverRowsParameters
    imports: ClassVar[tuple[str, ...]] = (
        "import json",
        "from typing import Literal",
        "from pydantic import BaseModel",
        "from pydantic_ai import NativeOutput",
        "from airflow.sdk import BaseHook, get_current_context, task",
    )
    requirements: ClassVar[tuple[str, ...]] = ()
    """The common-ai provider every bundle with an ``llm`` task lists already."""
    module_template: ClassVar[str | None] = "llm_over_rows_module.py.j2"
    """The answer models, at module scope (``@task.llm`` returns them through XCom)."""

    def data_writes(self, params: LlmOverRowsParameters, task: TaskSpec) -> list[Read]:
        """The answers' table, named after the task."""
        return [Read("table", task.name)]

    def followers(self, task: TaskSpec) -> list[str]:
        """The task that writes the answers to the table."""
        return [writer(task)]

    def applies(self, ctx: TaskContext) -> bool:
        """A task mapped over batches whose words list what to answer."""
        return ctx.task.map_over is not None and bool(_fields(ctx)[1])

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """Nothing to choose: the rows are the upstream batches."""
        return obj({})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The key (an input column the words name, else a key-like one) and the fields
        the words list (all of them on a first answer)."""
        keys, fields = _fields(ctx)
        columns = _columns(ctx)
        key_like = [name for name in columns if name == "id" or name.endswith(("_id", "_key"))]
        offered = [field.model_dump() for field in fields]
        least = len(offered) if not ctx.repairing else 1
        return obj(
            {
                "key": enum(narrowed(ctx, keys, ctx.text.rank_names(key_like or list(columns)))),
                "fields": array({"enum": offered}, least, len(offered)),
            }
        )

    def complete(self, answer: Mapping[str, Any], ctx: TaskContext) -> dict[str, Any]:
        """The key's Python and SQL types, from its column."""
        declared = _columns(ctx).get(str(answer.get("key")))
        if declared is None:
            return dict(answer)
        python_type = _KEY_TYPES.get(family(declared, ctx.dialect), "str")
        return {**answer, "key_type": python_type, "key_sql_type": declared}

    def check(self, params: LlmOverRowsParameters, ctx: TaskContext) -> Relation | None:
        """The key must be an input column, the field names distinct and not the key's
        or the stamp's; labels need two values at least. The answers table."""
        require(params.key in _columns(ctx), f"no input column {params.key!r} to key answers")
        names = [params.key, STAMP, *(field.name for field in params.fields)]
        require(len(set(names)) == len(names), f"answer fields repeat a name: {names}")
        for field in params.fields:
            labels = field.values
            wanted = field.type != "label" or len(labels) >= 2
            require(wanted and len(set(labels)) == len(labels), f"{field.name}: give 2+ values")
            require(field.type == "label" or not labels, f"{field.name}: values need a label")
        return Relation(ctx.task.name, tuple(answer_columns(params)), ctx.task.name)

    def settings(self, params: LlmOverRowsParameters, task: TaskSpec) -> list[Setting]:
        """The model's connection (pydantic-ai) and the warehouse's for the answers."""
        return [
            Setting("llm_conn_id", "llm_conn_id", f"LLM connection {task.name} asks"),
            Setting("sql_conn_id", "sql_conn_id", f"SQL connection {task.name} writes with"),
        ]

    def arguments(
        self, params: LlmOverRowsParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """The answer models, the system prompt and the answers table's statements."""
        table = pipeline_table(task.name, spec)
        columns = answer_columns(params)
        start = typed(INTERVAL_START, "TIMESTAMP", spec.dialect)
        stamp = exp.EQ(this=exp.column(STAMP), expression=start)
        statements = [create_target(table, columns, spec.dialect), delete_where(table, stamp)]
        model = "".join(part.title() for part in task.name.split("_"))
        return {
            "answer": f"{model}Answer",
            "answers": f"{model}Answers",
            "model_fields": [(params.key, params.key_type)]
            + [(field.name, field.python_type()) for field in params.fields],
            "system_prompt": system_prompt(params, task),
            "statements": [one_line(statement, spec.dialect) for statement in statements],
            "table": one_line(table, spec.dialect),
            "stamp": STAMP,
            "names": [column.name for column in columns if column.name != STAMP],
            "writer": writer(task),
        }


def writer(task: TaskSpec) -> str:
    """The id of the task that writes ``task``'s answers."""
    return f"write_{task.name}"


def answer_columns(params: LlmOverRowsParameters) -> list[Column]:
    """The answers table: the run's stamp, the key, one column per field (lists as JSON)."""
    return [
        Column(name=STAMP, type="TIMESTAMP"),
        Column(name=params.key, type=params.key_sql_type),
        *(Column(name=field.name, type=_SQL_TYPES[field.type]) for field in params.fields),
    ]


def system_prompt(params: LlmOverRowsParameters, task: TaskSpec) -> str:
    """The task's words and the answer's shape: one object per row of the batch."""
    fields = ", ".join(field.described() for field in params.fields)
    return (
        f"{task.description.strip()}\nThe user message is a batch of rows as JSON. Answer "
        f"with one object per row: {params.key} (the row's {params.key}), {fields}."
    )


def _fields(ctx: TaskContext) -> tuple[list[str], list[AnswerField]]:
    return answer_fields(ctx.task.description, list(_columns(ctx)))


def _columns(ctx: TaskContext) -> dict[str, str]:
    """The columns the upstream rows may carry, with their declared types (the first
    table's where two have one)."""
    columns: dict[str, str] = {}
    for relation in ctx.relations:
        for column in relation.columns:
            columns.setdefault(column.name, column.type)
    return columns
