"""Gates a rendered bundle must pass before it counts as valid.

- types: mypy over the DAG file and every Python resource, in one call;
- import: the DAG folder parses in a sandboxed DagBag subprocess, without errors;
- structure: the parsed DAG's tasks and edges equal ``tasks.yml``, every task retries.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from airflow_llm.bundle.render import BundleLayout
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import TaskSpec
from airflow_llm.validate.dag_import import import_dags
from airflow_llm.validate.findings import Finding
from airflow_llm.validate.mypy_batch import mypy_findings


def gate_bundle(
    pipeline: str, files: Mapping[str, str], tasks: list[TaskSpec], settings: GenerationSettings
) -> list[Finding]:
    """Every blocking problem of the bundle ``files`` (empty when it may be published)."""
    layout = BundleLayout(pipeline)
    root = settings.scratch_dir(f"gate-{pipeline}")
    for relative, content in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(content)
    python_files = sorted(root / name for name in files if name.endswith(".py"))
    findings = mypy_findings(python_files, settings.work_dir / "mypy-cache", root)
    parsed = import_dags(root / "dags")
    for path, error in parsed.errors.items():
        last_line = error.strip().splitlines()[-1] if error.strip() else error
        findings.append(Finding(_relative(path, root), None, "dag.import", last_line))
    dag = parsed.dags.get(pipeline)
    if dag is None:
        if not parsed.errors:
            findings.append(Finding(layout.dag_file, None, "dag.missing", f"no DAG {pipeline!r}"))
        return findings
    return findings + structure_findings(layout.dag_file, dag, tasks)


def structure_findings(
    dag_file: str, dag: Mapping[str, object], tasks: list[TaskSpec]
) -> list[Finding]:
    """The parsed DAG against the task list: same tasks, same edges, retries everywhere."""
    findings = []
    expected_tasks = sorted(task.name for task in tasks)
    if dag["tasks"] != expected_tasks:
        message = f"tasks {dag['tasks']} differ from tasks.yml {expected_tasks}"
        findings.append(Finding(dag_file, None, "structure.tasks", message))
    expected_edges = sorted([up, task.name] for task in tasks for up in task.depends_on)
    if dag["edges"] != expected_edges:
        message = f"edges {dag['edges']} differ from tasks.yml {expected_edges}"
        findings.append(Finding(dag_file, None, "structure.edges", message))
    retries = dag.get("retries")
    if isinstance(retries, dict):
        missing = sorted(task_id for task_id, count in retries.items() if count is None)
        if missing:
            findings.append(Finding(dag_file, None, "structure.retries", f"no retries: {missing}"))
    return findings


def _relative(path: str, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return path
