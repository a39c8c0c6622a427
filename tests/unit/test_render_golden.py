"""Golden bundles: what the product publishes for the example specs, byte for byte.

Each example spec with explicit tasks goes through ``build_bundle`` (hybrid by default,
no smoke run) against a scripted model: it answers the hybrid questions with the first
option of every enum (``first_choices``), but for the few answers in ``HYBRID_ANSWERS``
that a careful model would give instead (each checked against the question's JSON
schema, so a grammar-constrained model could give it too), and writes the Python
functions in ``PYTHON_ANSWERS``, which pass the code policy and mypy. The complete
bundle, manifest included (reports are not part of a bundle), must equal
``tests/fixtures/golden_bundles/<pipeline>/`` (each file stored with a ``.golden``
suffix, so tools treat them as data), and every golden passes ``recheck_bundle``, the
checks of ``airflow-llm validate``: they are bundles a reader can trust.

After an intended change (templates, patterns, prompts, generator version):
``UPDATE_GOLDEN=1 pytest tests/unit/test_render_golden.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from airflow_llm.bundle.render import document_operators, parse_tasks_document
from airflow_llm.engine import MANIFEST, build_bundle
from airflow_llm.gates import structure_findings
from airflow_llm.llm.client import ModelClient
from airflow_llm.llm.endpoints import Endpoint, ModelRouter
from airflow_llm.recheck import recheck_bundle
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec
from airflow_llm.spec_loading import load_spec
from airflow_llm.validate.dag_import import import_dags
from airflow_llm.validate.findings import errors
from tests.scripted_endpoint import ScriptedModel, first_choices

REPO_ROOT = Path(__file__).resolve().parents[2]
GOLDEN = REPO_ROOT / "tests" / "fixtures" / "golden_bundles"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
SPECS = {
    spec.name: spec
    for spec in (load_spec(path) for path in sorted((REPO_ROOT / "specs").iterdir()))
    if spec.tasks is not None
}

HYBRID_ANSWERS: dict[tuple[str, str], dict[str, Any]] = {
    # "grouped by country_code and channel": both keys, not the first one only
    ("rollup_daily_revenue", "parameters"): {"keys": ["country_code", "channel"]},
    # the suite the task's words ask for, which its unit tests check
    ("check_revenue", "parameters"): {
        "expectations": ["not_null(country_code)", "between(revenue, min=0.0)"]
    },
    # the import test's free-form sensor: its words cue s3_key_sensor, the model declines
    ("wait_for_file", "pattern"): {"pattern": "custom"},
}
"""(task, question) -> the answers that differ from the first options."""

PYTHON_ANSWERS = {
    # the sensor and branch spec of the import test
    "wait_for_file": """
from airflow.sdk import ObjectStoragePath


def poke(config: dict[str, Any], upstream: dict[str, Any]) -> bool:
    marker = ObjectStoragePath(f"s3://{config['bucket']}/partner/_SUCCESS", conn_id=config["aws_conn_id"])
    log.info("waiting for %s", marker)
    return bool(marker.exists())
""",
    "route": """
def choose(config: dict[str, Any], upstream: dict[str, Any]) -> list[str]:
    large = bool(config.get("vars", {}).get("large_drop", False))
    log.info("routing a %s drop", "large" if large else "small")
    return ["load_large"] if large else ["load_small"]
""",
    "load_small": """
def run(config: dict[str, Any], upstream: dict[str, Any], item: Any = None) -> Any:
    log.info("loading the small drop")
    return {"loaded": "small"}
""",
    "load_large": """
def run(config: dict[str, Any], upstream: dict[str, Any], item: Any = None) -> Any:
    log.info("loading the large drop")
    return {"loaded": "large"}
""",
}
"""Free-form functions by task, as a model answers: a fenced block, the signature the
prompt gives."""


def _task_of(body: dict[str, Any]) -> str:
    """The task a request is about (the last user message names it; the few-shot
    example before it names another)."""
    found = re.findall(r"^Task: (\w+) \(", body["messages"][-1]["content"], re.MULTILINE)
    assert found, body["messages"][-1]["content"]
    return str(found[-1])


def _step_of(body: dict[str, Any]) -> str:
    question = body["messages"][-1]["content"]
    if "Which pattern writes this task?" in question:
        return "pattern"
    return "inputs" if "Which tables does the task read?" in question else "parameters"


def hybrid_answer(body: dict[str, Any]) -> str:
    """First choices, with the answers of ``HYBRID_ANSWERS``; each within the schema."""
    answer = json.loads(first_choices(body))
    answer.update(HYBRID_ANSWERS.get((_task_of(body), _step_of(body)), {}))
    jsonschema.validate(answer, body["response_format"]["json_schema"]["schema"])
    return json.dumps(answer)


def python_answer(body: dict[str, Any]) -> str:
    return f"```python\n{PYTHON_ANSWERS[_task_of(body)].strip()}\n```"


def scripted_model() -> ScriptedModel:
    return ScriptedModel({"hybrid": [hybrid_answer], "python": [python_answer]})


def settings(work: Path) -> GenerationSettings:
    return GenerationSettings(work_dir=work, smoke_run=False)


def generate(spec: PipelineSpec, work: Path) -> dict[str, str]:
    """The files of ``spec``'s bundle, manifest included; fails with the report when the
    bundle is invalid."""
    script = scripted_model()
    router = ModelRouter(default=Endpoint(model="first-choices", base_url="http://golden.test/v1"))
    client = ModelClient(router, http_client=script.transport(), sleep=lambda seconds: None)
    result = build_bundle(spec, client, settings(work))
    assert result.valid, json.dumps(result.report, indent=1)[:4000]
    assert set(script.roles()) <= {"hybrid", "python"}, "the scripted model was asked for code"
    return result.files


@cache
def generated(name: str, work: Path) -> dict[str, str]:
    return generate(SPECS[name], work)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One work dir (mypy's cache) for the module."""
    return tmp_path_factory.mktemp("work")


def golden_files(name: str) -> dict[str, str]:
    root = GOLDEN / name
    return {
        str(path.relative_to(root)).removesuffix(".golden"): path.read_text()
        for path in sorted(root.rglob("*.golden"))
    }


def write_golden(name: str, files: dict[str, str]) -> None:
    shutil.rmtree(GOLDEN / name, ignore_errors=True)
    for relative, content in files.items():
        golden = GOLDEN / name / f"{relative}.golden"
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(content)


def bundle_folder(name: str, target: Path) -> Path:
    """The golden bundle of ``name`` as a bundle folder (the suffixes removed)."""
    for relative, content in golden_files(name).items():
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        (target / relative).write_text(content)
    return target


@pytest.mark.parametrize("name", sorted(SPECS))
def test_bundle_matches_golden_files(name: str, work: Path) -> None:
    files = generated(name, work)
    assert MANIFEST in files, "a bundle without its manifest is no published bundle"
    if UPDATE:
        write_golden(name, files)
    assert files == golden_files(name)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_golden_bundle_passes_airflow_llm_validate(name: str, tmp_path: Path) -> None:
    """Manifest hashes, every resource's validators, the secrets scan, mypy, the sandboxed
    DagBag import and the structure: what promotion and ``airflow-llm validate`` check."""
    root = bundle_folder(name, tmp_path / "bundle")
    manifest = json.loads((root / MANIFEST).read_text())
    assert manifest["gates"] == {
        "types": True,
        "import": True,
        "structure": True,
        "smoke_run": False,
    }
    findings = recheck_bundle(root, settings(tmp_path / "work"))
    assert errors(findings) == []


@pytest.mark.parametrize("name", sorted(SPECS))
def test_golden_dag_is_clean_under_the_projects_own_ruff(name: str) -> None:
    dag_file = f"dags/{name}.py"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ruff"), "check", "--stdin-filename", dag_file, "-"],
        input=golden_files(name)[dag_file],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout


def test_generating_twice_gives_the_same_bytes(tmp_path: Path) -> None:
    spec = SPECS["daily_customer_totals"]
    assert generate(spec, tmp_path / "a") == generate(spec, tmp_path / "b")


def test_orchestration_comes_from_the_template_not_the_model() -> None:
    dag = golden_files("review_sentiment_batch")["dags/review_sentiment_batch.py"]
    assert "from airflow.sdk import DAG, BaseHook, get_current_context, task" in dag
    assert "_task_classify_reviews.expand(batch=fetch_review_batches)" in dag
    assert "@task.llm(" in dag
    assert "output_type=NativeOutput(ClassifyReviewsAnswers)" in dag
    assert "write_classify_reviews >> store_review_sentiment" in dag
    assert 'pool="llm_endpoint"' in dag
    assert "SQLExecuteQueryOperator(" in dag
    assert 'conn_id=CONFIG["conn_id"]' in dag
    assert "execution_timeout=timedelta(seconds=600)" in dag


def test_every_golden_dag_imports_with_the_structure_of_its_tasks_yml(
    tmp_path: Path, work: Path
) -> None:
    """All golden bundles side by side in one DAG folder, with a sensor and branch bundle,
    parsed by one sandboxed DagBag: SQL, Python, quality, sensor, branch and mapped
    @task.llm tasks all import."""
    for name in SPECS:
        bundle_folder(name, tmp_path)
    partner = sensor_and_branch_spec()
    for relative, content in generate(partner, work).items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(content)
    parsed = import_dags(tmp_path / "dags")
    assert parsed.errors == {}
    specs = [*SPECS.values(), partner]
    assert sorted(parsed.dags) == sorted(spec.name for spec in specs)
    for spec in specs:
        resources = tmp_path / "dags" / "resources" / spec.name
        document = parse_tasks_document((resources / "tasks.yml").read_text())
        operators = document_operators(
            document, lambda file, root=resources: (root / file).read_text()
        )
        followers = {name: bound.followers() for name, bound in operators.items()}
        dag = parsed.dags[spec.name]
        assert structure_findings(f"dags/{spec.name}.py", dag, document.tasks, followers) == []


def sensor_and_branch_spec() -> PipelineSpec:
    return PipelineSpec.model_validate(
        {
            "name": "partner_drop",
            "description": "Wait for the partner file, then route it.",
            "environments": {"dev": {"bucket": "partner-drops", "vars": {"large_drop": False}}},
            "tasks": [
                {"name": "wait_for_file", "kind": "sensor", "description": "The file is there."},
                {
                    "name": "route",
                    "kind": "branch",
                    "description": "Pick a path.",
                    "depends_on": "wait_for_file",
                },
                {
                    "name": "load_small",
                    "kind": "python",
                    "description": "Small.",
                    "depends_on": "route",
                },
                {
                    "name": "load_large",
                    "kind": "python",
                    "description": "Large.",
                    "depends_on": "route",
                },
            ],
        }
    )
