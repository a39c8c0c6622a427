"""The whole engine against the real embedded model server (SmolLM2-135M, llama.cpp).

The 135M model rarely writes SQL that survives the validators and the DuckDB dry run
(docs/evaluation.md), so this checks what must hold either way: real calls and
tokens, every attempt in the report, a bounded repair loop, and then either a bundle
that loads with DagBag (in the sandboxed subprocess the gates use) or a rejection
whose report names the blocking finding of each task.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_llm.engine import build_bundle, write_bundle
from airflow_llm.llm.client import ModelClient
from airflow_llm.llm.endpoints import Endpoint, ModelRouter
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec_loading import load_spec
from airflow_llm.validate.dag_import import import_dags

# one test worker runs every test of the model server (one server, 2 threads, at a time)
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("model_server")]
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(900)  # up to three answers from a 135M model on CPU
def test_simplest_example_spec_ends_valid_or_rejected_with_its_reasons(  # type: ignore[no-untyped-def]
    model_server, tmp_path: Path
) -> None:
    spec = load_spec(REPO_ROOT / "specs" / "daily_customer_totals.yml")
    endpoint = Endpoint(  # a 135M model on shared CPU cores can take minutes an answer
        model=model_server.model_alias, base_url=model_server.model_base_url, timeout=600
    )
    client = ModelClient(ModelRouter(default=endpoint))
    settings = GenerationSettings(work_dir=tmp_path / "work")
    result = build_bundle(spec, client, settings)
    (task,) = result.report["tasks"]
    assert 1 <= len(task["attempts"]) <= settings.max_attempts
    assert client.stats.calls >= len(task["attempts"])
    assert result.report["totals"]["completion_tokens"] > 0
    if not result.valid:
        assert result.files == {}
        reasons = ("still invalid after repairs: daily_customer_totals", "bundle gates failed")
        assert str(result.reason).startswith(reasons)
        assert task["attempts"][-1]["findings"] or result.report["gates"], "it says why"
        assert "## Blocking findings" in result.report_files["report.md"]
        return
    out = tmp_path / "bundle"
    write_bundle(result, out)
    parsed = import_dags(out / "dags")
    assert parsed.errors == {}
    assert parsed.dags["daily_customer_totals"]["tasks"] == ["daily_customer_totals"]
