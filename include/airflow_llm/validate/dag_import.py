"""Import a generated DAG folder with DagBag in a sandboxed subprocess.

Generated code is untrusted: it is never imported by the calling process. The child
gets a scrubbed environment (no credentials, no ``AIRFLOW_CONN_*``, a throw-away
``AIRFLOW_HOME``), a wall-clock timeout and a memory limit, and reports what it
parsed as JSON: DAG ids, their tasks and edges, and import errors.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MEMORY_LIMIT_BYTES = 4 * 1024**3
_CHILD = r"""
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
dags = {}
for dag_id, dag in bag.dags.items():
    tasks = dag.task_dict
    dags[dag_id] = {
        "tasks": sorted(tasks),
        "edges": sorted([up, down] for up, t in tasks.items() for down in t.downstream_task_ids),
        "retries": {task_id: t.retries for task_id, t in tasks.items()},
    }
errors = {str(path): str(error) for path, error in bag.import_errors.items()}
print("@@RESULT@@" + json.dumps({"dags": dags, "errors": errors}))
"""


@dataclass(frozen=True)
class DagImport:
    """What the sandboxed DagBag saw."""

    dags: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))


def import_dags(dags_dir: Path, timeout: float = 120.0) -> DagImport:
    """Parse every DAG file in ``dags_dir`` in a child process; never raises for bad DAGs."""
    with tempfile.TemporaryDirectory(prefix="airflow-llm-sandbox-") as home:
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": home,
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
        }
        try:
            completed = subprocess.run(
                [sys.executable, "-c", _CHILD, str(dags_dir.resolve())],
                env=environment,
                cwd=home,
                capture_output=True,
                text=True,
                timeout=timeout,
                preexec_fn=_limit_memory,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return DagImport(errors={str(dags_dir): f"import did not finish in {timeout:.0f} s"})
    marker = completed.stdout.rfind("@@RESULT@@")
    if marker == -1:
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-5:]
        return DagImport(errors={str(dags_dir): "DagBag crashed: " + " | ".join(tail)})
    result = json.loads(completed.stdout[marker + len("@@RESULT@@") :])
    return DagImport(dags=result["dags"], errors=result["errors"])
