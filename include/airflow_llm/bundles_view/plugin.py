"""The Bundles view inside Airflow: the app on the deployment's bucket behind Airflow's
auth manager, and its entry in the UI's navigation (``plugins/bundles_view.py``).

Access is Airflow's asset permission (the bundles are the ``airflow_llm_bundles_<env>``
Assets): whoever may read Assets may open the view, and an anonymous request gets 401.
``/metrics`` asks the same unless ``[airflow_llm] metrics_public = True``
(``AIRFLOW__AIRFLOW_LLM__METRICS_PUBLIC``), for a scraper that cannot authenticate.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI

from airflow_llm.bundles_view.app import create_app
from airflow_llm.bundles_view.source import CatalogSource
from airflow_llm.connections import S3_CONN_ID
from airflow_llm.deployment import BUCKET, ENVIRONMENTS

URL_PREFIX = "/bundles"
NAME = "airflow-llm bundles"


def bundles_app() -> FastAPI:
    """The view of the deployment's bucket, through connection ``airflow_llm_s3``."""
    from airflow.api_fastapi.core_api.security import requires_access_asset
    from airflow.configuration import conf

    source = CatalogSource(_s3_client, BUCKET, ENVIRONMENTS)
    public = conf.getboolean("airflow_llm", "metrics_public", fallback=False)
    return create_app(source, requires_access_asset(method="GET"), metrics_public=public)


def fastapi_app() -> dict[str, Any]:
    """The plugin's ``fastapi_apps`` entry: the view mounted at ``/bundles``."""
    return {"app": bundles_app(), "url_prefix": URL_PREFIX, "name": NAME}


def external_view() -> dict[str, Any]:
    """The plugin's ``external_views`` entry: "Bundles" in the UI's navigation, showing the
    view inside the UI (at ``/plugin/bundles``)."""
    from airflow.configuration import conf

    root = urlsplit(conf.get("api", "base_url", fallback="") or "/").path.rstrip("/")
    return {
        "name": "Bundles",
        "href": f"{root}{URL_PREFIX}/",
        "url_route": "bundles",
        "destination": "nav",
    }


def _s3_client() -> Any:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    return S3Hook(aws_conn_id=S3_CONN_ID).get_conn()
