"""One evaluation run: the corpus, then the NL -> SQL questions, against one model client.

The embedded model server is started only when the client's router sends requests to
its address and nothing answers there yet (``make eval`` then needs no running server);
any other endpoint is used as configured.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from airflow_llm.embedded.config import EmbeddedConfig
from airflow_llm.embedded.model_server import model_ready
from airflow_llm.embedded.process import ManagedProcess
from airflow_llm.embedded.services import EmbeddedServices
from airflow_llm.evaluation.corpus import CorpusEntry
from airflow_llm.evaluation.results import Comparison, EvaluationRun
from airflow_llm.evaluation.runner import evaluate_corpus
from airflow_llm.evaluation.sql_accuracy import measure_sql_accuracy
from airflow_llm.evaluation.sql_questions import QuestionSet
from airflow_llm.llm.client import ModelClient
from airflow_llm.llm.endpoints import ModelRouter
from airflow_llm.settings import GenerationSettings, parse_strategy


def model_processes(router: ModelRouter, config: EmbeddedConfig) -> list[ManagedProcess]:
    """The embedded model server, when ``router`` uses it and it does not answer yet."""
    endpoints = [router.default, *router.routes.values()]
    if not any(endpoint.base_url == config.model_base_url for endpoint in endpoints):
        return []
    if model_ready(config.model_base_url, config.model_alias):
        return []
    return [EmbeddedServices(config).model()]


def run_evaluation(
    entries: Sequence[CorpusEntry],
    questions: Mapping[str, QuestionSet],
    client: ModelClient,
    settings: GenerationSettings,
    corpus: Sequence[Path],
    strategies: Sequence[str] = ("free", "hybrid", "auto"),
    progress: Callable[[str], None] = lambda message: None,
    planning_only: bool = False,
) -> Comparison:
    """For each strategy: generate (``planning_only``: plan) every corpus entry, then
    answer every question set."""
    runs = []
    for strategy in strategies:
        progress(f"strategy {strategy}")
        chosen = replace(settings, strategy=parse_strategy(strategy))
        started = datetime.now(UTC)
        specs = evaluate_corpus(entries, client, chosen, progress, planning_only)
        sql = {
            name: measure_sql_accuracy(question_set, client, chosen, progress)
            for name, question_set in questions.items()
        }
        runs.append(
            EvaluationRun(
                started_at=started,
                finished_at=datetime.now(UTC),
                endpoints=client.router.describe(),
                settings={
                    "max_attempts": settings.max_attempts,
                    "cache": client.cache is not None,
                    "planning_only": planning_only,
                },
                corpus=[str(folder) for folder in corpus],
                specs=specs,
                sql=sql,
                strategy=strategy,
            )
        )
    return Comparison(runs)
