"""Publishing an Elasticsearch index (``elasticsearch_alias``): the alias readers search
through is pointed at the index a step built, in one atomic ``_aliases`` call (removed
from every other index, added to this one), through the elasticsearch provider's hook.
Readers switch from the old index to the new at once, and a rerun leaves the same state.

The alias and the index are the words' ("point the alias products at products_v2",
``alias='terms'``), else per-environment settings in ``config.yml`` (placeholders). In
the smoke run the call reaches the child's Elasticsearch stand-in
(:mod:`airflow_llm.validate.elasticsearch_stand_in`), which refuses names a cluster would.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, Field, field_validator

from airflow_llm.patterns.base import StrictParameters, enum, narrowed, obj
from airflow_llm.patterns.common import NONE, none_as_null
from airflow_llm.patterns.context import TaskContext
from airflow_llm.patterns.elasticsearch import ELASTICSEARCH, INDEX, stated_indexes
from airflow_llm.patterns.operators import OperatorPattern, Setting
from airflow_llm.spec import PipelineSpec, TaskSpec

ALIAS = r"^[a-z0-9][a-z0-9_.-]{0,199}$"
_ALIAS_WORDS = re.compile(
    r"\balias(?:_name)?\s*[=:]\s*[`'\"]?([a-z0-9][\w.-]*)"
    r"|\balias\s+[`'\"]?([a-z0-9][\w.-]*)"
    r"|\bthe\s+`?([a-z0-9][\w.-]*)`?\s+alias\b",
)
_ALIAS_TARGET = re.compile(
    r"\balias\s+[`'\"]?[a-z0-9][\w.-]*[`'\"]?\s+(?:at|to)\s+(?:the\s+)?(?:index\s+)?"
    r"[`'\"]?([a-z0-9][\w.-]*[a-z0-9])"
)
"""The index words point an alias at ("point the alias terms at terms_v2")."""
_NOT_ALIASES = frozenset({"the", "a", "an", "index", "new", "old", "its", "this", "that", "to"})
_PUBLISHING = re.compile(
    r"\b(?:publish\w*|promot\w*|swap\w*|switch\w*|point\w*|releas\w*|go(?:es)? live)\b"
    r"(?:[^.\n]|\.(?=\S)){0,80}?\b(?:alias\w*|index\w*|indices)\b"
    r"|\balias\w*\b(?:[^.\n]|\.(?=\S)){0,80}?\b(?:publish\w*|swap\w*|switch\w*|point\w*)\b",
    re.IGNORECASE,
)


def stated_aliases(text: str) -> list[str]:
    """The Elasticsearch aliases ``text`` names, in order."""
    found = [next(g for g in m.groups() if g) for m in _ALIAS_WORDS.finditer(text)]
    names = [name.rstrip(".") for name in found if name not in _NOT_ALIASES]
    return [name for name in dict.fromkeys(names) if re.match(ALIAS, name)]


class ElasticsearchAliasParameters(StrictParameters):
    """Point ``alias`` (None: ``config.yml``'s) at ``index`` (None: ``config.yml``'s)
    alone."""

    alias: str | None = Field(default=None, pattern=ALIAS)
    index: str | None = Field(default=None, pattern=INDEX)

    _nulls = field_validator("alias", "index", mode="before")(none_as_null)


class ElasticsearchAlias(OperatorPattern[ElasticsearchAliasParameters]):
    """An index published by pointing its readers' alias at it (``@task``, the hook)."""

    name: ClassVar[str] = "elasticsearch_alias"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "python"
    summary: ClassVar[str] = (
        "publish an Elasticsearch index: point the alias readers search at it, atomically"
    )
    cues: ClassVar[tuple[str, ...]] = ("publish", "alias", "elasticsearch", "index", "swap")
    parameters: ClassVar[type[BaseModel]] = ElasticsearchAliasParameters
    imports: ClassVar[tuple[str, ...]] = (
        "from airflow.providers.elasticsearch.hooks.elasticsearch import ElasticsearchSQLHook",
        "from airflow.sdk import task",
    )
    requirements: ClassVar[tuple[str, ...]] = (ELASTICSEARCH,)

    def applies(self, ctx: TaskContext) -> bool:
        """Words that publish an index or point an alias, about Elasticsearch (or naming
        an alias)."""
        text = ctx.task.description
        about = "elastic" in text.lower() or bool(stated_aliases(text))
        return about and bool(_PUBLISHING.search(text))

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """Nothing to read."""
        return obj({})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The alias and the index the words name (else the environment's)."""
        text = ctx.task.description
        aliases = stated_aliases(text)
        pointed = _ALIAS_TARGET.findall(text)
        indexes = [n for n in dict.fromkeys([*pointed, *stated_indexes(text)]) if n not in aliases]
        return obj(
            {
                "alias": enum(narrowed(ctx, aliases, [NONE])),
                "index": enum(narrowed(ctx, indexes, [NONE])),
            }
        )

    def settings(self, params: ElasticsearchAliasParameters, task: TaskSpec) -> list[Setting]:
        """The Elasticsearch connection, the alias and the index."""
        return [
            Setting(
                "elasticsearch_conn_id",
                "elasticsearch_conn_id",
                f"Elasticsearch connection {task.name} publishes through",
            ),
            Setting("alias", "compute", f"Elasticsearch alias {task.name} points", params.alias),
            Setting("index", "compute", f"Elasticsearch index {task.name} publishes", params.index),
        ]

    def arguments(
        self, params: ElasticsearchAliasParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """Nothing besides the settings."""
        return {}
