"""Execution accuracy of NL -> SQL: ask the model one query per question, run it, compare.

An answer is correct when its rows equal the question's expected rows
(:func:`~airflow_llm.evaluation.result_sets.same_result`); a query that does not
parse, is not one SELECT, fails or times out is wrong, and its error is recorded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from airflow_llm.evaluation.result_sets import same_result
from airflow_llm.evaluation.sql_questions import QueryError, Question, QuestionSet
from airflow_llm.llm.answers import extract_code_block
from airflow_llm.llm.client import ChatRequest, ModelClient, ModelError
from airflow_llm.prompts import prompt_version, render_prompt
from airflow_llm.settings import GenerationSettings

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
    try:
        for number, question in enumerate(question_set.questions, 1):
            progress(f"question {number}/{len(question_set.questions)}: {question.id}")
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
    return SqlAccuracy(outcomes, prompt_version(PROMPT))


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
