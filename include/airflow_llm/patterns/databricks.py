"""The Databricks pattern: a step that runs a notebook, a JAR's main class or a Python file
on Databricks (``databricks_job``: the databricks provider's
``DatabricksSubmitRunOperator``, one run submitted through the Jobs API and waited for).

What runs, its parameters, the JAR it needs and the cluster are the words': the notebook
path, main class or Python file they write out (``notebook_path="/Repos/etl/clean"``,
``main class com.acme.Load``, ``python_file="dbfs:/jobs/load.py"``), the list they give
as ``parameters=[...]``, an existing cluster's id, or a new job cluster's
``spark_version``, ``node_type_id``, ``num_workers`` (the step's words first, else the
pipeline's). The connection, the cluster id and an unstated notebook, class or file are
per-environment settings in ``config.yml`` (placeholders when the words leave them out).
The smoke run has no Databricks workspace: the task is reported "not run: external".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from airflow_llm.patterns.base import StrictParameters, enum, narrowed, obj
from airflow_llm.patterns.common import NONE, none_as_null
from airflow_llm.patterns.context import TaskContext
from airflow_llm.patterns.operators import OperatorPattern, Setting, names_operator
from airflow_llm.spec import PipelineSpec, TaskSpec

DATABRICKS = "apache-airflow-providers-databricks==7.23.0"
RunType = Literal["notebook_task", "spark_jar_task", "spark_python_task"]
RUN_TYPES: tuple[RunType, ...] = ("notebook_task", "spark_jar_task", "spark_python_task")
TARGET_KEYS: dict[RunType, str] = {
    "notebook_task": "notebook_path",
    "spark_jar_task": "main_class_name",
    "spark_python_task": "python_file",
}
"""The Jobs API field naming what each kind of run runs."""
TARGETS: dict[RunType, str] = {
    "notebook_task": r"^/[\w.@/ -]*[\w.@-]$",
    "spark_jar_task": r"^[A-Za-z_]\w*(?:\.[A-Za-z_$][\w$]*)+$",
    "spark_python_task": r"^(?:dbfs:|s3://|/)?[\w./-]+\.py$",
}
"""What a notebook path, a main class and a Python file look like."""
JAR = r"^(?:dbfs:|s3://|/)?[\w./-]+\.jar$"
CLUSTER_ID = r"^[\w.-]{1,100}$"
CONN_ID = r"^[\w.-]{1,100}$"
JOB_NAME = r"^[A-Za-z_][\w .-]{0,99}$"
"""A job's id is digits; a name is one of these."""
ARGUMENT = r"^[^\n\r]{1,300}$"
Argument = Annotated[str, Field(pattern=ARGUMENT)]
"""An argument of a run (one line)."""
CLUSTER_FIELDS = ("spark_version", "node_type_id", "driver_node_type_id", "num_workers")
"""The fields of a new job cluster the words may state."""
_QUOTED = r"(['\"`])(.+?)\1"
_BARE = r"([^\s'\"`,;)\]]+)"


def assigned_values(key: str, text: str) -> list[str]:
    """The values ``text`` assigns to ``key`` (``key="v"``, ``key: v``), in order."""
    found = re.finditer(rf"\b{key}\s*[=:]\s*(?:{_QUOTED}|{_BARE})", text)
    return [m.group(2) or m.group(3).rstrip(".:") for m in found]


_PHRASES: dict[RunType, re.Pattern[str]] = {
    "notebook_task": re.compile(r"\bnotebook\s+(?:at\s+|path\s+)?[`'\"]?(/[\w.@/-]+)"),
    "spark_jar_task": re.compile(
        r"\bmain[\s_]class(?:\s+name)?\s+[`'\"]?([A-Za-z_]\w*(?:\.[A-Za-z_$][\w$]*)+)"
    ),
    "spark_python_task": re.compile(r"(?<![\w./:-])((?:dbfs:|s3://|/)[\w./-]+\.py)\b"),
}
_KEYS: dict[RunType, str] = {
    "notebook_task": "notebook_path",
    "spark_jar_task": "(?:main_class_name|main_class|spark_class|class_name)",
    "spark_python_task": "python_file",
}
_RUN_WORDS: dict[RunType, re.Pattern[str]] = {
    "notebook_task": re.compile(r"\bnotebooks?\b", re.IGNORECASE),
    "spark_jar_task": re.compile(r"\b(?:jars?|main class)\b", re.IGNORECASE),
    "spark_python_task": re.compile(r"\b(?:python|pyspark)\b", re.IGNORECASE),
}
_JARS = re.compile(r"(?<![\w./:-])((?:dbfs:|s3://|/)?[\w./-]+\.jar)\b")
_LIST = re.compile(r"\b(?:parameters|arguments|args)\s*[=:]\s*\[([^\]]*)\]")
_EXISTING = re.compile(r"\bexisting[\s_]cluster", re.IGNORECASE)
_DATABRICKS_RUN = re.compile(
    r"\bdatabricks\b[^.\n]{0,80}?\b(?:notebooks?|jobs?|runs?|jars?|spark|clusters?)\b"
    r"|\b(?:notebooks?|jobs?|runs?|jars?|spark)\b[^.\n]{0,80}?\bdatabricks\b",
    re.IGNORECASE,
)


def stated_targets(text: str) -> dict[RunType, list[str]]:
    """Per kind of run, what ``text`` says it runs: notebook paths, main classes, Python
    files (assigned to their parameter names, or in words), in order."""
    found: dict[RunType, list[str]] = {}
    for run_type in RUN_TYPES:
        values = assigned_values(_KEYS[run_type], text) + _PHRASES[run_type].findall(text)
        valid = [v for v in dict.fromkeys(values) if re.match(TARGETS[run_type], v)]
        if valid:
            found[run_type] = valid
    return found


def cued_run_types(text: str) -> list[RunType]:
    """The kinds of run ``text``'s words speak of (a notebook, a JAR, Python), when it
    names nothing a run runs."""
    return [run_type for run_type in RUN_TYPES if _RUN_WORDS[run_type].search(text)]


def stated_jars(text: str) -> list[str]:
    """The JAR files ``text`` names."""
    return [jar for jar in dict.fromkeys(_JARS.findall(text)) if re.match(JAR, jar)]


def stated_arguments(text: str) -> list[str]:
    """The arguments of the first list ``text`` gives as ``parameters=[...]``."""
    match = _LIST.search(text)
    if match is None:
        return []
    return [m.group(2) for m in re.finditer(_QUOTED, match.group(1))]


def stated_cluster_ids(text: str) -> list[str]:
    """The cluster ids ``text`` assigns (``existing_cluster_id="..."``, ``cluster_id=...``)."""
    values = assigned_values("(?:existing_cluster_id|cluster_id)", text)
    return [value for value in dict.fromkeys(values) if re.match(CLUSTER_ID, value)]


def stated_jobs(text: str) -> list[str]:
    """The Databricks jobs ``text`` names by id (``job_id=1234``, "job 1234") or name
    (``job_name='nightly_etl'``)."""
    ids = assigned_values("job_id", text) + re.findall(r"\bjob\s+(?:id\s+)?#?(\d{2,})\b", text)
    names = assigned_values("job_name", text)
    found = [v for v in ids if v.isdigit()] + [v for v in names if re.match(JOB_NAME, v)]
    return list(dict.fromkeys(found))


def stated_connections(text: str) -> list[str]:
    """The Databricks connection ids ``text`` assigns (``databricks_conn_id="..."``)."""
    values = assigned_values("databricks_conn_id", text)
    return [value for value in dict.fromkeys(values) if re.match(CONN_ID, value)]


def stated_cluster(text: str) -> dict[str, str | int]:
    """The new job cluster ``text`` specifies (the :data:`CLUSTER_FIELDS` it assigns)."""
    cluster: dict[str, str | int] = {}
    for field in CLUSTER_FIELDS:
        values = [v for v in assigned_values(field, text) if re.match(r"^[\w.-]{1,80}$", v)]
        if values and field == "num_workers":
            if values[0].isdigit():
                cluster[field] = int(values[0])
        elif values:
            cluster[field] = values[0]
    return cluster


class DatabricksJobParameters(StrictParameters):
    """Submit a ``run_type`` run of ``target`` (None: the one ``config.yml`` names) with
    ``arguments`` (and the ``jars`` it needs) on an existing cluster (``cluster_id``, None:
    the one ``config.yml`` names) or, when not ``existing_cluster``, on ``new_cluster``,
    through the Databricks connection ``conn_id`` (None: the one ``config.yml`` names)."""

    run_type: RunType
    target: str | None = None
    arguments: list[Argument] = Field(default_factory=list, max_length=50)
    jars: list[str] = Field(default_factory=list, max_length=10)
    existing_cluster: bool = True
    conn_id: str | None = Field(default=None, pattern=CONN_ID)
    cluster_id: str | None = Field(default=None, pattern=CLUSTER_ID)
    new_cluster: dict[str, str | int] = Field(default_factory=dict)

    _nulls = field_validator("target", "cluster_id", "conn_id", mode="before")(none_as_null)

    @field_validator("jars")
    @classmethod
    def _jars(cls, jars: list[str]) -> list[str]:
        bad = [jar for jar in jars if not re.match(JAR, jar)]
        if bad:
            raise ValueError(f"not JAR files: {', '.join(bad)}")
        return jars

    @model_validator(mode="after")
    def _consistent(self) -> DatabricksJobParameters:
        if self.target is not None and not re.match(TARGETS[self.run_type], self.target):
            raise ValueError(f"target {self.target!r} is not a {TARGET_KEYS[self.run_type]}")
        unknown = sorted(set(self.new_cluster) - set(CLUSTER_FIELDS))
        if unknown:
            raise ValueError(f"new_cluster: unknown fields {', '.join(unknown)}")
        if not self.existing_cluster and not self.new_cluster:
            raise ValueError("new_cluster: a new job cluster needs its spark_version and nodes")
        if self.run_type == "notebook_task" and self.arguments:
            raise ValueError("arguments: a notebook takes none (its widgets are its own)")
        return self


class DatabricksJob(OperatorPattern[DatabricksJobParameters]):
    """A notebook, JAR or Python file run on Databricks (``DatabricksSubmitRunOperator``)."""

    name: ClassVar[str] = "databricks_job"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "python"
    summary: ClassVar[str] = (
        "run a notebook, a JAR's main class or a Python file on Databricks "
        "(DatabricksSubmitRunOperator)"
    )
    cues: ClassVar[tuple[str, ...]] = ("databricks", "notebook", "spark", "jar", "cluster")
    parameters: ClassVar[type[BaseModel]] = DatabricksJobParameters
    runs_code: ClassVar[bool] = True
    imports: ClassVar[tuple[str, ...]] = (
        "from airflow.providers.databricks.operators.databricks import "
        "DatabricksSubmitRunOperator",
    )
    requirements: ClassVar[tuple[str, ...]] = (DATABRICKS,)

    def applies(self, ctx: TaskContext) -> bool:
        """Words that name ``DatabricksSubmitRunOperator`` or a run on Databricks, not
        a job the workspace defines (its id or name, and nothing to run: databricks_run_now's)."""
        text = ctx.task.description
        defined = bool(stated_jobs(text)) and not stated_targets(text)
        named = names_operator(text, "DatabricksSubmitRunOperator")
        return named or (bool(_DATABRICKS_RUN.search(text)) and not defined)

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """Nothing to read from the warehouse."""
        return obj({})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The kinds of run the words state what they run for (else the ones they speak
        of, else all three), what
        they run, their arguments and JARs; the cluster whose id the words give or that
        they call existing, before the new job cluster they specify (the step's words,
        else the pipeline's)."""
        text = ctx.task.description
        targets = stated_targets(text)
        stated_types = list(targets) or cued_run_types(text)
        run_types = narrowed(ctx, stated_types, list(RUN_TYPES))
        offered = [target for run_type in run_types for target in targets.get(run_type, [])]
        cluster = stated_cluster(text) or stated_cluster(ctx.spec.description)
        existing = bool(stated_cluster_ids(text) or _EXISTING.search(text)) or not cluster
        return obj(
            {
                "run_type": enum(run_types),
                "target": enum(narrowed(ctx, offered, [NONE])),
                "arguments": {"enum": [stated_arguments(text)]},
                "jars": {"enum": [stated_jars(text)]},
                "existing_cluster": enum(narrowed(ctx, [existing], [existing, not existing])),
                "cluster_id": enum(narrowed(ctx, stated_cluster_ids(text), [NONE])),
                "conn_id": enum(narrowed(ctx, stated_connections(text), [NONE])),
                "new_cluster": {"enum": [cluster]},
            }
        )

    def complete(self, answer: Mapping[str, Any], ctx: TaskContext) -> dict[str, Any]:
        """A target of another kind of run than the one answered is dropped (the
        environment's config names it), and so are arguments a notebook takes none of."""
        completed = dict(answer)
        run_type = completed.get("run_type")
        target = completed.get("target")
        if (
            run_type in TARGETS
            and isinstance(target, str)
            and target != NONE
            and not re.match(TARGETS[run_type], target)
        ):
            completed["target"] = None
        if run_type == "notebook_task":
            completed["arguments"] = []
        return completed

    def settings(self, params: DatabricksJobParameters, task: TaskSpec) -> list[Setting]:
        """The Databricks connection, what the run runs and the existing cluster's id."""
        key = TARGET_KEYS[params.run_type]
        settings = [
            Setting(
                "databricks_conn_id",
                "databricks_conn_id",
                f"Databricks connection (the workspace) {task.name} submits its run to",
                params.conn_id,
            ),
            Setting("target", "compute", f"{key} {task.name} runs on Databricks", params.target),
        ]
        if params.existing_cluster:
            what = f"id of the existing Databricks cluster {task.name} runs on"
            settings.append(Setting("cluster_id", "compute", what, params.cluster_id))
        return settings

    def arguments(
        self, params: DatabricksJobParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """The run's kind and the field naming what it runs, its arguments' field (a
        JAR's or Python file's ``parameters``), the libraries (its JARs) and the new
        cluster (when not an existing one)."""
        return {
            "run_type": params.run_type,
            "target_key": TARGET_KEYS[params.run_type],
            "arguments": params.arguments,
            "libraries": [{"jar": jar} for jar in params.jars],
            "new_cluster": None if params.existing_cluster else params.new_cluster,
        }

    def external(self, params: DatabricksJobParameters) -> str | None:
        """The smoke run has no Databricks workspace."""
        what = f"{TARGET_KEYS[params.run_type]} {params.target or 'of config.yml'}"
        return f"submits a Databricks run ({what}): no workspace in the smoke run"


class DatabricksRunNowParameters(StrictParameters):
    """Run the job the workspace defines, ``job`` (its id, or its name; None: the id
    ``config.yml`` names), through the connection ``conn_id`` (None: ``config.yml``'s)."""

    job: str | None = None
    conn_id: str | None = Field(default=None, pattern=CONN_ID)

    _nulls = field_validator("job", "conn_id", mode="before")(none_as_null)

    @field_validator("job")
    @classmethod
    def _job(cls, job: str | None) -> str | None:
        if job is not None and not (job.isdigit() or re.match(JOB_NAME, job)):
            raise ValueError(f"{job!r} is neither a job id nor a job name")
        return job


class DatabricksRunNow(OperatorPattern[DatabricksRunNowParameters]):
    """A job the Databricks workspace defines, run now (``DatabricksRunNowOperator``)."""

    name: ClassVar[str] = "databricks_run_now"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "python"
    summary: ClassVar[str] = (
        "run a job the Databricks workspace already defines, by its id or name "
        "(DatabricksRunNowOperator)"
    )
    cues: ClassVar[tuple[str, ...]] = ("databricks", "job", "existing job", "run now", "trigger")
    parameters: ClassVar[type[BaseModel]] = DatabricksRunNowParameters
    runs_code: ClassVar[bool] = True
    imports: ClassVar[tuple[str, ...]] = (
        "from airflow.providers.databricks.operators.databricks import DatabricksRunNowOperator",
    )
    requirements: ClassVar[tuple[str, ...]] = (DATABRICKS,)

    def applies(self, ctx: TaskContext) -> bool:
        """Words that name ``DatabricksRunNowOperator``, or a Databricks job by its id or
        name with nothing to run of their own."""
        text = ctx.task.description
        defined = bool(stated_jobs(text)) and not stated_targets(text)
        mentioned = "databricks" in text.lower()
        return names_operator(text, "DatabricksRunNowOperator") or (defined and mentioned)

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """Nothing to read from the warehouse."""
        return obj({})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The job and the connection the words name (else the environment's)."""
        text = ctx.task.description
        return obj(
            {
                "job": enum(narrowed(ctx, stated_jobs(text), [NONE])),
                "conn_id": enum(narrowed(ctx, stated_connections(text), [NONE])),
            }
        )

    def settings(self, params: DatabricksRunNowParameters, task: TaskSpec) -> list[Setting]:
        """The Databricks connection and, unless the words name the job, its id."""
        connection = Setting(
            "databricks_conn_id",
            "databricks_conn_id",
            f"Databricks connection (the workspace) {task.name} runs the job in",
            params.conn_id,
        )
        if params.job is not None and not params.job.isdigit():
            return [connection]
        what = f"id of the Databricks job {task.name} runs"
        return [connection, Setting("job_id", "compute", what, params.job)]

    def arguments(
        self, params: DatabricksRunNowParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """The job's name, when the words name it so (an id is a setting)."""
        named = params.job is not None and not params.job.isdigit()
        return {"job_name": params.job if named else None}

    def external(self, params: DatabricksRunNowParameters) -> str | None:
        """The smoke run has no Databricks workspace."""
        what = params.job or "of config.yml"
        return f"runs the Databricks job {what}: no workspace in the smoke run"
