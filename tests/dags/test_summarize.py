"""The flow's ``summarize`` task, run by Airflow after a mapped task standing in for the
``batch`` group's publish, with one spec crashing on its last try and one instance
failing: the summary of the others is written and the run fails, naming the specs whose
bundle never came. A spec the gates refused is a result, not a failure. ``each_spec``
retries a batch while tries are left."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.bundles.manager import DagBundlesManager
from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

from airflow_llm.flow import each_spec, unfinished
from tests.fixtures.dags.summarize_after_a_failed_publish import PLANNED

pytestmark = pytest.mark.integration
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "dags"


def test_a_failed_bundle_fails_the_run_after_the_summary(airflow_db: Path) -> None:
    bag = DagBag(dag_folder=str(FIXTURE))
    DagBundlesManager().sync_bundles_to_db()
    sync_bag_to_db(bag, "dags-folder", None)  # outside the DAGs folder dag.test() serializes
    dag = bag.get_dag("summarize_after_a_failed_publish")
    assert dag is not None
    run = dag.test()
    assert run.state == "failed"
    summary = next(ti for ti in run.get_task_instances() if ti.task_id == "summarize")
    assert summary.state == "failed"
    rows = summary.xcom_pull(task_ids="summarize")
    assert {row["pipeline"]: row["status"] for row in rows} == {
        "orders": "published",
        "broken": "rejected",
    }


def crash_on(name: str) -> Any:
    def run(spec: dict[str, Any]) -> dict[str, Any]:
        if spec["pipeline"] == name:
            raise RuntimeError(f"{name} crashed")
        return {**spec, "status": "published"}

    return run


def test_a_spec_that_crashes_before_the_last_try_fails_the_batch_for_a_retry() -> None:
    ran: list[str] = []

    def run(spec: dict[str, Any]) -> dict[str, Any]:
        ran.append(spec["pipeline"])
        return crash_on("refunds")(spec)

    with pytest.raises(RuntimeError, match="refunds crashed"):
        each_spec(PLANNED, run, last_try=False, threads=2)
    assert sorted(ran) == sorted(spec["pipeline"] for spec in PLANNED), "the others ran"


def test_on_the_last_try_the_batch_goes_on_without_the_crashed_spec(
    caplog: pytest.LogCaptureFixture,
) -> None:
    results = each_spec(PLANNED, crash_on("refunds"), last_try=True, threads=3)
    assert [result["pipeline"] for result in results] == ["orders", "broken", "late"], "in order"
    assert "dev/refunds failed on its last try" in caplog.text


@pytest.mark.parametrize(
    ("finished", "missing"),
    [
        (PLANNED, []),
        (PLANNED[:1], ["dev/refunds", "dev/broken", "dev/late"]),
        ([], ["dev/orders", "dev/refunds", "dev/broken", "dev/late"]),
    ],
)
def test_unfinished_names_the_specs_without_a_result(
    finished: list[dict[str, Any]], missing: list[str]
) -> None:
    assert unfinished(PLANNED, finished) == missing


def test_the_idle_item_of_a_run_with_nothing_to_do_is_never_missing() -> None:
    idle = {"environment": "-", "pipeline": "-", "status": "idle"}
    assert unfinished([idle], []) == []
