"""The Bundles view: published bundles, rejections, history and metrics of the bucket,
in Airflow's UI (``/bundles``, under "Bundles" in the navigation). The logic lives in
``airflow_llm.bundles_view``."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin

from airflow_llm.bundles_view.plugin import external_view, fastapi_app


class BundlesViewPlugin(AirflowPlugin):
    """Mounts the view in the API server and adds it to the UI's navigation."""

    name = "airflow_llm_bundles"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [fastapi_app()]
    external_views: ClassVar[list[dict[str, Any]]] = [external_view()]
