"""airflow-llm: pipeline specs in, validated Airflow DAG bundles out."""

__version__ = "0.1.0"
