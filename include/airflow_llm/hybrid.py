"""Hybrid generation: the model chooses a pattern and fills its typed parameters; the
project renders the artifact.

One answer for a task takes up to three small requests, each one decision under a JSON
schema built from the spec (``response_format`` ``json_schema``: a grammar in
llama.cpp, so even a 135M model can only name tables and columns that exist):

1. **pattern**: an enum of the catalog's patterns for the task's kind, ranked by the
   task's words, plus ``custom`` (free-form) where the strategy allows it;
2. **inputs**: the tables the pattern reads, when there is a choice;
3. **parameters**: the rest, with enums of those tables' columns, the values the
   description states and the output names its tests and neighbours use.

A question with one possible answer is not asked. The answer goes through the pattern's
parameter model and renderer; what they refuse comes back as problems, which the
generator turns into findings. A repair asks the parameters again with the findings;
the last repair asks for another pattern than the ones tried.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_llm.llm.answers import parse_json_object
from airflow_llm.llm.client import ChatRequest, ModelClient
from airflow_llm.patterns import (
    CUSTOM,
    AnyPattern,
    ParameterError,
    Rendered,
    TaskContext,
    pattern_menu,
    pattern_named,
    ranked_pattern_names,
)
from airflow_llm.patterns.base import enum, obj
from airflow_llm.prompts import render_prompt
from airflow_llm.validate.findings import Finding

MAX_TOKENS = {"pattern": 40, "inputs": 120, "parameters": 500}
MAX_TABLES_SHOWN = 6
ARTIFACTS = {
    "sql": "SQL script",
    "quality": "Great Expectations suite",
    "question": "SQL query",
    **dict.fromkeys(("python", "sensor", "branch", "llm"), "Airflow operator"),
}


@dataclass(frozen=True)
class Decision:
    """One question to the model and its answer."""

    step: str
    answer: dict[str, Any]
    """What was decided; a question with one possible answer is decided without asking
    (no tokens, ``cached``)."""
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    cached: bool
    cost_usd: float | None = 0.0
    """USD of the answer (0 when decided without asking); None when the model has no
    price."""


@dataclass
class HybridAnswer:
    """A pattern, its parameters, how they were decided, and what they render to."""

    pattern: str
    parameters: dict[str, Any] = field(default_factory=dict)
    decisions: list[Decision] = field(default_factory=list)
    rendered: Rendered | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def version(self) -> int | None:
        """The pattern's version (None for ``custom``)."""
        return None if self.pattern == CUSTOM else pattern_named(self.pattern).version

    def inputs_of(self, pattern: AnyPattern) -> dict[str, Any]:
        """The parameters that answered ``pattern``'s inputs question."""
        return {key: self.parameters[key] for key in _properties(pattern) if key in self.parameters}


def hybrid_serves(ctx: TaskContext) -> bool:
    """Whether any pattern can write ``ctx``'s task."""
    return bool(ranked_pattern_names(ctx))


@dataclass
class HybridWriter:
    """Asks the model the questions of one task and renders its answer."""

    client: ModelClient
    role: str
    """The request role (``sql`` or ``quality``): which routed model answers."""

    def answer(
        self,
        ctx: TaskContext,
        allow_custom: bool,
        previous: HybridAnswer | None = None,
        findings: Sequence[Finding] = (),
        exclude: Sequence[str] = (),
        fixed: str | None = None,
    ) -> HybridAnswer:
        """A full answer: a new pattern unless ``previous`` is given (a repair of its
        parameters, shown with ``findings``) or ``fixed`` names the one to use; never
        one of ``exclude``."""
        decisions: list[Decision] = []
        if fixed is not None:
            name = fixed
        elif previous is None:
            try:
                name = self._pattern(ctx, allow_custom, exclude, decisions)
            except ParameterError as error:  # an endpoint that cannot answer JSON
                if allow_custom:
                    return HybridAnswer(CUSTOM, decisions=decisions, problems=error.problems)
                menu = [n for n in pattern_menu(ctx) if n not in exclude] or pattern_menu(ctx)
                return HybridAnswer(menu[0], decisions=decisions, problems=error.problems)
        else:
            name = previous.pattern
        answer = HybridAnswer(name, decisions=decisions)
        if name == CUSTOM:
            return answer
        pattern = pattern_named(name)
        try:
            inputs = previous.inputs_of(pattern) if previous else {}
            if not inputs:
                inputs = self._ask_schema(
                    ctx, "inputs", pattern.input_schema(ctx), pattern, {}, decisions
                )
            answer.parameters = dict(inputs)
            schema = pattern.parameter_schema(ctx, inputs)
            shown = previous.parameters if previous else None
            parameters = self._ask_schema(
                ctx, "parameters", schema, pattern, inputs, decisions, shown, findings
            )
            answer.parameters = pattern.complete({**inputs, **parameters}, ctx)
            answer.rendered = pattern.render(pattern.parse(answer.parameters), ctx)
        except ParameterError as error:
            answer.problems = error.problems
        return answer

    def _pattern(
        self,
        ctx: TaskContext,
        allow_custom: bool,
        exclude: Sequence[str],
        decisions: list[Decision],
    ) -> str:
        names = [name for name in pattern_menu(ctx) if name not in exclude]
        if not names:
            return CUSTOM
        menu = [*names, CUSTOM] if allow_custom else names
        if len(menu) == 1:  # nothing to ask
            decisions.append(Decision("pattern", {"pattern": menu[0]}, 0, 0, 0.0, True))
            return menu[0]
        summaries = {name: pattern_named(name).summary for name in names}
        summaries[CUSTOM] = "none of these fits: the task's code is written by hand"
        lines = "\n".join(f"- {name}: {summaries[name]}" for name in menu)
        question = f"Which pattern writes this task? Patterns:\n{lines}"
        schema = obj({"pattern": enum(menu)})
        answer = self._ask(ctx, "pattern", schema, question, None, {}, decisions)
        return str(answer["pattern"])

    def _ask_schema(
        self,
        ctx: TaskContext,
        step: str,
        schema: dict[str, Any],
        pattern: AnyPattern,
        decided: Mapping[str, Any],
        decisions: list[Decision],
        previous: Mapping[str, Any] | None = None,
        findings: Sequence[Finding] = (),
    ) -> dict[str, Any]:
        forced = forced_properties(schema)
        if forced:
            decisions.append(Decision(step, forced, 0, 0, 0.0, True))
        remaining = {k: v for k, v in schema["properties"].items() if k not in forced}
        if not remaining:
            return forced
        unanswerable = _unanswerable(remaining)
        if unanswerable:  # an endpoint refuses a schema no answer fits (HTTP 400)
            raise ParameterError([f"no value fits {name}" for name in unanswerable])
        question = {
            "inputs": "Which tables does the task read?",
            "parameters": "Fill in the pattern's parameters for this task.",
        }[step]
        shown = {key: value for key, value in (previous or {}).items() if key in remaining}
        known = {**decided, **forced}
        asked = self._ask(
            ctx, step, obj(remaining), question, pattern, known, decisions, shown, findings
        )
        return {**forced, **asked}

    def _ask(
        self,
        ctx: TaskContext,
        step: str,
        schema: dict[str, Any],
        question: str,
        pattern: AnyPattern | None,
        decided: Mapping[str, Any],
        decisions: list[Decision],
        previous: Mapping[str, Any] | None = None,
        findings: Sequence[Finding] = (),
    ) -> dict[str, Any]:
        tables = _shown_tables(ctx, decided)
        prompt = render_prompt(
            "hybrid",
            artifact=ARTIFACTS.get(ctx.task.kind, "artifact"),
            spec=ctx.spec,
            task=ctx.task,
            tables=tables,
            pattern=pattern,
            decided=json.dumps(dict(decided)) if decided else "",
            question=question,
            previous=json.dumps(dict(previous)) if previous else "",
            findings=list(findings)[:8],
        )
        request = ChatRequest(
            role=self.role,
            messages=prompt.messages,
            prompt_version=prompt.version,
            max_tokens=MAX_TOKENS[step],
            json_schema=schema,
        )
        response = self.client.complete(request)
        try:
            answer = parse_json_object(response.content)
        except ValueError as error:
            raise ParameterError([f"the {step} answer is not JSON: {error}"]) from None
        decisions.append(
            Decision(
                step,
                answer,
                response.prompt_tokens,
                response.completion_tokens,
                response.seconds,
                response.cached,
                response.cost_usd,
            )
        )
        return answer


def forced_properties(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The properties of ``schema`` that have one possible value (nothing to ask), with
    that value."""
    answer: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        values = prop.get("enum")
        items = prop.get("items", {}).get("enum") if prop.get("type") == "array" else None
        if values is not None and len(values) == 1:
            answer[name] = values[0]
        elif items is not None and prop.get("minItems", 0) >= len(items) >= 1:
            answer[name] = list(items)  # every option is required
        elif prop.get("type") == "array" and prop.get("maxItems") == 0:
            answer[name] = []
    return answer


def _unanswerable(properties: Mapping[str, Any]) -> list[str]:
    """The properties no value fits: an empty enum, or a required item from one."""
    found = []
    for name, prop in properties.items():
        items = prop.get("items", {}) if prop.get("type") == "array" else {}
        if prop.get("enum") == [] or (items.get("enum") == [] and prop.get("minItems", 0) > 0):
            found.append(name)
    return found


def _properties(pattern: AnyPattern) -> list[str]:
    """The property names of ``pattern``'s inputs question (its parameter model's fields
    that name tables)."""
    return [name for name in pattern.parameters.model_fields if name in _INPUT_FIELDS]


_INPUT_FIELDS = frozenset({"source", "lookup", "left", "right", "tables", "table", "join"})


def _shown_tables(ctx: TaskContext, decided: Mapping[str, Any]) -> list[Any]:
    """The tables the prompt lists: the chosen ones once inputs are decided, else the
    best-ranked few."""
    chosen: list[str] = []
    for key in _INPUT_FIELDS:
        value = decided.get(key)
        chosen += value if isinstance(value, list) else [value] if isinstance(value, str) else []
    if chosen:
        return [relation for relation in ctx.relations if relation.name in chosen]
    ranked = ctx.text.rank_names([relation.name for relation in ctx.relations])
    by_name = {relation.name: relation for relation in ctx.relations}
    return [by_name[name] for name in ranked[:MAX_TABLES_SHOWN]]
