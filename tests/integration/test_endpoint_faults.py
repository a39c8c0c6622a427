"""Endpoint faults over real HTTP on 127.0.0.1: each is retried a bounded number of
times, then either answered or the spec is rejected with a report that says why; a
batch finishes for every spec while one endpoint misbehaves; no call outlives its
deadline (each test has a pytest timeout, so a hang fails it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_llm.engine import build_bundle
from airflow_llm.llm.client import ChatRequest, ModelClient, RetryPolicy
from airflow_llm.llm.endpoints import Endpoint, ModelRouter
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec
from tests import fault_endpoint as faults
from tests.scripted_endpoint import Answer, ScriptedModel
from tests.unit.test_generate import GOOD_SQL

pytestmark = pytest.mark.integration

TIMEOUT = 1.0
"""Each request's deadline in these tests: every socket fault must end by it."""
RETRY = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.1)

FAULTS: dict[str, tuple[Answer, str]] = {
    "timeout": (faults.stall(30), "APITimeoutError"),
    "connection-reset": (faults.reset_mid_body(), "APIConnectionError"),
    "body-cut-short": (faults.cut_body(), "APIConnectionError"),
    "slow-trickle": (faults.trickle(0.1), "APITimeoutError"),
    "429-retry-after": (faults.rate_limited("0.05"), "429 rate limited"),
    "500": (faults.server_error(500), "InternalServerError"),
    "503": (faults.server_error(503), "InternalServerError"),
    "malformed-json": (faults.malformed_json(), "malformed reply"),
    "not-a-completion": (faults.wrong_shape(), "malformed reply"),
    "empty-content": (faults.empty_content(), "empty answer"),
    "far-over-max-tokens": (faults.over_max_tokens(), "far over max_tokens"),
}
"""Fault name -> (the answer that injects it, what the rejection reason says)."""

_SOURCES = [{"name": "orders", "columns": {"id": "BIGINT", "d": "DATE"}}]
_TASKS = [
    {"name": "build_totals", "kind": "sql", "description": "Copy ids into totals."},
    {"name": "count", "kind": "python", "description": "Count.", "depends_on": "build_totals"},
]


def spec(name: str, tasks: int) -> PipelineSpec:
    """A spec with its first ``tasks`` tasks (sql, then python)."""
    return PipelineSpec.model_validate(
        {
            "name": name,
            "description": "Copy order ids into totals and count them.",
            "dialect": "postgres",
            "sources": _SOURCES,
            "tasks": _TASKS[:tasks],
        }
    )


def fault_client(base_url: str, routes: dict[str, str] | None = None) -> ModelClient:
    """A client of the endpoint at ``base_url`` (``role -> base URL`` for others), with
    the tests' short deadline and backoff."""

    def endpoint(url: str) -> Endpoint:
        return Endpoint(model="scripted", base_url=url, timeout=TIMEOUT)

    routed = {role: endpoint(url) for role, url in (routes or {}).items()}
    return ModelClient(ModelRouter(default=endpoint(base_url), routes=routed), retry=RETRY)


def request() -> ChatRequest:
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    return ChatRequest(role="sql", messages=messages, prompt_version="v1", max_tokens=200)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", FAULTS)
def test_a_burst_of_faults_is_retried_until_the_endpoint_answers(name: str) -> None:
    fault, _ = FAULTS[name]
    script = ScriptedModel({"*": [fault, fault, "SELECT 1"]})
    with script.serve() as base_url:
        response = fault_client(base_url).complete(request())
    assert (response.content, response.attempts) == ("SELECT 1", 3)
    assert len(script.requests) == 3


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", FAULTS)
def test_an_endpoint_that_keeps_faulting_rejects_the_spec_with_a_report(
    name: str, tmp_path: Path
) -> None:
    fault, reason = FAULTS[name]
    script = ScriptedModel({"*": [fault]})
    with script.serve() as base_url:
        settings = GenerationSettings(work_dir=tmp_path, strategy="free")
        result = build_bundle(spec("faulty", 1), fault_client(base_url), settings)
    assert len(script.requests) == RETRY.max_attempts, "bounded retries"
    assert (result.valid, result.files) == (False, {})
    assert result.reason is not None
    assert f"gave up after {RETRY.max_attempts} attempts (" in result.reason
    assert reason in result.reason
    assert result.report["reason"] == result.reason
    assert f"rejected: {result.reason}" in result.report_files["report.md"]


# Bundles that get past the model go through the real gates but the smoke run (covered
# by test_gates.py): mypy and the sandboxed import take seconds, hence the longer limits.
@pytest.mark.timeout(180)
def test_an_answer_cut_at_max_tokens_is_judged_by_the_validators_and_repaired(
    tmp_path: Path,
) -> None:
    settings = GenerationSettings(work_dir=tmp_path, smoke_run=False, strategy="free")
    partial = GOOD_SQL[: GOOD_SQL.index("{{") + 2]  # stops inside a Jinja expression
    cut = faults.cut_at_max_tokens(partial, settings.max_tokens["sql"])
    script = ScriptedModel({"sql": [cut], "repair": [cut, GOOD_SQL]})
    with script.serve() as base_url:
        repaired = build_bundle(spec("cut", 1), fault_client(base_url), settings)
    assert script.roles() == ["sql", "repair", "repair"], "repaired, not resent unchanged"
    assert repaired.valid, repaired.report
    stuck = ScriptedModel({"*": [cut]})
    with stuck.serve() as base_url:
        rejected = build_bundle(spec("cut", 1), fault_client(base_url), settings)
    assert rejected.reason == "still invalid after repairs: build_totals"


@pytest.mark.timeout(180)
def test_a_batch_finishes_for_every_spec_while_one_endpoint_misbehaves(tmp_path: Path) -> None:
    good = ScriptedModel({"sql": [GOOD_SQL]})
    bad = ScriptedModel({"*": [faults.trickle(0.1)]})
    batch = [spec("first", 1), spec("counted", 2), spec("last", 1)]
    settings = GenerationSettings(work_dir=tmp_path, smoke_run=False, strategy="free")
    with good.serve() as good_url, bad.serve() as bad_url:
        client = fault_client(good_url, {"python": bad_url})
        results = [build_bundle(pipeline, client, settings) for pipeline in batch]
    assert [(result.pipeline, result.valid) for result in results] == [
        ("first", True),
        ("counted", False),
        ("last", True),
    ]
    assert f"{bad_url}|scripted: gave up after 3 attempts (APITimeoutError)" in str(
        results[1].reason
    )
    assert len(bad.requests) == RETRY.max_attempts
    assert all(result.report for result in results), "every spec has its report"
