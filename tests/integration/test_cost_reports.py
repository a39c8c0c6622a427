"""`airflow-llm cost` on reports in the bucket (real SeaweedFS), written by the flow's own
report writer from a real generation against a scripted endpoint."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from airflow_llm.cli import main
from airflow_llm.embedded.config import EmbeddedConfig
from airflow_llm.embedded.s3_server import s3_client
from airflow_llm.engine import build_bundle
from airflow_llm.publish import write_report
from airflow_llm.report import report_markdown
from airflow_llm.settings import GenerationSettings
from tests.scripted_endpoint import ScriptedModel
from tests.unit.test_costs import PRICES, client
from tests.unit.test_engine import GOOD, SPEC

pytestmark = pytest.mark.integration
REPO_ROOT = Path(__file__).resolve().parents[2]


def test_cost_prices_a_run_of_the_bucket_on_every_option(
    s3_connection: EmbeddedConfig,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A rejected generation (its SQL never passes) is work a regeneration redoes too."""
    script = ScriptedModel({**GOOD, "sql": ["DROP TABLE orders"], "repair": ["DROP TABLE orders"]})
    model = client(script, PRICES)
    settings = GenerationSettings(work_dir=tmp_path / "work", smoke_run=False, strategy="free")
    report = build_bundle(SPEC, model, settings).report
    files = {
        "report.json": json.dumps(report, indent=2, sort_keys=True) + "\n",
        "report.md": report_markdown(report),
    }
    run = f"cost-test-{uuid.uuid4().hex[:8]}"
    s3, bucket = s3_client(s3_connection), s3_connection.bucket
    for environment in ("dev", "prod"):
        write_report(s3, bucket, SPEC.name, f"{run}-{environment}", files)
    monkeypatch.setenv("AIRFLOW_LLM_BUCKET", bucket)  # the default reports location

    catalog = REPO_ROOT / "config" / "compute_options.yml"
    assert main(["cost", "--catalog", str(catalog), "--run", run]) == 0
    # Airflow's log lines (the connection read) share stdout in this process
    out = [line for line in capsys.readouterr().out.splitlines() if "[info" not in line]
    prompt, completion = 2 * model.stats.prompt_tokens, 2 * model.stats.completion_tokens
    assert out[0] == (
        f"run {run}: 2 reports, {prompt} prompt + {completion} completion tokens "
        "(cache hits included)"
    )
    assert len(script.requests) > 4, "the repairs' answers count too"
    assert out[-1].startswith("choice: ")
