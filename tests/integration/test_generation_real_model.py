"""The whole engine against the real embedded model server (SmolLM2-135M, llama.cpp).

The simplest example spec is the one a 135M model can get through: this generates
its bundle for real, writes it, and loads the DAG from the written folder with
DagBag (in the sandboxed subprocess the gates use).
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

pytestmark = pytest.mark.integration
REPO_ROOT = Path(__file__).resolve().parents[2]


def test_simplest_example_spec_becomes_a_loadable_bundle(model_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spec = load_spec(REPO_ROOT / "specs" / "daily_customer_totals.yml")
    endpoint = Endpoint(model=model_server.model_alias, base_url=model_server.model_base_url)
    client = ModelClient(ModelRouter(default=endpoint))
    result = build_bundle(spec, client, GenerationSettings(work_dir=tmp_path / "work"))
    assert result.valid, result.report_files["report.md"]
    assert client.stats.calls >= 1
    assert result.report["totals"]["completion_tokens"] > 0

    out = tmp_path / "bundle"
    write_bundle(result, out)
    parsed = import_dags(out / "dags")
    assert parsed.errors == {}
    assert parsed.dags["daily_customer_totals"]["tasks"] == ["daily_customer_totals"]
