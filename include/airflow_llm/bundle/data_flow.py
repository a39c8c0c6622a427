"""What each task of a bundle reads, and what produces it.

A SQL task reads the tables its script names (sqlglot: not its CTEs, not a table it
creates before it reads it; one it rewrites in place from its own rows is read), a
quality task the table its suite checks, an operator-pattern task what its pattern says
its parameters read (:meth:`~airflow_llm.patterns.operators.OperatorPattern.data_reads`),
a free-form Python task the XCom of its upstream tasks (its function gets them) and
what its code reads, which is ``unknown``; a task mapped over another reads that one's
XCom.

Each read's producer (:class:`~airflow_llm.patterns.reads.Read`): a table is a
``source`` when the spec declares it, else the ``task`` upstream (a transitive
ancestor) that writes it (its output, the tables its SQL writes, what its pattern
writes besides), else nothing. A file or object is the upstream task's that writes it
(by the path or key they both state), else what its pattern says (``source`` for an
object of a declared source's rows), else ``external``: a landing file a sensor upstream
waits for, or one the words or ``config.yml`` name outside the pipeline.

``tasks.yml`` records the reads per task; the structure gate refuses a bundle whose
task reads a table nothing produces (``structure.unproduced_input``, as the smoke run's
``smoke.unproduced_input``, found before anything runs), and one whose ``tasks.yml``
records other reads than its files give (``structure.stale_reads``). Two cases only warn: a spec
that declares no sources (what exists is then unknown, not missing), and an upstream
task whose writes are unknown (free-form code, a container) that may write the table.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import yaml

from airflow_llm.patterns.context import SCHEMA_PLACEHOLDER, Relation
from airflow_llm.patterns.operators import BoundOperator
from airflow_llm.patterns.reads import Read, is_config_reference, same_place, same_table
from airflow_llm.spec import SourceTable, TaskSpec, reachable
from airflow_llm.validate.findings import Finding
from airflow_llm.validate.sql import read_tables, written_tables

FREE_FORM_READS = "what its free-form code reads"


def sql_params(config_yml: str) -> dict[str, Any]:
    """The SQL template parameters of the first environment in ``config.yml`` (the
    DAG's ``SQL_PARAMS``); ``ValueError`` when it holds no environment."""
    config = yaml.safe_load(config_yml)
    if not isinstance(config, dict) or not config:
        raise ValueError("config.yml holds no environment")
    environment = next(iter(config.values()))
    params = {"schema": environment.get("schema"), "bucket": environment.get("bucket")}
    params.update(environment.get("vars") or {})
    return params


@dataclass(frozen=True)
class DataFlow:
    """A bundle's tasks and what they are made of, from which what each reads follows."""

    tasks: Sequence[TaskSpec]
    sources: Sequence[SourceTable]
    dialect: str
    artifacts: Mapping[str, str]
    """Each task's resource (SQL, suite, function, operator parameters), by task name."""
    operators: Mapping[str, BoundOperator]
    """The tasks operator patterns serve."""
    outputs: Mapping[str, Relation]
    """The table or file each task writes (where known), by task name."""
    params: Mapping[str, Any]
    """The SQL templates' parameters (see :func:`sql_params`)."""

    @cached_property
    def reads(self) -> dict[str, list[Read]]:
        """Per task (by name, in task order), what it reads, with its producer."""
        return {
            task.name: [self._resolve(task, read) for read in self._reads_of(task)]
            for task in self.tasks
        }

    def findings(self, file_of: Callable[[TaskSpec], str]) -> list[Finding]:
        """A finding per table a task reads that nothing produces, on the task's
        resource file (``file_of``)."""
        return [
            self._unproduced(task, read, file_of(task))
            for task in self.tasks
            for read in self.reads[task.name]
            if read.kind == "table" and read.unproduced
        ]

    def recorded_findings(self, recorded: Mapping[str, Sequence[Read]], file: str) -> list[Finding]:
        """A blocking finding on ``file`` (``tasks.yml``) per task whose ``recorded``
        reads (``tasks.yml``'s, in any order) differ from what the bundle's files say it
        reads; none when nothing is recorded (a bundle older than ``reads``)."""
        if not recorded:
            return []
        findings = []
        for task in self.tasks:
            worked_out, listed = set(self.reads[task.name]), set(recorded.get(task.name, []))
            if listed == worked_out:
                continue
            message = (
                f"{task.name}: tasks.yml records {_described(listed - worked_out)} where its "
                f"files give {_described(worked_out - listed)}: tasks.yml was edited by "
                "hand or is stale; render the bundle again"
            )
            findings.append(Finding(file, None, "structure.stale_reads", message))
        return findings

    def _reads_of(self, task: TaskSpec) -> list[Read]:
        """What ``task`` reads, producers not resolved yet."""
        artifact = self.artifacts.get(task.name, "")
        if task.name in self.operators:
            reads = self.operators[task.name].reads()
        elif task.kind == "sql":
            tables = read_tables(artifact, self.dialect, self._template_params)
            no_parse = [Read.unknown("SQL that does not parse")] if tables is None else []
            reads = [Read("table", _unplaced(name)) for name in tables or []] + no_parse
        elif task.kind == "quality":
            reads = [_suite_table(artifact)]
        else:
            passed = task.depends_on if task.kind != "llm" else []
            reads = [Read.of_task("xcom", up, up) for up in passed]
            reads.append(Read.unknown(FREE_FORM_READS))
        if task.map_over is not None:
            reads.insert(0, Read.of_task("xcom", task.map_over, task.map_over))
        return list(dict.fromkeys(reads))

    @cached_property
    def _writes(self) -> dict[str, tuple[list[Read], bool]]:
        """Per task, what it writes that others may read, and whether it may write more
        (free-form code, code the bundle does not hold)."""
        return {task.name: self._writes_of(task) for task in self.tasks}

    def _writes_of(self, task: TaskSpec) -> tuple[list[Read], bool]:
        found = []
        output = self.outputs.get(task.name)
        if output is not None:
            found.append(Read("file" if output.file_format else "table", output.name))
        if task.kind == "sql":
            artifact = self.artifacts.get(task.name, "")
            written = written_tables(artifact, self.dialect, self._template_params, True)
            found += [Read("table", _unplaced(name)) for name in written]
        bound = self.operators.get(task.name)
        if bound is not None:
            return found + bound.writes(), bound.pattern.runs_code
        return found, task.kind not in ("sql", "quality")

    @cached_property
    def _template_params(self) -> dict[str, Any]:
        """The parameters, the pipeline's schema a placeholder (reads name no
        environment's schema)."""
        return {**self.params, "schema": SCHEMA_PLACEHOLDER}

    @cached_property
    def _ancestors(self) -> dict[str, list[TaskSpec]]:
        """Each task's upstream tasks, transitive, in the bundle's task order."""
        graph = {task.name: list(task.depends_on) for task in self.tasks}
        return {
            task.name: [t for t in self.tasks if t.name in reachable(task.name, graph)]
            for task in self.tasks
        }

    def _resolve(self, task: TaskSpec, read: Read) -> Read:
        """``read`` with its producer: a table's source, else an upstream task writing it
        (the last in task order); a file's or object's upstream writer, else what its
        pattern says (``external`` when it says nothing)."""
        if read.kind == "unknown" or read.producer == "task":
            return read
        if read.kind == "table" and any(same_table(read.name, s.name) for s in self.sources):
            return read.produced("source")
        for upstream in reversed(self._ancestors[task.name]):
            if any(_same(read, written) for written in self._writes[upstream.name][0]):
                return read.produced("task", upstream.name)
        if read.kind == "table" or read.producer is not None:
            return read
        return read.produced("external")

    def _unproduced(self, task: TaskSpec, read: Read, file: str) -> Finding:
        """The finding of a table ``task`` reads that nothing produces: blocking, unless
        the spec declares no sources or an upstream task may write it unseen."""
        if not self.sources:
            message = (
                f"{task.name} reads table {read.name}, and the spec declares no sources: "
                "not verified before the smoke run"
            )
            return Finding(file, None, "structure.no_sources", message, severity="warning")
        unseen = [t.name for t in self._ancestors[task.name] if self._writes[t.name][1]]
        if unseen:
            message = (
                f"{task.name} reads table {read.name}, which no source or upstream task is "
                f"known to write; {', '.join(unseen)} may (code the bundle cannot read): "
                "not verified before the smoke run"
            )
            return Finding(file, None, "structure.unverified_input", message, severity="warning")
        writers = [
            t.name
            for t in self.tasks
            if t.name != task.name and any(_same(read, w) for w in self._writes[t.name][0])
        ]
        hint = (
            f" ({', '.join(writers)} writes it but does not run before {task.name}: add it "
            "to depends_on)"
            if writers
            else ""
        )
        message = (
            f"{task.name} reads table {read.name}, which nothing produces{hint}: declare it "
            "under the spec's sources, or have an upstream task write it"
        )
        return Finding(file, None, "structure.unproduced_input", message)


def _same(read: Read, written: Read) -> bool:
    """Whether ``written`` is what ``read`` reads: the same table, or the same stated
    path or key (a value ``config.yml`` gives may be any)."""
    if read.kind != written.kind:
        return False
    if read.kind == "table":
        return same_table(read.name, written.name)
    configured = is_config_reference(read.name) or is_config_reference(written.name)
    return not configured and same_place(read.name, written.name)


def _described(reads: set[Read]) -> str:
    """``reads`` for people, in a stable order (``nothing`` when there are none)."""
    return "; ".join(sorted(read.describe() for read in reads)) or "nothing"


def _unplaced(name: str) -> str:
    """A table name without the placeholder of the pipeline's schema."""
    prefix = f"{SCHEMA_PLACEHOLDER}."
    return name[len(prefix) :] if name.startswith(prefix) else name


def _suite_table(artifact: str) -> Read:
    """The table an expectation suite checks."""
    try:
        table = json.loads(artifact).get("table")
    except (ValueError, AttributeError):
        table = None
    if not isinstance(table, str) or not table:
        return Read.unknown("a suite that names no table")
    return Read("table", table)
