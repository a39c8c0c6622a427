"""The seed's Python API, as thin facades over the engine.

factory = EnterpriseDAGFactory(output_dir="out", environment_config={"dev": {...}})
generator = NaturalLanguageDAGGenerator(factory)
dag_path = generator.generate_from_description(
    description="Every day load orders, check them, publish totals.",
    dag_id="orders_daily", owners=["data-eng"], stakeholders=["finance@example.com"],
)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_llm.engine import BundleResult, build_bundle, write_bundle
from airflow_llm.llm.client import ModelClient
from airflow_llm.local_run import local_client, spec_from_description
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec, TaskKind


class GenerationError(RuntimeError):
    """The bundle did not pass validation; ``result.report`` says why."""

    def __init__(self, result: BundleResult) -> None:
        super().__init__(f"{result.pipeline}: {result.reason}")
        self.result = result


@dataclass(frozen=True)
class TaskConfig:
    """One task of a :class:`DAGConfig`."""

    name: str
    kind: TaskKind
    description: str
    depends_on: Sequence[str] = ()
    retries: int = 2
    timeout: int = 3600


@dataclass(frozen=True)
class DAGConfig:
    """A pipeline described in code rather than in a spec file."""

    dag_id: str
    description: str
    owners: Sequence[str] = ("airflow",)
    stakeholders: Sequence[str] = ()
    schedule: str | None = None
    tags: Sequence[str] = ()
    dialect: str = "ansi"
    tasks: Sequence[TaskConfig] | None = None
    sources: Sequence[Mapping[str, Any]] = ()

    def to_spec(self, environments: Mapping[str, Mapping[str, Any]] | None) -> PipelineSpec:
        """The equivalent spec (validated like any spec file)."""
        fields: dict[str, Any] = {
            "name": self.dag_id,
            "description": self.description,
            "owners": list(self.owners),
            "stakeholders": list(self.stakeholders),
            "schedule": self.schedule,
            "tags": list(self.tags),
            "dialect": self.dialect,
            "sources": [dict(source) for source in self.sources],
        }
        if environments is not None:
            fields["environments"] = {name: dict(values) for name, values in environments.items()}
        if self.tasks is not None:
            fields["tasks"] = [
                {
                    "name": t.name,
                    "kind": t.kind,
                    "description": t.description,
                    "depends_on": list(t.depends_on),
                    "retries": t.retries,
                    "timeout": t.timeout,
                }
                for t in self.tasks
            ]
        return PipelineSpec.model_validate(fields)


@dataclass
class EnterpriseDAGFactory:
    """Builds validated bundles into ``output_dir`` (``dags/<dag_id>.py`` and resources)."""

    output_dir: Path | str
    environment_config: Mapping[str, Mapping[str, Any]] | None = None
    settings: GenerationSettings = field(default_factory=GenerationSettings)
    client: ModelClient | None = None

    def build(self, config: DAGConfig | PipelineSpec) -> Path:
        """Generate, validate and write one DAG; return its path or raise GenerationError."""
        spec = (
            config if isinstance(config, PipelineSpec) else config.to_spec(self.environment_config)
        )
        client = self.client or local_client(self.settings)
        result = build_bundle(spec, client, self.settings)
        dag_path = write_bundle(result, Path(self.output_dir))
        if not result.valid:
            raise GenerationError(result)
        return dag_path


@dataclass
class NaturalLanguageDAGGenerator:
    """Turns a free-text description into a DAG through an :class:`EnterpriseDAGFactory`."""

    factory: EnterpriseDAGFactory

    def generate_from_description(
        self,
        description: str,
        dag_id: str,
        owners: Sequence[str] = ("airflow",),
        stakeholders: Sequence[str] = (),
        schedule: str | None = None,
        dialect: str = "ansi",
    ) -> Path:
        """Plan, generate and write the DAG; return the DAG file's path."""
        spec = spec_from_description(
            description,
            dag_id,
            owners=owners,
            stakeholders=stakeholders,
            schedule=schedule,
            dialect=dialect,
            environments=self.factory.environment_config,
        )
        return self.factory.build(spec)
