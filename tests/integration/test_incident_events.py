"""The incidents Asset event through a real Airflow API server: the listener's way to
announce an incident (a failing task's process cannot add Asset events itself).

The heal DAG is serialized into a private metadata database (so its Asset exists, with
the heal DAG consuming it), the API server runs with the simple auth manager, and
``post_event`` posts as a user of the ``op`` role, with a JWT from ``/auth/token``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from airflow_client.client.api.asset_api import AssetApi

from airflow_llm.deployment import incidents_asset
from airflow_llm.embedded.config import free_port_block
from airflow_llm.healing.announce import post_event
from airflow_llm.monitoring.monitor import api_client, api_token
from tests.airflow_api_server import AIRFLOW, running_api_server

pytestmark = pytest.mark.integration
REPO_ROOT = Path(__file__).resolve().parents[2]
USER, PASSWORD = "healer", "healer-test-password"


def test_an_incident_becomes_an_event_of_the_heal_dags_asset(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(REPO_ROOT / "dags" / "airflow_llm_heal.py", dags)
    passwords = tmp_path / "passwords.json"
    passwords.write_text(json.dumps({USER: PASSWORD}))
    port = free_port_block(1)
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:op",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    }
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([AIRFLOW, "dags", "reserialize"], env=env, check=True, capture_output=True)
    with running_api_server(env, port, tmp_path / "state") as url:
        incident = "s3://airflow-llm/incidents/orders/r.stage.-1.try1/incident.json"
        posted = post_event(url, USER, PASSWORD, incident)
        api = AssetApi(api_client(url, api_token(url, USER, PASSWORD)))
        asset = next(
            a
            for a in api.get_assets(name_pattern=incidents_asset().name).assets
            if a.name == incidents_asset().name
        )
        events = api.get_asset_events(asset_id=asset.id).asset_events
    assert posted["extra"]["incident"] == incident
    assert [event.extra["incident"] for event in events] == [incident]
    assert [dag.dag_id for dag in asset.scheduled_dags] == ["airflow_llm_heal"]
