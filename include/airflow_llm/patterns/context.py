"""What a pattern works with: the tables a task may read and what its words say.

A :class:`Relation` is a table with its columns and types, either a declared source
or the output of an upstream task (its pattern says what it writes); an upstream task
may write a file instead (a relation with a ``file_format``). The
:class:`TaskContext` of a task holds every table it may read, the files upstream tasks
write, the table it writes, and its text for linking
(:mod:`airflow_llm.patterns.linking`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import sqlglot.expressions as exp

from airflow_llm.patterns.linking import Text, target_table
from airflow_llm.spec import Column, PipelineSpec, SourceTable, TaskSpec, reachable

SCHEMA_PLACEHOLDER = "airflow_llm_pipeline_schema"
"""Stands for ``{{ params.schema }}`` while SQL is built with sqlglot; replaced when printed."""
SCHEMA_TEMPLATE = "{{ params.schema }}"


@dataclass(frozen=True)
class Relation:
    """A table a task can read: its name as SQL writes it, its columns, its producer."""

    name: str
    columns: tuple[Column, ...]
    produced_by: str | None = None
    """The upstream task that writes it; None for a declared source."""
    file_format: str | None = None
    """The format of the file it is (``csv``, ``json``, ``jsonl``, ``parquet``): its
    producer writes a file, not a table, and returns the file's path (XCom); None: a
    warehouse table."""

    def column(self, name: str) -> Column | None:
        """The column called ``name``, if there is one."""
        return next((column for column in self.columns if column.name == name), None)

    @property
    def column_names(self) -> list[str]:
        """Its columns' names, in order."""
        return [column.name for column in self.columns]

    @property
    def short_name(self) -> str:
        """The table name without schema (``raw.orders`` -> ``orders``)."""
        return self.name.rsplit(".", 1)[-1]

    def table(self, in_schema: bool) -> exp.Table:
        """The sqlglot table; a pipeline's own unqualified table in the environment's schema
        when ``in_schema``."""
        if self.produced_by is not None and in_schema and "." not in self.name:
            return exp.table_(self.name, db=SCHEMA_PLACEHOLDER)
        return exp.to_table(self.name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``tasks.yml`` and the work prefix)."""
        found: dict[str, Any] = {
            "name": self.name,
            "columns": [column.model_dump(mode="json") for column in self.columns],
            "produced_by": self.produced_by,
        }
        return found | ({"file_format": self.file_format} if self.file_format else {})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Relation:
        """The inverse of :meth:`to_dict`."""
        columns = tuple(Column.model_validate(column) for column in data["columns"])
        return cls(data["name"], columns, data.get("produced_by"), data.get("file_format"))

    @classmethod
    def of_source(cls, source: SourceTable) -> Relation:
        """A declared source table."""
        return cls(source.name, tuple(source.columns))


@dataclass(frozen=True)
class TaskContext:
    """Everything a pattern may use to serve one task."""

    spec: PipelineSpec
    task: TaskSpec
    relations: tuple[Relation, ...]
    """Tables the task may read: sources, then what upstream tasks write."""
    downstream: tuple[TaskSpec, ...] = field(default=())
    """Tasks that run after it (their words can name its output's columns)."""
    repairing: bool = False
    """Whether an earlier answer failed: questions then offer every option, not only
    the ones linking pre-selected from the task's words."""
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Known values of text columns (``table.column`` -> values), where a database is
    at hand (questions over a sample database): words of the text that are values."""
    files: tuple[Relation, ...] = field(default=())
    """Files upstream tasks write (each named after the task that writes it)."""

    @property
    def dialect(self) -> str:
        """The spec's SQL dialect (sqlfluff's name)."""
        return self.spec.dialect

    @cached_property
    def text(self) -> Text:
        """The task's description for linking, with the downstream tasks' as context."""
        return Text(self.task.description, " ".join(t.description for t in self.downstream))

    @cached_property
    def target(self) -> str:
        """The table the task writes (named in its description, else the task's name)."""
        reads = [relation.name for relation in self.relations]
        return target_table(self.task.description, self.task.name, reads)

    @property
    def in_schema(self) -> bool:
        """Whether the pipeline's own tables live in ``{{ params.schema }}`` (every
        environment names a schema)."""
        return all(env.schema_ for env in self.spec.environments.values())

    def relation(self, name: str) -> Relation | None:
        """The readable relation called ``name``."""
        return next((relation for relation in self.relations if relation.name == name), None)

    def target_table(self) -> exp.Table:
        """The sqlglot table the task writes."""
        return Relation(self.target, (), produced_by=self.task.name).table(self.in_schema)

    @cached_property
    def expected_columns(self) -> list[str]:
        """Column names the task's unit tests expect in its output, in order of appearance."""
        names: list[str] = []
        for test in self.task.tests:
            for row in test.expect if isinstance(test.expect, list) else []:
                names += [name for name in row if name not in names]
        return names

    def output_names(self, defaults: Iterable[str], taken: Sequence[str] = ()) -> list[str]:
        """Candidate names for a new output column: the ones the tests expect, the
        identifiers the task's and downstream tasks' words use, then ``defaults``; never a
        name in ``taken`` (the input columns)."""
        candidates = [*self.expected_columns, *self.text.identifiers(), *defaults]
        inputs = {column.name for relation in self.relations for column in relation.columns}
        tables = {relation.short_name for relation in self.relations} | {self.target}
        tables |= {target_table(t.description, t.name) for t in self.spec.tasks or []}
        names: list[str] = []
        for name in candidates:
            if name in names or name in taken or name in tables:
                continue
            if name in inputs and name not in self.expected_columns:
                continue
            names.append(name)
        return names


def context_for(
    spec: PipelineSpec, task: TaskSpec, upstream_outputs: Mapping[str, Relation]
) -> TaskContext:
    """The context of ``task``: the spec's sources and the outputs of the tasks it
    depends on, directly or not (``upstream_outputs`` by task name), tables apart from
    files."""
    tasks = {t.name: t for t in spec.tasks or []}
    ancestors = reachable(task.name, {name: list(t.depends_on) for name, t in tasks.items()})
    upstream = [upstream_outputs[n] for n in tasks if n in ancestors and n in upstream_outputs]
    relations = [Relation.of_source(source) for source in spec.sources]
    relations += [relation for relation in upstream if relation.file_format is None]
    files = tuple(relation for relation in upstream if relation.file_format is not None)
    downstream_of = {
        name: [t.name for t in tasks.values() if name in t.depends_on] for name in tasks
    }
    after = reachable(task.name, downstream_of)
    downstream = tuple(tasks[name] for name in tasks if name in after)
    return TaskContext(spec, task, tuple(_unique_names(relations)), downstream, files=files)


def _unique_names(relations: Iterable[Relation]) -> list[Relation]:
    """The first relation of each name (a source named like an upstream output wins)."""
    kept: dict[str, Relation] = {}
    for relation in relations:
        kept.setdefault(relation.name, relation)
    return list(kept.values())
