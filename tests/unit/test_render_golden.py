"""Golden-file tests of the bundle renderer (black style): same inputs, same bytes.

Each example spec with explicit tasks is rendered with fixed placeholder artifacts;
the result must equal ``tests/fixtures/golden_bundles/<pipeline>/`` (each file stored
with a ``.golden`` suffix, so tools treat them as data). After an intended template
change: ``UPDATE_GOLDEN=1 pytest tests/unit/test_render_golden.py`` and review the diff.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_llm.bundle.render import artifact_file, render_bundle
from airflow_llm.gates import structure_findings
from airflow_llm.spec import PipelineSpec
from airflow_llm.spec_loading import load_spec
from airflow_llm.validate.dag_import import import_dags
from airflow_llm.validate.python_code import SIGNATURES, assemble_function

REPO_ROOT = Path(__file__).resolve().parents[2]
GOLDEN = REPO_ROOT / "tests" / "fixtures" / "golden_bundles"
SPECS = [
    spec
    for spec in (load_spec(path) for path in sorted((REPO_ROOT / "specs").iterdir()))
    if spec.tasks is not None
]


def placeholder_artifacts(spec: PipelineSpec) -> dict[str, str]:
    artifacts = {}
    for task in spec.tasks or []:
        file = artifact_file(task)
        if file.endswith(".sql"):
            artifacts[task.name] = f"SELECT 1 AS {task.name}\n"
        elif file.endswith(".json"):
            artifacts[task.name] = '{"expectations": [], "name": "placeholder", "table": "t"}\n'
        else:
            name = SIGNATURES[task.kind][0]
            answer = f"def {name}():\n    return None\n"
            artifacts[task.name] = assemble_function(
                answer, file, task.kind, task.name, task.description
            ).source
    return artifacts


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_bundle_matches_golden_files(spec: PipelineSpec) -> None:
    files = render_bundle(spec, list(spec.tasks or []), placeholder_artifacts(spec))
    root = GOLDEN / spec.name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        for relative, content in files.items():
            golden = root / f"{relative}.golden"
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(content)
    expected = {
        str(path.relative_to(root)).removesuffix(".golden"): path.read_text()
        for path in sorted(root.rglob("*.golden"))
    }
    assert files == expected


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_generated_dag_is_clean_under_the_projects_own_ruff(spec: PipelineSpec) -> None:
    files = render_bundle(spec, list(spec.tasks or []), placeholder_artifacts(spec))
    dag_file = f"dags/{spec.name}.py"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ruff"), "check", "--stdin-filename", dag_file, "-"],
        input=files[dag_file],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout


def test_rendering_twice_gives_the_same_bytes() -> None:
    spec = SPECS[0]
    first = render_bundle(spec, list(spec.tasks or []), placeholder_artifacts(spec))
    second = render_bundle(spec, list(spec.tasks or []), placeholder_artifacts(spec))
    assert first == second


def test_orchestration_comes_from_the_template_not_the_model() -> None:
    spec = next(s for s in SPECS if s.name == "review_sentiment_batch")
    dag = render_bundle(spec, list(spec.tasks or []), placeholder_artifacts(spec))[
        "dags/review_sentiment_batch.py"
    ]
    assert "from airflow.sdk import DAG, get_current_context, task" in dag
    assert "_task_classify_reviews.expand(item=fetch_review_batches)" in dag
    assert "@task.llm(" in dag
    assert 'pool="llm_endpoint"' in dag
    assert "SQLExecuteQueryOperator(" in dag
    assert 'conn_id=CONFIG["conn_id"]' in dag
    assert "execution_timeout=timedelta(seconds=600)" in dag


def test_every_rendered_dag_imports_with_the_structure_of_its_tasks_yml(tmp_path: Path) -> None:
    """All example bundles side by side in one DAG folder, parsed by one sandboxed DagBag:
    SQL, Python, quality, sensor, branch and mapped @task.llm tasks all import."""
    specs = [*SPECS, sensor_and_branch_spec()]
    for spec in specs:
        for relative, content in render_bundle(
            spec, list(spec.tasks or []), placeholder_artifacts(spec)
        ).items():
            (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / relative).write_text(content)
    parsed = import_dags(tmp_path / "dags")
    assert parsed.errors == {}
    assert sorted(parsed.dags) == sorted(spec.name for spec in specs)
    for spec in specs:
        dag_file = f"dags/{spec.name}.py"
        assert structure_findings(dag_file, parsed.dags[spec.name], list(spec.tasks or [])) == []


def sensor_and_branch_spec() -> PipelineSpec:
    return PipelineSpec.model_validate(
        {
            "name": "partner_drop",
            "description": "Wait for the partner file, then route it.",
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
