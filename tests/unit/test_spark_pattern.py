"""The Spark pattern: a step that runs a Spark application (a JAR's main class, a PySpark
file) becomes a ``SparkKubernetesOperator`` task submitting a ``SparkApplication`` with
what the words state; image, file, namespace and version are per-environment config,
and the smoke run reports it "not run: external"."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_llm.engine import build_bundle
from airflow_llm.patterns import ParameterError, context_for, pattern_named, ranked_pattern_names
from airflow_llm.patterns.spark import stated_applications, stated_namespaces, stated_versions
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec
from tests.scripted_endpoint import ScriptedModel
from tests.unit.test_engine import client

SPEC = PipelineSpec.model_validate(
    {
        "name": "genome_normalize",
        "description": "Normalize the variant calls with Spark on Kubernetes.",
        "tasks": [
            {
                "name": "normalize_variants",
                "kind": "python",
                "description": "Normalize the variant calls with a Spark job "
                "(spark_class='org.genomics.Normalize', s3a://jobs/normalizer-1.2.jar, "
                "namespace=\"spark-etl\", parameters=['--date', '{{ ds }}']). "
                "Operator: GenomicsSparkOperator",
            },
            {
                "name": "score_variants",
                "kind": "python",
                "depends_on": ["normalize_variants"],
                "description": "Score the normalized calls with the PySpark application "
                "s3a://jobs/score.py on Spark 3.5.1.",
            },
        ],
    }
)


def test_what_the_words_state_of_an_application() -> None:
    text = "Run s3a://jobs/etl-2.0.jar, then /opt/jobs/report.py (namespace: batch) on Spark 3.4"
    assert stated_applications(text) == ["s3a://jobs/etl-2.0.jar", "/opt/jobs/report.py"]
    assert stated_namespaces(text) == ["batch"]
    assert stated_versions(text) == ["3.4"]
    assert stated_versions("spark_version='3.5.1'") == ["3.5.1"]


@pytest.mark.parametrize(
    ("words", "served"),
    [
        ("Transform the events with Spark (main class org.acme.Events).", True),
        ("Run the PySpark job that dedupes the clicks.", True),
        ("Aggregate with a Spark job • Operator: AcmeSparkOperator", True),
        ("Run the Spark notebook on Databricks.", False),
        ("Spark joy: email the team.", False),
    ],
)
def test_spark_job_serves_spark_applications(words: str, served: bool) -> None:
    task = {"name": "step", "kind": "python", "description": words}
    spec = PipelineSpec.model_validate({"name": "p", "description": words, "tasks": [task]})
    ctx = context_for(spec, (spec.tasks or [])[0], {})
    assert ("spark_job" in ranked_pattern_names(ctx)) is served


def test_applications_render_spark_kubernetes_operators_and_are_external(tmp_path: Path) -> None:
    script = ScriptedModel({})
    settings = GenerationSettings(work_dir=tmp_path / "work", strategy="hybrid")
    result = build_bundle(SPEC, client(script), settings)

    assert script.requests == [], "every choice is the words': nothing to ask"
    assert result.valid, result.reason
    dag = result.files["dags/genome_normalize.py"]
    assert "import SparkKubernetesOperator" in dag
    assert '"mainClass": "org.genomics.Normalize",' in dag
    assert '"arguments": ["--date", "{{ ds }}"],' in dag
    assert '"type": "Python",' in dag
    assert '"sparkVersion": OPERATORS["score_variants"]["spark_version"],' in dag
    config = result.files["dags/resources/genome_normalize/config.yml"]
    assert "application: s3a://jobs/normalizer-1.2.jar" in config
    assert "namespace: spark-etl" in config
    assert "spark_version: 3.5.1" in config
    assert "<fill in: Spark container image normalize_variants runs in>" in config
    requirements = result.files["dags/resources/genome_normalize/requirements.txt"]
    assert "apache-airflow-providers-cncf-kubernetes==10.25.0" in requirements
    states = {task["name"]: task["state"] for task in result.report["smoke_run"]["tasks"]}
    assert states == {
        "normalize_variants": "not run: external: runs the Spark application "
        "org.genomics.Normalize on Kubernetes: no cluster in the smoke run",
        "score_variants": "not run: external: runs the Spark application s3a://jobs/score.py "
        "on Kubernetes: no cluster in the smoke run",
    }


def test_parameters_the_pattern_refuses() -> None:
    job = pattern_named("spark_job")
    with pytest.raises(ParameterError, match="needs one"):
        job.parse({"app_type": "Scala", "main_class": None})
    with pytest.raises(ParameterError, match="has none"):
        job.parse({"app_type": "Python", "main_class": "org.acme.Main"})
    with pytest.raises(ParameterError, match="is not a Scala file"):
        job.parse({"app_type": "Scala", "main_class": "org.acme.Main", "application": "a.py"})
    with pytest.raises(ParameterError, match="namespace"):
        job.parse({"app_type": "Python", "namespace": "Not A Namespace"})
