"""The spec -> bundle DAG with dag.test() on the real embedded services: SeaweedFS and
llama.cpp serving SmolLM2-135M. The simplest example spec ends published (its bundle
loads from the published prefix) or rejected with a report in the bucket that says
why: the 135M model rarely gets SQL past the validators and the smoke run (docs/evaluation.md).
A broken spec in the same run gets a report and stops nothing; an immediate rerun
asks the model nothing and publishes nothing. (tests/e2e/test_generate_dag.py covers
the publishing path with a scripted endpoint that writes valid artifacts.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag

from airflow_llm.connections import embedded_connections
from airflow_llm.embedded.config import EmbeddedConfig
from airflow_llm.embedded.s3_server import s3_client
from airflow_llm.validate.dag_import import import_dags

# one test worker runs every test of the model server (one server, 2 threads, at a time)
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("model_server")]
REPO_ROOT = Path(__file__).resolve().parents[2]


def summary_rows(run: Any) -> dict[str, dict[str, Any]]:
    summary = next(ti for ti in run.get_task_instances() if ti.task_id == "summarize")
    return {row["pipeline"]: row for row in summary.xcom_pull(task_ids="summarize")}


def test_real_model_run_publishes_or_reports_and_reruns_for_free(
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

    log = model_server.state_dir / "model-server.log"

    def requests_taken() -> int:
        """One "launch_slot_" line per request the server takes on ("print_timing" lines
        also report progress every few seconds, so they do not count requests)."""
        return log.read_text().count("launch_slot_")

    before = requests_taken()
    dag = DagBag(dag_folder=str(REPO_ROOT / "dags")).get_dag("airflow_llm_generate")
    assert dag is not None
    run = dag.test(run_conf={"prefix": "e2e-real/", "environment": "staging"})
    assert run.state == "success"
    rows = summary_rows(run)
    assert rows["not_a_spec"]["status"] == "rejected"
    outcome = rows["daily_customer_totals"]
    assert outcome["status"] in {"published", "rejected"}, outcome
    report_key = outcome["report_uri"].removeprefix(f"s3://{bucket}/")
    report = json.loads(client.get_object(Bucket=bucket, Key=report_key)["Body"].read())
    assert report["totals"]["completion_tokens"] > 0, "the real model answered"
    if outcome["status"] == "published":
        prefix = "bundles/staging/"
        for item in client.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]:
            target = tmp_path / item["Key"][len(prefix) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
        parsed = import_dags(tmp_path)
        assert parsed.errors == {}
        assert parsed.dags["daily_customer_totals"]["tasks"] == ["daily_customer_totals"]
    else:
        assert report["valid"] is False
        assert outcome["reason"] == report["reason"]
        findings = [f for t in report["tasks"] for f in t["attempts"][-1]["findings"]]
        assert findings or report["gates"], "the report says why"
        prefix = "bundles/staging/daily_customer_totals/"  # the bucket is shared by the session
        listed = client.list_objects_v2(Bucket=bucket, Prefix=prefix)
        assert "Contents" not in listed, "nothing invalid is published"

    # the log shows each request of the first run, so it would show one of the rerun's
    answered = requests_taken()
    assert answered - before >= report["totals"]["model_calls"] > 0, (before, answered)
    rerun = summary_rows(dag.test(run_conf={"prefix": "e2e-real/", "environment": "staging"}))
    expected = "unchanged" if outcome["status"] == "published" else "rejected"
    assert rerun["daily_customer_totals"]["status"] == expected
    assert requests_taken() == answered, "the rerun asked the model nothing"
