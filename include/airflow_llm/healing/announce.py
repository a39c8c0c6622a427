"""Announcing an incident as an event of the incidents Asset, through the REST API.

A task's listener runs in the task's process, which may not write Asset events itself
(only a successful task's outlets do, through the Execution API). Airflow's public way
to add an event from outside a DAG is ``POST /api/v2/assets/events``; this posts it with
the official API client when the deployment gives the connection ``airflow_llm_api``
(host: the API server's base URL, login and password of a user who may write assets).
Without it nothing is posted and the heal DAG's poll finds the incident in the bucket.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow_llm.deployment import incidents_asset
from airflow_llm.healing.incidents import Incident

API_CONN_ID = "airflow_llm_api"
log = logging.getLogger(__name__)


def announce(incident: Incident, uri: str) -> bool:
    """Post the incidents Asset's event for ``incident`` (stored at ``uri``); False when
    the deployment has no API connection."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        connection = BaseHook.get_connection(API_CONN_ID)
    except AirflowNotFoundException:
        log.info("airflow-llm: no %s connection: the heal DAG's poll finds %s", API_CONN_ID, uri)
        return False
    post_event(str(connection.host), connection.login or "", connection.password or "", uri)
    return True


def post_event(base_url: str, username: str, password: str, uri: str) -> dict[str, Any]:
    """Add an event to the incidents Asset with ``{"incident": uri}``; the event's JSON."""
    from airflow_client.client.api.asset_api import AssetApi
    from airflow_client.client.models.create_asset_events_body import CreateAssetEventsBody

    from airflow_llm.monitoring.monitor import api_client, api_token

    asset = incidents_asset()
    api = AssetApi(api_client(base_url, api_token(base_url, username, password)))
    found = [a for a in api.get_assets(name_pattern=asset.name).assets if a.name == asset.name]
    if not found:
        raise LookupError(f"no Asset {asset.name!r} on {base_url}: is the heal DAG deployed?")
    body = CreateAssetEventsBody(asset_id=found[0].id, extra={"incident": uri})
    event: dict[str, Any] = api.create_asset_event(body).to_dict()
    return event
