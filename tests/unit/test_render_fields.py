"""Every spec field the rendered DAG is given has an effect on the parsed DAG.

``resources.cpu`` / ``resources.memory`` become the pod requests of the task under the
KubernetesExecutor (``executor_config={"pod_override": V1Pod}``), and the DAG still
imports without the Kubernetes client; ``stakeholders`` are named in the DAG's
documentation and emailed by an ``SmtpNotifier`` when a task fails. The rendered DAG
is parsed with ``DagBag`` and its operators' attributes are checked.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator
from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.serialization.serialized_objects import DagSerialization
from kubernetes.client import models as k8s

from airflow_llm.bundle.render import render_bundle
from airflow_llm.spec import PipelineSpec

SPEC = PipelineSpec.model_validate(
    {
        "name": "sized",
        "description": "Load the day's orders, then score them.",
        "owners": ["data-platform"],
        "stakeholders": ["finance@example.com", "ops@example.com"],
        "tasks": [
            {
                "name": "load",
                "kind": "sql",
                "description": "Load the day's orders.",
                "resources": {"cpu": "500m", "memory": "1Gi", "pool": "warehouse", "queue": "big"},
            },
            {
                "name": "score",
                "kind": "python",
                "description": "Score them.",
                "depends_on": "load",
                "resources": {"memory": "2Gi"},
            },
            {
                "name": "check",
                "kind": "quality",
                "description": "Check the orders.",
                "depends_on": "load",
            },
        ],
    }
)
ARTIFACTS = {
    "load": "SELECT 1 AS loaded\n",
    "score": "def run(config, upstream, item=None):\n    return 1\n",
    "check": '{"expectations": [], "name": "sized.check", "table": "orders"}\n',
}


def parsed(spec: PipelineSpec, folder: Path) -> Any:
    """The DAG of ``spec``'s rendered bundle, as DagBag parses it."""
    for relative, content in render_bundle(spec, list(spec.tasks or []), ARTIFACTS).items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(content)
    bag = DagBag(dag_folder=str(folder / "dags"))
    assert bag.import_errors == {}
    return bag.dags[spec.name]


def test_cpu_and_memory_become_the_pod_requests_of_the_kubernetes_executor(
    tmp_path: Path,
) -> None:
    dag = parsed(SPEC, tmp_path)
    load, score, check = (dag.get_task(name) for name in ("load", "score", "check"))
    assert (load.pool, load.queue) == ("warehouse", "big")
    assert check.executor_config == {}, "no requests, no override"

    for task, requests in ((load, {"cpu": "500m", "memory": "1Gi"}), (score, {"memory": "2Gi"})):
        override = PodGenerator.from_obj(task.executor_config)
        assert isinstance(override, k8s.V1Pod)
        base = k8s.V1Pod(
            spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="base", image="worker:1")])
        )
        pod = PodGenerator.reconcile_pods(base, override)
        (container,) = pod.spec.containers
        assert (container.name, container.image) == ("base", "worker:1")
        assert container.resources.requests == requests


def test_the_pod_override_survives_dag_serialization(tmp_path: Path) -> None:
    """What the scheduler stores and the executor reads back."""
    dag = parsed(SPEC, tmp_path)
    restored = DagSerialization.from_dict(DagSerialization.to_dict(dag))
    pod = restored.get_task("load").executor_config["pod_override"]
    assert isinstance(pod, k8s.V1Pod)
    assert pod.spec.containers[0].resources.requests == {"cpu": "500m", "memory": "1Gi"}


def test_without_the_kubernetes_client_the_dag_imports_with_no_requests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CeleryExecutor or LocalExecutor deployment has no Kubernetes client."""
    for module in ("kubernetes", "kubernetes.client", "kubernetes.client.models"):
        monkeypatch.setitem(sys.modules, module, None)
    dag = parsed(SPEC, tmp_path)
    assert dag.get_task("load").executor_config == {}
    assert dag.get_task("load").pool == "warehouse"


def test_stakeholders_are_emailed_when_a_task_fails_and_named_in_the_docs(
    tmp_path: Path,
) -> None:
    dag = parsed(SPEC, tmp_path)
    docs = " ".join(dag.doc_md.split())
    assert (
        "Stakeholders, emailed when a task fails after its retries: "
        "finance@example.com, ops@example.com."
    ) in docs
    assert "Owners: data-platform." in docs
    for task in dag.tasks:
        callbacks = task.on_failure_callback
        notifiers = callbacks if isinstance(callbacks, list) else [callbacks]
        assert len(notifiers) == 1, task.task_id
        (notifier,) = notifiers
        assert isinstance(notifier, SmtpNotifier)
        assert notifier.to == ["finance@example.com", "ops@example.com"]
        assert task.owner == "data-platform"


def test_a_spec_without_stakeholders_or_requests_renders_neither(tmp_path: Path) -> None:
    plain = SPEC.model_copy(
        update={
            "stakeholders": [],
            "tasks": [
                task.model_copy(update={"resources": task.resources.model_copy(
                    update={"cpu": None, "memory": None}
                )})
                for task in SPEC.tasks or []
            ],
        }
    )  # fmt: skip
    source = render_bundle(plain, list(plain.tasks or []), ARTIFACTS)["dags/sized.py"]
    assert "SmtpNotifier" not in source
    assert "_pod_override" not in source
    dag = parsed(plain, tmp_path)
    assert all(not task.on_failure_callback for task in dag.tasks)
    assert all(task.executor_config == {} for task in dag.tasks)
    assert "Stakeholders" not in dag.doc_md


@pytest.mark.parametrize(
    ("schedule", "assets", "timetable", "expression"),
    [
        ("@daily", [], "CronDataIntervalTimetable", "0 0 * * *"),
        (None, ["s3://lake/orders/", "orders_landed"], "AssetTriggeredTimetable", None),
        ("0 6 * * 1-5", ["orders_landed"], "AssetOrTimeSchedule", "0 6 * * 1-5"),
    ],
)
def test_the_schedule_and_upstream_assets_are_the_dags_timetable(
    tmp_path: Path,
    schedule: str | None,
    assets: list[str],
    timetable: str,
    expression: str | None,
) -> None:
    spec = SPEC.model_copy(update={"schedule": schedule, "upstream_assets": assets})
    dag = parsed(spec, tmp_path)
    assert type(dag.timetable).__name__ == timetable
    cron = getattr(dag.timetable, "timetable", dag.timetable)
    assert getattr(cron, "_expression", getattr(cron, "expression", None)) == expression
    condition = getattr(dag.timetable, "asset_condition", None)
    names = [asset.name for asset in getattr(condition, "objects", [])]
    assert names == assets, "every upstream Asset, all of them needed"
    restored = DagSerialization.from_dict(DagSerialization.to_dict(dag))
    assert type(restored.timetable).__name__ == timetable, "as the scheduler stores it"
