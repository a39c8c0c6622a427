"""Every DAG in dags/ imports cleanly under Airflow 3.3 and follows the project's conventions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(DAGS_DIR.glob("*.py"))


@pytest.fixture(scope="module")
def dag_bag() -> DagBag:
    return DagBag(dag_folder=str(DAGS_DIR))


def test_no_import_errors(dag_bag: DagBag) -> None:
    assert dag_bag.import_errors == {}
    assert dag_bag.dags, "dags/ defines at least one DAG"


def test_every_dag_is_documented_tagged_and_not_catching_up(dag_bag: DagBag) -> None:
    for dag_id, dag in dag_bag.dags.items():
        assert dag.doc_md, f"{dag_id} has no doc_md"
        assert "airflow-llm" in dag.tags, f"{dag_id} lacks the airflow-llm tag"
        assert dag.catchup is False, f"{dag_id} would backfill"


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda path: path.name)
def test_dag_files_use_the_airflow3_sdk_and_stay_thin(path: Path) -> None:
    tree = ast.parse(path.read_text())
    imported = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module is not None
    }
    legacy = {
        m for m in imported if m in ("airflow.decorators", "airflow.models", "airflow.models.dag")
    }
    assert not legacy, f"use airflow.sdk instead of {legacy}"
    top_level_calls = [
        node
        for node in tree.body
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
    ]
    for call in top_level_calls:
        func = call.value.func  # type: ignore[attr-defined]
        assert isinstance(func, ast.Name), "top level may only instantiate DAGs"


def test_promotion_waits_for_a_person_when_approval_is_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIRFLOW_LLM_REQUIRE_APPROVAL", "true")
    bag = DagBag(dag_folder=str(DAGS_DIR / "airflow_llm_promote.py"))
    assert bag.import_errors == {}
    dag = bag.dags["airflow_llm_promote"]
    assert {"approve_staging", "approve_prod"} <= set(dag.task_ids)
    assert dag.get_task("approve_staging").downstream_task_ids == {"promote_to_staging"}


def test_generation_dags_bound_model_calls_by_the_endpoint_pool(dag_bag: DagBag) -> None:
    for dag_id in ("airflow_llm_generate", "airflow_llm_regenerate"):
        dag = dag_bag.dags[dag_id]
        pools = {task.task_id: task.pool for task in dag.tasks}
        model_bound = {pools["plan"], pools["batch.generate"]}
        assert model_bound == {"llm_endpoint"}


def test_each_batch_is_gated_and_published_after_its_own_generate(dag_bag: DagBag) -> None:
    for dag_id in ("airflow_llm_generate", "airflow_llm_regenerate"):
        dag = dag_bag.dags[dag_id]
        downstream = {task.task_id: task.downstream_task_ids for task in dag.tasks}
        assert downstream["prepare"] == {"plan", "summarize"}
        assert downstream["plan"] == {"batch.generate", "batch.gate", "summarize"}
        assert downstream["batch.generate"] == {"batch.gate"}
        assert downstream["batch.gate"] == {"batch.publish"}
        assert downstream["batch.publish"] == {"summarize"}
        group = dag.get_task("batch.gate").task_group
        assert group is not None
        assert group.group_id == "batch"
        assert dag.get_task("batch.gate").trigger_rule == "all_done", "reports after a failure"
