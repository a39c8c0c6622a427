"""Spec to bundle with a scripted model: valid bundles, reruns, rejections, writing."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from airflow_llm.engine import build_bundle, write_bundle
from airflow_llm.llm.cache import ResponseCache
from airflow_llm.llm.client import ModelClient
from airflow_llm.llm.endpoints import Endpoint, ModelRouter
from airflow_llm.recheck import recheck_bundle
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec
from airflow_llm.validate.findings import errors
from tests.scripted_endpoint import ScriptedModel
from tests.unit.test_generate import GOOD_PYTHON, GOOD_SQL, GOOD_SUITE

PLAN = json.dumps(
    {
        "tasks": [
            {
                "name": "build_totals",
                "kind": "sql",
                "description": "Copy ids into totals.",
                "depends_on": [],
            },
            {
                "name": "check_totals",
                "kind": "quality",
                "description": "ids set.",
                "depends_on": ["build_totals"],
            },
            {
                "name": "count_totals",
                "kind": "python",
                "description": "Count.",
                "depends_on": ["check_totals"],
            },
        ]
    }
)
SPEC = PipelineSpec.model_validate(
    {
        "name": "totals",
        "description": "Copy order ids into totals, check them and count them.",
        "dialect": "postgres",
        "sources": [{"name": "orders", "columns": {"id": "BIGINT", "d": "DATE"}}],
    }
)
GOOD = {"plan": [PLAN], "sql": [GOOD_SQL], "quality": [GOOD_SUITE], "python": [GOOD_PYTHON]}


def client(script: ScriptedModel, cache_dir: Path | None = None) -> ModelClient:
    router = ModelRouter(default=Endpoint(model="m", base_url="http://m.test/v1"))
    cache = ResponseCache.at(f"file://{cache_dir}") if cache_dir else None
    return ModelClient(router, cache=cache, http_client=script.transport(), sleep=lambda s: None)


@pytest.fixture
def settings(tmp_path: Path) -> GenerationSettings:
    """Free-form (the script writes code), without the smoke run
    (tests/integration/test_gates.py covers it), but for the first test, which runs the
    whole path. tests/unit/test_hybrid.py covers the hybrid path."""
    return GenerationSettings(work_dir=tmp_path / "work", smoke_run=False, strategy="free")


def test_a_description_becomes_a_valid_gated_bundle(
    tmp_path: Path, settings: GenerationSettings
) -> None:
    script = ScriptedModel(dict(GOOD))
    smoke = replace(settings, smoke_run=True)
    result = build_bundle(SPEC, client(script, tmp_path / "cache"), smoke)
    assert result.valid, result.report
    ran = {task["name"]: task["state"] for task in result.report["smoke_run"]["tasks"]}
    assert ran == dict.fromkeys(["build_totals", "check_totals", "count_totals"], "success")
    assert sorted(result.files) == [
        "dags/resources/totals/build_totals.sql",
        "dags/resources/totals/check_totals_expectations.json",
        "dags/resources/totals/config.yml",
        "dags/resources/totals/count_totals_function.py",
        "dags/resources/totals/requirements.txt",
        "dags/resources/totals/tasks.yml",
        "dags/totals.py",
        "manifest.json",
    ]
    manifest = json.loads(result.files["manifest.json"])
    assert manifest["attempts"] == {"build_totals": 1, "check_totals": 1, "count_totals": 1}
    assert set(manifest["files"]) == set(result.files) - {"manifest.json"}
    assert result.report["totals"]["model_calls"] == 4

    out = tmp_path / "bundle"
    dag_path = write_bundle(result, out)
    assert dag_path == out / "dags" / "totals.py"
    assert (out / "report.md").read_text().startswith("# totals: valid")
    assert errors(recheck_bundle(out, settings)) == []


def test_an_immediate_rerun_makes_no_model_call_and_the_same_bytes(
    tmp_path: Path, settings: GenerationSettings
) -> None:
    first = build_bundle(SPEC, client(ScriptedModel(dict(GOOD)), tmp_path / "cache"), settings)
    silent = ScriptedModel({"*": [json.dumps({"tasks": []})]})
    rerun_client = client(silent, tmp_path / "cache")
    second = build_bundle(SPEC, rerun_client, settings)
    assert silent.requests == []
    assert rerun_client.stats.calls == 0
    assert second.files == first.files


def test_a_failing_artifact_rejects_the_bundle_with_a_report(
    tmp_path: Path, settings: GenerationSettings
) -> None:
    script = ScriptedModel({**GOOD, "sql": ["DROP TABLE orders"], "repair": ["DROP TABLE orders"]})
    result = build_bundle(SPEC, client(script), settings)
    assert not result.valid
    assert result.reason == "still invalid after repairs: build_totals"
    assert result.files == {}
    written = tmp_path / "bundle"
    write_bundle(result, written)
    assert sorted(p.name for p in written.iterdir()) == ["report.json", "report.md"]
    report = json.loads((written / "report.json").read_text())
    sql = next(task for task in report["tasks"] if task["name"] == "build_totals")
    assert [a["findings"][0]["rule"] for a in sql["attempts"]] == ["policy.statement"] * 3


def test_a_plan_that_never_validates_is_rejected(settings: GenerationSettings) -> None:
    script = ScriptedModel(
        {
            "*": [
                '{"tasks": [{"name": "a", "kind": "sql", "description": "x", "depends_on": ["zz"]}]}'
            ]
        }
    )
    result = build_bundle(SPEC, client(script), settings)
    assert not result.valid
    assert "no valid plan after 3 attempts" in (result.reason or "")
    assert len(result.report["plan"]) == 3


def test_tampered_bundles_fail_recheck(tmp_path: Path, settings: GenerationSettings) -> None:
    result = build_bundle(SPEC, client(ScriptedModel(dict(GOOD))), settings)
    out = tmp_path / "bundle"
    write_bundle(result, out)
    sql = out / "dags" / "resources" / "totals" / "build_totals.sql"
    sql.write_text("DROP TABLE orders\n")
    rules = {finding.rule for finding in errors(recheck_bundle(out, settings))}
    assert {"policy.statement", "manifest.hash"} <= rules
