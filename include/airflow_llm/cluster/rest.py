"""The cluster's REST API v2 as the demo, the cluster tests and the bench use it: wait for
a DAG to be parsed and for its runs to finish, pause, trigger, read task instances, an
XCom and the Asset events a run sent, resize a pool. Through the official
``apache-airflow-client`` with a token of the generated admin password."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from airflow_client.client.api.asset_api import AssetApi
from airflow_client.client.api.dag_api import DAGApi
from airflow_client.client.api.dag_run_api import DagRunApi
from airflow_client.client.api.task_api import TaskApi
from airflow_client.client.api.task_instance_api import TaskInstanceApi
from airflow_client.client.api.x_com_api import XComApi
from airflow_client.client.exceptions import NotFoundException
from airflow_client.client.models.asset_event_response import AssetEventResponse
from airflow_client.client.models.dag_patch_body import DAGPatchBody
from airflow_client.client.models.dag_response import DAGResponse
from airflow_client.client.models.dag_run_response import DAGRunResponse
from airflow_client.client.models.task_instance_response import TaskInstanceResponse
from airflow_client.client.models.trigger_dag_run_post_body import TriggerDAGRunPostBody

from airflow_llm.cluster.config import ClusterConfig
from airflow_llm.monitoring.monitor import api_client, api_token

FINISHED = frozenset({"success", "failed"})
POLL_SECONDS = 5.0


class WaitTimeoutError(TimeoutError):
    """What was awaited did not happen in time."""


def wait_for(
    what: str, check: Callable[[], Any], timeout: float, interval: float = POLL_SECONDS
) -> Any:
    """Call ``check`` every ``interval`` seconds until it returns something other than None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found is not None:
            return found
        time.sleep(interval)
    raise WaitTimeoutError(f"{what}: not after {timeout:.0f} s")


class ClusterApi:
    """The API server of a running cluster, as its admin user."""

    def __init__(self, config: ClusterConfig, username: str = "admin") -> None:
        home = config.state_dir / "airflow"
        passwords = home / "simple_auth_manager_passwords.json.generated"
        password = json.loads(Path(passwords).read_text())[username]
        client = api_client(config.api_url, api_token(config.api_url, username, password))
        self.dags = DAGApi(client)
        self.dag_runs = DagRunApi(client)
        self.xcoms = XComApi(client)
        self.task_instances = TaskInstanceApi(client)
        self.task_api = TaskApi(client)
        self.assets = AssetApi(client)

    def dag(self, dag_id: str) -> DAGResponse | None:
        """The DAG as the dag-processor last parsed it, or None before it is parsed."""
        try:
            dag: DAGResponse = self.dags.get_dag(dag_id)
        except NotFoundException:
            return None
        return dag

    def wait_for_dag(self, dag_id: str, timeout: float) -> DAGResponse:
        """The DAG once the dag-processor has parsed it."""
        found: DAGResponse = wait_for(f"DAG {dag_id}", lambda: self.dag(dag_id), timeout)
        return found

    def unpause(self, dag_id: str) -> None:
        """Let the scheduler run the DAG."""
        self.dags.patch_dag(dag_id, DAGPatchBody(is_paused=False))

    def pause(self, dag_id: str) -> None:
        """Keep the scheduler from starting runs of the DAG."""
        self.dags.patch_dag(dag_id, DAGPatchBody(is_paused=True))

    def bundle_dags(self, bundle: str) -> list[DAGResponse]:
        """The DAGs of one dag bundle."""
        return list(self.dags.get_dags(bundle_name=bundle, limit=1000).dags)

    def trigger(
        self,
        dag_id: str,
        conf: dict[str, Any] | None = None,
        logical_date: dt.datetime | None = None,
    ) -> str:
        """Trigger a run; its run id."""
        body = TriggerDAGRunPostBody(conf=conf or {}, logical_date=logical_date)
        run: DAGRunResponse = self.dag_runs.trigger_dag_run(dag_id, body)
        return run.dag_run_id

    def runs(self, dag_id: str) -> list[DAGRunResponse]:
        """The DAG's runs, oldest first."""
        response = self.dag_runs.get_dag_runs(dag_id, limit=100, order_by=["id"])
        return list(response.dag_runs)

    def wait_for_run(
        self,
        dag_id: str,
        run_id: str,
        timeout: float,
        progress: Callable[[DAGRunResponse], None] | None = None,
    ) -> DAGRunResponse:
        """The run once it succeeded or failed (``progress`` sees it at every poll)."""

        def finished() -> DAGRunResponse | None:
            run = self.dag_runs.get_dag_run(dag_id, run_id)
            if progress is not None:
                progress(run)
            return run if run.state.value in FINISHED else None

        run: DAGRunResponse = wait_for(f"run {run_id} of {dag_id}", finished, timeout)
        return run

    def wait_until_idle(self, dag_id: str, timeout: float) -> None:
        """Return once every run of the DAG succeeded or failed."""

        def idle() -> bool | None:
            return all(run.state.value in FINISHED for run in self.runs(dag_id)) or None

        wait_for(f"{dag_id} idle", idle, timeout)

    def downstream(self, dag_id: str) -> dict[str, list[str]]:
        """Each task of the DAG and the tasks directly downstream of it."""
        tasks = self.task_api.get_tasks(dag_id).tasks
        return {str(task.task_id): list(task.downstream_task_ids or []) for task in tasks}

    def tasks(self, dag_id: str, run_id: str) -> list[TaskInstanceResponse]:
        """The run's task instances (mapped ones one per index)."""
        response = self.task_instances.get_task_instances(dag_id, run_id, limit=1000)
        return list(response.task_instances)

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        """An XCom value, deserialized."""
        entry = self.xcoms.get_xcom_entry(dag_id, task_id, run_id, key, deserialize=True)
        return getattr(entry.actual_instance, "value", None)

    def asset_events(self, dag_id: str, run_id: str) -> list[AssetEventResponse]:
        """The Asset events the run's tasks sent."""
        response = self.assets.get_asset_events(
            source_dag_id=dag_id, source_run_id=run_id, limit=1000
        )
        return list(response.asset_events)
