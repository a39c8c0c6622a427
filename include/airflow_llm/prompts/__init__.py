"""Versioned prompt templates, one per role: plan, sql, python, quality, repair.

Each template renders chat messages: the text before the first ``=== user ===`` or
``=== assistant ===`` line is the system message, and each marker starts a message of
that role. Few-shot examples are real user/assistant turns, which small models follow
far better than examples inside the instructions. The stable part (instructions,
conventions, few-shot turns) comes first, so
prefix caching in vLLM and llama.cpp reuses it across tasks. A template's version is
the hash of its source (and of the shared context it includes), so editing a
prompt invalidates exactly the cached responses it produced.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import jinja2

from airflow_llm.llm.tokens import count_message_tokens
from airflow_llm.spec import PipelineSpec, SourceTable

TEMPLATES = ("plan", "plan_step", "sql", "python", "quality", "repair", "hybrid")
_ROLE_MARKER = re.compile(r"^=== (user|assistant) ===$", re.MULTILINE)
_HERE = Path(__file__).parent
_SHARED = ("_context.j2",)


class PromptBudgetError(ValueError):
    """The prompt does not fit the model's context even with the schema trimmed."""


@dataclass(frozen=True)
class Prompt:
    """Rendered chat messages and the version of the template that made them."""

    messages: list[dict[str, str]]
    version: str


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,  # noqa: S701 - prompts are plain text, not HTML
    )


@cache
def prompt_version(name: str) -> str:
    """``<name>-<12 hex>``: a hash of the template and the shared parts it includes."""
    digest = hashlib.sha256()
    for file in (f"{name}.j2", *_SHARED):
        digest.update((_HERE / file).read_bytes())
    return f"{name}-{digest.hexdigest()[:12]}"


def prompt_versions() -> dict[str, str]:
    """Every template's version, for manifests."""
    return {name: prompt_version(name) for name in TEMPLATES}


def render_prompt(name: str, **context: Any) -> Prompt:
    """Render template ``name`` into system and user messages."""
    text = _environment().get_template(f"{name}.j2").render(**context)
    parts = _ROLE_MARKER.split(text)
    messages = [{"role": "system", "content": parts[0].strip()}]
    messages += [
        {"role": role, "content": content.strip()}
        for role, content in zip(parts[1::2], parts[2::2], strict=True)
    ]
    return Prompt(messages=messages, version=prompt_version(name))


def budgeted_prompt(
    name: str, spec: PipelineSpec, budget_tokens: int, model: str = "", **context: Any
) -> Prompt:
    """Render ``name`` within ``budget_tokens``, trimming the schema context, never the task.

    Tries, in order: every source table with descriptions; without descriptions; only
    the tables the task's description mentions; no tables. Raises
    :class:`PromptBudgetError` when even the last does not fit.
    """
    task = context.get("task")
    mentioned = _mentioned_tables(spec.sources, task.description if task else spec.description)
    attempts: Sequence[tuple[list[SourceTable], bool]] = (
        (spec.sources, False),
        (spec.sources, True),
        (mentioned, True),
        ([], True),
    )
    for sources, compact in attempts:
        prompt = render_prompt(name, spec=spec, sources=sources, compact=compact, **context)
        used = count_message_tokens(prompt.messages, model)
        if used <= budget_tokens:
            return prompt
    raise PromptBudgetError(
        f"the {name} prompt needs {used} tokens without any schema context; "
        f"the budget is {budget_tokens}: shorten the description"
    )


def numbered(text: str) -> str:
    """``text`` with line numbers, so repair findings can point at lines."""
    return "\n".join(f"{number:3d}| {line}" for number, line in enumerate(text.splitlines(), 1))


def _mentioned_tables(sources: list[SourceTable], text: str) -> list[SourceTable]:
    lowered = text.lower()
    return [table for table in sources if table.name.split(".")[-1].lower() in lowered]
