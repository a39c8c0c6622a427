"""Tasks go to the executor queues the deployment names: model-bound ones to
``AIRFLOW_LLM_QUEUE_LLM``, CPU-bound ones to ``AIRFLOW_LLM_QUEUE_GATES``, the rest to
Airflow's default queue. Queues are fixed when a DAG file is parsed, so the DAGs are
parsed in a fresh interpreter with the settings in its environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
PARSE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
assert not bag.import_errors, bag.import_errors
queues = {d: {t.task_id: t.queue for t in dag.tasks} for d, dag in bag.dags.items()}
print("QUEUES " + json.dumps(queues))
"""
MODEL_BOUND = {
    "airflow_llm_generate": {"plan", "batch.generate"},
    "airflow_llm_regenerate": {"plan", "batch.generate"},
    "airflow_llm_heal": {"heal"},
}
CPU_BOUND = {
    "airflow_llm_generate": {"batch.gate"},
    "airflow_llm_regenerate": {"batch.gate"},
    "airflow_llm_promote": {"promote_to_staging", "promote_to_prod"},
}


def parsed_queues(settings: dict[str, str]) -> dict[str, dict[str, str]]:
    environment = {**os.environ, **settings}
    for name in ("AIRFLOW_LLM_QUEUE_LLM", "AIRFLOW_LLM_QUEUE_GATES"):
        if name not in settings:
            environment.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-c", PARSE, str(DAGS_DIR)],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("QUEUES "))
    queues: dict[str, dict[str, str]] = json.loads(line.removeprefix("QUEUES "))
    return queues


def test_tasks_carry_the_queues_the_deployment_names() -> None:
    queues = parsed_queues(
        {
            "AIRFLOW_LLM_QUEUE_LLM": "llm-q",
            "AIRFLOW_LLM_QUEUE_GATES": "gates-q",
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": "rest-q",
        }
    )
    assert set(MODEL_BOUND) | set(CPU_BOUND) <= set(queues)
    for dag_id, tasks in queues.items():
        for task_id, queue in tasks.items():
            if task_id in MODEL_BOUND.get(dag_id, set()):
                assert queue == "llm-q", (dag_id, task_id)
            elif task_id in CPU_BOUND.get(dag_id, set()):
                assert queue == "gates-q", (dag_id, task_id)
            else:
                assert queue == "rest-q", (dag_id, task_id)


def test_unset_queues_mean_airflows_default_queue() -> None:
    queues = parsed_queues({"AIRFLOW__OPERATORS__DEFAULT_QUEUE": "only-q"})
    assert {queue for tasks in queues.values() for queue in tasks.values()} == {"only-q"}
