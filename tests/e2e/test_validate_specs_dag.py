"""The spec-validation DAG, run with dag.test() against the real SeaweedFS server."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag

from airflow_llm import deployment
from airflow_llm.connections import S3_CONN_ID
from airflow_llm.embedded.config import EmbeddedConfig
from airflow_llm.embedded.s3_server import s3_client
from airflow_llm.storage import storage_path

pytestmark = pytest.mark.integration
REPO_ROOT = Path(__file__).resolve().parents[2]


def test_one_bad_spec_does_not_stop_the_others(
    airflow_db: Path, s3_connection: EmbeddedConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # specs in a bucket other than the default, named the way a deployment names it:
    # AIRFLOW_LLM_BUCKET, which airflow_llm.deployment reads when it is imported
    bucket = "e2e-specs-elsewhere"
    assert bucket != deployment.BUCKET
    client = s3_client(s3_connection)
    if bucket not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
        client.create_bucket(Bucket=bucket)
    monkeypatch.setenv("AIRFLOW_LLM_BUCKET", bucket)
    monkeypatch.setattr(deployment, "BUCKET", bucket)
    prefix = storage_path(f"s3://{bucket}/e2e-specs/", S3_CONN_ID)
    (prefix / "orders_etl.yml").write_bytes((REPO_ROOT / "specs" / "orders_etl.yml").read_bytes())
    (prefix / "digest.md").write_bytes(
        (REPO_ROOT / "specs" / "support_ticket_digest.md").read_bytes()
    )
    (prefix / "team" / "orders_copy.yml").write_bytes(b"name: orders_etl\ndescription: d\n")
    (prefix / "team" / "cyclic.yml").write_bytes(
        b"name: cyclic\ndescription: d\ntasks:\n"
        b"  - {name: a, kind: sql, description: d, depends_on: [b]}\n"
        b"  - {name: b, kind: sql, description: d, depends_on: [a]}\n"
    )

    dag = DagBag(dag_folder=str(REPO_ROOT / "dags")).get_dag("airflow_llm_validate_specs")
    assert dag is not None
    run = dag.test(run_conf={"prefix": "e2e-specs/"})

    assert run.state == "success"
    instances = {(ti.task_id, ti.map_index): ti for ti in run.get_task_instances()}
    validate = sorted(
        ti.rendered_map_index for (task, _), ti in instances.items() if task == "validate"
    )
    base = f"s3://{bucket}/e2e-specs/"
    assert validate == [
        f"{base}{key}"
        for key in ("digest.md", "orders_etl.yml", "team/cyclic.yml", "team/orders_copy.yml")
    ]
    summary = instances[("summarize", -1)].xcom_pull(task_ids="summarize")
    assert summary == {"specs": 4, "valid": 1, "invalid": 3}, "two specs claim orders_etl"
