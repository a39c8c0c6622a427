"""Import a generated DAG folder with DagBag in a sandboxed subprocess.

Generated code is untrusted: it is never imported by the calling process.
:func:`parse_folder` runs in a child of :mod:`airflow_llm.validate.sandbox` (scrubbed
environment, throw-away ``AIRFLOW_HOME``, timeout, memory limit, no network) and
reports what it parsed:
DAG ids, their tasks and edges, retries, the data interval of a run of the sample
logical date (what the smoke run's ``dag.test()`` reads), and import errors.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_llm.validate.sandbox import default_zygote


@dataclass(frozen=True)
class DagImport:
    """What the sandboxed DagBag saw."""

    dags: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def import_dags(dags_dir: Path, timeout: float = 120.0) -> DagImport:
    """Parse every DAG file in ``dags_dir`` in a child process; never raises for bad DAGs."""
    with tempfile.TemporaryDirectory(prefix="airflow-llm-sandbox-") as home:
        folder = {"dags": str(dags_dir.resolve())}
        run = default_zygote().run(f"{__name__}:parse_folder", folder, Path(home), timeout)
    if run.result is None:
        reason = f"import did not finish in {timeout:.0f} s" if run.timed_out else run.failure()
        return DagImport(errors={str(dags_dir): f"DagBag {reason}"})
    return DagImport(dags=run.result["dags"], errors=run.result["errors"])


def parse_folder(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """What DagBag parses in the folder ``arguments["dags"]`` (called in the sandbox)."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import timezone
    from airflow.serialization.encoders import coerce_to_core_timetable

    from airflow_llm.validate.sql import SAMPLE_LOGICAL_DATE

    bag = DagBag(dag_folder=arguments["dags"])
    dags = {}
    for dag_id, dag in bag.dags.items():
        tasks = dag.task_dict
        timetable = coerce_to_core_timetable(dag.timetable)
        run = timezone.coerce_datetime(SAMPLE_LOGICAL_DATE)
        interval = timetable.infer_manual_data_interval(run_after=run)
        dags[dag_id] = {
            "tasks": sorted(tasks),
            "edges": sorted(
                [up, down] for up, t in tasks.items() for down in t.downstream_task_ids
            ),
            "retries": {task_id: t.retries for task_id, t in tasks.items()},
            "interval": [interval.start.isoformat(), interval.end.isoformat()],
        }
    errors = {str(path): str(error) for path, error in bag.import_errors.items()}
    return {"dags": dags, "errors": errors}
