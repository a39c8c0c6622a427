"""The Databricks pattern: steps that run a notebook, a JAR's main class or a Python file
on Databricks become ``DatabricksSubmitRunOperator`` tasks with what the words state
(what runs, its arguments and JARs, the existing cluster or the new job cluster); the
rest is per-environment config, and the smoke run reports them "not run: external"."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_llm.engine import BundleResult, build_bundle
from airflow_llm.patterns import ParameterError, context_for, pattern_named, ranked_pattern_names
from airflow_llm.patterns.databricks import (
    stated_arguments,
    stated_cluster,
    stated_cluster_ids,
    stated_jars,
    stated_targets,
)
from airflow_llm.plan_hybrid import cued_kinds
from airflow_llm.plan_steps import extract_steps
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec
from tests.scripted_endpoint import ScriptedModel
from tests.unit.test_engine import client

SPEC = PipelineSpec.model_validate(
    {
        "name": "churn_scoring",
        "description": "Score customer churn on Databricks. The job cluster runs "
        "spark_version=13.3.x-scala2.12, node_type_id=i3.xlarge and num_workers=4.",
        "tasks": [
            {
                "name": "prepare_features",
                "kind": "python",
                "description": "Build the feature tables with the notebook at "
                "/Repos/ml/churn/features on the existing cluster "
                "(existing_cluster_id='0923-164208-meows279'). "
                "Operator: DatabricksSubmitRunOperator",
            },
            {
                "name": "score_customers",
                "kind": "python",
                "depends_on": ["prepare_features"],
                "description": "Run the Spark JAR dbfs:/jars/churn-scorer-2.1.jar on Databricks, "
                "main class com.acme.churn.Score, parameters=['--date', '{{ ds }}'], on a new "
                "job cluster.",
            },
            {
                "name": "publish_scores",
                "kind": "python",
                "depends_on": ["score_customers"],
                "description": "Publish the scores with the publishing notebook on Databricks "
                "(databricks_conn_id='dbx_scoring').",
            },
        ],
    }
)


def test_what_the_words_state_of_a_run() -> None:
    text = (
        'notebook_path="/Users/ana@example.com/etl/clean", main class org.acme.Load, '
        "python_file='dbfs:/jobs/score.py', jar s3://libs/etl-1.0.jar, "
        'parameters=["--full", \'2024\'], existing_cluster_id="1101-abc", '
        "node_type_id=m5.large, num_workers: 2."
    )
    assert stated_targets(text) == {
        "notebook_task": ["/Users/ana@example.com/etl/clean"],
        "spark_jar_task": ["org.acme.Load"],
        "spark_python_task": ["dbfs:/jobs/score.py"],
    }
    assert stated_jars(text) == ["s3://libs/etl-1.0.jar"]
    assert stated_arguments(text) == ["--full", "2024"]
    assert stated_cluster_ids(text) == ["1101-abc"]
    assert stated_cluster(text) == {"node_type_id": "m5.large", "num_workers": 2}
    assert stated_targets("Run the nightly job on Databricks.") == {}


def test_a_step_naming_the_operator_is_a_python_task_whatever_its_title_says() -> None:
    description = (
        "Steps:\n\n1. score_branch_b (Branch Path 2)\n  • Objective: Score the second "
        "segment when chosen by the branch\n  • Operator or Mechanism: "
        "DatabricksSubmitRunOperator\n"
    )
    steps = extract_steps(description)
    assert [cued_kinds(step) for step in steps] == [["python"]]


@pytest.mark.parametrize(
    ("words", "served"),
    [
        ("Run the cleaning notebook on Databricks.", True),
        ("Submit the Spark job to Databricks.", True),
        ("Refresh features • Operator: DatabricksSubmitRunOperator", True),
        ("Copy the Databricks audit CSV to S3.", False),
        ("Run the Spark job on Kubernetes • Operator: KubernetesJobOperator", False),
    ],
)
def test_databricks_job_serves_runs_on_databricks(words: str, served: bool) -> None:
    task = {"name": "step", "kind": "python", "description": words}
    spec = PipelineSpec.model_validate({"name": "p", "description": words, "tasks": [task]})
    ctx = context_for(spec, (spec.tasks or [])[0], {})
    assert ("databricks_job" in ranked_pattern_names(ctx)) is served


def valid_bundle(spec: PipelineSpec, tmp_path: Path) -> BundleResult:
    """``spec``'s bundle, built without a question to the model; it passed every gate."""
    script = ScriptedModel({})
    settings = GenerationSettings(work_dir=tmp_path / "work", strategy="hybrid")
    result = build_bundle(spec, client(script), settings)
    assert script.requests == []
    assert result.valid, result.reason
    return result


def test_runs_render_submit_run_operators_and_are_external(tmp_path: Path) -> None:
    result = valid_bundle(SPEC, tmp_path)
    dag = result.files["dags/churn_scoring.py"]
    assert "from airflow.providers.databricks.operators.databricks import" in dag
    assert '"notebook_task": {"notebook_path": OPERATORS["prepare_features"]["target"]},' in dag
    assert '"existing_cluster_id": OPERATORS["prepare_features"]["cluster_id"],' in dag
    assert '"main_class_name": OPERATORS["score_customers"]["target"],' in dag
    assert '"parameters": ["--date", "{{ ds }}"],' in dag
    assert '"libraries": [{"jar": "dbfs:/jars/churn-scorer-2.1.jar"}],' in dag
    pipeline_cluster = (
        '"new_cluster": {\n                "node_type_id": "i3.xlarge",\n'
        '                "num_workers": 4,\n                "spark_version": "13.3.x-scala2.12",'
    )
    assert dag.count(pipeline_cluster) == 2, "the steps that name no cluster get the pipeline's"
    config = result.files["dags/resources/churn_scoring/config.yml"]
    assert "cluster_id: 0923-164208-meows279" in config
    assert "target: com.acme.churn.Score" in config
    assert "databricks_conn_id: dbx_scoring" in config
    assert "<fill in: notebook_path publish_scores runs on Databricks>" in config
    assert "cluster_id" not in config.split("publish_scores:")[1]
    requirements = result.files["dags/resources/churn_scoring/requirements.txt"]
    assert "apache-airflow-providers-databricks==7.23.0" in requirements
    states = {task["name"]: task["state"] for task in result.report["smoke_run"]["tasks"]}
    assert states == {
        "prepare_features": "not run: external: submits a Databricks run (notebook_path "
        "/Repos/ml/churn/features): no workspace in the smoke run",
        "score_customers": "not run: external: submits a Databricks run (main_class_name "
        "com.acme.churn.Score): no workspace in the smoke run",
        "publish_scores": "not run: external: submits a Databricks run (notebook_path of "
        "config.yml): no workspace in the smoke run",
    }


def test_parameters_the_pattern_refuses() -> None:
    job = pattern_named("databricks_job")
    base = {"run_type": "spark_jar_task", "target": "com.acme.Load", "existing_cluster": True}
    with pytest.raises(ParameterError, match="is not a main_class_name"):
        job.parse({**base, "target": "/Repos/not/a/class"})
    with pytest.raises(ParameterError, match="new job cluster"):
        job.parse({**base, "existing_cluster": False, "new_cluster": {}})
    with pytest.raises(ParameterError, match="unknown fields init_scripts"):
        job.parse({**base, "existing_cluster": False, "new_cluster": {"init_scripts": "x"}})
    with pytest.raises(ParameterError, match="not JAR files"):
        job.parse({**base, "jars": ["rm -rf /"]})
    with pytest.raises(ParameterError, match="a notebook takes none"):
        job.parse({**base, "run_type": "notebook_task", "target": None, "arguments": ["x"]})


JOBS = PipelineSpec.model_validate(
    {
        "name": "warehouse_jobs",
        "description": "Run the workspace's jobs.",
        "tasks": [
            {
                "name": "run_nightly",
                "kind": "python",
                "description": "Trigger the existing Databricks job 48213 (job_id=48213).",
            },
            {
                "name": "run_cleanup",
                "kind": "python",
                "depends_on": ["run_nightly"],
                "description": "Run the cleanup job • Operator: DatabricksRunNowOperator "
                "(job_name='lake_cleanup', databricks_conn_id='dbx_ops')",
            },
        ],
    }
)


def test_a_job_the_workspace_defines_is_run_now_not_submitted(tmp_path: Path) -> None:
    nightly, cleanup = (context_for(JOBS, task, {}) for task in JOBS.tasks or [])
    assert ranked_pattern_names(nightly) == ["databricks_run_now"]
    assert ranked_pattern_names(cleanup) == ["databricks_run_now"]
    result = valid_bundle(JOBS, tmp_path)
    dag = result.files["dags/warehouse_jobs.py"]
    assert 'job_id=OPERATORS["run_nightly"]["job_id"],' in dag
    assert 'job_name="lake_cleanup",' in dag
    config = result.files["dags/resources/warehouse_jobs/config.yml"]
    assert "job_id: '48213'" in config
    assert "databricks_conn_id: dbx_ops" in config
    states = {task["name"]: task["state"] for task in result.report["smoke_run"]["tasks"]}
    assert states == {
        "run_nightly": "not run: external: runs the Databricks job 48213: no workspace in "
        "the smoke run",
        "run_cleanup": "not run: external: runs the Databricks job lake_cleanup: no workspace "
        "in the smoke run",
    }
