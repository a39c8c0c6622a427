"""Costs are real or absent: every answer's cost comes from the price table, reports sum
them, and a model without a price shows "n/a (no price for <model>)", never $0."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_llm.engine import build_bundle
from airflow_llm.generate import ArtifactState, Attempt
from airflow_llm.llm.client import ModelClient
from airflow_llm.llm.endpoints import Endpoint, ModelRouter
from airflow_llm.llm.pricing import PriceTable
from airflow_llm.plan import PlanAttempt
from airflow_llm.report import cost_text, report_markdown
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import TaskSpec
from airflow_llm.spec_loading import load_spec
from airflow_llm.stages import _plan_attempt, _plan_attempt_from, _totals
from tests.scripted_endpoint import ScriptedModel, first_choices
from tests.unit.test_engine import GOOD, SPEC

REPO_ROOT = Path(__file__).resolve().parents[2]
PER_CALL = (10 * 1000.0 + 5 * 2000.0) / 1_000_000
"""What one scripted answer (10 prompt and 5 completion tokens) costs at the test price."""
PRICES = PriceTable({"m": (1000.0, 2000.0)})


def client(script: ScriptedModel, prices: PriceTable) -> ModelClient:
    router = ModelRouter(default=Endpoint(model="m", base_url="http://m.test/v1"))
    return ModelClient(router, prices=prices, http_client=script.transport(), sleep=lambda s: 0)


@pytest.fixture
def settings(tmp_path: Path) -> GenerationSettings:
    return GenerationSettings(work_dir=tmp_path / "work", smoke_run=False, strategy="free")


def test_a_priced_model_gives_the_report_the_sum_of_its_answers(
    settings: GenerationSettings,
) -> None:
    script = ScriptedModel(dict(GOOD))
    result = build_bundle(SPEC, client(script, PRICES), settings)
    assert result.valid, result.report
    report = result.report
    assert [a["cost_usd"] for a in report["plan"]] == [pytest.approx(PER_CALL)]
    for task in report["tasks"]:
        assert [a["cost_usd"] for a in task["attempts"]] == [pytest.approx(PER_CALL)]
    assert report["totals"]["model_calls"] == len(script.requests) == 4
    assert report["totals"]["cost_usd"] == pytest.approx(4 * PER_CALL)
    assert report["totals"]["unpriced_models"] == []
    assert "cost: $0.0800," in report_markdown(report)


def test_a_hybrid_attempt_costs_the_questions_it_asked(tmp_path: Path) -> None:
    spec = load_spec(REPO_ROOT / "specs" / "daily_customer_totals.yml")
    script = ScriptedModel({"hybrid": [first_choices]})
    settings = GenerationSettings(work_dir=tmp_path / "work", smoke_run=False, strategy="hybrid")
    result = build_bundle(spec, client(script, PRICES), settings)
    assert result.valid, result.report
    (task,) = result.report["tasks"]
    (attempt,) = task["attempts"]
    asked = len(script.requests)
    assert asked >= 1
    assert attempt["cost_usd"] == pytest.approx(asked * PER_CALL)
    assert result.report["totals"]["cost_usd"] == pytest.approx(asked * PER_CALL)


def test_a_model_without_a_price_reports_no_cost(settings: GenerationSettings) -> None:
    script = ScriptedModel(dict(GOOD))
    result = build_bundle(SPEC, client(script, PriceTable({})), settings)
    totals = result.report["totals"]
    assert totals["cost_usd"] is None
    assert totals["unpriced_models"] == ["m"]
    assert all(a["cost_usd"] is None for t in result.report["tasks"] for a in t["attempts"])
    assert "cost: n/a (no price for m)," in report_markdown(result.report)
    assert "$" not in report_markdown(result.report)


def test_dag_run_totals_sum_the_costs_saved_with_the_attempts() -> None:
    """The flow's stages save attempts in the work prefix as JSON and total them later."""
    task = TaskSpec(name="load", kind="sql", description="Load.")

    def saved(*costs: float | None) -> dict[str, ArtifactState]:
        attempts = [
            Attempt(n, "SELECT 1", [], 10, 5, 0.1, cached=cost == 0.0, cost_usd=cost)
            for n, cost in enumerate(costs, 1)
        ]
        state = ArtifactState(task, "load.sql", attempts)
        return {"load": ArtifactState.from_dict(json.loads(json.dumps(state.to_dict())))}

    plan = PlanAttempt(1, "{}", [], 10, 5, False, PER_CALL)
    plan = _plan_attempt_from(json.loads(json.dumps(_plan_attempt(plan))))

    priced = _totals(saved(PER_CALL, 0.0), [plan], [])
    assert priced["cost_usd"] == pytest.approx(2 * PER_CALL)
    assert (priced["model_calls"], priced["cache_hits"]) == (2, 1)
    assert cost_text(priced) == "$0.0400"

    unknown = _totals(saved(PER_CALL, None), [plan], ["smollm2-135m-instruct"])
    assert unknown["cost_usd"] is None
    assert cost_text(unknown) == "n/a (no price for smollm2-135m-instruct)"

    assert _totals({}, [], [])["cost_usd"] == 0.0, "no answer, nothing spent"
