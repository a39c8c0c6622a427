"""Gates a rendered bundle must pass before it counts as valid.

- types: mypy over the DAG file and every Python resource, in one call;
- import: the DAG folder parses in a sandboxed DagBag subprocess, without errors;
- structure: the parsed DAG's tasks, edges and retry policies equal ``tasks.yml`` (with
  the tasks operator patterns add after theirs), every resource file the DAG reads is
  in the bundle, every table a task reads is a source or an upstream task's
  (:mod:`airflow_llm.bundle.data_flow`: ``structure.unproduced_input``), and the reads
  ``tasks.yml`` records are those the bundle's files give (``structure.stale_reads``);
- smoke run: the DAG runs end to end on sample data in a sandbox
  (:mod:`airflow_llm.validate.smoke_run`), only when everything above passed.

Everything the gates need comes from the bundle itself (``tasks.yml`` lists tasks,
dialect and sources), so the same gates re-run on published bytes before promotion.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from itertools import pairwise
from pathlib import Path
from typing import Any

from airflow_llm.bundle.data_flow import DataFlow, sql_params
from airflow_llm.bundle.render import (
    BundleLayout,
    TasksDocument,
    document_operators,
    parse_tasks_document,
)
from airflow_llm.patterns.operators import BoundOperator
from airflow_llm.patterns.reads import Read
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import TaskSpec
from airflow_llm.validate.dag_import import import_dags
from airflow_llm.validate.findings import Finding, errors
from airflow_llm.validate.mypy_batch import mypy_findings
from airflow_llm.validate.smoke_run import smoke_run

GATES = ("types", "import", "structure", "smoke_run")


def gates_run(settings: GenerationSettings) -> dict[str, bool]:
    """Which gates :func:`gate_bundle` runs with ``settings`` (the manifest records it)."""
    return {gate: gate != "smoke_run" or settings.smoke_run for gate in GATES}


@dataclass(frozen=True)
class GateResult:
    """The gates' findings and, when it ran, the smoke run's report (with its ``seconds``
    and whether it ``passed``)."""

    findings: list[Finding]
    smoke: dict[str, Any] | None = field(default=None)
    seconds: float | None = None
    """Wall seconds of all the gates together, for the report (and the Bundles view's
    metrics)."""
    reads: dict[str, list[Read]] | None = None
    """What each task reads, with its producer, when the structure gate ran."""

    @property
    def passed(self) -> bool:
        """True when no gate found a blocking problem."""
        return not errors(self.findings)


def gate_bundle(
    pipeline: str, files: Mapping[str, str], settings: GenerationSettings
) -> GateResult:
    """Run every gate on the bundle ``files`` (paths relative to the bundle root).

    The gates work in a stable scratch folder per pipeline (mypy's cache knows files by
    path), one gate at a time (say, for two environments on one worker).
    """
    with settings.scratch_dir(f"gate-{pipeline}") as root:
        started = time.monotonic()  # not counting the wait for the folder
        result = _gate(pipeline, files, settings, root)
        return replace(result, seconds=round(time.monotonic() - started, 3))


def _gate(
    pipeline: str, files: Mapping[str, str], settings: GenerationSettings, root: Path
) -> GateResult:
    layout = BundleLayout(pipeline)
    document = parse_tasks_document(files[layout.resource("tasks.yml")])
    for relative, content in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(content)
    python_files = sorted(root / name for name in files if name.endswith(".py"))
    findings = mypy_findings(python_files, settings.work_dir / "mypy-cache", root)
    findings += resource_findings(layout, files, document)
    parsed = import_dags(root / "dags")
    for path, error in parsed.errors.items():
        last_line = error.strip().splitlines()[-1] if error.strip() else error
        findings.append(Finding(_relative(path, root), None, "dag.import", last_line))
    dag = parsed.dags.get(pipeline)
    if dag is None:
        if not parsed.errors:
            findings.append(Finding(layout.dag_file, None, "dag.missing", f"no DAG {pipeline!r}"))
        return GateResult(findings)
    try:
        operators = document_operators(document, lambda file: files[layout.resource(file)])
    except (KeyError, ValueError) as error:
        message = f"an operator's artifact does not read: {error}"
        return GateResult(
            [*findings, Finding(layout.resources, None, "structure.operator", message)]
        )
    followers = {name: bound.followers() for name, bound in operators.items()}
    findings += structure_findings(layout.dag_file, dag, document.tasks, followers)
    flow = bundle_flow(layout, files, document, operators)
    findings += flow.findings(lambda task: layout.resource(document.file(task)))
    findings += flow.recorded_findings(document.reads, layout.resource("tasks.yml"))
    if errors(findings) or not settings.smoke_run:
        return GateResult(findings, reads=flow.reads)
    interval = dag.get("interval")
    started = time.monotonic()
    smoke = smoke_run(root, document, settings, tuple(interval) if interval else None)
    seconds = round(time.monotonic() - started, 3)
    ran = {**smoke.to_dict(), "seconds": seconds, "passed": not errors(smoke.findings)}
    return GateResult(findings + smoke.findings, ran, reads=flow.reads)


def bundle_flow(
    layout: BundleLayout,
    files: Mapping[str, str],
    document: TasksDocument,
    operators: Mapping[str, BoundOperator],
) -> DataFlow:
    """What the bundle's tasks read, from its artifacts (not from what ``tasks.yml``
    says they read, which is checked against it): the same gate holds for bundles
    written before it recorded reads."""
    artifacts = {t.name: files.get(layout.resource(document.file(t)), "") for t in document.tasks}
    params = sql_params(files[layout.resource("config.yml")])
    return DataFlow(
        document.tasks, document.sources, document.dialect, artifacts, operators,
        document.outputs, params,
    )  # fmt: skip


def resource_findings(
    layout: BundleLayout, files: Mapping[str, str], document: TasksDocument
) -> list[Finding]:
    """Every file the DAG reads (its config and each task's resource) is in the bundle."""
    resources = [layout.resource(document.file(task)) for task in document.tasks]
    needed = [layout.resource("config.yml"), *resources]
    return [
        Finding(layout.dag_file, None, "structure.resource", f"missing resource {path}")
        for path in needed
        if path not in files
    ]


def structure_findings(
    dag_file: str,
    dag: Mapping[str, object],
    tasks: list[TaskSpec],
    followers: Mapping[str, list[str]] | None = None,
) -> list[Finding]:
    """The parsed DAG against the task list: same tasks, same edges, the declared retries.
    A task's ``followers`` (the tasks its operator pattern adds after it) run in a chain
    after it, and the last of them has its downstream edges."""
    findings = []
    chains = {task.name: [task.name, *(followers or {}).get(task.name, [])] for task in tasks}
    expected_tasks = sorted(name for chain in chains.values() for name in chain)
    if dag["tasks"] != expected_tasks:
        message = f"tasks {dag['tasks']} differ from tasks.yml {expected_tasks}"
        findings.append(Finding(dag_file, None, "structure.tasks", message))
    expected_edges = sorted(
        [*([chains[up][-1], task.name] for task in tasks for up in task.depends_on)]
        + [[a, b] for chain in chains.values() for a, b in pairwise(chain)]
    )
    if dag["edges"] != expected_edges:
        message = f"edges {dag['edges']} differ from tasks.yml {expected_edges}"
        findings.append(Finding(dag_file, None, "structure.edges", message))
    retries = dag.get("retries")
    declared = {task.name: task.retries for task in tasks}
    if isinstance(retries, dict):
        wrong = sorted(name for name, count in declared.items() if retries.get(name) != count)
        if wrong:
            message = f"retries of {wrong} differ from tasks.yml"
            findings.append(Finding(dag_file, None, "structure.retries", message))
    return findings


def _relative(path: str, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return path
