"""The container pattern: steps that name the container image they run become
``DockerOperator`` tasks with the environment the words assign (secrets from Airflow
Variables, never in the bundle) on the network the pipeline names; the smoke run
reports them "not run: external"."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_llm.engine import build_bundle
from airflow_llm.patterns import (
    ParameterError,
    context_for,
    pattern_named,
    ranked_pattern_names,
)
from airflow_llm.patterns.containers import is_secret, stated_networks, stated_variables
from airflow_llm.patterns.images import stated_images
from airflow_llm.plan_hybrid import cued_kinds
from airflow_llm.plan_steps import extract_steps
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec
from tests.scripted_endpoint import ScriptedModel
from tests.unit.test_engine import client

DESCRIPTION = """\
# Station enrichment

Each step runs in a container on the custom Docker network (app_net).

## Pipeline Steps

### 1. Load stations
- **Objective**: Ingest the station CSV and convert it to JSON
- **Docker Image**: acme/load-and-modify:1.4
- **Key Parameters**:
  - DATASET_ID=2
  - DATE_COLUMN=installation_date

### 2. Geocode stations
- **Objective**: Add latitude and longitude with the geocoding service (sentiment-free)
- **Docker Image**: acme/geocode:latest
- **Key Parameters**:
  - PRIMARY_COLUMN=location
  - API_TOKEN=[geocoding API token]
"""
SPEC = PipelineSpec.model_validate({"name": "station_enrichment", "description": DESCRIPTION})


@pytest.mark.parametrize(
    ("text", "images"),
    [
        ("- **Docker Image**: acme/load-and-modify:1.4", ["acme/load-and-modify:1.4"]),
        ("• Docker Image: i2t-save:latest (recommended)", ["i2t-save:latest"]),
        ("Docker image `huggingface/inference` or equivalent", ["huggingface/inference"]),
        ("container image is registry/team/job:2026.11", ["registry/team/job:2026.11"]),
        ("We use Docker for everything; the image is big.", []),
        ("Docker Image: Not_An_Image", []),
    ],
)
def test_stated_images(text: str, images: list[str]) -> None:
    assert stated_images(text) == images


def test_stated_variables_keep_lists_and_placeholders() -> None:
    text = "- LAT=latitude - VARS=a_max,a_min - API_KEY=[Geoapify API key] - x=1 - $HOME=/r"
    assert stated_variables(text) == {
        "LAT": "latitude",
        "VARS": "a_max,a_min",
        "API_KEY": "[Geoapify API key]",
    }


@pytest.mark.parametrize(
    ("name", "value", "secret"),
    [
        ("API_TOKEN", "abc", True),
        ("DB_PASSWORD", "x", True),
        ("FORMULA", "[risk parameters]", True),
        ("DATASET_ID", "2", False),
    ],
)
def test_secrets_are_placeholders_or_credential_names(name: str, value: str, secret: bool) -> None:
    assert is_secret(name, value) is secret


def test_stated_networks() -> None:
    assert stated_networks("a custom Docker network (app_net) for all") == ["app_net"]
    assert stated_networks("network: backend-1") == ["backend-1"]
    assert stated_networks("the network is slow") == []


def test_a_step_naming_an_image_is_a_python_task_the_container_pattern_serves() -> None:
    steps = extract_steps(DESCRIPTION)
    assert [cued_kinds(step) for step in steps] == [["python"], ["python"]]


def test_the_whole_description_becomes_docker_operators_without_a_model_call(
    tmp_path: Path,
) -> None:
    script = ScriptedModel({})
    settings = GenerationSettings(work_dir=tmp_path / "work", strategy="hybrid")
    result = build_bundle(SPEC, client(script), settings)

    assert script.requests == [], "image, variables and network are the words': nothing to ask"
    assert result.valid, result.reason
    dag = result.files["dags/station_enrichment.py"]
    assert "from airflow.providers.docker.operators.docker import DockerOperator" in dag
    assert 'image="acme/load-and-modify:1.4",' in dag
    assert 'environment={"DATASET_ID": "2", "DATE_COLUMN": "installation_date"},' in dag
    assert '"API_TOKEN": "{{ var.value.station_enrichment_api_token }}",' in dag
    assert "[geocoding API token]" not in dag.split('"""')[-1], "no placeholder in the code"
    assert dag.count('network_mode="app_net",') == 2
    requirements = result.files["dags/resources/station_enrichment/requirements.txt"]
    assert "apache-airflow-providers-docker==4.6.1" in requirements
    states = {task["name"]: task["state"] for task in result.report["smoke_run"]["tasks"]}
    assert states == {
        "load_stations": "not run: external: runs the container image "
        "acme/load-and-modify:1.4: no container runtime in the smoke run",
        "geocode_stations": "not run: external: runs the container image "
        "acme/geocode:latest: no container runtime in the smoke run",
    }


def test_parameters_the_pattern_refuses() -> None:
    container = pattern_named("container")
    with pytest.raises(ParameterError, match="image"):
        container.parse({"image": "Bad Image", "environment": {}, "secrets": [], "network": None})
    with pytest.raises(ParameterError, match="environment variable names"):
        container.parse({"image": "a:1", "environment": {"lower": "x"}, "secrets": []})


def test_words_about_docker_without_an_image_get_no_container() -> None:
    words = "Load the CSV in the Docker worker's container."
    task = {"name": "load_csv", "kind": "python", "description": words}
    planned = PipelineSpec.model_validate({"name": "p", "description": words, "tasks": [task]})
    ctx = context_for(planned, (planned.tasks or [])[0], {})
    assert "container" not in ranked_pattern_names(ctx)


JOBS = PipelineSpec.model_validate(
    {
        "name": "folder_checks",
        "description": "Check the folders with Kubernetes jobs, then load.",
        "tasks": [
            {
                "name": "check_sftp_folder",
                "kind": "python",
                "description": "Verify the SFTP folder • Key Parameters: "
                "job_template_file='{{var.value.sftp_check_job}}', "
                "wait_until_job_complete=True • Operator or Mechanism: KubernetesJobOperator",
            },
            {
                "name": "upload_files",
                "kind": "python",
                "depends_on": ["check_sftp_folder"],
                "description": "Upload the files with a Kubernetes job.",
            },
        ],
    }
)


def test_a_step_naming_a_kubernetes_job_gets_its_template_and_waiting() -> None:
    check, upload = JOBS.tasks or []
    job = pattern_named("kubernetes_job")
    check_ctx, upload_ctx = (context_for(JOBS, task, {}) for task in (check, upload))
    assert ranked_pattern_names(check_ctx) == ["kubernetes_job"]
    assert job.parameter_schema(check_ctx, {})["properties"] == {
        "job_template_file": {"enum": ["{{var.value.sftp_check_job}}"]},
        "wait": {"enum": [True]},
    }
    assert job.parameter_schema(upload_ctx, {})["properties"]["job_template_file"] == {
        "enum": ["none"]
    }
    with pytest.raises(ParameterError, match="job_template_file"):
        job.parse({"job_template_file": "rm -rf /; x", "wait": True})


def test_kubernetes_jobs_render_deferrable_operators_and_are_external(tmp_path: Path) -> None:
    settings = GenerationSettings(work_dir=tmp_path / "work", strategy="hybrid")
    result = build_bundle(JOBS, client(ScriptedModel({})), settings)
    assert result.valid, result.reason
    dag = result.files["dags/folder_checks.py"]
    assert 'job_template_file=OPERATORS["check_sftp_folder"]["job_template_file"],' in dag
    assert "wait_until_job_complete=True,\n        deferrable=True," in dag
    config = result.files["dags/resources/folder_checks/config.yml"]
    assert "job_template_file: '{{var.value.sftp_check_job}}'" in config
    assert "<fill in: Kubernetes Job template (YAML file) upload_files runs>" in config
    states = {task["name"]: task["state"] for task in result.report["smoke_run"]["tasks"]}
    assert set(states.values()) == {
        "not run: external: runs a Kubernetes Job: no cluster in the smoke run"
    }
