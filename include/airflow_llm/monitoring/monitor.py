"""DAG performance through Airflow's REST API v2 (the official ``apache-airflow-client``),
never the metadata database: a monitor needs only the API server's URL and a token."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator
from typing import TypeVar

import httpx
from airflow_client.client import ApiClient, Configuration
from airflow_client.client.api.dag_run_api import DagRunApi
from airflow_client.client.api.task_instance_api import TaskInstanceApi
from airflow_client.client.api.x_com_api import XComApi
from airflow_client.client.exceptions import ApiException, NotFoundException
from airflow_client.client.models.dag_run_response import DAGRunResponse
from airflow_client.client.models.task_instance_response import TaskInstanceResponse

from airflow_llm.monitoring.metrics import (
    FINISHED,
    DagMetrics,
    RunCost,
    RunRecord,
    TaskTry,
    compute_cost,
    dag_metrics,
)
from airflow_llm.monitoring.slots import SlotCatalog
from airflow_llm.usage import USAGE_KEY

GENERATOR_DAG_IDS = frozenset({"airflow_llm_generate", "airflow_llm_regenerate"})
"""The generator's own DAGs: their runs call models, whose cost their ``summarize``
task records (XCom :data:`~airflow_llm.usage.USAGE_KEY`)."""
SUMMARY_TASK = "summarize"
PAGE_SIZE = 100
"""Entries per API request (the API server's default ``maximum_page_limit``)."""
DEFAULT_WINDOW = dt.timedelta(days=7)

Page = TypeVar("Page")


class MonitorError(RuntimeError):
    """The API server refused a request or could not be reached."""


def api_token(base_url: str, username: str, password: str, timeout: float = 10.0) -> str:
    """A JWT from the API server's ``/auth/token`` (the simple and FAB auth managers')."""
    url = f"{base_url.rstrip('/')}/auth/token"
    try:
        response = httpx.post(
            url, json={"username": username, "password": password}, timeout=timeout
        )
    except httpx.HTTPError as error:
        raise MonitorError(f"{url}: {error}") from None
    if response.status_code not in (200, 201):
        raise MonitorError(f"{url}: HTTP {response.status_code}: {response.text[:200]}")
    return str(response.json()["access_token"])


def api_client(base_url: str, token: str) -> ApiClient:
    """A REST API v2 client for the API server at ``base_url``, sending ``token``."""
    return ApiClient(Configuration(host=base_url.rstrip("/"), access_token=token))


class PerformanceMonitor:
    """Runs, success rate, run times and cost per run of a DAG, from the REST API v2.

    Cost per run = each task try's run time x the hourly price of the executor slot it
    ran on (``slots``), plus, for the generator's own DAGs, the USD of the model tokens
    the run used: the ``usage`` its ``summarize`` task pushed to XCom (tokens priced
    with the run's price table, see ``$AIRFLOW_LLM_PRICES``), read with
    ``get_xcom_entry``. Other DAGs call no model through the generator: their model
    cost is zero.
    """

    def __init__(
        self,
        api: ApiClient,
        slots: SlotCatalog,
        generator_dags: Collection[str] = GENERATOR_DAG_IDS,
    ) -> None:
        self.dag_runs = DagRunApi(api)
        self.task_instances = TaskInstanceApi(api)
        self.xcoms = XComApi(api)
        self.slots = slots
        self.generator_dags = frozenset(generator_dags)

    def collect_dag_metrics(self, dag_id: str, since: dt.datetime | None = None) -> DagMetrics:
        """The metrics of ``dag_id``'s runs due at or after ``since`` (their
        ``run_after``; default: the last 7 days); raise :class:`MonitorError`."""
        since = since or dt.datetime.now(dt.UTC) - DEFAULT_WINDOW
        try:
            runs = list(self._runs(dag_id, since))
            tries = self._tries_by_run(dag_id, since)
            records = [self._record(dag_id, run, tries.get(run.dag_run_id, [])) for run in runs]
        except ApiException as error:
            raise MonitorError(f"{dag_id}: HTTP {error.status} {error.reason}") from None
        return dag_metrics(dag_id, since, records)

    def _record(self, dag_id: str, run: DAGRunResponse, tries: list[TaskTry]) -> RunRecord:
        state = run.state.value
        if state not in FINISHED:
            return RunRecord(run.dag_run_id, state, None, RunCost(None, None))
        compute, unpriced = compute_cost(tries, self.slots)
        model, why = self._model_cost(dag_id, run.dag_run_id)
        return RunRecord(
            run.dag_run_id, state, run.duration, RunCost(compute, model, (*unpriced, *why))
        )

    def _model_cost(self, dag_id: str, run_id: str) -> tuple[float | None, list[str]]:
        """USD of the run's model tokens, and why it is unknown (then None)."""
        if dag_id not in self.generator_dags:
            return 0.0, []
        try:
            entry = self.xcoms.get_xcom_entry(dag_id, SUMMARY_TASK, run_id, USAGE_KEY)
        except NotFoundException:
            return None, [f"run {run_id}: no model usage recorded ({SUMMARY_TASK} did not push it)"]
        usage = getattr(entry.actual_instance, "value", None)
        if not isinstance(usage, dict):
            return None, [f"run {run_id}: its {USAGE_KEY} XCom is not a mapping: {usage!r}"]
        cost = usage.get("cost_usd")
        if cost is None:
            models = ", ".join(usage.get("unpriced_models") or ["a model"])
            return None, [f"no price for model {models} (set $AIRFLOW_LLM_PRICES)"]
        return float(cost), []

    def _runs(self, dag_id: str, since: dt.datetime) -> Iterator[DAGRunResponse]:
        def page(offset: int) -> tuple[list[DAGRunResponse], int | None]:
            response = self.dag_runs.get_dag_runs(
                dag_id, run_after_gte=since, limit=PAGE_SIZE, offset=offset, order_by=["id"]
            )
            return response.dag_runs, response.total_entries

        return _pages(page)

    def _tries_by_run(self, dag_id: str, since: dt.datetime) -> dict[str, list[TaskTry]]:
        """Every try of every task instance of the runs since ``since``, by run id."""

        def page(offset: int) -> tuple[list[TaskInstanceResponse], int | None]:
            response = self.task_instances.get_task_instances(
                dag_id, "~", run_after_gte=since, limit=PAGE_SIZE, offset=offset, order_by=["id"]
            )
            return response.task_instances, response.total_entries

        tries: dict[str, list[TaskTry]] = defaultdict(list)
        for instance in _pages(page):
            tries[instance.dag_run_id] += self._tries(instance)
        return tries

    def _tries(self, instance: TaskInstanceResponse) -> list[TaskTry]:
        """The instance's tries: its current one, or every one when it was retried (the
        history holds the earlier tries' run times)."""
        if instance.try_number <= 1:
            seconds = instance.duration or 0.0
            return [TaskTry(instance.task_id, seconds, instance.queue, instance.executor)]
        arguments = (instance.dag_id, instance.dag_run_id, instance.task_id)
        if instance.map_index >= 0:
            history = self.task_instances.get_mapped_task_instance_tries(
                *arguments, map_index=instance.map_index
            )
        else:
            history = self.task_instances.get_task_instance_tries(*arguments)
        return [
            TaskTry(t.task_id, t.duration or 0.0, t.queue, t.executor)
            for t in history.task_instances
        ]


def _pages(fetch: Callable[[int], tuple[list[Page], int | None]]) -> Iterator[Page]:
    """Every entry of an offset-paginated collection (``fetch(offset)`` gives a page and
    the total, when the server counts it)."""
    offset = 0
    while True:
        entries, total = fetch(offset)
        yield from entries
        offset += len(entries)
        if not entries or (offset >= total if total is not None else len(entries) < PAGE_SIZE):
            return
