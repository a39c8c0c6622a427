"""Deployment settings that DAG files need at parse time, from environment variables.

Asset URIs must be known when a DAG file is parsed, and parsing must not read the
metadata database, so the bucket and environments come from ``AIRFLOW_LLM_BUCKET``
and ``AIRFLOW_LLM_ENVIRONMENTS`` (set them in the deployment's environment).
"""

from __future__ import annotations

import os

from airflow.sdk import Asset, AssetAlias

BUCKET = os.environ.get("AIRFLOW_LLM_BUCKET", "airflow-llm")
ENVIRONMENTS = [
    e.strip()
    for e in os.environ.get("AIRFLOW_LLM_ENVIRONMENTS", "dev,staging,prod").split(",")
    if e.strip()
]
SPECS_PREFIX = "specs/"
BUNDLES_ALIAS = AssetAlias("airflow_llm_bundles")
"""Publishing tasks add one event per environment actually published through this alias."""


def bundle_asset(environment: str) -> Asset:
    """The Asset of one environment's bundles (an S3DagBundle consumes its prefix)."""
    return Asset(
        name=f"airflow_llm_bundles_{environment}", uri=f"s3://{BUCKET}/bundles/{environment}/"
    )


def incidents_asset() -> Asset:
    """The Asset a generated DAG's failed task announces its incident on (the heal DAG's)."""
    return Asset(name="airflow_llm_incidents", uri=f"s3://{BUCKET}/incidents/")


def specs_uri(prefix: str = SPECS_PREFIX) -> str:
    """Where specs are dropped."""
    return f"s3://{BUCKET}/{prefix}"
