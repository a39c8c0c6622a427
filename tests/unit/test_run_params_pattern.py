"""The run-parameter check: a step that validates the parameters its words name becomes a
task checking the run's values (single values, the values the words allow, required
when they say so), which the smoke run runs with no conf given."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_llm.engine import build_bundle
from airflow_llm.patterns import ParameterError, context_for, pattern_named, ranked_pattern_names
from airflow_llm.patterns.run_params import stated_parameters, stated_values
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec
from tests.scripted_endpoint import ScriptedModel
from tests.unit.test_engine import client

SPEC = PipelineSpec.model_validate(
    {
        "name": "regional_rollout",
        "description": "Roll the pricing out to one region at a time, started by hand.",
        "tasks": [
            {
                "name": "check_params",
                "kind": "python",
                "description": "Validate the run parameters (region, tier): region must be "
                "one of eu, us or apac. • Operator: PythonOperator",
            },
            {
                "name": "rolled_out",
                "kind": "python",
                "depends_on": ["check_params"],
                "description": "Marks the end of the pipeline (EmptyOperator).",
            },
        ],
    }
)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Validate the color parameter before anything runs.", ["color"]),
        ("Input: DAG parameters (region, tier)", ["region", "tier"]),
        ("Check params.batch_size and params['mode']", ["batch_size", "mode"]),
        ("Check the input parameters and the key parameters.", []),
    ],
)
def test_stated_parameters(text: str, names: list[str]) -> None:
    assert stated_parameters(text) == names


def test_stated_values() -> None:
    text = "region must be one of eu, us or apac."
    assert stated_values(text, "region") == ["eu", "us", "apac"]
    assert stated_values("mode in ['full' | 'delta']", "mode") == ["full", "delta"]
    assert stated_values("region is checked", "region") == []
    assert stated_values("tier and region: one of eu, us", "tier", ["tier", "region"]) == []


@pytest.mark.parametrize(
    ("words", "served"),
    [
        ("Validate the color parameter.", True),
        ("Check that the DAG parameters (run_mode) are sane.", True),
        ("Validate the orders file's columns.", False),
        ("Tune the model parameters (learning_rate).", False),
        ("File the IRS report • Key Parameters: Validates against IRS requirements", False),
    ],
)
def test_validate_params_serves_steps_checking_named_parameters(words: str, served: bool) -> None:
    task = {"name": "step", "kind": "python", "description": words}
    spec = PipelineSpec.model_validate({"name": "p", "description": words, "tasks": [task]})
    ctx = context_for(spec, (spec.tasks or [])[0], {})
    assert ("validate_params" in ranked_pattern_names(ctx)) is served


def test_the_check_renders_the_words_rules_and_runs_in_the_smoke_run(tmp_path: Path) -> None:
    script = ScriptedModel({})
    settings = GenerationSettings(work_dir=tmp_path / "work", strategy="hybrid", smoke_run=True)
    result = build_bundle(SPEC, client(script), settings)

    assert script.requests == []
    assert result.valid, result.reason
    dag = result.files["dags/regional_rollout.py"]
    assert 'for name in ["region", "tier"]}' in dag
    assert 'allowed: dict[str, list[str]] = {"region": ["eu", "us", "apac"]}' in dag
    assert "missing (" not in dag, "the words do not say the parameters are required"
    states = {task["name"]: task["state"] for task in result.report["smoke_run"]["tasks"]}
    assert states == {"check_params": "success", "rolled_out": "success"}


def test_parameters_the_pattern_refuses() -> None:
    pattern = pattern_named("validate_params")
    ctx = context_for(SPEC, (SPEC.tasks or [])[0], {})
    with pytest.raises(ParameterError, match="not parameter names"):
        pattern.parse({"names": ["Bad Name"]})
    with pytest.raises(ParameterError, match="not plain values"):
        pattern.parse({"names": ["region"], "allowed": {"region": ["a b"]}})
    with pytest.raises(ParameterError, match="parameters not checked: tier"):
        pattern.render(pattern.parse({"names": ["region"], "allowed": {"tier": ["x"]}}), ctx)
