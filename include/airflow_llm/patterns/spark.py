"""The Spark pattern: a step that runs a Spark application (a JAR's main class, a PySpark
file) on a Kubernetes cluster (``spark_job``: the cncf.kubernetes provider's
``SparkKubernetesOperator``, which submits a ``SparkApplication`` to the Spark operator
and follows its driver). No pyspark in the bundle: the application runs on the cluster.

The main class, the application file and the arguments are the words'
(``spark_class='org.acme.Normalize'``, ``main class org.acme.Normalize``,
``s3a://jobs/etl.jar``, ``parameters=[...]``); the image, the application file when the
words name none, and the namespace are per-environment settings in ``config.yml``
(placeholders when the words leave them out). A step on Databricks is
``databricks_job``'s. The smoke run has no cluster: the task is reported "not run:
external".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from airflow_llm.patterns.base import StrictParameters, enum, narrowed, obj
from airflow_llm.patterns.common import NONE, none_as_null
from airflow_llm.patterns.containers import KUBERNETES
from airflow_llm.patterns.context import TaskContext
from airflow_llm.patterns.databricks import (
    TARGETS,
    Argument,
    assigned_values,
    stated_arguments,
    stated_targets,
)
from airflow_llm.patterns.operators import OperatorPattern, Setting
from airflow_llm.spec import PipelineSpec, TaskSpec

AppType = Literal["Scala", "Java", "Python"]
APPLICATION = r"^(?:(?:s3a?|gs|hdfs|local|https?)://|/)?[\w./{}-]+\.(?:jar|py)$"
"""A JAR or Python file the driver runs (a URL the Spark operator fetches, or a path)."""
VERSION = r"^\d+\.\d+(?:\.\d+)?$"
"""A Spark version (``3.5.1``)."""
NAMESPACE = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
_APPLICATIONS = re.compile(
    r"(?<![\w./:-])((?:(?:s3a?|gs|hdfs|local|https?)://|/)?[\w./{}-]+\.(?:jar|py))\b"
)
_SPARK_RUN = re.compile(
    r"\bspark\b[^.\n]{0,60}?\b(?:jobs?|applications?|apps?|submit|class|jars?|transform\w*"
    r"|process\w*|normali[sz]\w*)\b"
    r"|\b(?:spark_class|spark_jar|main_class)\b|\bpyspark\b",
    re.IGNORECASE,
)


def stated_applications(text: str) -> list[str]:
    """The JAR and Python files ``text`` names for the driver to run."""
    found = _APPLICATIONS.findall(text)
    return [path for path in dict.fromkeys(found) if re.match(APPLICATION, path)]


def stated_versions(text: str) -> list[str]:
    """The Spark versions ``text`` states (``spark_version=3.5.1``, ``Spark 3.5``)."""
    found = assigned_values("spark_version", text)
    found += re.findall(r"\bspark\s+(\d+\.\d+(?:\.\d+)?)\b", text, re.IGNORECASE)
    return [version for version in dict.fromkeys(found) if re.match(VERSION, version)]


def stated_namespaces(text: str) -> list[str]:
    """The Kubernetes namespaces ``text`` assigns (``namespace="spark-jobs"``)."""
    values = assigned_values("namespace", text)
    return [value for value in dict.fromkeys(values) if re.match(NAMESPACE, value)]


class SparkJobParameters(StrictParameters):
    """Run ``main_class`` (a JVM application; None for Python) of ``application`` (None:
    the file ``config.yml`` names) with ``arguments``, in ``namespace`` (None:
    ``config.yml``'s), on ``spark_version`` (None: ``config.yml``'s)."""

    app_type: AppType
    main_class: str | None = Field(default=None, pattern=TARGETS["spark_jar_task"])
    application: str | None = Field(default=None, pattern=APPLICATION)
    arguments: list[Argument] = Field(default_factory=list, max_length=50)
    namespace: str | None = Field(default=None, pattern=NAMESPACE)
    spark_version: str | None = Field(default=None, pattern=VERSION)

    _nulls = field_validator(
        "main_class", "application", "namespace", "spark_version", mode="before"
    )(none_as_null)

    @model_validator(mode="after")
    def _consistent(self) -> SparkJobParameters:
        if self.app_type == "Python" and self.main_class is not None:
            raise ValueError("main_class: a Python application has none")
        if self.app_type != "Python" and self.main_class is None:
            raise ValueError(f"main_class: a {self.app_type} application needs one")
        if self.application and self.application.endswith(".py") != (self.app_type == "Python"):
            raise ValueError(f"application {self.application} is not a {self.app_type} file")
        return self


class SparkJob(OperatorPattern[SparkJobParameters]):
    """A Spark application on Kubernetes (``SparkKubernetesOperator``)."""

    name: ClassVar[str] = "spark_job"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "python"
    summary: ClassVar[str] = (
        "run a Spark application (a JAR's main class or a PySpark file) on Kubernetes "
        "(SparkKubernetesOperator)"
    )
    cues: ClassVar[tuple[str, ...]] = ("spark", "pyspark", "jar", "class", "cluster")
    parameters: ClassVar[type[BaseModel]] = SparkJobParameters
    runs_code: ClassVar[bool] = True
    imports: ClassVar[tuple[str, ...]] = (
        "from airflow.providers.cncf.kubernetes.operators.spark_kubernetes import "
        "SparkKubernetesOperator",
    )
    stands_for: ClassVar[tuple[str, ...]] = ("SparkSubmitOperator",)
    requirements: ClassVar[tuple[str, ...]] = (KUBERNETES,)

    def applies(self, ctx: TaskContext) -> bool:
        """Words that run a Spark application (not on Databricks: databricks_job's)."""
        text = ctx.task.description
        return bool(_SPARK_RUN.search(text)) and "databricks" not in text.lower()

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """Nothing to read from the warehouse."""
        return obj({})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """A JVM application when the words name a main class (Java when they say Java),
        else Python; the main class, application file, arguments and namespace the words
        state."""
        text = ctx.task.description
        classes = stated_targets(text).get("spark_jar_task", [])
        python = bool(re.search(r"\bpyspark\b|\.py\b", text, re.IGNORECASE))
        jvm: AppType = "Java" if re.search(r"\bjava\b", text, re.IGNORECASE) else "Scala"
        types = [jvm] if classes else (["Python"] if python else [jvm, "Python"])
        applications = stated_applications(text)
        return obj(
            {
                "app_type": enum(narrowed(ctx, types, [jvm, "Python"])),
                "main_class": enum(narrowed(ctx, classes, [NONE])),
                "application": enum(narrowed(ctx, applications, [NONE])),
                "arguments": {"enum": [stated_arguments(text)]},
                "namespace": enum(narrowed(ctx, stated_namespaces(text), [NONE])),
                "spark_version": enum(narrowed(ctx, stated_versions(text), [NONE])),
            }
        )

    def complete(self, answer: Mapping[str, Any], ctx: TaskContext) -> dict[str, Any]:
        """A Python application has no main class; a file of the other kind of
        application is left to ``config.yml``."""
        completed = dict(answer)
        python = completed.get("app_type") == "Python"
        if python:
            completed["main_class"] = None
        application = completed.get("application")
        if isinstance(application, str) and application.endswith(".py") != python:
            completed["application"] = None
        return completed

    def settings(self, params: SparkJobParameters, task: TaskSpec) -> list[Setting]:
        """The image, the application file, the namespace and the Spark version."""
        kind = "Python" if params.app_type == "Python" else "JAR"
        return [
            Setting("image", "compute", f"Spark container image {task.name} runs in"),
            Setting(
                "application",
                "compute",
                f"{kind} file (URL the Spark operator fetches) {task.name} runs",
                params.application,
            ),
            Setting(
                "namespace",
                "compute",
                f"Kubernetes namespace {task.name}'s Spark application runs in",
                params.namespace,
            ),
            Setting(
                "spark_version",
                "compute",
                f"Spark version of {task.name}'s image",
                params.spark_version,
            ),
        ]

    def arguments(
        self, params: SparkJobParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """The ``SparkApplication``'s spec besides the settings: the kind of application,
        its main class and arguments, the driver's and executors' resources."""
        application: dict[str, Any] = {
            "type": params.app_type,
            "mode": "cluster",
            "arguments": params.arguments,
            "driver": {"cores": 1, "memory": "1g", "serviceAccount": "spark"},
            "executor": {"instances": 2, "cores": 1, "memory": "2g"},
        }
        if params.main_class is not None:
            application["mainClass"] = params.main_class
        return {"spec": application}

    def external(self, params: SparkJobParameters) -> str | None:
        """The smoke run has no Kubernetes cluster."""
        what = params.main_class or params.application or "the application of config.yml"
        return f"runs the Spark application {what} on Kubernetes: no cluster in the smoke run"
