"""``make demo``: the whole product on its embedded defaults.

Starts the embedded S3 and model servers (those not already running), uploads the
example specs to ``s3://<bucket>/specs/``, migrates a local Airflow metadata
database, runs the spec -> bundle DAG with ``dag.test()``, prints a summary table,
copies the published bundles and the reports to a local folder, and stops the
servers it started.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from airflow_llm.connections import S3_CONN_ID, embedded_connections
from airflow_llm.embedded.config import EmbeddedConfig
from airflow_llm.embedded.services import running_services
from airflow_llm.progress import print_progress
from airflow_llm.tables import format_table

EXIT_OK, EXIT_FAILED = 0, 1
DAG_ID = "airflow_llm_generate"


def run_demo(specs_dir: Path, config: EmbeddedConfig, out_dir: Path, dags_dir: Path) -> int:
    """Run the demo; return 0 when the DAG run succeeded (rejected specs are reported)."""
    started = time.monotonic()
    airflow_home = out_dir / "airflow_home"
    isolate_airflow(airflow_home, dags_dir, config)
    with running_services(config):
        from airflow_llm.storage import storage_path, upload_specs

        uploaded = upload_specs(specs_dir, storage_path(f"s3://{config.bucket}/specs/", S3_CONN_ID))
        print(f"uploaded {len(uploaded)} specs from {specs_dir}/ to s3://{config.bucket}/specs/")
        airflow_cli("db", "migrate")
        slots = str(config.model_parallel)
        airflow_cli("pools", "set", "llm_endpoint", slots, "model endpoint slots")
        print(f"running {DAG_ID} with dag.test(): a line per finished step")
        print_progress()
        rows = _run_dag()
        summary = [summary_row(row, config) for row in rows]
        print(format_table(SUMMARY_HEADERS, summary))
        copied = _copy_results(config, out_dir)
        print(f"bundles and reports copied to {copied}/")
    print(
        f"demo finished in {time.monotonic() - started:.0f} s; the services it started are stopped"
    )
    return EXIT_OK if rows else EXIT_FAILED


SUMMARY_HEADERS = ("spec", "tasks", "attempts", "outcome", "bundle", "tokens", "cost", "seconds")


def isolate_airflow(airflow_home: Path, dags_dir: Path, config: EmbeddedConfig) -> None:
    """Point this process (before it imports Airflow) and its children at a private
    Airflow home, the DAGs in ``dags_dir`` and the embedded services of ``config``."""
    os.environ.update(embedded_connections(config))
    os.environ.update(
        {
            "AIRFLOW_HOME": str(airflow_home.resolve()),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_dir.resolve()),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "AIRFLOW_LLM_BUCKET": config.bucket,
            # two answers per artifact keep the 135M model's demo within minutes
            "AIRFLOW_VAR_AIRFLOW_LLM_MAX_ATTEMPTS": os.environ.get("AIRFLOW_LLM_MAX_ATTEMPTS", "2"),
        }
    )
    airflow_home.mkdir(parents=True, exist_ok=True)


def airflow_cli(*args: str) -> None:
    """Run the ``airflow`` command of this virtualenv (``db migrate``, ``pools set``...)."""
    airflow = str(Path(sys.executable).parent / "airflow")
    subprocess.run([airflow, *args], check=True, capture_output=True)


def _run_dag() -> list[dict[str, Any]]:
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"]).get_dag(DAG_ID)
    if dag is None:
        raise RuntimeError(f"{DAG_ID} did not load")
    run = dag.test(run_conf={"prefix": "specs/", "environment": "dev"})
    summarize = next(ti for ti in run.get_task_instances() if ti.task_id == "summarize")
    rows: list[dict[str, Any]] = summarize.xcom_pull(task_ids="summarize") or []
    return rows


def summary_row(row: dict[str, Any], config: EmbeddedConfig) -> tuple[object, ...]:
    from airflow_llm.report import cost_text  # imports Airflow: only once it is isolated

    report = _read_report(row.get("report_uri"), config)
    tasks = report.get("tasks", [])
    attempts = sum(len(task["attempts"]) for task in tasks) + len(report.get("plan", []))
    totals = report.get("totals", {})
    outcome = row["status"] if not row.get("reason") else f"{row['status']}: {row['reason']}"
    return (
        str(row["uri"]).rsplit("/", 1)[-1],
        len(tasks) or "-",
        attempts or "-",
        outcome[:60],
        row.get("bundle_uri") or "-",
        totals.get("prompt_tokens", 0) + totals.get("completion_tokens", 0),
        cost_text(totals) if totals else "-",
        totals.get("seconds", 0),
    )


def _read_report(uri: str | None, config: EmbeddedConfig) -> dict[str, Any]:
    if not uri or not uri.startswith("s3://"):
        return {}
    from airflow_llm.storage import storage_path

    report: dict[str, Any] = json.loads(storage_path(uri, S3_CONN_ID).read_text())
    return report


def _copy_results(config: EmbeddedConfig, out_dir: Path) -> Path:
    from airflow_llm.embedded.s3_server import s3_client

    client = s3_client(config)
    target = out_dir / "results"
    shutil.rmtree(target, ignore_errors=True)
    for prefix in ("bundles/", "reports/"):
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=config.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                path = target / item["Key"]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(
                    client.get_object(Bucket=config.bucket, Key=item["Key"])["Body"].read()
                )
    return target
