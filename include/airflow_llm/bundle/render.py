"""Render the bundle's files from templates: same spec and artifacts, same bytes.

The orchestration code (imports, operators, dependencies, retries, schedule) comes
from ``templates/dag.py.j2``, a task an operator pattern serves from its snippet
``templates/<pattern>.py.j2``; the model wrote only the SQL bodies, function bodies,
expectation suites and operator parameters passed in as ``artifacts``.
"""

from __future__ import annotations

import graphlib
import hashlib
import re
import sys
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import black
import jinja2
import yaml

from airflow_llm import __version__
from airflow_llm.bundle.data_flow import DataFlow, sql_params
from airflow_llm.patterns import operator_patterns
from airflow_llm.patterns.context import Relation, context_for
from airflow_llm.patterns.operators import OPERATOR_KINDS, BoundOperator, bind
from airflow_llm.patterns.reads import Read
from airflow_llm.spec import PipelineSpec, SourceTable, TaskSpec, reachable
from airflow_llm.validate.python_code import BLACK_MODE
from airflow_llm.validate.secrets import redact_secrets

TEMPLATES = Path(__file__).parent / "templates"
BASE_IMPORTS = (
    "import os",
    "from datetime import datetime, timedelta",
    "from pathlib import Path",
    "from typing import Any",
    "import yaml",
    "from airflow.sdk import DAG",
)
"""What every DAG file imports."""
OPERATOR_SUFFIX = "_operator.json"
"""How the resource of a task an operator pattern serves ends (its parameters)."""


@dataclass(frozen=True)
class BundleLayout:
    """Where a pipeline's files go inside its bundle."""

    pipeline: str

    @property
    def dag_file(self) -> str:
        """The DAG module, relative to the bundle root."""
        return f"dags/{self.pipeline}.py"

    @property
    def resources(self) -> str:
        """The resources folder, relative to the bundle root."""
        return f"dags/resources/{self.pipeline}"

    def resource(self, name: str) -> str:
        """A resource file, relative to the bundle root."""
        return f"{self.resources}/{name}"


def artifact_file(task: TaskSpec, operator: bool = False) -> str:
    """The resource file the model's output for ``task`` is written to (``operator``:
    the parameters of an operator pattern)."""
    if operator:
        return f"{task.name}{OPERATOR_SUFFIX}"
    if task.kind == "sql":
        return f"{task.name}.sql"
    if task.kind == "quality":
        return f"{task.name}_expectations.json"
    return f"{task.name}_function.py"


def spec_sha256(spec: PipelineSpec) -> str:
    """Hash of the validated spec (canonical JSON), independent of file formatting."""
    return hashlib.sha256(spec.model_dump_json(by_alias=True).encode()).hexdigest()


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - renders Python and text, not HTML
    )
    environment.filters["pyrepr"] = repr
    environment.filters["pystr"] = python_string
    environment.filters["wrap"] = _wrap_paragraphs
    environment.filters["comment"] = _comment
    return environment


def python_string(text: str, width: int = 72) -> str:
    """A Python literal for ``text``: ``repr`` when short, else implicitly concatenated
    pieces of at most ``width`` characters, broken after spaces (never inside a Jinja
    ``{{ macro }}``), inside parentheses."""
    if len(repr(text)) <= width:
        return repr(text)
    words: list[str] = []
    for token in re.split(r"(?<=\s)", text):
        if words and words[-1].count("{{") > words[-1].count("}}"):  # inside a macro
            words[-1] += token
        else:
            words.append(token)
    pieces: list[str] = []
    for word in words:
        if pieces and len(pieces[-1]) + len(word) <= width:
            pieces[-1] += word
        else:
            pieces.append(word)
    return "(" + " ".join(repr(piece) for piece in pieces) + ")"


def _wrap_paragraphs(text: str, width: int = 88) -> str:
    """Text for a docstring: each paragraph wrapped at ``width``, triple quotes defused."""
    safe = redact_secrets(text).replace('"' * 3, "'" * 3)
    paragraphs = [" ".join(p.split()) for p in safe.split("\n\n")]
    return "\n\n".join(textwrap.fill(p, width) for p in paragraphs if p)


def _comment(text: str, width: int = 92) -> str:
    """A ``#`` comment block indented for the DAG body."""
    words = " ".join(redact_secrets(text).split())
    return "\n".join(f"    # {line}" for line in textwrap.wrap(words, width))


def ordered_tasks(tasks: list[TaskSpec]) -> list[TaskSpec]:
    """Tasks in dependency order (ties by spec order), so every upstream is defined first."""
    by_name = {task.name: task for task in tasks}
    sorter = graphlib.TopologicalSorter({task.name: task.depends_on for task in tasks})
    sorter.prepare()
    ordered: list[TaskSpec] = []
    position = {task.name: index for index, task in enumerate(tasks)}
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=position.__getitem__)
        ordered.extend(by_name[name] for name in ready)
        sorter.done(*ready)
    return ordered


def render_dag_file(
    spec: PipelineSpec, tasks: list[TaskSpec], operators: Mapping[str, BoundOperator] | None = None
) -> str:
    """The DAG module, formatted with black; the tasks in ``operators`` are their
    provider operators."""
    operators = operators or {}
    ordered = ordered_tasks(tasks)
    downstream = {t.name: sorted(d.name for d in tasks if t.name in d.depends_on) for t in tasks}
    kinds = {task.kind for task in tasks if task.name not in operators}
    has_functions = bool(kinds & {"python", "sensor", "branch", "llm"})
    imports = [
        *BASE_IMPORTS,
        *(line for bound in operators.values() for line in bound.pattern.imports),
    ]
    if has_functions:
        imports += ["import importlib.util", "from types import ModuleType"]
    if has_functions or "quality" in kinds:
        imports.append("from airflow.sdk import get_current_context")
    if kinds - {"sql"}:
        imports.append("from airflow.sdk import task")
    if "sql" in kinds:
        imports.append(
            "from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator"
        )
    if spec.stakeholders:
        imports.append("from airflow.providers.smtp.notifications.smtp import SmtpNotifier")
    schedule, schedule_imports = schedule_source(spec)
    standard, third_party = sorted_imports([*imports, *schedule_imports])
    exits = {name: ([name, *bound.followers()])[-1] for name, bound in operators.items()}
    source = (
        _environment()
        .get_template("dag.py.j2")
        .render(
            spec=spec,
            schedule=schedule,
            tasks=ordered,
            edges=[(exits.get(up, up), task.name) for task in ordered for up in task.depends_on],
            downstream=downstream,
            summary=_summary(spec.description),
            headline=_summary(f"{spec.name}: {spec.description}", width=96),
            tags=sorted({"airflow-llm", *spec.tags}),
            default_environment=next(iter(spec.environments)),
            generator_version=__version__,
            spec_sha256=spec_sha256(spec),
            standard_imports=standard,
            imports=third_party,
            operators={
                name: {
                    "template": bound.pattern.template,
                    "module": bound.pattern.module_template,
                    "params": bound.params,
                    "arguments": bound.pattern.arguments(bound.params, spec, bound.task),
                    "config": f"OPERATORS[{name!r}]",
                }
                for name, bound in operators.items()
            },
            has_quality="quality" in kinds,
            has_functions=has_functions,
            has_pod_requests=any(task.resources.requests for task in tasks),
            after_branch=after_a_branch(tasks),
            join_rule=JOIN_RULE,
            in_schema=all(env.schema_ for env in spec.environments.values()),
        )
    )
    return black.format_str(source, mode=BLACK_MODE)


JOIN_RULE = "none_failed_min_one_success"
"""The trigger rule of every task after a branch: it runs when one of its upstream paths
was skipped (the branch chose another), and not when one failed."""


def after_a_branch(tasks: Sequence[TaskSpec]) -> set[str]:
    """The tasks a branch task runs before, directly or not (they get :data:`JOIN_RULE`;
    a path the branch did not choose is skipped before any rule applies)."""
    graph = {task.name: list(task.depends_on) for task in tasks}
    branches = {task.name for task in tasks if task.kind == "branch"}
    return {task.name for task in tasks if reachable(task.name, graph) & branches}


def schedule_source(spec: PipelineSpec) -> tuple[str, list[str]]:
    """The DAG's ``schedule`` argument as source, and the imports it needs: the spec's
    cron or preset; its upstream Assets (a run once all of them are updated); both, an
    ``AssetOrTimeSchedule`` that runs on either."""
    if not spec.upstream_assets:
        return repr(spec.schedule), []
    assets = f"[{', '.join(f'Asset({name!r})' for name in spec.upstream_assets)}]"
    if spec.schedule is None:
        return assets, ["from airflow.sdk import Asset"]
    timetable = f"CronTriggerTimetable({spec.schedule!r}, timezone='UTC')"
    return (
        f"AssetOrTimeSchedule(timetable={timetable}, assets={assets})",
        ["from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable"],
    )


def sorted_imports(lines: Iterable[str]) -> tuple[list[str], list[str]]:
    """Import lines as isort writes them: ``from`` imports of one module merged, the
    standard library's apart from the rest, plain imports before ``from`` imports, names
    ordered constants, classes, then functions."""
    plain: set[str] = set()
    names: dict[str, set[str]] = {}
    for line in lines:
        if line.startswith("from "):
            module, _, imported = line[len("from ") :].partition(" import ")
            names.setdefault(module, set()).update(n.strip() for n in imported.split(","))
        else:
            plain.add(line)
    merged = sorted(plain, key=lambda line: line.split()[1]) + [
        f"from {module} import {', '.join(sorted(names[module], key=_name_order))}"
        for module in sorted(names)
    ]
    standard = [line for line in merged if line.split()[1].split(".")[0] in sys.stdlib_module_names]
    return standard, [line for line in merged if line not in standard]


def _name_order(name: str) -> tuple[int, str]:
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def render_config(spec: PipelineSpec, operators: Mapping[str, BoundOperator] | None = None) -> str:
    """``config.yml``: one mapping of values per environment, with the settings of the
    tasks in ``operators`` under ``operators``."""
    config = {}
    for name, environment in sorted(spec.environments.items()):
        config[name] = environment.model_dump(by_alias=True)
        if operators:
            config[name]["operators"] = {
                task: bound.config(environment) for task, bound in operators.items()
            }
    return _yaml(config)


GENERATION_KEYS = ("file", "strategy", "pattern", "output", "reads")
"""What ``tasks.yml`` says of a task beyond its spec: its file, how it was made and what
it reads."""


def render_tasks(
    spec: PipelineSpec,
    tasks: list[TaskSpec],
    records: Mapping[str, Mapping[str, Any]] | None = None,
    reads: Mapping[str, Sequence[Read]] | None = None,
) -> str:
    """``tasks.yml``: the task graph the DAG must have (checked by the structure gate),
    and per task its resource file, how its artifact was made (``records``: strategy,
    pattern with its version and parameters, the table it writes) and what it reads with
    what produces each (``reads``, see :mod:`airflow_llm.bundle.data_flow`), so a bundle
    can be reviewed and re-rendered without the model."""
    listed = []
    for task in tasks:
        entry = task.model_dump(mode="json", exclude_defaults=False)
        entry["description"] = redact_secrets(task.description)
        entry["file"] = artifact_file(task, is_operator(task, (records or {}).get(task.name)))
        entry.update((records or {}).get(task.name, {}))
        if reads is not None and task.name in reads:
            entry["reads"] = [read.to_dict() for read in reads[task.name]]
        listed.append(entry)
    document = {
        "pipeline": spec.name,
        "dialect": spec.dialect,
        "allowed_imports": list(spec.allowed_imports),
        "sources": [source.model_dump(mode="json") for source in spec.sources],
        "tasks": listed,
    }
    return _yaml(document)


@dataclass(frozen=True)
class TasksDocument:
    """What ``tasks.yml`` says: the task graph, the source tables it reads, the imports
    the spec adds to the Python allow-list, and the tables tasks write."""

    pipeline: str
    dialect: str
    tasks: list[TaskSpec]
    sources: list[SourceTable]
    allowed_imports: list[str]
    outputs: dict[str, Relation] = field(default_factory=dict)
    """The table each task writes, with its columns, by task name (where known)."""
    files: dict[str, str] = field(default_factory=dict)
    """Each task's resource file, by task name."""
    reads: dict[str, list[Read]] = field(default_factory=dict)
    """What each task reads, as ``tasks.yml`` records it (none in older bundles)."""

    def file(self, task: TaskSpec) -> str:
        """``task``'s resource file (relative to the resources folder)."""
        return self.files.get(task.name) or artifact_file(task)

    def relations(self, task: str) -> list[Relation]:
        """The tables ``task`` may read: the sources and what upstream tasks write."""
        spec = PipelineSpec(
            name=self.pipeline, description="-", dialect=self.dialect, sources=self.sources,
            tasks=self.tasks,
        )  # fmt: skip
        found = next(t for t in self.tasks if t.name == task)
        return list(context_for(spec, found, self.outputs).relations)


def parse_tasks_document(tasks_yml: str) -> TasksDocument:
    """A ``tasks.yml`` written by :func:`render_tasks`."""
    document = yaml.safe_load(tasks_yml)
    tasks = [
        TaskSpec.model_validate(
            {key: value for key, value in task.items() if key not in GENERATION_KEYS}
        )
        for task in document["tasks"]
    ]
    outputs = {
        task["name"]: Relation.from_dict(task["output"])
        for task in document["tasks"]
        if task.get("output")
    }
    sources = [SourceTable.model_validate(source) for source in document.get("sources", [])]
    allowed = list(document.get("allowed_imports", []))
    files = {}
    for task, entry in zip(tasks, document["tasks"], strict=True):
        file = entry.get("file", artifact_file(task))
        if file not in (artifact_file(task), artifact_file(task, operator=True)):
            raise ValueError(f"task {task.name} names no resource of its own: {file!r}")
        files[task.name] = file
    reads = {
        entry["name"]: _parse_reads(entry["name"], entry["reads"])
        for entry in document["tasks"]
        if "reads" in entry
    }
    return TasksDocument(
        document["pipeline"], document["dialect"], tasks, sources, allowed, outputs, files, reads
    )


def _parse_reads(task: str, entries: Any) -> list[Read]:
    """A task's ``reads`` in ``tasks.yml``; ``ValueError`` naming the task and entry."""
    if not isinstance(entries, list):
        raise ValueError(f"tasks.yml: task {task}: reads: expected a list")
    reads = []
    for index, entry in enumerate(entries):
        try:
            reads.append(Read.from_dict(entry))
        except ValueError as error:
            raise ValueError(f"tasks.yml: task {task}: reads[{index}]: {error}") from None
    return reads


def parse_tasks(tasks_yml: str) -> list[TaskSpec]:
    """The tasks of a ``tasks.yml`` written by :func:`render_tasks`."""
    return parse_tasks_document(tasks_yml).tasks


def render_requirements(
    tasks: list[TaskSpec], operators: Mapping[str, BoundOperator] | None = None
) -> str:
    """``requirements.txt`` of what the DAG needs beyond Airflow (the pinned providers
    of its operator patterns too)."""
    kinds = {task.kind for task in tasks}
    pinned = {line for bound in (operators or {}).values() for line in bound.pattern.requirements}
    template = _environment().get_template("requirements.txt.j2")
    return template.render(
        has_quality="quality" in kinds, has_llm="llm" in kinds, pinned=sorted(pinned)
    )


def is_operator(task: TaskSpec, record: Mapping[str, Any] | None) -> bool:
    """Whether ``record`` (see :func:`render_tasks`) says an operator pattern wrote
    ``task``'s artifact."""
    pattern = (record or {}).get("pattern") or {}
    return task.kind in OPERATOR_KINDS and pattern.get("name") in operator_patterns()


def bound_operators(
    tasks: list[TaskSpec],
    artifacts: Mapping[str, str],
    records: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, BoundOperator]:
    """The operators of the tasks an operator pattern wrote, from their artifacts."""
    return {
        task.name: bind(artifacts[task.name], task, operator_patterns())
        for task in tasks
        if is_operator(task, (records or {}).get(task.name))
    }


def document_operators(
    document: TasksDocument, read: Callable[[str], str]
) -> dict[str, BoundOperator]:
    """The operators of a bundle's operator-pattern tasks, from their artifacts (``read``
    gives a resource's text by file name); ``ValueError`` for one no pattern reads."""
    return {
        task.name: bind(read(document.file(task)), task, operator_patterns())
        for task in document.tasks
        if document.file(task) == artifact_file(task, operator=True)
    }


def render_bundle(
    spec: PipelineSpec,
    tasks: list[TaskSpec],
    artifacts: Mapping[str, str],
    records: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, str]:
    """Every file of the bundle (but the manifest), by path relative to the bundle root.

    ``artifacts`` maps task names to the validated content of their resource files;
    ``records`` says how each was made (see :func:`render_tasks`).
    """
    layout = BundleLayout(spec.name)
    operators = bound_operators(tasks, artifacts, records)
    config = render_config(spec, operators)
    outputs = {
        name: Relation.from_dict(record["output"])
        for name, record in (records or {}).items()
        if record.get("output")
    }
    flow = DataFlow(
        tasks, spec.sources, spec.dialect, artifacts, operators, outputs, sql_params(config)
    )
    files = {
        layout.dag_file: render_dag_file(spec, tasks, operators),
        layout.resource("config.yml"): config,
        layout.resource("tasks.yml"): render_tasks(spec, tasks, records, flow.reads),
        layout.resource("requirements.txt"): render_requirements(tasks, operators),
    }
    for task in tasks:
        file = artifact_file(task, task.name in operators)
        files[layout.resource(file)] = artifacts[task.name]
    return dict(sorted(files.items()))


def _summary(description: str, width: int = 72) -> str:
    first = " ".join(redact_secrets(description).split()).split(". ")[0].rstrip(".")
    return first if len(first) <= width else first[: width - 3].rstrip() + "..."


def _yaml(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, width=100)
