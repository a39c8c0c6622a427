"""The Elasticsearch pattern: a step that indexes an upstream file's rows into
Elasticsearch becomes a TaskFlow task bulk-indexing them through the provider's hook,
into the index the words name, keyed by the column they name; the smoke run runs it
against its Elasticsearch stand-in."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_llm.engine import build_bundle
from airflow_llm.patterns import ParameterError, context_for, pattern_named, ranked_pattern_names
from airflow_llm.patterns.elasticsearch import stated_indexes, stated_keys
from airflow_llm.patterns.elasticsearch_aliases import stated_aliases
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec
from tests.scripted_endpoint import ScriptedModel, first_choices
from tests.unit.test_engine import client

SPEC = PipelineSpec.model_validate(
    {
        "name": "ontology_search",
        "description": "Make the ontology terms searchable.",
        "tasks": [
            {
                "name": "clean_terms",
                "kind": "python",
                "description": "Read /data/ontology/terms.csv (columns term_id, label, "
                "synonyms) and keep the rows whose label is not null; write terms_clean.csv.",
            },
            {
                "name": "index_terms",
                "kind": "python",
                "depends_on": ["clean_terms"],
                "description": "Index the cleaned terms into the Elasticsearch index "
                "ontology_terms, keyed by term_id.",
            },
        ],
    }
)


@pytest.mark.parametrize(
    ("text", "indexes"),
    [
        ("Index the rows into the Elasticsearch index ontology_terms.", ["ontology_terms"]),
        (
            "Bulk load into Elasticsearch (index_name='products-{{ ds_nodash }}')",
            ["products-{{ ds_nodash }}"],
        ),
        ("Push them to the search_docs index in Elasticsearch", ["search_docs"]),
        ("Index the documents into Elasticsearch.", []),
    ],
)
def test_stated_indexes(text: str, indexes: list[str]) -> None:
    assert stated_indexes(text) == indexes


def test_stated_keys() -> None:
    assert stated_keys("keyed by term_id") == ["term_id"]
    assert stated_keys("use sku as the document id") == ["sku"]
    assert stated_keys("Index everything.") == []


@pytest.mark.parametrize(
    ("words", "served"),
    [
        ("Index /exports/terms.csv into Elasticsearch.", True),
        ("Send the rows of terms.json to Elasticsearch for indexing.", True),
        ("Index terms.csv into the search table.", False),
        ("Read the Elasticsearch logs from logs.csv.", False),
        ("Index the terms into Elasticsearch.", False),
    ],
)
def test_elasticsearch_index_serves_indexing_a_file(words: str, served: bool) -> None:
    task = {"name": "step", "kind": "python", "description": words}
    spec = PipelineSpec.model_validate({"name": "p", "description": words, "tasks": [task]})
    ctx = context_for(spec, (spec.tasks or [])[0], {})
    assert ("elasticsearch_index" in ranked_pattern_names(ctx)) is served


def test_indexing_renders_a_bulk_task_through_the_hook_and_runs_in_the_smoke_run(
    tmp_path: Path,
) -> None:
    settings = GenerationSettings(work_dir=tmp_path / "work", strategy="hybrid", smoke_run=True)
    result = build_bundle(SPEC, client(ScriptedModel({"hybrid": [first_choices]})), settings)

    assert result.valid, result.reason
    dag = result.files["dags/ontology_search.py"]
    assert (
        "from airflow.providers.elasticsearch.hooks.elasticsearch import ElasticsearchSQLHook"
        in dag
    )
    assert 'elasticsearch_conn_id=OPERATORS["index_terms"]["elasticsearch_conn_id"]' in dag
    assert '"_id": str(row["term_id"])' in dag
    assert "bulk(client, actions, chunk_size=500)" in dag
    config = result.files["dags/resources/ontology_search/config.yml"]
    assert "index: ontology_terms" in config
    assert "<fill in: Elasticsearch connection index_terms indexes through>" in config
    requirements = result.files["dags/resources/ontology_search/requirements.txt"]
    assert "apache-airflow-providers-elasticsearch==6.10.0" in requirements
    states = {task["name"]: task["state"] for task in result.report["smoke_run"]["tasks"]}
    assert states == {"clean_terms": "success", "index_terms": "success"}, "through the stand-in"


def test_parameters_the_pattern_refuses() -> None:
    pattern = pattern_named("elasticsearch_index")
    ctx = context_for(SPEC, (SPEC.tasks or [])[1], {})
    base = {"source": None, "input_format": "csv", "index": "terms", "id_column": None}
    with pytest.raises(ParameterError, match="index"):
        pattern.parse({**base, "index": "Upper Case"})
    with pytest.raises(ParameterError, match="no column 'nope'"):
        pattern.render(pattern.parse({**base, "id_column": "nope"}), ctx)


def test_stated_aliases() -> None:
    assert stated_aliases("point the alias terms at terms_v2") == ["terms"]
    assert stated_aliases("Swap the products alias (alias='products') to the new index") == [
        "products"
    ]
    assert stated_aliases("Publish the index.") == []


def test_publishing_points_the_alias_at_the_index_through_the_stand_in(tmp_path: Path) -> None:
    publish = {
        "name": "publish_terms",
        "kind": "python",
        "depends_on": ["index_terms"],
        "description": "Publish the new index: point the alias terms at ontology_terms in "
        "Elasticsearch.",
    }
    spec = PipelineSpec.model_validate(
        {
            **SPEC.model_dump(mode="json", exclude_none=True),
            "tasks": [
                *[task.model_dump(mode="json", exclude_none=True) for task in SPEC.tasks or []],
                publish,
            ],
        }
    )
    ctx = context_for(spec, (spec.tasks or [])[2], {})
    assert ranked_pattern_names(ctx) == ["elasticsearch_alias"]
    settings = GenerationSettings(work_dir=tmp_path / "work", strategy="hybrid", smoke_run=True)
    result = build_bundle(spec, client(ScriptedModel({"hybrid": [first_choices]})), settings)

    assert result.valid, result.reason
    dag = result.files["dags/ontology_search.py"]
    assert '{"remove": {"index": "*", "alias": alias, "must_exist": False}},' in dag
    config = result.files["dags/resources/ontology_search/config.yml"].split("publish_terms:")[1]
    assert "alias: terms" in config
    assert "index: ontology_terms" in config
    states = {task["name"]: task["state"] for task in result.report["smoke_run"]["tasks"]}
    assert states["publish_terms"] == "success", "the stand-in took the alias actions"
