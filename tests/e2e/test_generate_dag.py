"""The spec -> bundle DAG with dag.test(): real SeaweedFS, a scripted model endpoint over HTTP.

A description-only spec is planned, generated, gated and published; a broken spec in
the same run gets a report and does not stop it; the published prefix loads as an
S3DagBundle would load it; an immediate rerun makes no model call and publishes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from airflow.dag_processing.dagbag import DagBag

from airflow_llm.bundles_view.catalog import BucketReader, read_catalog
from airflow_llm.bundles_view.metrics import exposition, registry_for
from airflow_llm.connections import MODEL_CONN_ID, conn_env_var
from airflow_llm.embedded.config import EmbeddedConfig
from airflow_llm.embedded.s3_server import s3_client
from airflow_llm.validate.dag_import import import_dags
from tests.scripted_endpoint import ScriptedModel, first_choices
from tests.unit.test_engine import GOOD

pytestmark = pytest.mark.integration
REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC = "name: e2e_totals\ndescription: Copy order ids into totals, check them and count them.\ndialect: postgres\nsources:\n  - {name: orders, columns: {id: BIGINT, d: DATE}}\n"


@pytest.fixture
def scripted_model(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedModel]:
    """A model that writes free-form code (the Variable picks that strategy; the hybrid
    flow has a test of its own, with a model that answers schemas)."""
    monkeypatch.setenv("AIRFLOW_VAR_AIRFLOW_LLM_STRATEGY", "free")
    yield from _serving(ScriptedModel(dict(GOOD)), monkeypatch)


def _serving(script: ScriptedModel, monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedModel]:
    with script.serve() as base_url:
        connection = {
            "conn_type": "openai",
            "host": base_url,
            "password": "x",
            "extra": {"model": "scripted"},
        }
        monkeypatch.setenv(conn_env_var(MODEL_CONN_ID), json.dumps(connection))
        yield script


def upload_spec(config: EmbeddedConfig, key: str, pipeline: str) -> tuple[Any, str]:
    """Put the test spec, renamed to ``pipeline``, at ``key``; return the client and bucket."""
    client = s3_client(config)
    client.put_object(
        Bucket=config.bucket, Key=key, Body=SPEC.replace("e2e_totals", pipeline).encode()
    )
    return client, config.bucket


def run_dag(prefix: str) -> dict[str, Any]:
    dag = DagBag(dag_folder=str(REPO_ROOT / "dags")).get_dag("airflow_llm_generate")
    assert dag is not None
    run = dag.test(run_conf={"prefix": prefix, "environment": "dev"})
    summary = next(ti for ti in run.get_task_instances() if ti.task_id == "summarize")
    return {
        "state": run.state,
        "rows": summary.xcom_pull(task_ids="summarize"),
        "usage": summary.xcom_pull(task_ids="summarize", key="usage"),
    }


def test_specs_become_published_bundles_and_reruns_are_free(
    airflow_db: Path, s3_connection: EmbeddedConfig, scripted_model: ScriptedModel, tmp_path: Path
) -> None:
    client = s3_client(s3_connection)
    bucket = s3_connection.bucket
    client.put_object(Bucket=bucket, Key="e2e-gen/e2e_totals.yml", Body=SPEC.encode())
    client.put_object(Bucket=bucket, Key="e2e-gen/broken.yml", Body=b"name: [broken\n")

    first = run_dag("e2e-gen/")
    assert first["state"] == "success"
    by_pipeline = {row["pipeline"]: row for row in first["rows"]}
    assert by_pipeline["e2e_totals"]["status"] == "published"
    assert by_pipeline["e2e_totals"]["bundle_uri"] == f"s3://{bucket}/bundles/dev/e2e_totals/"
    assert by_pipeline["broken"]["status"] == "rejected"
    assert by_pipeline["broken"]["report_uri"].startswith(f"s3://{bucket}/reports/broken/")
    calls = len(scripted_model.requests)
    assert scripted_model.roles()[0] == "plan"
    # each row carries its report's tokens and USD, the run their sum (no price: unknown)
    published = by_pipeline["e2e_totals"]
    report_key = published["report_uri"].removeprefix(f"s3://{bucket}/")
    report = json.loads(client.get_object(Bucket=bucket, Key=report_key)["Body"].read())
    totals = report["totals"]
    assert all(task["reads"] is not None for task in report["tasks"]), "what each task reads"
    assert published["prompt_tokens"] == totals["prompt_tokens"] > 0
    assert published["completion_tokens"] == totals["completion_tokens"] > 0
    assert (published["cost_usd"], published["unpriced_models"]) == (None, ["scripted"])
    assert first["usage"] == {
        "prompt_tokens": sum(row["prompt_tokens"] for row in first["rows"]),
        "completion_tokens": sum(row["completion_tokens"] for row in first["rows"]),
        "cost_usd": None,
        "unpriced_models": ["scripted"],
    }

    # sync the published prefix as S3DagBundle(prefix="bundles/dev/") would, then parse it
    listing = client.list_objects_v2(Bucket=bucket, Prefix="bundles/dev/e2e_totals/")["Contents"]
    for item in listing:
        target = tmp_path / item["Key"][len("bundles/dev/") :]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
    parsed = import_dags(tmp_path)
    assert parsed.errors == {}
    assert parsed.dags["e2e_totals"]["tasks"] == ["build_totals", "check_totals", "count_totals"]

    second = run_dag("e2e-gen/")
    rows = {row["pipeline"]: row for row in second["rows"]}
    assert rows["e2e_totals"]["status"] == "unchanged"
    assert len(scripted_model.requests) == calls, "an unchanged spec costs no model call"
    assert (second["usage"]["prompt_tokens"], second["usage"]["completion_tokens"]) == (0, 0)
    assert rows["broken"]["status"] == "rejected"
    first_report = by_pipeline["broken"]["report_uri"]
    assert rows["broken"]["report_uri"] == first_report, "a standing rejection, no new report"


@pytest.fixture
def without_smoke_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Gates without the smoke run (30 s a bundle), for tests about something else: the
    first test here and tests/integration/test_gates.py cover it."""
    monkeypatch.setenv("AIRFLOW_VAR_AIRFLOW_LLM_SMOKE_RUN", "false")


def test_promotion_copies_identical_bytes_to_staging_and_prod(
    airflow_db: Path, s3_connection: EmbeddedConfig, scripted_model: ScriptedModel
) -> None:
    """With every gate on: promotion refuses a bundle that skipped one."""
    client, bucket = upload_spec(s3_connection, "e2e-promote/e2e_promoted.yml", "e2e_promoted")
    assert {row["pipeline"]: row["status"] for row in run_dag("e2e-promote/")["rows"]}[
        "e2e_promoted"
    ] == "published"

    dag = DagBag(dag_folder=str(REPO_ROOT / "dags")).get_dag("airflow_llm_promote")
    assert dag is not None
    assert dag.test().state == "success"

    def snapshot(environment: str) -> dict[str, bytes]:
        prefix = f"bundles/{environment}/e2e_promoted/"
        listing = client.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]
        return {
            item["Key"][len(prefix) :]: client.get_object(Bucket=bucket, Key=item["Key"])[
                "Body"
            ].read()
            for item in listing
        }

    dev = snapshot("dev")
    assert "manifest.json" in dev
    assert snapshot("staging") == dev
    assert snapshot("prod") == dev

    # the Bundles view reads what the flow and the promotion wrote
    catalog = read_catalog(BucketReader(client, bucket), ["dev", "staging", "prod"])
    published = catalog.bundle("dev", "e2e_promoted")
    assert published is not None
    assert published.origin is not None
    assert published.origin.kind == "published"
    assert published.report is not None
    assert published.report.version == published.version.version
    assert published.report.data["gate_seconds"] is not None
    assert published.report.data["smoke_run"]["passed"] is True
    for environment in ("staging", "prod"):
        promoted = catalog.bundle(environment, "e2e_promoted")
        assert promoted is not None
        assert promoted.origin is not None
        assert (promoted.origin.kind, promoted.origin.source) == ("promoted", "dev")
        assert promoted.report == published.report
    metrics = exposition(registry_for(lambda: catalog)).decode()
    assert 'airflow_llm_smoke_run_runs_total{environment="dev",outcome="passed"}' in metrics
    assert 'model_calls_total{environment="dev",model="scripted",role="plan"}' in metrics


@pytest.mark.usefixtures("without_smoke_runs")
def test_bulk_regeneration_covers_every_environment_and_is_incremental(
    airflow_db: Path, s3_connection: EmbeddedConfig, scripted_model: ScriptedModel
) -> None:
    upload_spec(s3_connection, "specs/e2e_bulk.yml", "e2e_bulk")
    dag = DagBag(dag_folder=str(REPO_ROOT / "dags")).get_dag("airflow_llm_regenerate")
    assert dag is not None

    def statuses() -> dict[str, str]:
        run = dag.test()
        summary = next(ti for ti in run.get_task_instances() if ti.task_id == "summarize")
        return {
            row["environment"]: row["status"]
            for row in summary.xcom_pull(task_ids="summarize")
            if row["pipeline"] == "e2e_bulk"
        }

    assert statuses() == {"dev": "published", "staging": "published", "prod": "published"}
    calls = len(scripted_model.requests)
    assert calls == 4, "three environments, one set of answers: the rest come from the cache"
    assert statuses() == {"dev": "unchanged", "staging": "unchanged", "prod": "unchanged"}
    assert len(scripted_model.requests) == calls


HYBRID_SPEC = """name: e2e_hybrid
description: Daily order totals per customer.
dialect: postgres
environments: {dev: {conn_id: warehouse_dev, schema: analytics_dev}}
sources:
  - name: orders
    columns: {order_id: BIGINT, customer_id: BIGINT, amount: "NUMERIC(12,2)", ordered_at: TIMESTAMP}
tasks:
  - name: sum_customer_orders
    kind: sql
    description: Sum order amounts per customer for the day into customer_totals.
    tests:
      - name: sums_the_days_orders
        given:
          orders:
            - {order_id: 1, customer_id: 10, amount: 5.00, ordered_at: "2024-01-31 09:00:00"}
            - {order_id: 2, customer_id: 10, amount: 7.50, ordered_at: "2024-01-31 17:30:00"}
            - {order_id: 3, customer_id: 20, amount: 9.00, ordered_at: "2024-01-30 23:00:00"}
        expect:
          - {customer_id: 10, total_amount: 12.50}
  - name: check_customer_totals
    kind: quality
    depends_on: sum_customer_orders
    description: customer_totals has at least one row and customer_id is never null.
"""


def test_a_hybrid_bundle_goes_through_every_gate_in_the_dag(
    airflow_db: Path, s3_connection: EmbeddedConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Strategy auto (the default) with a model that answers every schema with its first
    options: the flow renders patterns, runs the unit test, the smoke run (SQL twice,
    idempotent) and publishes; tasks.yml and the manifest say how each artifact was made."""
    script = ScriptedModel({"hybrid": [first_choices]})
    for _ in _serving(script, monkeypatch):
        client = s3_client(s3_connection)
        bucket = s3_connection.bucket
        client.put_object(Bucket=bucket, Key="e2e-hybrid/e2e_hybrid.yml", Body=HYBRID_SPEC.encode())
        rows = {row["pipeline"]: row for row in run_dag("e2e-hybrid/")["rows"]}
    assert rows["e2e_hybrid"]["status"] == "published", rows["e2e_hybrid"]
    assert set(script.roles()) == {"hybrid"}, "only pattern questions: no code was written"
    prefix = "bundles/dev/e2e_hybrid/"
    manifest = json.loads(
        client.get_object(Bucket=bucket, Key=f"{prefix}manifest.json")["Body"].read()
    )
    assert manifest["gates"] == {
        "types": True,
        "import": True,
        "structure": True,
        "smoke_run": True,
    }
    assert manifest["artifacts"]["sum_customer_orders"]["pattern"] == "aggregate"
    assert manifest["artifacts"]["check_customer_totals"]["pattern"] == "expectations"
    key = f"{prefix}dags/resources/e2e_hybrid/tasks.yml"
    tasks = yaml.safe_load(client.get_object(Bucket=bucket, Key=key)["Body"].read())["tasks"]
    first = tasks[0]
    assert first["strategy"] == "hybrid"
    assert first["pattern"]["parameters"]["keys"] == ["customer_id"]
    assert [c["name"] for c in first["output"]["columns"]][-1] == "total_amount"
