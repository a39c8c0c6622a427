"""The seed's Python API over the engine, with a scripted model."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_llm.api import (
    DAGConfig,
    EnterpriseDAGFactory,
    GenerationError,
    NaturalLanguageDAGGenerator,
    TaskConfig,
)
from airflow_llm.llm.client import ModelClient
from airflow_llm.llm.endpoints import Endpoint, ModelRouter
from airflow_llm.settings import GenerationSettings
from tests.scripted_endpoint import ScriptedModel
from tests.unit.test_engine import GOOD
from tests.unit.test_generate import GOOD_SQL


def factory(tmp_path: Path, script: ScriptedModel) -> EnterpriseDAGFactory:
    router = ModelRouter(default=Endpoint(model="m", base_url="http://m.test/v1"))
    return EnterpriseDAGFactory(
        output_dir=tmp_path / "out",
        environment_config={
            "dev": {"conn_id": "wh_dev"},
            "prod": {"conn_id": "wh_prod", "schema": "analytics"},
        },
        settings=GenerationSettings(work_dir=tmp_path / "work", smoke_run=False),
        client=ModelClient(router, http_client=script.transport(), sleep=lambda s: None),
    )


def test_generate_from_description_returns_the_dag_path(tmp_path: Path) -> None:
    generator = NaturalLanguageDAGGenerator(factory(tmp_path, ScriptedModel(dict(GOOD))))
    path = generator.generate_from_description(
        description="Copy order ids into totals, check and count them.",
        dag_id="totals",
        owners=["data-eng"],
        stakeholders=["finance@example.com"],
    )
    assert path == tmp_path / "out" / "dags" / "totals.py"
    config = (tmp_path / "out" / "dags" / "resources" / "totals" / "config.yml").read_text()
    assert "wh_prod" in config
    assert "analytics" in config
    assert "'owner': 'data-eng'" in path.read_text().replace('"', "'")


def test_dag_config_with_tasks_skips_planning(tmp_path: Path) -> None:
    script = ScriptedModel({"sql": [GOOD_SQL]})
    config = DAGConfig(
        dag_id="copy_ids",
        description="Copy ids.",
        dialect="postgres",
        tasks=[TaskConfig(name="build_totals", kind="sql", description="Copy ids into totals.")],
    )
    path = factory(tmp_path, script).build(config)
    assert path.name == "copy_ids.py"
    assert script.roles() == ["sql"]


def test_failures_raise_with_the_report(tmp_path: Path) -> None:
    script = ScriptedModel({"sql": ["DROP TABLE x"], "repair": ["DROP TABLE x"]})
    config = DAGConfig(dag_id="bad", description="x", tasks=[TaskConfig("drop_it", "sql", "Drop.")])
    with pytest.raises(GenerationError, match="still invalid") as caught:
        factory(tmp_path, script).build(config)
    assert caught.value.result.report["valid"] is False
