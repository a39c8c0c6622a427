"""The bench's harness: the benchmark endpoint's books, and answers that pass first time."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import pytest

from airflow_llm.generate import ArtifactGenerator
from airflow_llm.llm.client import ModelClient
from airflow_llm.llm.endpoints import Endpoint, ModelRouter
from airflow_llm.llm.tokens import count_tokens
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec_loading import parse_spec
from bench.endpoint import BenchEndpoint, Books, serve_in_own_process
from bench.workload import PYTHON, SUITE, answers, bench_specs, sql_answer
from tests.scripted_endpoint import ROLE_MARKERS


def ask(base_url: str, role: str) -> str:
    body = {
        "model": "bench",
        "messages": [
            {"role": "system", "content": ROLE_MARKERS[role]},
            {"role": "user", "content": "Task: daily_totals\nWrite it."},
        ],
    }
    reply = httpx2.post(f"{base_url}/chat/completions", json=body, timeout=30).json()
    return str(reply["choices"][0]["message"]["content"])


def test_the_endpoint_books_service_time_per_token_and_admits_its_concurrency() -> None:
    endpoint = BenchEndpoint(
        answers=answers(), concurrency=2, seconds_per_token=0.0001, model="bench"
    )
    roles = ["sql", "python", "quality", "sql", "python", "quality"]
    with endpoint.serve() as base_url, ThreadPoolExecutor(6) as pool:
        contents = list(pool.map(lambda role: ask(base_url, role), roles))
    tokens = sum(count_tokens(content) for content in contents)
    books = endpoint.books
    assert books.requests == 6
    assert books.completion_tokens == tokens
    assert books.service_seconds == pytest.approx(tokens * 0.0001)
    assert books.ideal_seconds(2) == pytest.approx(tokens * 0.0001 / 2)
    assert 1 <= books.max_in_flight <= 2
    assert contents[1:3] == [PYTHON, SUITE]
    assert "INSERT INTO {{ params.schema }}.daily_totals" in contents[0]


def test_packing_equal_requests_leaves_the_last_round_part_empty() -> None:
    books = Books(service_seconds=500.0, services=[5.0] * 100)
    assert books.ideal_seconds(16) == 31.25  # 500 s of service on 16 slots
    assert books.packed_seconds(16) == 35.0  # 7 rounds, the last one 4/16 full
    assert Books(services=[9.0, 1.0, 1.0, 1.0]).packed_seconds(2) == 9.0


def test_the_endpoint_in_its_own_process_reports_its_books(tmp_path: Path) -> None:
    with serve_in_own_process(3, 0.0001, "bench-child", tmp_path) as endpoint:
        assert endpoint.books().requests == 0
        content = ask(endpoint.base_url, "sql")
        books = endpoint.books()
    assert (books.requests, books.completion_tokens) == (1, count_tokens(content))
    assert books.ideal_seconds(3) == pytest.approx(count_tokens(content) * 0.0001 / 3)


def test_the_bench_answers_pass_every_validator_at_the_first_attempt(tmp_path: Path) -> None:
    name, text = next(iter(bench_specs(1).items()))
    spec = parse_spec(text.encode(), name)
    endpoint = BenchEndpoint(answers=answers(), seconds_per_token=0.0)
    router = ModelRouter(default=Endpoint(model="bench", base_url="http://bench.test/v1"))
    client = ModelClient(router, http_client=endpoint.transport(), sleep=lambda s: None)
    settings = GenerationSettings(work_dir=tmp_path)
    states = ArtifactGenerator(spec, list(spec.tasks or []), client, settings).generate_all()
    assert {task: (state.valid, len(state.attempts)) for task, state in states.items()} == {
        task.name: (True, 1) for task in spec.tasks or []
    }
    assert json.loads(states["check_daily_totals"].content)["expectations"]
    assert (
        sql_answer({"messages": [{"content": "Task: x"}]}).count(
            "INSERT INTO {{ params.schema }}.x ("
        )
        == 1
    )
