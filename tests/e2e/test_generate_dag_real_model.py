"""The spec -> bundle DAG with dag.test() on the real embedded services: SeaweedFS and
llama.cpp serving SmolLM2-135M. The simplest example spec publishes a bundle that loads
from the published prefix; a broken spec in the same run gets a report; an immediate
rerun asks the model nothing and publishes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag

from airflow_llm.connections import embedded_connections
from airflow_llm.embedded.config import EmbeddedConfig
from airflow_llm.embedded.s3_server import s3_client
from airflow_llm.validate.dag_import import import_dags

pytestmark = pytest.mark.integration
REPO_ROOT = Path(__file__).resolve().parents[2]


def test_real_model_run_publishes_the_simplest_spec(
    airflow_db: Path,
    s3_server: EmbeddedConfig,
    model_server: EmbeddedConfig,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    for name, value in embedded_connections(model_server).items():
        monkeypatch.setenv(name, value)
    client = s3_client(s3_server)
    bucket = s3_server.bucket
    simplest = (REPO_ROOT / "specs" / "daily_customer_totals.yml").read_bytes()
    client.put_object(Bucket=bucket, Key="e2e-real/daily_customer_totals.yml", Body=simplest)
    client.put_object(Bucket=bucket, Key="e2e-real/not_a_spec.yml", Body=b"\x00\x01")

    dag = DagBag(dag_folder=str(REPO_ROOT / "dags")).get_dag("airflow_llm_generate")
    assert dag is not None
    run = dag.test(run_conf={"prefix": "e2e-real/", "environment": "staging"})
    assert run.state == "success"
    summary = next(ti for ti in run.get_task_instances() if ti.task_id == "summarize")
    rows = {row["pipeline"]: row for row in summary.xcom_pull(task_ids="summarize")}
    assert rows["daily_customer_totals"]["status"] == "published", rows
    assert rows["not_a_spec"]["status"] == "rejected"

    prefix = "bundles/staging/"
    for item in client.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]:
        target = tmp_path / item["Key"][len(prefix) :]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
    parsed = import_dags(tmp_path)
    assert parsed.errors == {}
    assert parsed.dags["daily_customer_totals"]["tasks"] == ["daily_customer_totals"]
    manifest = json.loads((tmp_path / "daily_customer_totals" / "manifest.json").read_text())
    assert manifest["models"]["sql"] == f"{model_server.model_base_url}|{model_server.model_alias}"

    log = model_server.state_dir / "model-server.log"
    answered = log.read_text().count("print_timing")
    rerun = dag.test(run_conf={"prefix": "e2e-real/", "environment": "staging"})
    summary = next(ti for ti in rerun.get_task_instances() if ti.task_id == "summarize")
    rows = {row["pipeline"]: row for row in summary.xcom_pull(task_ids="summarize")}
    assert rows["daily_customer_totals"]["status"] == "unchanged"
    assert log.read_text().count("print_timing") == answered, "the rerun asked the model nothing"
