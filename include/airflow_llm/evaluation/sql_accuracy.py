"""Execution accuracy of NL -> SQL: one query per question, run it, compare.

Free-form, the model writes the query; hybrid (``hybrid`` and ``auto``), it answers the
``select`` pattern's parameters (tables, columns, aggregates, filters, order, limit)
under JSON schemas built from the set's schema and the sample database's values, and
the project renders the query. An answer is correct when its rows equal the question's
expected rows (:func:`~airflow_llm.evaluation.result_sets.same_result`); a query that
does not parse, is not one SELECT, fails or times out is wrong, and its error is
recorded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from airflow_llm.evaluation.result_sets import same_result
from airflow_llm.evaluation.sql_questions import (
    QueryError,
    Question,
    QuestionSet,
    schema_relations,
    text_values,
)
from airflow_llm.hybrid import HybridWriter
from airflow_llm.llm.answers import extract_code_block
from airflow_llm.llm.client import ChatRequest, ModelClient, ModelError
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.prompts import prompt_version, render_prompt
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec, SourceTable, TaskSpec

PROMPT = "question_sql"


@dataclass(frozen=True)
class QuestionOutcome:
    """One question: the model's query, whether its rows were right, and what it cost."""

    id: str
    sql: str
    correct: bool
    error: str | None
    model_calls: int
    prompt_tokens: int
    completion_tokens: int
    seconds: float


@dataclass(frozen=True)
class SqlAccuracy:
    """The outcomes of a question set."""

    outcomes: list[QuestionOutcome]
    prompt_version: str

    @property
    def correct(self) -> int:
        """Questions answered with the expected rows."""
        return sum(outcome.correct for outcome in self.outcomes)

    @property
    def executed(self) -> int:
        """Answers that ran (right or wrong rows)."""
        return sum(outcome.error is None for outcome in self.outcomes)

    @property
    def accuracy(self) -> float | None:
        """Correct answers over questions (None without questions)."""
        return self.correct / len(self.outcomes) if self.outcomes else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: totals first, then every question."""
        return {
            "questions": len(self.outcomes),
            "correct": self.correct,
            "executed": self.executed,
            "execution_accuracy": self.accuracy,
            "model_calls": sum(outcome.model_calls for outcome in self.outcomes),
            "prompt_tokens": sum(outcome.prompt_tokens for outcome in self.outcomes),
            "completion_tokens": sum(outcome.completion_tokens for outcome in self.outcomes),
            "seconds": round(sum(outcome.seconds for outcome in self.outcomes), 3),
            "prompt_version": self.prompt_version,
            "outcomes": [asdict(outcome) for outcome in self.outcomes],
        }


def measure_sql_accuracy(
    question_set: QuestionSet,
    client: ModelClient,
    settings: GenerationSettings,
    progress: Callable[[str], None] = lambda message: None,
) -> SqlAccuracy:
    """Ask ``client`` (routed as the ``sql`` role) every question of ``question_set``."""
    database = question_set.database()
    outcomes = []
    hybrid = settings.strategy != "free"
    relations = schema_relations(question_set.schema)
    values = text_values(database, relations) if hybrid else {}
    try:
        for number, question in enumerate(question_set.questions, 1):
            progress(f"question {number}/{len(question_set.questions)}: {question.id}")
            if hybrid:
                outcome = _ask_hybrid(question, relations, values, client)
            else:
                outcome = _ask(question, question_set.schema, client, settings)
            if outcome.error is None:
                try:
                    rows = database.run(outcome.sql)
                except QueryError as failure:
                    outcome = replace(outcome, error=str(failure))
                else:
                    outcome = replace(
                        outcome, correct=same_result(question.expected, rows, question.ordered)
                    )
            outcomes.append(outcome)
    finally:
        database.close()
    version = prompt_version("hybrid" if hybrid else PROMPT)
    return SqlAccuracy(outcomes, version)


def _ask_hybrid(
    question: Question,
    relations: list[Relation],
    values: dict[str, tuple[str, ...]],
    client: ModelClient,
) -> QuestionOutcome:
    """The ``select`` pattern's query for ``question``, not yet run."""
    sources = [SourceTable(name=r.name, columns=list(r.columns)) for r in relations]
    task = TaskSpec(name="answer", kind="sql", description=question.question)
    spec = PipelineSpec(
        name="question", description=question.question, dialect="duckdb", sources=sources
    )
    ctx = TaskContext(spec, task, tuple(relations), values=values)
    started = time.monotonic()
    try:
        answer = HybridWriter(client, "sql").answer(ctx, allow_custom=False, fixed="select")
    except ModelError as error:
        seconds = round(time.monotonic() - started, 3)
        return QuestionOutcome(question.id, "", False, f"model: {error}", 1, 0, 0, seconds)
    asked = [d for d in answer.decisions if not d.cached]
    refused = "; ".join(answer.problems) if answer.rendered is None else None
    return QuestionOutcome(
        question.id,
        answer.rendered.content.strip() if answer.rendered else "",
        correct=False,
        error=f"parameters: {refused}" if refused else None,
        model_calls=len(asked),
        prompt_tokens=sum(d.prompt_tokens for d in answer.decisions),
        completion_tokens=sum(d.completion_tokens for d in answer.decisions),
        seconds=round(time.monotonic() - started, 3),
    )


def _ask(
    question: Question, schema: str, client: ModelClient, settings: GenerationSettings
) -> QuestionOutcome:
    """The model's query, not yet run (``error`` set when the model did not answer)."""
    prompt = render_prompt(PROMPT, schema=schema.strip(), question=question.question)
    request = ChatRequest(
        role="sql",
        messages=prompt.messages,
        prompt_version=prompt.version,
        max_tokens=settings.max_tokens["sql"],
    )
    started = time.monotonic()
    try:
        response = client.complete(request)
    except ModelError as error:
        seconds = round(time.monotonic() - started, 3)
        return QuestionOutcome(question.id, "", False, f"model: {error}", 1, 0, 0, seconds)
    return QuestionOutcome(
        question.id,
        extract_code_block(response.content, ("sql",)).strip(),
        correct=False,
        error=None,
        model_calls=0 if response.cached else 1,
        prompt_tokens=response.prompt_tokens,
        completion_tokens=response.completion_tokens,
        seconds=round(response.seconds, 3),
    )
