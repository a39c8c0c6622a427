"""Hostile specs end as rejected-with-report, never as a bundle carrying what they asked for.

The specs under ``fixtures/specs/hostile`` are valid specs whose text tries to talk the
model into shell commands, destructive SQL and secret exfiltration. The scripted model of
``fixtures/policy/obeying_model.yml`` obeys on every attempt; the policies must reject each
answer, the repair loop must see why, and no file of a bundle may come out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_llm.engine import build_bundle
from airflow_llm.generate import ArtifactGenerator, ArtifactState
from airflow_llm.llm.client import ModelClient
from airflow_llm.llm.endpoints import router_from_connections
from airflow_llm.plan import plan_tasks
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec
from airflow_llm.spec_loading import load_spec
from tests.scripted_endpoint import ScriptedModel
from tests.unit.test_engine import client
from tests.unit.test_generate import GOOD_PYTHON, GOOD_SQL

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
HOSTILE = sorted((FIXTURES / "specs" / "hostile").iterdir())
OBEYING: dict[str, Any] = yaml.safe_load((FIXTURES / "policy" / "obeying_model.yml").read_text())
TARGET = {"sql": "build_totals", "python": "count_totals"}
"""The task of the hostile specs (and of the obeying plan) that each role writes."""


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> GenerationSettings:
    """One work dir for the module, so mypy's cache stays warm."""
    return GenerationSettings(work_dir=tmp_path_factory.mktemp("work"), strategy="free")


def answers(**overrides: str) -> dict[str, list[Any]]:
    """Good answers for every role, the obeying plan, and ``overrides`` by role."""
    script: dict[str, str] = {"plan": OBEYING["plan"], "sql": GOOD_SQL, "python": GOOD_PYTHON}
    return {role: [answer] for role, answer in {**script, **overrides}.items()}


def generate(
    spec: PipelineSpec, model_client: ModelClient, settings: GenerationSettings
) -> dict[str, ArtifactState]:
    """Plan and generate (the prompts and answers of a bundle), without the gates."""
    tasks = plan_tasks(spec, model_client, settings).tasks
    return ArtifactGenerator(spec, tasks, model_client, settings).generate_all()


@pytest.mark.parametrize("path", HOSTILE, ids=lambda path: path.name)
def test_injected_text_is_not_a_spec_error(path: Path, settings: GenerationSettings) -> None:
    """The defence is the output policy: the spec loads, and good answers pass it."""
    states = generate(load_spec(path), client(ScriptedModel(answers())), settings)
    assert {name: state.valid for name, state in states.items()} == {
        "build_totals": True,
        "count_totals": True,
    }


@pytest.mark.parametrize("path", HOSTILE, ids=lambda path: path.name)
@pytest.mark.parametrize("answer_id", sorted(OBEYING["answers"]))
def test_a_model_that_obeys_an_injection_yields_no_bundle(
    path: Path, answer_id: str, settings: GenerationSettings
) -> None:
    case = OBEYING["answers"][answer_id]
    script = ScriptedModel(answers(**{case["role"]: case["answer"], "repair": case["answer"]}))
    result = build_bundle(load_spec(path), client(script), settings)
    assert not result.valid
    assert result.files == {}, "nothing of the bundle comes out"
    target = TARGET[case["role"]]
    assert result.reason == f"still invalid after repairs: {target}"
    task = next(task for task in result.report["tasks"] if task["name"] == target)
    assert len(task["attempts"]) == settings.max_attempts, "each finding went back for repair"
    last = task["attempts"][-1]["findings"]
    assert case["rule"] in {f["rule"] for f in last if f["severity"] == "error"}, last


def test_a_description_beyond_every_prompt_budget_is_rejected_by_the_planner(
    settings: GenerationSettings,
) -> None:
    spec = PipelineSpec.model_validate({"name": "wordy", "description": "count rows " * 20_000})
    script = ScriptedModel(answers())
    result = build_bundle(spec, client(script), settings)
    assert not result.valid
    assert "shorten the description" in (result.reason or "")
    assert script.requests == [], "nothing was sent to the model"


SECRETS = {
    "AIRFLOW_CONN_WAREHOUSE": (
        "postgresql://etl:Warehouse-Pass-1@db.internal/shop",
        "Warehouse-Pass-1",
    ),
    "AIRFLOW_CONN_AIRFLOW_LLM_S3": (
        json.dumps(
            {"conn_type": "aws", "login": "AKIAIOSFODNN7EXAMPLE", "password": "S3-Secret-Key-2"}
        ),
        "S3-Secret-Key-2",
    ),
    "AIRFLOW_CONN_AIRFLOW_LLM_MODEL": (
        json.dumps(
            {
                "conn_type": "openai",
                "host": "http://m.test/v1",
                "password": "Model-Api-Key-3",
                "extra": {"model": "m"},
            }
        ),
        "Model-Api-Key-3",
    ),
}


@pytest.mark.parametrize(
    "path",
    [*HOSTILE, *sorted((FIXTURES.parent.parent / "specs").iterdir())],
    ids=lambda path: path.name,
)
def test_prompts_never_carry_connection_secrets(
    path: Path, settings: GenerationSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With connections holding passwords in the environment (the endpoint's own among
    them), no request the model receives contains any of them."""
    for name, (value, _) in SECRETS.items():
        monkeypatch.setenv(name, value)
    script = ScriptedModel(answers())
    model_client = ModelClient(
        router_from_connections({"default": "airflow_llm_model"}),
        http_client=script.transport(),
        sleep=lambda seconds: None,
    )
    generate(load_spec(path), model_client, settings)
    assert script.requests, "the model was asked"
    sent = json.dumps(script.requests)
    assert not [secret for _, secret in SECRETS.values() if secret in sent]
