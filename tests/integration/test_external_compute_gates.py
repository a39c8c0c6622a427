"""Steps on external compute through every gate, smoke run included: a Databricks run, a
Spark application on Kubernetes and Elasticsearch indexing render as their providers'
operators and hooks and import in the sandbox; the smoke run reports the Databricks and
Spark runs "not run: external" with their reasons, indexes the file step's sample rows
into its Elasticsearch stand-in, and the branch the words leave to the run's conf takes
its default path."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_llm.spec import PipelineSpec
from tests.pattern_bundles import smoke_run_of

pytestmark = pytest.mark.integration

SPEC = PipelineSpec.model_validate(
    {
        "name": "catalog_refresh",
        "description": "Refresh the product catalog's features and search index.",
        "tasks": [
            {
                "name": "begin",
                "kind": "python",
                "description": "Marks the start of the pipeline (EmptyOperator).",
            },
            {
                "name": "build_features",
                "kind": "python",
                "depends_on": ["begin"],
                "description": "Build the product features with the notebook at "
                "/Repos/catalog/features on Databricks (existing_cluster_id='catalog-shared').",
            },
            {
                "name": "pick_refresh",
                "kind": "branch",
                "depends_on": ["build_features"],
                "description": "Pick keep_embeddings or embed_products with the pick_fn "
                "callable (BranchPythonOperator).",
            },
            {
                "name": "keep_embeddings",
                "kind": "python",
                "depends_on": ["pick_refresh"],
                "description": "Terminal path: does nothing (EmptyOperator).",
            },
            {
                "name": "embed_products",
                "kind": "python",
                "depends_on": ["pick_refresh"],
                "description": "Embed the product texts with a Spark job "
                "(main class com.shop.Embed, s3a://jobs/embed-3.0.jar).",
            },
            {
                "name": "clean_products",
                "kind": "python",
                "depends_on": ["begin"],
                "description": "Read /data/catalog/products.csv (columns sku, title, "
                "price) and keep the rows whose title is not null; write products_clean.csv.",
            },
            {
                "name": "index_products",
                "kind": "python",
                "depends_on": ["clean_products"],
                "description": "Index the cleaned products into the Elasticsearch index "
                "catalog_products, keyed by sku.",
            },
        ],
    }
)
PATTERNS = {
    "begin": "marker",
    "build_features": "databricks_job",
    "pick_refresh": "branch_on_run_conf",
    "keep_embeddings": "marker",
    "embed_products": "spark_job",
    "clean_products": "file_transform",
    "index_products": "elasticsearch_index",
}
STATES = {
    "begin": "success",
    "build_features": "not run: external: submits a Databricks run (notebook_path "
    "/Repos/catalog/features): no workspace in the smoke run",
    "pick_refresh": "success",
    "keep_embeddings": "success",
    "embed_products": "not run: external: runs the Spark application com.shop.Embed on "
    "Kubernetes: no cluster in the smoke run",
    "clean_products": "success",
    "index_products": "success",
}


def test_external_compute_passes_every_gate_and_is_reported_external(tmp_path: Path) -> None:
    result, smoke = smoke_run_of(SPEC, PATTERNS, tmp_path, STATES)

    dag = result.files["dags/catalog_refresh.py"]
    for operator in ("DatabricksSubmitRunOperator", "SparkKubernetesOperator"):
        assert f"{operator}(" in dag
    assert "ElasticsearchSQLHook(" in dag
    requirements = result.files["dags/resources/catalog_refresh/requirements.txt"].splitlines()
    for pin in (
        "apache-airflow-providers-databricks==7.23.0",
        "apache-airflow-providers-cncf-kubernetes==10.25.0",
        "apache-airflow-providers-elasticsearch==6.10.0",
    ):
        assert pin in requirements
    assert smoke["clean_products"]["rows"], "the file step before the indexing wrote rows"
