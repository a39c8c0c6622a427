"""Container patterns: a step that runs a container image the words name (``container``:
the docker provider's ``DockerOperator``), configured by the environment variables the
words state, on the Docker network the pipeline's description names; and a step that runs
a Kubernetes Job from a template (``kubernetes_job``: the cncf.kubernetes provider's
``KubernetesJobOperator``, deferrable while it waits for the Job).

Values the words leave as a bracketed placeholder (``API_TOKEN=[HERE API token]``), and
variables whose names say they hold a secret, are not written into the DAG file: each
comes from an Airflow Variable (``{{ var.value.<pipeline>_<name> }}``, masked in logs and
rendered fields as Airflow masks sensitive names), so a secret never sits in a bundle.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, Field, field_validator

from airflow_llm.patterns.base import StrictParameters, enum, narrowed, obj
from airflow_llm.patterns.common import NONE, none_as_null
from airflow_llm.patterns.context import TaskContext
from airflow_llm.patterns.images import IMAGE, stated_images
from airflow_llm.patterns.operators import OperatorPattern, Setting, names_operator
from airflow_llm.spec import PipelineSpec, TaskSpec

DOCKER = "apache-airflow-providers-docker==4.6.1"
KUBERNETES = "apache-airflow-providers-cncf-kubernetes==10.25.0"
VARIABLE = r"^[A-Z][A-Z0-9_]{0,63}$"
NETWORK = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_ASSIGNMENT = re.compile(r"(?<![\w.$])([A-Z][A-Z0-9_]{1,63})=(\[[^\]\n]*\]|[^\s\[\]`'\"]+)")
_NETWORK_IN_WORDS = re.compile(
    r"\b(?:docker\s+)?network\s*(?:\(\s*([A-Za-z0-9][\w.-]*)\s*\)|[:=]\s*`?([A-Za-z0-9][\w.-]*))",
    re.IGNORECASE,
)
_KUBERNETES_JOB = re.compile(r"\b(?:kubernetes|k8s)\s+jobs?\b", re.IGNORECASE)
_TEMPLATE_FILE = re.compile(r"\bjob_template_file\s*=\s*(['\"])(.+?)\1")
_WAIT = re.compile(r"\bwait_until_job_complete\s*=\s*(True|False)\b")
TEMPLATE = r"^(?:\{\{\s*var\.value\.\w+\s*\}\}|[\w./-]+\.ya?ml)$"
"""A Job template: a YAML file, or the Airflow Variable that names one."""
_SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "API_KEY", "APIKEY", "PRIVATE_KEY")


def stated_variables(text: str) -> dict[str, str]:
    """The environment variables ``text`` assigns (``NAME=value``), in order; a
    bracketed value is a placeholder the words leave to fill."""
    return {match.group(1): match.group(2).rstrip(".,;") for match in _ASSIGNMENT.finditer(text)}


def stated_networks(text: str) -> list[str]:
    """The Docker networks ``text`` names ("Docker network (app_network)")."""
    found = [m.group(1) or m.group(2) for m in _NETWORK_IN_WORDS.finditer(text)]
    return [name for name in dict.fromkeys(found) if re.match(NETWORK, name)]


def secret_variable(pipeline: str, name: str) -> str:
    """The Airflow Variable holding the secret ``name`` of ``pipeline``'s steps."""
    return f"{pipeline}_{name.lower()}"


def is_secret(name: str, value: str) -> bool:
    """Whether a variable's value must come from a secret store, not the DAG file: the
    words leave it as a placeholder, or its name says it is a credential."""
    return value.startswith("[") or any(word in name for word in _SECRET_WORDS)


class ContainerParameters(StrictParameters):
    """Run ``image`` with ``environment`` (and the ``secrets`` from Airflow Variables) on
    ``network`` (None: Docker's default)."""

    image: str = Field(pattern=IMAGE)
    environment: dict[str, str] = Field(default_factory=dict)
    secrets: list[str] = Field(default_factory=list)
    network: str | None = Field(default=None, pattern=NETWORK)

    _nulls = field_validator("network", mode="before")(none_as_null)

    @field_validator("environment")
    @classmethod
    def _names(cls, environment: dict[str, str]) -> dict[str, str]:
        bad = [name for name in environment if not re.match(VARIABLE, name)]
        if bad:
            raise ValueError(f"not environment variable names: {', '.join(bad)}")
        return environment

    @field_validator("secrets")
    @classmethod
    def _secret_names(cls, secrets: list[str]) -> list[str]:
        bad = [name for name in secrets if not re.match(VARIABLE, name)]
        if bad:
            raise ValueError(f"not environment variable names: {', '.join(bad)}")
        return secrets


class Container(OperatorPattern[ContainerParameters]):
    """A container image the words name, run as the step (``DockerOperator``)."""

    name: ClassVar[str] = "container"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "python"
    summary: ClassVar[str] = "run the container image the step names (DockerOperator)"
    cues: ClassVar[tuple[str, ...]] = ("docker", "container", "image")
    parameters: ClassVar[type[BaseModel]] = ContainerParameters
    runs_code: ClassVar[bool] = True
    imports: ClassVar[tuple[str, ...]] = (
        "from airflow.providers.docker.operators.docker import DockerOperator",
    )
    requirements: ClassVar[tuple[str, ...]] = (DOCKER,)

    def applies(self, ctx: TaskContext) -> bool:
        """Words that name a container image."""
        return bool(stated_images(ctx.task.description)) and super().applies(ctx)

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """Nothing to read from the warehouse."""
        return obj({})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The image the words name; the variables they assign (all of them, the secret
        ones by name only); the network the step's or the pipeline's words name."""
        text = ctx.task.description
        variables = stated_variables(text)
        secrets = [name for name, value in variables.items() if is_secret(name, value)]
        plain = {name: value for name, value in variables.items() if name not in secrets}
        networks = stated_networks(text) or stated_networks(ctx.spec.description)
        return obj(
            {
                "image": enum(stated_images(text)),
                "environment": {"enum": [plain]},  # the words' values: nothing to ask
                "secrets": {"enum": [secrets]},
                "network": enum(narrowed(ctx, networks, [NONE])),
            }
        )

    def settings(self, params: ContainerParameters, task: TaskSpec) -> list[Setting]:
        """None: the image and its variables are the step's, the same in every
        environment (per-environment values go in the spec's ``vars``)."""
        return []

    def arguments(
        self, params: ContainerParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """The image, the environment (secrets as templated Variable reads) and the
        network."""
        secrets = {
            name: f"{{{{ var.value.{secret_variable(spec.name, name)} }}}}"
            for name in params.secrets
        }
        return {
            "image": params.image,
            "environment": {**params.environment, **secrets},
            "network": params.network,
        }

    def external(self, params: ContainerParameters) -> str | None:
        """The smoke run has no container runtime."""
        return f"runs the container image {params.image}: no container runtime in the smoke run"


class KubernetesJobParameters(StrictParameters):
    """Run the Job of ``job_template_file`` (None: the one ``config.yml`` names) and, if
    ``wait``, wait until it completes."""

    job_template_file: str | None = Field(default=None, pattern=TEMPLATE)
    wait: bool = True

    _nulls = field_validator("job_template_file", mode="before")(none_as_null)


class KubernetesJob(OperatorPattern[KubernetesJobParameters]):
    """A Kubernetes Job from a template (``KubernetesJobOperator``)."""

    name: ClassVar[str] = "kubernetes_job"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "python"
    summary: ClassVar[str] = "run a Kubernetes Job from its template (KubernetesJobOperator)"
    cues: ClassVar[tuple[str, ...]] = ("kubernetes", "k8s", "job")
    parameters: ClassVar[type[BaseModel]] = KubernetesJobParameters
    runs_code: ClassVar[bool] = True
    imports: ClassVar[tuple[str, ...]] = (
        "from airflow.providers.cncf.kubernetes.operators.job import KubernetesJobOperator",
    )
    requirements: ClassVar[tuple[str, ...]] = (KUBERNETES,)

    def applies(self, ctx: TaskContext) -> bool:
        """Words that name ``KubernetesJobOperator`` or a Kubernetes job."""
        text = ctx.task.description
        return names_operator(text, "KubernetesJobOperator") or bool(_KUBERNETES_JOB.search(text))

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """Nothing to read from the warehouse."""
        return obj({})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The template and the waiting the words state (``job_template_file=...``,
        ``wait_until_job_complete=...``); else the environment's template, and waiting."""
        text = ctx.task.description
        templates = [m.group(2) for m in _TEMPLATE_FILE.finditer(text)]
        templates = [t for t in dict.fromkeys(templates) if re.match(TEMPLATE, t)]
        waits = [m.group(1) == "True" for m in _WAIT.finditer(text)]
        return obj(
            {
                "job_template_file": enum(narrowed(ctx, templates, [NONE])),
                "wait": enum(list(dict.fromkeys(waits)) or [True]),
            }
        )

    def settings(self, params: KubernetesJobParameters, task: TaskSpec) -> list[Setting]:
        """The Job's template."""
        what = f"Kubernetes Job template (YAML file) {task.name} runs"
        return [Setting("job_template_file", "path", what, params.job_template_file)]

    def arguments(
        self, params: KubernetesJobParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """Whether it waits for the Job."""
        return {"wait": params.wait}

    def external(self, params: KubernetesJobParameters) -> str | None:
        """The smoke run has no Kubernetes cluster."""
        return "runs a Kubernetes Job: no cluster in the smoke run"
