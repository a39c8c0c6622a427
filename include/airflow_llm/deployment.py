"""Deployment settings that DAG files need at parse time, from environment variables.

Asset URIs and task queues must be known when a DAG file is parsed, and parsing must not
read the metadata database, so the bucket and environments come from
``AIRFLOW_LLM_BUCKET`` and ``AIRFLOW_LLM_ENVIRONMENTS``, and the queues of model-bound
and CPU-bound tasks as :mod:`airflow_llm.queues` says (set them in the deployment's
environment).
"""

from __future__ import annotations

import os

from airflow.sdk import Asset, AssetAlias
from airflow.sdk.configuration import conf

from airflow_llm.queues import GATES_QUEUE_VARIABLE, LLM_QUEUE_VARIABLE, named_queue

BUCKET = os.environ.get("AIRFLOW_LLM_BUCKET", "airflow-llm")
ENVIRONMENTS = [
    e.strip()
    for e in os.environ.get("AIRFLOW_LLM_ENVIRONMENTS", "dev,staging,prod").split(",")
    if e.strip()
]
SPECS_PREFIX = "specs/"
_DEFAULT_QUEUE = conf.get_mandatory_value("operators", "default_queue")
LLM_QUEUE = named_queue(LLM_QUEUE_VARIABLE) or _DEFAULT_QUEUE
"""Model-bound tasks: planning, generation and repair, healing."""
GATES_QUEUE = named_queue(GATES_QUEUE_VARIABLE) or _DEFAULT_QUEUE
"""CPU-bound tasks: the gates of a new bundle, and the re-check before a promotion."""
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
