"""The pattern contract, the JSON-schema pieces patterns build their questions from, and
the column scope of a query.

A pattern is a name, a version, a one-line summary the prompt shows, a pydantic model
of its parameters and a deterministic renderer. The model never writes the artifact:
it answers, under JSON schemas built from the spec (enums of the tables and columns
that exist, ranked by :mod:`~airflow_llm.patterns.linking`), first which inputs the
pattern reads (:meth:`Pattern.input_schema`), then the rest of its parameters
(:meth:`Pattern.parameter_schema`). :meth:`Pattern.render` checks the combination and
builds the artifact; what it refuses comes back as :class:`ParameterError` messages,
which go to the model like a linter's findings.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import sqlglot.expressions as exp
from pydantic import BaseModel, ConfigDict, ValidationError

from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.spec import Column

Params = TypeVar("Params", bound=BaseModel)
MAX_ENUM = 24
"""Longest enum a schema offers: the ranked head of longer lists (prompts stay short)."""


class ParameterError(ValueError):
    """Parameters that are well-formed but cannot make the artifact (each problem says why)."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class Rendered:
    """A pattern's artifact: the file's text, and the table it writes (if any)."""

    content: str
    output: Relation | None = None


class Pattern(ABC, Generic[Params]):
    """One way to write a task's artifact from typed parameters."""

    name: ClassVar[str]
    version: ClassVar[int]
    kind: ClassVar[str]
    """The task kind it serves: ``sql``, ``quality``, or (operator patterns) ``python``,
    ``sensor`` or ``branch``."""
    summary: ClassVar[str]
    """One line for the menu the model picks a pattern from."""
    cues: ClassVar[tuple[str, ...]] = ()
    """Words in a task's description that suggest this pattern (for ranking the menu)."""
    parameters: ClassVar[type[BaseModel]]
    all_rows_alternative: ClassVar[str | None] = None
    """The pattern that does the same over every row, where this one always reads only
    the rows of the logical date or interval: ranked just before this one when the
    words do not speak of a date."""

    def applies(self, ctx: TaskContext) -> bool:
        """Whether the task's inputs allow this pattern at all (say, two tables to union)."""
        return bool(ctx.relations)

    @abstractmethod
    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """The first question: which tables the pattern reads (properties of the answer)."""

    @abstractmethod
    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The second question: the remaining parameters, for the chosen ``inputs``."""

    def complete(self, answer: Mapping[str, Any], ctx: TaskContext) -> dict[str, Any]:
        """The answer with the parameters the project derives itself (say, output column
        names the spec's tests and words give); by default, the answer as is."""
        return dict(answer)

    def parse(self, answer: Mapping[str, Any]) -> Params:
        """The answer as the parameter model; shape errors as :class:`ParameterError`."""
        try:
            return self.parameters.model_validate(dict(answer))  # type: ignore[return-value]
        except ValidationError as error:
            raise ParameterError(_pydantic_problems(error)) from None

    @abstractmethod
    def render(self, params: Params, ctx: TaskContext) -> Rendered:
        """The artifact; raises :class:`ParameterError` for a combination that cannot work."""


class StrictParameters(BaseModel):
    """Base of the parameter models: unknown keys are refused, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


AnyPattern = Pattern[Any]
"""A pattern whatever its parameter model (the catalog holds several)."""


def _pydantic_problems(error: ValidationError) -> list[str]:
    return [
        f"{'.'.join(str(part) for part in item['loc']) or 'answer'}: {item['msg']}"
        for item in error.errors()
    ]


# -- JSON schema pieces -----------------------------------------------------------------


def narrowed(ctx: TaskContext, linked: Sequence[Any], ranked: Sequence[Any]) -> list[Any]:
    """The options to offer: only what linking found in the task's words (``linked``), if
    anything, on a first answer; every option (``ranked``) when repairing one."""
    if linked and not ctx.repairing:
        return list(dict.fromkeys(linked))
    return list(dict.fromkeys([*linked, *ranked]))


def enum(values: Sequence[Any]) -> dict[str, Any]:
    """One of ``values`` (in the ranked order given, at most :data:`MAX_ENUM`)."""
    return {"enum": list(dict.fromkeys(values))[:MAX_ENUM]}


def array(items: dict[str, Any], min_items: int, max_items: int) -> dict[str, Any]:
    """A list of ``items``, ``min_items`` to ``max_items`` long, without repeats."""
    return {
        "type": "array",
        "items": items,
        "minItems": min_items,
        "maxItems": max(min_items, max_items),
        "uniqueItems": True,
    }


def choices(values: Sequence[Any], min_items: int, max_items: int) -> dict[str, Any]:
    """A list of distinct ``values``; at most as many as there are values."""
    offered = list(dict.fromkeys(values))[:MAX_ENUM]
    return array({"enum": offered}, min(min_items, len(offered)), min(max_items, len(offered)))


def obj(properties: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """An object with exactly these properties, all required, in this order (a model
    answers them in order: the better-grounded decisions go first)."""
    return {
        "type": "object",
        "properties": dict(properties),
        "required": list(properties),
        "additionalProperties": False,
    }


def one_of(*variants: dict[str, Any]) -> dict[str, Any]:
    """One of several object shapes (say, expectation types with their own arguments)."""
    return {"anyOf": list(variants)}


# -- the columns a query reads ----------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """The tables one query reads, under aliases, and its columns by label: a column's
    bare name when one table has it, ``alias.name`` when several do."""

    tables: tuple[tuple[str, Relation], ...]

    @classmethod
    def of(cls, relations: Sequence[Relation]) -> Scope:
        """Aliases from the tables' short names, numbered when two are the same."""
        aliased: list[tuple[str, Relation]] = []
        for relation in relations:
            alias, number = relation.short_name, 2
            while any(alias == taken for taken, _ in aliased):
                alias, number = f"{relation.short_name}_{number}", number + 1
            aliased.append((alias, relation))
        return cls(tuple(aliased))

    @property
    def qualified(self) -> bool:
        """Whether column references need their table's alias (more than one table)."""
        return len(self.tables) > 1

    def labels(self, shared: Sequence[str] = ()) -> list[str]:
        """Every column's label, table by table; ``shared`` names (join keys) appear once,
        bare."""
        counts: dict[str, int] = {}
        for _, relation in self.tables:
            for name in relation.column_names:
                counts[name] = counts.get(name, 0) + 1
        labels: list[str] = []
        for alias, relation in self.tables:
            for name in relation.column_names:
                label = name if counts[name] == 1 or name in shared else f"{alias}.{name}"
                if label not in labels:
                    labels.append(label)
        return labels

    def alias_of(self, label: str) -> str | None:
        """The alias of the table a label's column belongs to (None: no such column)."""
        resolved = self.resolve(label)
        return resolved[0] if resolved else None

    def resolve(self, label: str) -> tuple[str, Column] | None:
        """The alias and column a label names (a bare shared name: the first table's)."""
        alias_part, _, name = label.rpartition(".")
        for alias, relation in self.tables:
            found = relation.column(name)
            if found is not None and alias_part in ("", alias):
                return alias, found
        return None

    def column(self, label: str) -> Column:
        """The column a label names; raises :class:`ParameterError` when none."""
        resolved = self.resolve(label)
        if resolved is None:
            raise ParameterError([f"no column {label!r} in {', '.join(self.names())}"])
        return resolved[1]

    def expr(self, label: str) -> exp.Column:
        """The column reference for ``label`` (qualified when the query reads two tables)."""
        resolved = self.resolve(label)
        if resolved is None:
            raise ParameterError([f"no column {label!r} in {', '.join(self.names())}"])
        alias, column = resolved
        return exp.column(column.name, table=alias if self.qualified else None)

    def names(self) -> list[str]:
        """The tables' names."""
        return [relation.name for _, relation in self.tables]

    def from_(self, in_schema: bool) -> exp.Expr:
        """The first table, aliased when the query reads more than one."""
        alias, relation = self.tables[0]
        return self.aliased(alias, relation, in_schema)

    def aliased(self, alias: str, relation: Relation, in_schema: bool) -> exp.Expr:
        """``relation`` under ``alias`` (no alias where its name already is one)."""
        table = relation.table(in_schema)
        if not self.qualified or (alias == relation.name and table.db == ""):
            return table
        return exp.alias_(table, alias, table=True)
